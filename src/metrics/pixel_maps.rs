//! Pixel-level AUC of score maps (`<video>.maps.npy`, see
//! [`crate::score::map_file`]) against the ground truth's pixel masks.
//!
//! Each map is resized (bilinear) to its mask's size, so the AUC counts the
//! annotation's pixels; every pixel of every evaluated frame of every video
//! with masks goes into one [`PixelAuc`]. Normalisation: per-video min-max (as
//! the frame protocol's default), or the raw values (any one affine map of all
//! pixels, such as a z-score, leaves the AUC unchanged). No temporal smoothing.

use std::path::Path;

use serde::Serialize;

use super::{Normalize, PixelAuc};
use crate::error::{Error, Result};
use crate::score::{maps_path, ScoreMaps};
use crate::truth::pixels::{MaskFrames, PixelMask};
use crate::truth::{GroundTruth, VideoTruth};

/// The pixel-level result and what it was computed over.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PixelReport {
    /// Pixel-level ROC AUC (all pixels of all evaluated frames).
    pub auc: f64,
    /// `per-video min-max` or `none`.
    pub normalize: String,
    /// Videos evaluated (those with masks).
    pub videos: usize,
    /// Frames evaluated.
    pub frames: usize,
    /// Pixels evaluated, at mask resolution.
    pub pixels: u64,
    /// Of which anomalous.
    pub anomalous_pixels: u64,
    /// Map size (width, height) of the first video.
    pub map_size: [usize; 2],
    /// Mask size (width, height) of the first evaluated frame.
    pub mask_size: [usize; 2],
    /// Histogram bins of the streaming AUC.
    pub bins: usize,
    /// Per video: its pixel AUC (`None` when its evaluated pixels hold one class).
    pub per_video: Vec<VideoPixelAuc>,
}

/// One video's pixel-level AUC.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VideoPixelAuc {
    /// The video's name.
    pub name: String,
    /// Its pixel AUC, `None` when its evaluated pixels hold one class.
    pub auc: Option<f64>,
    /// Anomalous pixels among its evaluated frames.
    pub anomalous_pixels: u64,
}

/// Whether the score folder `dir` holds maps for any video of `gt`.
pub fn has_maps(dir: &Path, gt: &GroundTruth) -> bool {
    dir.is_dir() && gt.videos.iter().any(|v| maps_path(dir, &v.name).is_file())
}

/// The maps file of video `v` in `dir`, and the frame its first map belongs to
/// (maps cover a video's last frames). `frames` is the video's frame count
/// where the ground truth does not say (none: the maps' count).
pub(super) fn video_maps(
    dir: &Path,
    v: &VideoTruth,
    frames: Option<usize>,
) -> Result<(ScoreMaps, usize)> {
    let path = maps_path(dir, &v.name);
    let maps = ScoreMaps::read(&path)?;
    let n = v.num_frames.or(frames).unwrap_or(maps.frames());
    // `score` writes one map per scored frame: fewer would quietly leave
    // frames out of the pixel AUC.
    if let Some(first) = first_scored_frame(dir)? {
        let scored = n.saturating_sub(first);
        if maps.frames() != scored {
            return Err(Error::format(
                &path,
                format!(
                    "{} maps, but video {:?} has {scored} scored frames ({first}..{n}, \
                     run.json's first_scored_frame {first}): the maps file is incomplete or \
                     from another run",
                    maps.frames(),
                    v.name
                ),
            ));
        }
    }
    let offset = n.checked_sub(maps.frames()).ok_or_else(|| {
        Error::format(
            &path,
            format!(
                "{} maps for video {:?} of {n} frames",
                maps.frames(),
                v.name
            ),
        )
    })?;
    Ok((maps, offset))
}

/// `first_scored_frame` of the score folder's `run.json`, when it has one.
fn first_scored_frame(dir: &Path) -> Result<Option<usize>> {
    let run = dir.join("run.json");
    if !run.is_file() {
        return Ok(None);
    }
    let text = std::fs::read_to_string(&run).map_err(|e| Error::io(&run, e))?;
    let v: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| Error::format(&run, e.to_string()))?;
    match v.get("first_scored_frame") {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(f) => f.as_u64().map(|f| Some(f as usize)).ok_or_else(|| {
            Error::format(
                &run,
                format!("first_scored_frame {f} is not a frame number"),
            )
        }),
    }
}

/// Frame `frame`'s mask of video `name`; an error when it has none.
pub(super) fn mask_at(masks: &MaskFrames<'_>, name: &str, frame: usize) -> Result<PixelMask> {
    masks.get(frame)?.ok_or_else(|| {
        Error::invalid(format!(
            "video {name:?}: no mask for frame {frame} ({} masks)",
            masks.len()
        ))
    })
}

/// Pixel-level AUC of the maps in `dir` against `gt`'s masks, frames before
/// `exclude_first` left out. Every video with masks needs a maps file.
pub fn evaluate_maps(
    dir: &Path,
    gt: &GroundTruth,
    exclude_first: usize,
    normalize: Normalize,
) -> Result<PixelReport> {
    let videos: Vec<_> = gt
        .videos
        .iter()
        .filter_map(|v| v.masks.as_ref().map(|m| (v, m)))
        .collect();
    if videos.is_empty() {
        return Err(Error::invalid(
            "pixel AUC: the ground truth has no pixel masks",
        ));
    }
    let minmax = normalize == Normalize::MinMax;
    let range = |m: &ScoreMaps| {
        m.data
            .iter()
            .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &v| {
                (lo.min(v), hi.max(v))
            })
    };
    // Raw values need the global range before binning: a first pass.
    let global = if minmax {
        (0.0, 1.0)
    } else {
        let mut g = (f32::INFINITY, f32::NEG_INFINITY);
        for (v, _) in &videos {
            let (lo, hi) = range(&ScoreMaps::read(&maps_path(dir, &v.name))?);
            g = (g.0.min(lo), g.1.max(hi));
        }
        g
    };
    let (lo, hi) = if global.1 > global.0 {
        (f64::from(global.0), f64::from(global.1))
    } else {
        (f64::from(global.0), f64::from(global.0) + 1.0)
    };
    let bins = PixelAuc::DEFAULT_BINS;
    let mut acc = PixelAuc::new(lo, hi, bins)?;
    let mut report = PixelReport {
        auc: 0.0,
        normalize: if minmax { "per-video min-max" } else { "none" }.into(),
        videos: videos.len(),
        frames: 0,
        pixels: 0,
        anomalous_pixels: 0,
        map_size: [0, 0],
        mask_size: [0, 0],
        bins,
        per_video: Vec::new(),
    };
    for (v, masks) in &videos {
        let masks = masks.frames()?;
        let (maps, offset) = video_maps(dir, v, Some(masks.len()))?;
        if report.map_size == [0, 0] {
            report.map_size = [maps.width, maps.height];
        }
        let (vlo, vhi) = range(&maps);
        // The video alone, over the same range as the whole.
        let mut video_acc = PixelAuc::new(lo, hi, bins)?;
        let scale = if vhi > vlo { 1.0 / (vhi - vlo) } else { 0.0 };
        for k in 0..maps.frames() {
            let frame = offset + k;
            if frame < exclude_first {
                continue;
            }
            let mask = mask_at(&masks, &v.name, frame)?;
            if report.mask_size == [0, 0] {
                report.mask_size = [mask.width, mask.height];
            }
            let mut map = maps.resized(k, mask.width, mask.height);
            if minmax {
                map.iter_mut().for_each(|x| *x = (*x - vlo) * scale);
            }
            acc.add(&map, &mask.pixels)?;
            video_acc.add(&map, &mask.pixels)?;
            report.frames += 1;
        }
        report.per_video.push(VideoPixelAuc {
            name: v.name.clone(),
            auc: video_acc.auc().ok(),
            anomalous_pixels: video_acc.counts().0,
        });
    }
    let (pos, neg) = acc.counts();
    report.pixels = pos + neg;
    report.anomalous_pixels = pos;
    report.auc = acc.auc()?;
    Ok(report)
}
