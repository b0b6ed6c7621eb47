//! Regions for RBDC/TBDC ([`super::rbdc_tbdc`]) from pixel data: ground-truth
//! regions from pixel masks, detected regions from score maps.
//!
//! - Ground truth: each 8-connected component of a frame's mask is one region
//!   (its bounding box); a region continues the track of the previous frame's
//!   region it overlaps most (IoU > 0), or starts a new track. Ped2 ships masks,
//!   not boxes, and this is how boxes follow from them. Regions the ground truth
//!   lists itself take precedence.
//! - Detections: a video's maps are min-max normalised over the video; each
//!   8-connected component of pixels at or above `level` on a frame is one
//!   detection, scored by its peak value. The criteria then sweep a threshold over
//!   those peaks.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::pixel_maps::{mask_at, video_maps};
use super::rbdc::{iou, rbdc_tbdc, Detection, RbdcParams, RbdcResult, VideoRegions};
use crate::error::{Error, Result};
#[cfg(test)]
use crate::score::maps_path;
use crate::truth::{GroundTruth, Region};

/// A connected component's bounding box (pixel edges, end exclusive), size and
/// peak value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Component {
    /// Left edge.
    pub x0: usize,
    /// Top edge.
    pub y0: usize,
    /// One past the right edge.
    pub x1: usize,
    /// One past the bottom edge.
    pub y1: usize,
    /// Pixels in the component.
    pub area: usize,
    /// Largest value inside (1 for masks).
    pub peak: f32,
}

/// The 8-connected components of the pixels where `on(i)` holds, in a
/// `width`×`height` row-major grid; `value(i)` gives each pixel's value for
/// the component's peak.
pub fn components(
    width: usize,
    height: usize,
    on: impl Fn(usize) -> bool,
    value: impl Fn(usize) -> f32,
) -> Vec<Component> {
    let mut seen = vec![false; width * height];
    let mut out = Vec::new();
    let mut stack = Vec::new();
    for start in 0..width * height {
        if seen[start] || !on(start) {
            continue;
        }
        seen[start] = true;
        stack.push(start);
        let (sx, sy) = (start % width, start / width);
        let mut c = Component {
            x0: sx,
            y0: sy,
            x1: sx + 1,
            y1: sy + 1,
            area: 0,
            peak: f32::NEG_INFINITY,
        };
        while let Some(i) = stack.pop() {
            let (x, y) = (i % width, i / width);
            c.x0 = c.x0.min(x);
            c.y0 = c.y0.min(y);
            c.x1 = c.x1.max(x + 1);
            c.y1 = c.y1.max(y + 1);
            c.area += 1;
            c.peak = c.peak.max(value(i));
            for ny in y.saturating_sub(1)..(y + 2).min(height) {
                for nx in x.saturating_sub(1)..(x + 2).min(width) {
                    let j = ny * width + nx;
                    if !seen[j] && on(j) {
                        seen[j] = true;
                        stack.push(j);
                    }
                }
            }
        }
        out.push(c);
    }
    out
}

/// IoU of two regions' boxes ([`iou`] of the criteria).
fn region_iou(a: &Region, b: &Region) -> f64 {
    iou((a.x, a.y, a.w, a.h), (b.x, b.y, b.w, b.h))
}

/// Builds regions from per-frame component boxes (`frames[i]` = the boxes of
/// frame `first + i`), linking each box to the previous frame's box it overlaps
/// most into tracks.
pub fn track_boxes(first: usize, frames: &[Vec<Component>]) -> Vec<Region> {
    let mut out: Vec<Region> = Vec::new();
    let mut prev: Vec<Region> = Vec::new();
    let mut next_track = 0u32;
    for (k, boxes) in frames.iter().enumerate() {
        let mut cur = Vec::with_capacity(boxes.len());
        for c in boxes {
            let mut r = Region {
                frame: first + k,
                track: None,
                x: c.x0 as f32,
                y: c.y0 as f32,
                w: (c.x1 - c.x0) as f32,
                h: (c.y1 - c.y0) as f32,
            };
            let best = prev
                .iter()
                .map(|p| (region_iou(p, &r), p.track))
                .filter(|(iou, _)| *iou > 0.0)
                .max_by(|a, b| a.0.total_cmp(&b.0));
            r.track = match best {
                Some((_, t)) => t,
                None => {
                    next_track += 1;
                    Some(next_track - 1)
                }
            };
            cur.push(r);
        }
        out.extend(cur.iter().copied());
        prev = cur;
    }
    out
}

/// How detections are taken from maps.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RegionParams {
    /// Level (of the per-video min-max normalised map) a pixel must reach to
    /// belong to a detection.
    pub level: f32,
    /// Components smaller than this many pixels (at map resolution) are noise.
    pub min_area: usize,
    /// Radius (map pixels) of the box filter applied to each map before
    /// thresholding, so that an object's error is one region, not many specks.
    pub blur: usize,
    /// The videos' frame size (width, height) in the pixels of region ground
    /// truth; needed only for videos with regions and no masks (with masks the
    /// mask size is used).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frame_size: Option<[usize; 2]>,
    /// The criteria's own parameters.
    #[serde(flatten)]
    pub criteria: RbdcParams,
}

impl Default for RegionParams {
    fn default() -> Self {
        RegionParams {
            level: 0.3,
            min_area: 4,
            blur: 4,
            frame_size: None,
            criteria: RbdcParams::default(),
        }
    }
}

/// RBDC/TBDC of the maps in `dir` and what they were computed over.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RegionReport {
    /// The criteria.
    #[serde(flatten)]
    pub result: RbdcResult,
    /// Detections found (over all thresholds).
    pub detections: usize,
    /// Where the ground-truth regions came from (`regions` or `masks`).
    pub truth_from: String,
    /// The parameters.
    pub params: RegionParams,
}

/// RBDC/TBDC of the score maps in `dir` against `gt`: its regions where a video
/// lists them, else regions from its masks (see the module docs). Frames before
/// `exclude_first` are left out on both sides. Every video with regions or
/// masks needs a maps file.
pub fn evaluate_regions(
    dir: &Path,
    gt: &GroundTruth,
    exclude_first: usize,
    params: &RegionParams,
) -> Result<RegionReport> {
    if !(params.level.is_finite() && (0.0..=1.0).contains(&params.level)) {
        return Err(Error::invalid(format!(
            "region level {} is outside 0..1",
            params.level
        )));
    }
    let mut videos = Vec::new();
    let mut from_masks = false;
    for v in &gt.videos {
        if v.regions.is_empty() && v.masks.is_none() {
            continue;
        }
        let (maps, offset) = video_maps(dir, v, None)?;
        let n = offset + maps.frames();
        let start = exclude_first.max(offset).min(n);
        let (truth, size) = if v.regions.is_empty() {
            from_masks = true;
            let masks = v.masks.as_ref().map(|m| m.frames()).transpose()?;
            let masks = masks.ok_or_else(|| Error::invalid("no masks"))?;
            let mut boxes = Vec::with_capacity(n - start);
            let mut size = None;
            for frame in start..n {
                let mask = mask_at(&masks, &v.name, frame)?;
                size = Some((mask.width, mask.height));
                let on = |i: usize| mask.pixels[i];
                boxes.push(components(mask.width, mask.height, on, |_| 1.0));
            }
            (track_boxes(start, &boxes), size)
        } else {
            // The regions are in video pixels: the frame size is given, or
            // is the size of the video's masks.
            let size = match (params.frame_size, &v.masks) {
                (Some(size), _) => size,
                (None, Some(m)) => {
                    let masks = m.frames()?;
                    let first = mask_at(&masks, &v.name, start.min(n.saturating_sub(1)))?;
                    [first.width, first.height]
                }
                (None, None) => {
                    return Err(Error::invalid(format!(
                        "video {:?} has region ground truth in video pixels and no masks: \
                         the frame size is needed to place the maps' detections (give \
                         --frame-size WxH)",
                        v.name
                    )))
                }
            };
            let r: Vec<Region> = v
                .regions
                .iter()
                .filter(|r| r.frame >= start)
                .copied()
                .collect();
            (r, Some((size[0], size[1])))
        };
        // Detections at map resolution, boxes scaled to the ground truth's pixels.
        let (tw, th) = size.unwrap_or((maps.width, maps.height));
        let (sx, sy) = (
            tw as f32 / maps.width as f32,
            th as f32 / maps.height as f32,
        );
        // Blurred first, so that the level is a fraction of the blurred range.
        let blurred: Vec<Vec<f32>> = (start..n)
            .map(|f| box_blur(maps.frame(f - offset), maps.width, maps.height, params.blur))
            .collect();
        let (lo, hi) = blurred
            .iter()
            .flatten()
            .fold((f32::INFINITY, f32::NEG_INFINITY), |(a, b), &x| {
                (a.min(x), b.max(x))
            });
        let scale = if hi > lo { 1.0 / (hi - lo) } else { 0.0 };
        let mut detections = Vec::new();
        for (frame, map) in (start..n).zip(&blurred) {
            let norm = |i: usize| (map[i] - lo) * scale;
            let comps = components(maps.width, maps.height, |i| norm(i) >= params.level, norm);
            detections.extend(
                comps
                    .into_iter()
                    .filter(|c| c.area >= params.min_area)
                    .map(|c| Detection {
                        frame,
                        x: c.x0 as f32 * sx,
                        y: c.y0 as f32 * sy,
                        w: (c.x1 - c.x0) as f32 * sx,
                        h: (c.y1 - c.y0) as f32 * sy,
                        score: f64::from(c.peak),
                    }),
            );
        }
        videos.push(VideoRegions {
            frames: n - start,
            truth,
            detections,
        });
    }
    if videos.is_empty() {
        return Err(Error::invalid(
            "RBDC/TBDC: the ground truth has neither regions nor pixel masks",
        ));
    }
    Ok(RegionReport {
        result: rbdc_tbdc(&videos, &params.criteria)?,
        detections: videos.iter().map(|v| v.detections.len()).sum(),
        truth_from: if from_masks { "masks" } else { "regions" }.into(),
        params: *params,
    })
}

/// Mean over the (2r+1)² window around each pixel, the window clipped at the
/// borders (summed-area table).
pub fn box_blur(map: &[f32], width: usize, height: usize, r: usize) -> Vec<f32> {
    if r == 0 {
        return map.to_vec();
    }
    let w1 = width + 1;
    let mut sat = vec![0f64; w1 * (height + 1)];
    for y in 0..height {
        let mut row = 0f64;
        for x in 0..width {
            row += f64::from(map[y * width + x]);
            sat[(y + 1) * w1 + x + 1] = sat[y * w1 + x + 1] + row;
        }
    }
    let mut out = vec![0f32; width * height];
    for y in 0..height {
        let (y0, y1) = (y.saturating_sub(r), (y + r + 1).min(height));
        for x in 0..width {
            let (x0, x1) = (x.saturating_sub(r), (x + r + 1).min(width));
            let sum = sat[y1 * w1 + x1] - sat[y0 * w1 + x1] - sat[y1 * w1 + x0] + sat[y0 * w1 + x0];
            out[y * width + x] = (sum / ((y1 - y0) * (x1 - x0)) as f64) as f32;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn components_are_eight_connected_boxes_with_peaks() {
        // Two blobs: a diagonal pair (one component under 8-connectivity) and
        // a separate 2x1 bar.
        #[rustfmt::skip]
        let g = [
            1, 0, 0, 0, 0,
            0, 2, 0, 0, 0,
            0, 0, 0, 3, 5,
        ];
        let c = components(5, 3, |i| g[i] > 0, |i| g[i] as f32);
        assert_eq!(c.len(), 2);
        assert_eq!(
            (c[0].x0, c[0].y0, c[0].x1, c[0].y1, c[0].area),
            (0, 0, 2, 2, 2)
        );
        assert_eq!(c[0].peak, 2.0);
        assert_eq!(
            (c[1].x0, c[1].y0, c[1].x1, c[1].y1, c[1].area),
            (3, 2, 5, 3, 2)
        );
        assert_eq!(c[1].peak, 5.0);
    }

    #[test]
    fn box_blur_averages_clipped_windows() {
        let m = [0.0, 3.0, 0.0, 0.0, 0.0, 6.0];
        let b = box_blur(&m, 3, 2, 1);
        // Corner (0,0): window 2x2 = {0, 3, 0, 0}; centre top (1,0): 3x2, sum 9.
        assert_eq!(b[0], 0.75);
        assert_eq!(b[1], 1.5);
        assert_eq!(b[5], 2.25); // (2,1): 2x2 window {3, 0, 0, 6}
        assert_eq!(box_blur(&m, 3, 2, 0), m.to_vec());
    }

    /// A 24x16 video whose object (a 4x4 square moving right) is anomalous on
    /// frames 2..6; maps bright on the object find every region and track with
    /// no false positive, maps bright elsewhere find none.
    #[test]
    fn maps_on_the_object_detect_every_region() {
        use crate::score::ScoreMaps;
        use crate::truth::{Interval, Masks, VideoTruth};
        let (w, h, n) = (24usize, 16usize, 6usize);
        let on = |f: usize, x: usize, y: usize| {
            f >= 2 && (2 * f..2 * f + 4).contains(&x) && (6..10).contains(&y)
        };
        let frames = (0..n)
            .map(|f| Masks::pack_bits((0..w * h).map(|i| on(f, i % w, i / w)), w * h))
            .collect();
        let mut v = VideoTruth::new("a", Some(n), vec![Interval { start: 2, end: n }]);
        v.masks = Some(Masks::Dense {
            width: w,
            height: h,
            frames,
        });
        let gt = GroundTruth {
            videos: vec![v],
            provenance: None,
        };
        let dir = tempfile::tempdir().unwrap();
        let run = |shift: usize| {
            let mut maps = ScoreMaps::default();
            for f in 0..n {
                let m: Vec<f32> = (0..w * h)
                    .map(|i| f32::from(on(f, (i % w + shift) % w, i / w)) + 0.01 * (i % 3) as f32)
                    .collect();
                maps.push(w, h, &m).unwrap();
            }
            maps.write(&maps_path(dir.path(), "a")).unwrap();
            let p = RegionParams {
                blur: 1,
                ..RegionParams::default()
            };
            evaluate_regions(dir.path(), &gt, 1, &p).unwrap()
        };
        let good = run(0);
        assert_eq!((good.result.regions, good.result.tracks), (4, 1));
        assert_eq!(good.truth_from, "masks");
        assert_eq!((good.result.rbdc, good.result.tbdc), (1.0, 1.0));
        let wrong = run(12);
        assert_eq!((wrong.result.rbdc, wrong.result.tbdc), (0.0, 0.0));
        // Region ground truth without masks needs the frame size.
        let mut boxes = gt.clone();
        boxes.videos[0].masks = None;
        boxes.videos[0].regions = good_regions(&gt);
        let e = evaluate_regions(dir.path(), &boxes, 1, &RegionParams::default()).unwrap_err();
        assert!(e.to_string().contains("frame size"), "{e}");
    }

    fn good_regions(gt: &GroundTruth) -> Vec<Region> {
        let masks = gt.videos[0].masks.as_ref().unwrap().frames().unwrap();
        let boxes: Vec<Vec<Component>> = (0..masks.len())
            .map(|f| {
                let m = masks.get(f).unwrap().unwrap();
                components(m.width, m.height, |i| m.pixels[i], |_| 1.0)
            })
            .collect();
        track_boxes(0, &boxes)
    }

    #[test]
    fn boxes_that_overlap_across_frames_share_a_track() {
        let b = |x0, x1| Component {
            x0,
            y0: 0,
            x1,
            y1: 4,
            area: 1,
            peak: 1.0,
        };
        // Frame 10: one object; 11: it moved a little, a second appears far off;
        // 12: the second one only.
        let regions = track_boxes(
            10,
            &[vec![b(0, 4)], vec![b(1, 5), b(20, 24)], vec![b(21, 25)]],
        );
        let tracks: Vec<(usize, Option<u32>)> =
            regions.iter().map(|r| (r.frame, r.track)).collect();
        assert_eq!(
            tracks,
            [(10, Some(0)), (11, Some(0)), (11, Some(1)), (12, Some(1))]
        );
    }
}
