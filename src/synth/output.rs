//! Writing scenes to disk: PNG frame folders, mask folders, videos, ground
//! truth JSON and whole datasets in the MNAD layout.

use std::fs;
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::rng::hash2;
use super::{AnomalyKind, Scene, SceneConfig};
use crate::error::{Error, Result};
use crate::frame::Frame;
use crate::truth::dense::bit;
use crate::truth::{GroundTruth, Masks, VideoTruth};
use crate::video::encode::{EncodeOptions, VideoWriter};

/// The `"format"` tag of ground-truth JSON files.
pub const TRUTH_FORMAT: &str = crate::truth::JSON_FORMAT_TAG;
/// The `"version"` of ground-truth JSON files written here.
pub const TRUTH_VERSION: u64 = crate::truth::JSON_VERSION;

/// A small benchmark to generate with [`write_dataset`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DatasetConfig {
    /// Size, length, rate, density, format and noise of every video (its
    /// `seed` and `anomalies` are replaced per video).
    pub scene: SceneConfig,
    /// Number of training videos (normal only).
    pub train: usize,
    /// Number of testing videos (with anomalies).
    pub test: usize,
    /// Seed of the whole dataset; each video's seed derives from it.
    pub seed: u64,
    /// Anomalies per testing video; the kinds cycle through
    /// [`AnomalyKind::ALL`] so that every kind appears once there are enough.
    pub anomalies_per_video: usize,
}

impl Default for DatasetConfig {
    fn default() -> Self {
        DatasetConfig {
            scene: SceneConfig::default(),
            train: 4,
            test: 4,
            seed: 0,
            anomalies_per_video: 2,
        }
    }
}

impl DatasetConfig {
    /// The configuration of training video `k` (0-based).
    pub fn train_scene(&self, k: usize) -> SceneConfig {
        SceneConfig {
            seed: hash2(self.seed, k as u64),
            anomalies: Vec::new(),
            ..self.scene.clone()
        }
    }

    /// The configuration of testing video `k` (0-based).
    pub fn test_scene(&self, k: usize) -> SceneConfig {
        let n = self.anomalies_per_video;
        SceneConfig {
            seed: hash2(self.seed, 1_000_000 + k as u64),
            anomalies: (0..n)
                .map(|m| AnomalyKind::ALL[(k * n + m) % AnomalyKind::ALL.len()])
                .collect(),
            ..self.scene.clone()
        }
    }

    /// Frames the whole dataset has (for progress bars).
    pub fn total_frames(&self) -> usize {
        (self.train + self.test) * self.scene.frames
    }
}

/// The file name of frame `i` of `n`: `000.png`, zero-padded to at least 3 digits.
pub fn frame_file_name(i: usize, n: usize) -> String {
    let digits = n.saturating_sub(1).max(1).ilog10() as usize + 1;
    format!("{i:0width$}.png", width = digits.max(3))
}

/// Saves a gray or RGB image as PNG.
fn save_png(path: &Path, frame: &Frame<u8>) -> Result<()> {
    let color = match frame.channels {
        1 => image::ExtendedColorType::L8,
        3 => image::ExtendedColorType::Rgb8,
        c => return Err(Error::invalid(format!("{}: {c} channels", path.display()))),
    };
    image::save_buffer_with_format(
        path,
        &frame.data,
        frame.width as u32,
        frame.height as u32,
        color,
        image::ImageFormat::Png,
    )
    .map_err(|e| Error::io(path, std::io::Error::other(e.to_string())))
}

/// Synthetic output: written only where nothing is.
const FRESH: crate::save::FolderKind = crate::save::FolderKind {
    what: "synthetic data",
    markers: &[],
    overwrite_flag: None,
};

/// Runs `write` into a temporary folder and renames it to `target` on success
/// (see [`crate::save::StagedFolder`]); `target` must not exist or be empty.
fn write_dir<T>(target: &Path, write: impl FnOnce(&Path) -> Result<T>) -> Result<T> {
    let staged = crate::save::StagedFolder::begin(target, &FRESH, false)?;
    let value = write(staged.path())?;
    staged.commit()?;
    Ok(value)
}

/// Renders every frame of `scene` into `dir` (`000.png`, `001.png`, ...),
/// frames in parallel; `progress` is called once per frame written. `dir` must
/// not exist or be empty; it appears complete or not at all.
pub fn write_frames(dir: &Path, scene: &Scene, progress: &(dyn Fn() + Sync)) -> Result<()> {
    write_dir(dir, |tmp| frames_into(tmp, scene, progress))
}

fn frames_into(dir: &Path, scene: &Scene, progress: &(dyn Fn() + Sync)) -> Result<()> {
    let n = scene.len();
    (0..n)
        .into_par_iter()
        .try_for_each_init(Frame::default, |frame, i| {
            scene.render_into(i, frame);
            save_png(&dir.join(frame_file_name(i, n)), frame)?;
            progress();
            Ok(())
        })
}

/// Writes the dense masks of `truth` into `dir` as 8-bit PNGs, one per frame
/// (255 = anomalous, 0 = normal), named like the frames. `dir` must not exist
/// or be empty.
pub fn write_masks(dir: &Path, truth: &VideoTruth) -> Result<()> {
    write_dir(dir, |tmp| masks_into(tmp, truth))
}

fn masks_into(dir: &Path, truth: &VideoTruth) -> Result<()> {
    let Some(Masks::Dense {
        width,
        height,
        frames,
    }) = &truth.masks
    else {
        return Err(Error::invalid(format!(
            "{}: video {} has no dense masks to write",
            dir.display(),
            truth.name
        )));
    };
    let n = truth.num_frames.unwrap_or(frames.len()).max(frames.len());
    (0..n).into_par_iter().try_for_each(|i| {
        let data = match frames.get(i).and_then(Option::as_ref) {
            Some(bits) => (0..width * height)
                .map(|p| if bit(bits, p) { 255 } else { 0 })
                .collect(),
            None => vec![0; width * height],
        };
        let frame = Frame::from_vec(*width, *height, 1, data).expect("mask shape");
        save_png(&dir.join(frame_file_name(i, n)), &frame)
    })
}

/// Encodes every frame of `scene` into the video `path` (see
/// [`VideoWriter`]); `progress` is called once per frame.
pub fn write_video(
    path: &Path,
    scene: &Scene,
    opts: &EncodeOptions,
    progress: &(dyn Fn() + Sync),
) -> Result<()> {
    let cfg = scene.config();
    let mut writer = VideoWriter::create(path, cfg.width, cfg.height, cfg.fps, opts)?;
    // Render a batch in parallel, then encode it in order.
    let batch = 16;
    for start in (0..scene.len()).step_by(batch) {
        let end = (start + batch).min(scene.len());
        let frames: Vec<Frame<u8>> = (start..end)
            .into_par_iter()
            .map(|i| scene.render(i))
            .collect();
        for f in &frames {
            writer.write(f)?;
            progress();
        }
    }
    writer.finish()
}

/// Writes `truth` to `path` as vadscope's ground-truth JSON (atomically; see
/// [`crate::truth::Format::Json`]). Dense masks are not stored in JSON; write
/// them with [`write_masks`] and reference the folder with [`Masks::Folder`].
pub fn write_truth_json(path: &Path, truth: &GroundTruth) -> Result<()> {
    crate::truth::write(truth, path, crate::truth::Format::Json)
}

/// Writes a benchmark in the MNAD layout under `root`:
/// `training/frames/NN/NNN.png` (normal scenes), `testing/frames/NN/NNN.png`
/// (scenes with anomalies), `testing/masks/NN/NNN.png` (255 = anomalous) and
/// `truth.json` (the testing videos' ground truth, masks referenced as folders
/// relative to `root`). Videos are numbered from `01`. `root` must not exist
/// or be empty; it is built in a temporary sibling folder and renamed into
/// place. Returns the ground truth written; `progress` is called per frame.
pub fn write_dataset(
    root: &Path,
    cfg: &DatasetConfig,
    progress: &(dyn Fn() + Sync),
) -> Result<GroundTruth> {
    cfg.scene.validate()?;
    let name = |k: usize| {
        let n = cfg.train.max(cfg.test);
        let digits = n.max(1).ilog10() as usize + 1;
        format!("{:0width$}", k + 1, width = digits.max(2))
    };
    write_dir(root, |tmp| {
        let mkdir = |p: &Path| fs::create_dir_all(p).map_err(|e| Error::io(p, e));
        for k in 0..cfg.train {
            let dir = tmp.join("training/frames").join(name(k));
            mkdir(&dir)?;
            frames_into(&dir, &Scene::new(&cfg.train_scene(k))?, progress)?;
        }
        let mut truth = GroundTruth {
            videos: Vec::with_capacity(cfg.test),
            provenance: Some(format!(
                "vadscope synth dataset, seed {}, {} training and {} testing videos",
                cfg.seed, cfg.train, cfg.test
            )),
        };
        for k in 0..cfg.test {
            let scene = Scene::new(&cfg.test_scene(k))?;
            let frames = tmp.join("testing/frames").join(name(k));
            let masks_rel = PathBuf::from("testing/masks").join(name(k));
            mkdir(&frames)?;
            mkdir(&tmp.join(&masks_rel))?;
            frames_into(&frames, &scene, progress)?;
            let mut video = scene.truth(&name(k));
            masks_into(&tmp.join(&masks_rel), &video)?;
            // Absolute here so the JSON writer stores it relative to truth.json.
            video.masks = Some(Masks::Folder {
                path: tmp.join(&masks_rel),
            });
            truth.videos.push(video);
        }
        write_truth_json(&tmp.join("truth.json"), &truth)?;
        // What we return points where the folder will be once renamed into place.
        for v in &mut truth.videos {
            if let Some(Masks::Folder { path }) = &mut v.masks {
                if let Ok(rel) = path.strip_prefix(tmp) {
                    *path = root.join(rel);
                }
            }
        }
        Ok(truth)
    })
}
