//! The model the app scores with and draws maps from: a checkpoint and a
//! video on disk. The engine's scorer reads files, so the built-in demo is
//! written out once: its weights (trained on synthetic streets, see
//! `resources/demo/README.md`) ship inside the binary, and its frames are
//! rendered into a cache folder named by a hash of the scene and weights.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;

use crate::synth::{write_frames, Scene};

/// The demo's weights: `vadscope train` on a synthetic street dataset (never
/// the demo scene itself); the recipe is in `resources/demo/README.md`.
pub const DEMO_WEIGHTS: &[u8] = include_bytes!("../../resources/demo/checkpoint.safetensors");

/// What to score: files on disk, or the built-in scene (with the demo's
/// weights unless the user named a checkpoint).
#[derive(Clone)]
pub enum ModelTarget {
    /// A checkpoint and a video file or frame folder.
    Files {
        /// A checkpoint written by `vadscope train`.
        checkpoint: PathBuf,
        /// The video.
        video: PathBuf,
    },
    /// The synthetic scene the app shows.
    Scene {
        /// A user checkpoint; `None`: the demo's weights.
        checkpoint: Option<PathBuf>,
        /// The scene.
        scene: Arc<Scene>,
        /// Where its frames (and the demo's weights) are written.
        cache: PathBuf,
    },
}

impl ModelTarget {
    /// The built-in scene scored with `checkpoint` (`None`: the demo's
    /// weights), its files kept in the user's cache folder.
    pub fn scene(scene: Arc<Scene>, checkpoint: Option<PathBuf>) -> ModelTarget {
        ModelTarget::Scene {
            checkpoint,
            scene,
            cache: cache_dir(),
        }
    }

    /// The checkpoint and video paths, writing the scene's files first if needed.
    pub fn resolve(&self) -> anyhow::Result<(PathBuf, PathBuf)> {
        match self {
            ModelTarget::Files { checkpoint, video } => Ok((checkpoint.clone(), video.clone())),
            ModelTarget::Scene {
                checkpoint,
                scene,
                cache: dir,
            } => {
                // The scoring job, the maps worker and an export may all ask
                // at once: one writes the files, the others wait and reuse them.
                static WRITING: std::sync::Mutex<()> = std::sync::Mutex::new(());
                let _one = WRITING.lock().unwrap_or_else(|e| e.into_inner());
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("cannot create the cache folder {}", dir.display()))?;
                let frames = scene_frames(dir, scene)?;
                let checkpoint = match checkpoint {
                    Some(c) => c.clone(),
                    None => demo_weights(dir)?,
                };
                Ok((checkpoint, frames))
            }
        }
    }

    /// The checkpoint in words, for the status line.
    pub fn describe(&self) -> String {
        let named = |p: &Path| {
            p.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| p.display().to_string())
        };
        match self {
            ModelTarget::Files { checkpoint, .. } => format!("model {}", named(checkpoint)),
            ModelTarget::Scene {
                checkpoint: Some(c),
                ..
            } => format!("model {}", named(c)),
            ModelTarget::Scene {
                checkpoint: None, ..
            } => "demo model (trained on synthetic streets)".into(),
        }
    }
}

/// `$XDG_CACHE_HOME/vadscope`, `~/.cache/vadscope`, or the temp folder.
fn cache_dir() -> PathBuf {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(std::env::temp_dir);
    base.join("vadscope")
}

/// FNV-1a: a stable name for cached files (not a security hash).
fn fnv(parts: &[&[u8]]) -> u64 {
    let mut h = 0xcbf2_9ce4_8422_2325u64;
    for p in parts {
        for &b in *p {
            h = (h ^ b as u64).wrapping_mul(0x0100_0000_01b3);
        }
        h = (h ^ 0xff).wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// The scene's frames as PNGs in `dir` (rendered once; `write_frames` makes
/// the folder appear complete or not at all, so a crash leaves no half copy).
fn scene_frames(dir: &Path, scene: &Scene) -> anyhow::Result<PathBuf> {
    let config = serde_json::to_vec(scene.config()).context("cannot describe the scene")?;
    let out = dir.join(format!("scene-{:016x}", fnv(&[&config])));
    if out.is_dir() {
        return Ok(out);
    }
    match write_frames(&out, scene, &|| {}) {
        Ok(()) => Ok(out),
        // Another thread (scores and maps start together) got there first.
        Err(_) if out.is_dir() => Ok(out),
        Err(e) => {
            Err(e).with_context(|| format!("cannot write the demo's frames to {}", out.display()))
        }
    }
}

/// The demo's weights as a file in the user's cache folder.
pub(crate) fn demo_checkpoint() -> anyhow::Result<PathBuf> {
    let dir = cache_dir();
    std::fs::create_dir_all(&dir)
        .with_context(|| format!("cannot create the cache folder {}", dir.display()))?;
    demo_weights(&dir)
}

/// The demo's weights as a file in `dir`.
fn demo_weights(dir: &Path) -> anyhow::Result<PathBuf> {
    let out = dir.join(format!("demo-{:016x}.safetensors", fnv(&[DEMO_WEIGHTS])));
    if std::fs::metadata(&out).is_ok_and(|m| m.len() == DEMO_WEIGHTS.len() as u64) {
        return Ok(out);
    }
    crate::save::atomic_write(&out, DEMO_WEIGHTS)
        .with_context(|| format!("cannot write the demo's weights to {}", out.display()))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synth::SceneConfig;

    #[test]
    fn the_demo_resolves_to_its_weights_and_frames_once() {
        let tmp = tempfile::tempdir().unwrap();
        let mut cfg = SceneConfig::demo();
        cfg.frames = 6;
        let target = ModelTarget::Scene {
            checkpoint: None,
            scene: Arc::new(Scene::new(&cfg).unwrap()),
            cache: tmp.path().to_path_buf(),
        };
        let (ck, frames) = target.resolve().unwrap();
        assert_eq!(std::fs::read(&ck).unwrap(), DEMO_WEIGHTS);
        assert_eq!(crate::video::list_images(&frames).unwrap().len(), 6);
        // The second time reuses the files.
        let before = std::fs::metadata(&ck).unwrap().modified().unwrap();
        assert_eq!(target.resolve().unwrap(), (ck.clone(), frames));
        assert_eq!(std::fs::metadata(&ck).unwrap().modified().unwrap(), before);
        // Another scene gets other frames.
        cfg.seed += 1;
        let other = ModelTarget::Scene {
            checkpoint: None,
            scene: Arc::new(Scene::new(&cfg).unwrap()),
            cache: tmp.path().to_path_buf(),
        };
        assert_ne!(other.resolve().unwrap().1, target.resolve().unwrap().1);
        // The shipped weights load as a model.
        let scorer = crate::score::Scorer::load(&ck, &candle_core::Device::Cpu).unwrap();
        assert!(scorer.config().input.frames >= 1);
        assert!(target.describe().contains("demo"));
    }

    #[test]
    fn the_demo_weights_use_their_memories() {
        // Issue #18: the earlier weights read their bottleneck from one slot.
        let tmp = tempfile::tempdir().unwrap();
        let mut cfg = SceneConfig::demo();
        cfg.frames = 40;
        let target = ModelTarget::Scene {
            checkpoint: None,
            scene: Arc::new(Scene::new(&cfg).unwrap()),
            cache: tmp.path().to_path_buf(),
        };
        let (ck, frames) = target.resolve().unwrap();
        let mut scorer = crate::score::Scorer::load(&ck, &candle_core::Device::Cpu).unwrap();
        scorer.score_video(&frames, &|| {}).unwrap();
        let usage = scorer.usage_summary();
        assert_eq!(usage.len(), 3, "{usage:?}");
        for layer in &usage {
            assert!(
                !layer.collapsed() && layer.used_share >= 0.5,
                "the demo's {} memory has collapsed: {}",
                layer.layer,
                crate::score::usage::describe(&usage)
            );
        }
    }
}
