//! The flow benchmark: frame pairs with exact ground-truth flow and occlusion
//! masks, made by a generator (kept here, not as data) and scored by EPE.
//!
//! **Sets** ([`Set`]): synthetic scenes rendered with their exact flow
//! ([`crate::synth::Scene::flow_pair`]); real frames warped by smooth flows
//! with small (0.2–2 px) and large (2–24 px) displacements; real frames with
//! objects moving on their own over a moving background (occlusions); and
//! warps under brightness change, blur and noise between the frames.
//!
//! **Splits** ([`Split`]): `tune` pairs come from one set of source frames and
//! synthetic seeds, `held-out` pairs from others, so that parameters tuned on
//! `tune` are judged on footage they were not tuned on.
//!
//! **Layout** (`vadscope bench flow-pairs OUT`): `OUT/manifest.json`, and per
//! pair `OUT/SPLIT/SET/NNN_prev.png`, `NNN_next.png` (8-bit gray),
//! `NNN_flow.flo` (Middlebury), `NNN_mask.png` (255 where the EPE counts:
//! the destination is inside the frame, off an 8-pixel border) and
//! `NNN_occ.png` (255 where the pixel is hidden in the second frame).
//! `benches/reference/flow_opencv.py measure` reads the same files.

mod score;
mod warp;

pub use score::{load, pair_epe, summarize, BenchPair, GroupScore};

use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::{write_flo, Flow};
use crate::error::{Error, Result};
use crate::frame::Frame;
use crate::synth::{AnomalyKind, Rng, Scene, SceneConfig};

/// A benchmark folder: its manifest marks one; replaced only with `--overwrite`.
pub const BENCH_FOLDER: crate::save::FolderKind = crate::save::FolderKind {
    what: "a flow benchmark",
    markers: &[MANIFEST],
    overwrite_flag: Some("--overwrite"),
};

/// Name of the manifest file in a benchmark folder.
pub const MANIFEST: &str = "manifest.json";
/// `format` field of the manifest.
pub const FORMAT: &str = "vadscope-flow-pairs";
/// Longest motion in a synthetic pair at 256 px (frames closer together otherwise).
const MAX_SYNTH_PX: f32 = 32.0;
/// Pixels along each edge left out of the EPE (as in the older pair folders).
pub const BORDER: usize = 8;

/// A set of pairs of one kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Set {
    /// Synthetic walkway scenes, frames 1 to 8 apart (motion up to 32 px at
    /// 256 px), exact flow and occlusion.
    Synth,
    /// Real frames under a smooth flow of at most 0.2–2 px.
    SmoothSmall,
    /// Real frames under a smooth flow of at most 2–24 px.
    SmoothLarge,
    /// Real frames with 2–5 objects moving 0.5–24 px over a background under a
    /// smooth flow of at most 0.3–6 px.
    Piecewise,
    /// Smooth or piecewise motion of at most 10 px with one to three of:
    /// brightness gain and offset, blur of one frame, noise on both.
    Photometric,
}

impl Set {
    /// Every set, in report order.
    pub const ALL: [Set; 5] = [
        Set::Synth,
        Set::SmoothSmall,
        Set::SmoothLarge,
        Set::Piecewise,
        Set::Photometric,
    ];

    /// The folder and report name.
    pub fn name(self) -> &'static str {
        match self {
            Set::Synth => "synth",
            Set::SmoothSmall => "smooth-small",
            Set::SmoothLarge => "smooth-large",
            Set::Piecewise => "piecewise",
            Set::Photometric => "photometric",
        }
    }
}

/// Which part of the benchmark a pair belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Split {
    /// Pairs to tune parameters on.
    Tune,
    /// Pairs from other sources, to report on.
    HeldOut,
}

impl Split {
    /// The folder and report name.
    pub fn name(self) -> &'static str {
        match self {
            Split::Tune => "tune",
            Split::HeldOut => "held-out",
        }
    }
}

impl std::str::FromStr for Split {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "tune" => Ok(Split::Tune),
            "held-out" | "heldout" => Ok(Split::HeldOut),
            _ => Err(Error::invalid(format!(
                "unknown split {s:?} (tune, held-out)"
            ))),
        }
    }
}

/// What [`make`] makes.
#[derive(Debug, Clone)]
pub struct MakeOptions {
    /// Frame size of every pair.
    pub width: usize,
    /// Frame height.
    pub height: usize,
    /// Pairs per set and split.
    pub pairs: usize,
    /// Seed of everything random.
    pub seed: u64,
    /// Image files or folders (searched recursively) of the tune split.
    pub tune_sources: Vec<PathBuf>,
    /// Image files or folders of the held-out split.
    pub held_out_sources: Vec<PathBuf>,
}

/// One pair's entry in the manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PairInfo {
    /// Path of the pair's files without the `_prev.png` etc. suffix, relative
    /// to the benchmark folder (`tune/synth/000`).
    pub file: String,
    /// Its split.
    pub split: Split,
    /// Its set.
    pub set: Set,
    /// Where it came from: the source frame, or the synthetic scene.
    pub source: String,
    /// Its longest true flow vector over the counted pixels, in pixels.
    pub max_px: f32,
    /// Share of counted pixels that are occluded.
    pub occluded: f32,
    /// Photometric changes between the frames, if any.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<String>,
}

/// The manifest of a benchmark folder.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// Always [`FORMAT`].
    pub format: String,
    /// Layout version (1).
    pub version: u32,
    /// Frame width of every pair.
    pub width: usize,
    /// Frame height.
    pub height: usize,
    /// The seed it was made with.
    pub seed: u64,
    /// The source files or folders of each split, as given.
    pub tune_sources: Vec<String>,
    /// Held-out sources, as given.
    pub held_out_sources: Vec<String>,
    /// Every pair.
    pub pairs: Vec<PairInfo>,
}

/// Image files under each of `sources` (files as given, folders searched
/// recursively), in natural order.
pub fn source_images(sources: &[PathBuf]) -> Result<Vec<PathBuf>> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
        let entries = std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))?;
        for e in entries {
            let path = e.map_err(|e| Error::io(dir, e))?.path();
            if path.is_dir() {
                walk(&path, out)?;
            } else if crate::video::is_image_file(&path) {
                out.push(path);
            }
        }
        Ok(())
    }
    let mut out = Vec::new();
    for s in sources {
        let before = out.len();
        if s.is_dir() {
            walk(s, &mut out)?;
        } else if s.is_file() {
            out.push(s.clone());
        } else {
            return Err(Error::io(
                s,
                std::io::Error::new(std::io::ErrorKind::NotFound, "no such file or folder"),
            ));
        }
        if out.len() == before {
            return Err(Error::decode(
                s,
                format!(
                    "no images (.{}) in it",
                    crate::video::IMAGE_EXTENSIONS.join(", .")
                ),
            ));
        }
    }
    out.sort_by(|a, b| crate::video::natural_cmp(&a.to_string_lossy(), &b.to_string_lossy()));
    Ok(out)
}

/// Loads an image as gray `f32`, resized to `w` x `h` (area-like filter).
fn load_resized(path: &Path, w: usize, h: usize) -> Result<Frame<f32>> {
    let mut frame = Frame::default();
    crate::video::load_image(path, crate::frame::PixelFormat::Gray, &mut frame)?;
    if (frame.width, frame.height) == (w, h) {
        return Ok(frame.to_f32());
    }
    let img = image::GrayImage::from_raw(frame.width as u32, frame.height as u32, frame.data)
        .ok_or_else(|| Error::decode(path, "image size mismatch"))?;
    // The image crate's triangle filter, not the clip pipeline's resizer: the
    // published benchmark (docs/results/flow) was made with it.
    let img = image::imageops::resize(
        &img,
        w as u32,
        h as u32,
        image::imageops::FilterType::Triangle,
    );
    Ok(Frame::from_vec(w, h, 1, img.into_raw())
        .ok_or_else(|| Error::decode(path, "image size mismatch"))?
        .to_f32())
}

/// One pair to make: everything needed to render it, drawn up front so that
/// pairs can be made in parallel and come out the same either way.
struct Plan {
    info: PairInfo,
    rng: Rng,
    frame: Option<PathBuf>,
    texture: Option<PathBuf>,
}

/// Makes the benchmark in `target`, calling `progress(done, total)` as pairs
/// are written, and returns the manifest it wrote. `target` must be missing or
/// empty, or an earlier benchmark with `overwrite` (kept as `NAME.bak`). The
/// folder is built beside it and renamed into place, so a failure leaves
/// nothing half-written.
pub fn make(
    target: &Path,
    opts: &MakeOptions,
    overwrite: bool,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Result<Manifest> {
    if opts.width < 64 || opts.height < 64 || opts.width > 4096 || opts.height > 4096 {
        return Err(Error::invalid(format!(
            "benchmark frames of {}x{}: each side must be 64 to 4096",
            opts.width, opts.height
        )));
    }
    if opts.pairs == 0 || opts.pairs > 1000 {
        return Err(Error::invalid(format!(
            "{} pairs per set: must be 1 to 1000",
            opts.pairs
        )));
    }
    let sources = [
        (Split::Tune, source_images(&opts.tune_sources)?),
        (Split::HeldOut, source_images(&opts.held_out_sources)?),
    ];
    let staged = crate::save::StagedFolder::begin(target, &BENCH_FOLDER, overwrite)?;
    let out = staged.path();
    let mut plans = Vec::new();
    let mut root = Rng::new(opts.seed);
    for (split, images) in &sources {
        for set in Set::ALL {
            let mut rng = root.fork(0x5E7 + plans.len() as u64);
            for k in 0..opts.pairs {
                let file = format!("{}/{}/{k:03}", split.name(), set.name());
                let (frame, texture) = if set == Set::Synth {
                    (None, None)
                } else {
                    let a = rng.below(images.len());
                    let b = rng.below(images.len());
                    (Some(images[a].clone()), Some(images[b].clone()))
                };
                plans.push(Plan {
                    info: PairInfo {
                        file,
                        split: *split,
                        set,
                        source: String::new(),
                        max_px: 0.0,
                        occluded: 0.0,
                        changes: Vec::new(),
                    },
                    rng: rng.fork(k as u64),
                    frame,
                    texture,
                });
            }
        }
    }
    for (split, _) in &sources {
        for set in Set::ALL {
            let dir = out.join(split.name()).join(set.name());
            std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        }
    }
    let total = plans.len();
    let done = std::sync::atomic::AtomicUsize::new(0);
    let infos: Vec<PairInfo> = plans
        .into_par_iter()
        .map(|plan| {
            let info = make_pair(out, opts, plan)?;
            let n = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
            progress(n, total);
            Ok(info)
        })
        .collect::<Result<_>>()?;
    let manifest = Manifest {
        format: FORMAT.into(),
        version: 1,
        width: opts.width,
        height: opts.height,
        seed: opts.seed,
        tune_sources: opts
            .tune_sources
            .iter()
            .map(|p| p.display().to_string())
            .collect(),
        held_out_sources: opts
            .held_out_sources
            .iter()
            .map(|p| p.display().to_string())
            .collect(),
        pairs: infos,
    };
    let json = serde_json::to_vec_pretty(&manifest)
        .map_err(|e| Error::invalid(format!("cannot encode the manifest: {e}")))?;
    crate::save::atomic_write(&out.join(MANIFEST), &json)?;
    staged.commit()?;
    Ok(manifest)
}

/// Renders one planned pair and writes its files.
fn make_pair(out: &Path, opts: &MakeOptions, plan: Plan) -> Result<PairInfo> {
    let Plan {
        mut info,
        mut rng,
        frame,
        texture,
    } = plan;
    let (w, h) = (opts.width, opts.height);
    let scale = w.min(h) as f32 / 256.0;
    let made = match info.set {
        Set::Synth => {
            let seed = rng.next_u64() >> 16;
            let kinds = [
                AnomalyKind::Runner,
                AnomalyKind::Cyclist,
                AnomalyKind::Skateboarder,
                AnomalyKind::ThrownObject,
                AnomalyKind::AgainstFlow,
            ];
            let anomalies = (0..1 + rng.below(2))
                .map(|_| kinds[rng.below(kinds.len())])
                .collect();
            let scene = Scene::new(&SceneConfig {
                width: w,
                height: h,
                frames: 200,
                seed,
                pedestrians: rng.range(6.0, 14.0),
                anomalies,
                ..SceneConfig::default()
            })?;
            let i = 10 + rng.below(170);
            let gaps = [1, 2, 3, 4, 6, 8];
            // A runner 8 frames on moves ~100 px: shorten the gap until the
            // longest motion is at most MAX_SYNTH_PX.
            let mut k = rng.below(gaps.len());
            let mut pair = scene.flow_pair(i, gaps[k]);
            while k > 0 && longest(&pair.flow, &pair.valid) > MAX_SYNTH_PX * scale {
                k -= 1;
                pair = scene.flow_pair(i, gaps[k]);
            }
            let gap = gaps[k];
            info.source = format!("synth seed {seed}, frames {i} and {}", i + gap);
            warp::Made {
                prev: pair.prev.to_f32(),
                next: pair.next.to_f32(),
                flow: pair.flow,
                valid: pair.valid,
                occluded: pair.occluded,
            }
        }
        set => {
            let (Some(frame), Some(texture)) = (frame, texture) else {
                return Err(Error::invalid("a real-frame pair without its frames"));
            };
            info.source = frame.display().to_string();
            let base = load_resized(&frame, w, h)?;
            let tex = load_resized(&texture, w, h)?;
            let (bg_max, objects, changes) = match set {
                Set::SmoothSmall => (warp::log_uniform(&mut rng, 0.2, 2.0), 0, false),
                Set::SmoothLarge => (warp::log_uniform(&mut rng, 2.0, 24.0), 0, false),
                Set::Piecewise => (
                    warp::log_uniform(&mut rng, 0.3, 6.0),
                    2 + rng.below(4),
                    false,
                ),
                _ => {
                    let objects = if rng.chance(0.5) { 0 } else { 1 + rng.below(3) };
                    (warp::log_uniform(&mut rng, 0.5, 10.0), objects, true)
                }
            };
            let bg = warp::smooth_flow(&mut rng, w, h, bg_max * scale);
            let max_shift = if changes { 10.0 } else { 24.0 } * scale;
            let objects: Vec<warp::Object> = (0..objects)
                .map(|_| warp::Object::random(&mut rng, w, h, max_shift))
                .collect();
            let mut made = warp::compose(&base, &bg, &objects, &tex);
            if changes {
                for c in warp::Change::random(&mut rng) {
                    c.apply(&mut rng, &mut made.prev, &mut made.next);
                    info.changes.push(c.describe());
                }
            }
            made
        }
    };
    let mut valid = made.valid;
    for y in 0..h {
        for x in 0..w {
            if x < BORDER || y < BORDER || x + BORDER >= w || y + BORDER >= h {
                valid[y * w + x] = false;
            }
        }
    }
    let counted = valid.iter().filter(|&&v| v).count().max(1);
    info.max_px = longest(&made.flow, &valid);
    info.occluded = valid
        .iter()
        .zip(&made.occluded)
        .filter(|(&v, &o)| v && o)
        .count() as f32
        / counted as f32;
    let base = out.join(&info.file);
    let base = base.to_string_lossy();
    write_gray(&format!("{base}_prev.png"), &made.prev.to_u8())?;
    write_gray(&format!("{base}_next.png"), &made.next.to_u8())?;
    write_flo(format!("{base}_flow.flo"), &made.flow)?;
    write_gray(&format!("{base}_mask.png"), &mask_frame(&valid, w, h))?;
    write_gray(
        &format!("{base}_occ.png"),
        &mask_frame(&made.occluded, w, h),
    )?;
    Ok(info)
}

/// Where a true flow can be scored, from the surface id visible at each pixel
/// of both frames (`0` = background): a pixel is valid when its flow is
/// `known` and its destination lies inside the frame, and occluded when the
/// surface seen at its (rounded) destination in the second frame is another.
pub fn visibility(
    flow: &Flow,
    known: &[bool],
    ids0: &[u32],
    ids1: &[u32],
) -> (Vec<bool>, Vec<bool>) {
    let (w, h) = (flow.width, flow.height);
    let mut valid = vec![false; w * h];
    let mut occluded = vec![false; w * h];
    for y in 0..h {
        for x in 0..w {
            let k = y * w + x;
            let (u, v) = flow.at(x, y);
            let (dx, dy) = (x as f32 + u, y as f32 + v);
            if !known[k] || dx < 0.0 || dy < 0.0 || dx > (w - 1) as f32 || dy > (h - 1) as f32 {
                continue;
            }
            valid[k] = true;
            occluded[k] = ids1[dy.round() as usize * w + dx.round() as usize] != ids0[k];
        }
    }
    (valid, occluded)
}

/// The longest flow vector over the pixels of `mask`.
fn longest(flow: &Flow, mask: &[bool]) -> f32 {
    flow.data
        .chunks_exact(2)
        .zip(mask)
        .filter(|(_, &m)| m)
        .map(|(p, _)| p[0].hypot(p[1]))
        .fold(0.0f32, f32::max)
}

fn mask_frame(mask: &[bool], w: usize, h: usize) -> Frame<u8> {
    let data = mask.iter().map(|&m| if m { 255 } else { 0 }).collect();
    Frame::from_vec(w, h, 1, data).unwrap_or_default()
}

/// Writes an 8-bit gray PNG atomically.
fn write_gray(path: &str, frame: &Frame<u8>) -> Result<()> {
    let bytes = frame
        .to_png()
        .map_err(|e| Error::decode(path, format!("cannot encode the PNG: {e}")))?;
    crate::save::atomic_write(Path::new(path), &bytes)
}

#[cfg(test)]
mod tests;
