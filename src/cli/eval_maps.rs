//! The map-based parts of `vadscope eval`: pixel-level AUC and RBDC/TBDC of the
//! score folder's `<video>.maps.npy` against the ground truth's masks (or regions).

use std::path::Path;

use anyhow::Context;
use vadscope::dataset::{self, Split};
use vadscope::metrics::{self, Normalize, PixelReport, RegionParams, RegionReport};
use vadscope::truth::{self, GroundTruth, ReadOptions};

use super::eval::{opt, EvalArgs};

/// What the maps gave.
#[derive(Default)]
pub struct MapReports {
    /// Pixel-level AUC, when the ground truth has masks.
    pub pixel: Option<PixelReport>,
    /// RBDC/TBDC, when it has masks or regions.
    pub regions: Option<RegionReport>,
}

/// Evaluates the maps in `scores` against the masks or regions of the ground
/// truth (or, for a dataset root, of its first source that has them), printing
/// each result.
pub fn run(args: &EvalArgs, scores: &Path, gt: &GroundTruth) -> anyhow::Result<MapReports> {
    let has_pixels = |g: &GroundTruth| {
        g.videos
            .iter()
            .any(|v| v.masks.is_some() || !v.regions.is_empty())
    };
    let mut with_pixels = None;
    if !has_pixels(gt) && args.truth.is_dir() {
        if let Ok(ds) = dataset::open(&args.truth) {
            let opts = ReadOptions {
                videos: Some(ds.frame_counts(Split::Test)?),
                skip_masks: false,
            };
            with_pixels = ds
                .truth
                .iter()
                .filter_map(|src| truth::read(&src.path, &opts).ok())
                .find(has_pixels);
        }
    }
    let Some(gt) = with_pixels.as_ref().or(has_pixels(gt).then_some(gt)) else {
        println!(
            "pixel:    the score folder has maps, the ground truth neither masks nor regions: \
             no pixel AUC, no RBDC/TBDC"
        );
        return Ok(MapReports::default());
    };
    let mut out = MapReports::default();
    if gt.videos.iter().any(|v| v.masks.is_some()) {
        out.pixel = Some(pixel(args, scores, gt)?);
    }
    out.regions = Some(regions(args, scores, gt)?);
    Ok(out)
}

fn pixel(args: &EvalArgs, scores: &Path, gt: &GroundTruth) -> anyhow::Result<PixelReport> {
    let normalize = match args.normalize {
        Normalize::MinMax => Normalize::MinMax,
        _ => Normalize::None,
    };
    let r = metrics::evaluate_maps(scores, gt, args.exclude_first, normalize)
        .with_context(|| format!("pixel-level AUC of the maps in {}", scores.display()))?;
    println!(
        "pixel AUC {:.4}  ({} frames of {} videos, {} pixels of which {} anomalous; maps {}x{} \
         resized to masks {}x{}; {} normalisation, no smoothing)",
        r.auc,
        r.frames,
        r.videos,
        r.pixels,
        r.anomalous_pixels,
        r.map_size[0],
        r.map_size[1],
        r.mask_size[0],
        r.mask_size[1],
        r.normalize
    );
    if args.per_video {
        let parts: Vec<String> = r
            .per_video
            .iter()
            .map(|v| format!("{} {}", v.name, opt(v.auc, 3)))
            .collect();
        println!("pixel AUC per video: {}", parts.join(", "));
    }
    Ok(r)
}

fn regions(args: &EvalArgs, scores: &Path, gt: &GroundTruth) -> anyhow::Result<RegionReport> {
    let params = RegionParams {
        level: args.region_level,
        blur: args.region_blur,
        frame_size: args.frame_size,
        ..RegionParams::default()
    };
    let r = metrics::evaluate_regions(scores, gt, args.exclude_first, &params)
        .with_context(|| format!("RBDC/TBDC of the maps in {}", scores.display()))?;
    let c = &r.params.criteria;
    println!(
        "RBDC {:.4}  TBDC {:.4}  ({} ground-truth regions in {} tracks from {}, {} detections \
         over {} frames; regions of maps box-filtered (radius {}) >= {} per-video min-max, \
         >= {} pixels, scored by peak; \
         IoU >= {}, track fraction {}, false positives per frame up to {})",
        r.result.rbdc,
        r.result.tbdc,
        r.result.regions,
        r.result.tracks,
        r.truth_from,
        r.detections,
        r.result.frames,
        r.params.blur,
        r.params.level,
        r.params.min_area,
        c.iou,
        c.track_fraction,
        c.fpr_max
    );
    Ok(r)
}
