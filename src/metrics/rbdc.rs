//! Region- and track-based detection criteria, RBDC and TBDC (Ramachandra &
//! Jones, "Street Scene: A new dataset and evaluation protocol for video anomaly
//! detection", WACV 2020).
//!
//! A detected region (a box with a score) is a true positive when its IoU with a
//! ground-truth region of the same frame is at least β, and a false positive
//! otherwise. At a threshold τ (detections with score >= τ kept):
//! - region-based detection rate = ground-truth regions matched / all regions;
//! - track-based detection rate = tracks with at least a fraction α of their
//!   regions matched / all tracks (a region without a track id is a track of one);
//! - false positive rate = false-positive detections per frame, over all frames.
//!
//! RBDC and TBDC are the areas under detection rate vs false-positive rate for
//! FPR in `[0, fpr_max]` (paper: 1 per frame), divided by `fpr_max` so they lie
//! in [0, 1]. Points are joined linearly (a threshold shared by several
//! detections is one segment, as in a ROC); past the last point (all detections
//! kept) the curve stays at its final rate, since lowering the threshold further
//! adds nothing.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::truth::Region;

/// A detected region: a box on one frame with an anomaly score.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Detection {
    /// Frame index (0-based).
    pub frame: usize,
    /// Left edge in pixels.
    pub x: f32,
    /// Top edge in pixels.
    pub y: f32,
    /// Width in pixels.
    pub w: f32,
    /// Height in pixels.
    pub h: f32,
    /// Anomaly score (higher = more anomalous).
    pub score: f64,
}

/// One video's ground-truth regions, detections and frame count.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct VideoRegions {
    /// Frames in the video (the denominator of the false-positive rate).
    pub frames: usize,
    /// Ground-truth anomalous regions, with track ids.
    pub truth: Vec<Region>,
    /// Detected regions.
    pub detections: Vec<Detection>,
}

/// Parameters of the criteria.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RbdcParams {
    /// IoU at or above which a detection matches a region (paper: 0.1).
    pub iou: f64,
    /// Fraction of a track's regions that must be matched (paper: 0.1).
    pub track_fraction: f64,
    /// Upper end of the false-positive-per-frame range integrated (paper: 1).
    pub fpr_max: f64,
}

impl Default for RbdcParams {
    fn default() -> Self {
        RbdcParams {
            iou: 0.1,
            track_fraction: 0.1,
            fpr_max: 1.0,
        }
    }
}

/// RBDC and TBDC with the counts behind them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RbdcResult {
    /// Region-based detection criterion (normalised area, 0..1).
    pub rbdc: f64,
    /// Track-based detection criterion (normalised area, 0..1).
    pub tbdc: f64,
    /// Ground-truth regions.
    pub regions: usize,
    /// Ground-truth tracks.
    pub tracks: usize,
    /// Frames.
    pub frames: usize,
}

/// Intersection over union of two `x, y, w, h` boxes.
pub(super) fn iou(a: (f32, f32, f32, f32), b: (f32, f32, f32, f32)) -> f64 {
    let ix = (a.0 + a.2).min(b.0 + b.2) - a.0.max(b.0);
    let iy = (a.1 + a.3).min(b.1 + b.3) - a.1.max(b.1);
    let inter = f64::from(ix.max(0.0)) * f64::from(iy.max(0.0));
    let union = f64::from(a.2 * a.3) + f64::from(b.2 * b.3) - inter;
    if union > 0.0 {
        inter / union
    } else {
        0.0
    }
}

/// RBDC and TBDC over `videos`.
pub fn rbdc_tbdc(videos: &[VideoRegions], params: &RbdcParams) -> Result<RbdcResult> {
    let frac_ok = params.track_fraction > 0.0 && params.track_fraction <= 1.0;
    if !(params.iou > 0.0 && params.iou <= 1.0 && frac_ok && params.fpr_max > 0.0) {
        return Err(Error::invalid(format!(
            "RBDC parameters out of range: {params:?}"
        )));
    }
    // Per ground-truth region, the best score of a detection matching it.
    let mut region_best: Vec<f64> = Vec::new();
    let mut tracks: BTreeMap<(usize, u32), Vec<usize>> = BTreeMap::new();
    let mut lone_tracks: Vec<Vec<usize>> = Vec::new();
    let mut fp_scores = Vec::new();
    let mut all_scores = Vec::new();
    let mut frames = 0usize;
    for (vi, v) in videos.iter().enumerate() {
        frames += v.frames;
        let base = region_best.len();
        let mut by_frame: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
        for (ri, r) in v.truth.iter().enumerate() {
            region_best.push(f64::NEG_INFINITY);
            by_frame.entry(r.frame).or_default().push(base + ri);
            match r.track {
                Some(t) => tracks.entry((vi, t)).or_default().push(base + ri),
                None => lone_tracks.push(vec![base + ri]),
            }
        }
        for d in &v.detections {
            if d.score.is_nan() {
                return Err(Error::invalid(format!(
                    "detection on frame {} has a NaN score",
                    d.frame
                )));
            }
            all_scores.push(d.score);
            let mut matched = false;
            for &ri in by_frame.get(&d.frame).map_or(&[][..], Vec::as_slice) {
                let r = &v.truth[ri - base];
                if iou((d.x, d.y, d.w, d.h), (r.x, r.y, r.w, r.h)) >= params.iou {
                    matched = true;
                    region_best[ri] = region_best[ri].max(d.score);
                }
            }
            if !matched {
                fp_scores.push(d.score);
            }
        }
    }
    if region_best.is_empty() {
        return Err(Error::invalid("RBDC: the ground truth has no regions"));
    }
    if frames == 0 {
        return Err(Error::invalid("RBDC: no frames"));
    }
    // A track is detected once its k-th best region score is reached.
    let track_best: Vec<f64> = tracks
        .into_values()
        .chain(lone_tracks)
        .map(|rs| {
            let k = ((params.track_fraction * rs.len() as f64) - 1e-9)
                .ceil()
                .max(1.0) as usize;
            let mut s: Vec<f64> = rs.iter().map(|&r| region_best[r]).collect();
            s.sort_unstable_by(|a, b| b.total_cmp(a));
            s[k - 1]
        })
        .collect();
    all_scores.sort_unstable_by(|a, b| b.total_cmp(a));
    all_scores.dedup();
    let count = |v: &[f64], t: f64| v.iter().filter(|&&s| s >= t).count() as f64;
    let mut rb = vec![(0.0, 0.0)];
    let mut tb = vec![(0.0, 0.0)];
    for &t in &all_scores {
        let fpr = count(&fp_scores, t) / frames as f64;
        rb.push((fpr, count(&region_best, t) / region_best.len() as f64));
        tb.push((fpr, count(&track_best, t) / track_best.len() as f64));
    }
    Ok(RbdcResult {
        rbdc: area(&rb, params.fpr_max),
        tbdc: area(&tb, params.fpr_max),
        regions: region_best.len(),
        tracks: track_best.len(),
        frames,
    })
}

/// Area under a piecewise-linear curve of `(x, y)` points (x non-decreasing) for
/// x in `[0, x_max]`, the last y held to `x_max`; divided by `x_max`.
fn area(points: &[(f64, f64)], x_max: f64) -> f64 {
    let mut a = 0.0;
    for w in points.windows(2) {
        let ((x0, y0), (x1, y1)) = (w[0], w[1]);
        if x0 >= x_max {
            return a / x_max;
        }
        if x1 > x_max {
            let y = y0 + (y1 - y0) * (x_max - x0) / (x1 - x0);
            return (a + 0.5 * (y0 + y) * (x_max - x0)) / x_max;
        }
        a += 0.5 * (y0 + y1) * (x1 - x0);
    }
    let &(x, y) = points.last().unwrap_or(&(0.0, 0.0));
    (a + y * (x_max - x)) / x_max
}

#[cfg(test)]
mod tests {
    use super::*;

    fn region(frame: usize, track: u32, x: f32, y: f32) -> Region {
        Region {
            frame,
            track: Some(track),
            x,
            y,
            w: 10.0,
            h: 10.0,
        }
    }

    fn det(frame: usize, x: f32, y: f32, score: f64) -> Detection {
        Detection {
            frame,
            x,
            y,
            w: 10.0,
            h: 10.0,
            score,
        }
    }

    /// Track 1: five regions on frames 0..5; track 2: one region on frame 6.
    /// Detections: 0.95 a miss (IoU 1/199), 0.9 hits track 1, 0.8 elsewhere,
    /// 0.7 hits track 1 (IoU 1/3), 0.6 hits track 2. Over 10 frames the curve
    /// (FPR, RBDR, TBDR) is (0,0,0) (.1,0,0) (.1,1/6,1/2) (.2,1/6,1/2) (.2,2/6,1/2)
    /// (.2,3/6,1), held to FPR 1: RBDC = .1/6 + .8/2, TBDC = .1/2 + .8.
    fn case() -> VideoRegions {
        VideoRegions {
            frames: 10,
            truth: (0..5)
                .map(|f| region(f, 1, 0.0, 0.0))
                .chain([region(6, 2, 50.0, 50.0)])
                .collect(),
            detections: vec![
                det(0, 0.0, 0.0, 0.9),
                det(1, 5.0, 0.0, 0.7),
                det(2, 100.0, 100.0, 0.8),
                det(6, 50.0, 50.0, 0.6),
                det(3, 9.0, 9.0, 0.95),
            ],
        }
    }

    #[test]
    fn hand_derived_rbdc_and_tbdc() {
        let r = rbdc_tbdc(&[case()], &RbdcParams::default()).unwrap();
        assert!((r.rbdc - (0.1 / 6.0 + 0.4)).abs() < 1e-12, "{r:?}");
        assert!((r.tbdc - 0.85).abs() < 1e-12, "{r:?}");
        assert_eq!((r.regions, r.tracks, r.frames), (6, 2, 10));
    }

    #[test]
    fn track_fraction_and_fpr_range() {
        // Half of track 1 must be hit (3 of 5 regions): it never is; only track 2 counts.
        let p = RbdcParams {
            track_fraction: 0.5,
            ..RbdcParams::default()
        };
        let r = rbdc_tbdc(&[case()], &p).unwrap();
        assert!((r.tbdc - 0.4).abs() < 1e-12, "{r:?}");
        // Integrating to 0.15 only: RBDR is 1/6 on [0.1, 0.15].
        let p = RbdcParams {
            fpr_max: 0.15,
            ..RbdcParams::default()
        };
        let r = rbdc_tbdc(&[case()], &p).unwrap();
        assert!((r.rbdc - (0.05 / 6.0) / 0.15).abs() < 1e-12, "{r:?}");
        assert!(rbdc_tbdc(
            &[VideoRegions {
                frames: 3,
                ..Default::default()
            }],
            &p
        )
        .is_err());
    }

    #[test]
    fn iou_of_boxes() {
        let b = (0.0, 0.0, 10.0, 10.0);
        assert_eq!(iou(b, b), 1.0);
        assert!((iou(b, (5.0, 0.0, 10.0, 10.0)) - 1.0 / 3.0).abs() < 1e-12);
        assert_eq!(iou(b, (20.0, 0.0, 10.0, 10.0)), 0.0);
    }
}
