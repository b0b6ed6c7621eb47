//! Region tracks: a box carried across frames, as CVAT models it. A track
//! is a list of keyframes; between two visible keyframes the box is
//! interpolated linearly, after the last one it stays where it is, and an
//! `outside` keyframe ends it (a later visible keyframe starts it again).
//!
//! Files hold regions per frame ([`Region`], with the track id): reading turns
//! them into tracks whose keyframes are the frames where the motion is not
//! linear ([`tracks_from_regions`]), writing expands the tracks back
//! ([`regions_of`]), so a round trip keeps every box.

use serde::{Deserialize, Serialize};

use super::{normalize_intervals, Interval, Region};

/// A box in image pixels: left, top, width, height.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BoxPx {
    /// Left edge.
    pub x: f32,
    /// Top edge.
    pub y: f32,
    /// Width (positive).
    pub w: f32,
    /// Height (positive).
    pub h: f32,
}

impl BoxPx {
    /// The box spanned by two corners, in any order.
    pub fn from_corners(a: [f32; 2], b: [f32; 2]) -> Self {
        BoxPx {
            x: a[0].min(b[0]),
            y: a[1].min(b[1]),
            w: (a[0] - b[0]).abs(),
            h: (a[1] - b[1]).abs(),
        }
    }

    /// The box `t` of the way from `self` to `other` (0 = self, 1 = other).
    pub fn lerp(self, other: BoxPx, t: f32) -> BoxPx {
        let l = |a: f32, b: f32| a + (b - a) * t;
        BoxPx {
            x: l(self.x, other.x),
            y: l(self.y, other.y),
            w: l(self.w, other.w),
            h: l(self.h, other.h),
        }
    }

    /// Kept inside a `width`×`height` image, at least one pixel on a side.
    pub fn clamped(self, width: f32, height: f32) -> BoxPx {
        let w = self.w.clamp(1.0, width.max(1.0));
        let h = self.h.clamp(1.0, height.max(1.0));
        BoxPx {
            x: self.x.clamp(0.0, (width - w).max(0.0)),
            y: self.y.clamp(0.0, (height - h).max(0.0)),
            w,
            h,
        }
    }

    /// Whether the point lies inside.
    pub fn contains(&self, p: [f32; 2]) -> bool {
        p[0] >= self.x && p[0] <= self.x + self.w && p[1] >= self.y && p[1] <= self.y + self.h
    }

    fn close_to(self, o: BoxPx, eps: f32) -> bool {
        (self.x - o.x).abs() <= eps
            && (self.y - o.y).abs() <= eps
            && (self.w - o.w).abs() <= eps
            && (self.h - o.h).abs() <= eps
    }
}

/// A keyframe of a track.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Keyframe {
    /// The frame (0-based).
    pub frame: usize,
    /// The box on it.
    pub bbox: BoxPx,
    /// The object is gone from this frame on (until the next visible keyframe).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub outside: bool,
}

/// One object's boxes over time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Track {
    /// The track id files store with each region.
    pub id: u32,
    /// Keyframes sorted by frame, one per frame; the first is visible.
    pub keys: Vec<Keyframe>,
}

impl Track {
    /// A track that starts at `frame` with `bbox` and runs to the video's end.
    pub fn new(id: u32, frame: usize, bbox: BoxPx) -> Self {
        Track {
            id,
            keys: vec![Keyframe {
                frame,
                bbox,
                outside: false,
            }],
        }
    }

    /// The first frame the track is on.
    pub fn start(&self) -> usize {
        self.keys.first().map_or(0, |k| k.frame)
    }

    /// The box on frame `f`, if the track is visible there.
    pub fn box_at(&self, f: usize) -> Option<BoxPx> {
        let i = self.keys.partition_point(|k| k.frame <= f).checked_sub(1)?;
        let k = self.keys[i];
        if k.outside {
            return None;
        }
        match self.keys.get(i + 1) {
            Some(n) if !n.outside && n.frame > k.frame => {
                let t = (f - k.frame) as f32 / (n.frame - k.frame) as f32;
                Some(k.bbox.lerp(n.bbox, t))
            }
            _ => Some(k.bbox),
        }
    }

    /// Whether frame `f` is a visible keyframe.
    pub fn is_key(&self, f: usize) -> bool {
        self.keys.iter().any(|k| k.frame == f && !k.outside)
    }

    /// This track with a visible keyframe `bbox` at frame `f` (replacing one there).
    pub fn with_key(&self, f: usize, bbox: BoxPx) -> Track {
        let mut t = self.clone();
        let key = Keyframe {
            frame: f,
            bbox,
            outside: false,
        };
        match t.keys.binary_search_by_key(&f, |k| k.frame) {
            Ok(i) => t.keys[i] = key,
            Err(i) => t.keys.insert(i, key),
        }
        t
    }

    /// This track ending before frame `f` (the object leaves at `f`): `None`
    /// when nothing is left of it.
    pub fn ended_at(&self, f: usize) -> Option<Track> {
        let mut t = self.clone();
        t.keys.retain(|k| k.frame < f);
        if t.keys.is_empty() {
            return None;
        }
        let bbox = t.keys.last().map(|k| k.bbox)?;
        t.keys.push(Keyframe {
            frame: f,
            bbox,
            outside: true,
        });
        Some(t)
    }

    /// The frames the track is visible on, in a video of `len` frames.
    pub fn spans(&self, len: usize) -> Vec<Interval> {
        let mut out = Vec::new();
        let mut open: Option<usize> = None;
        for k in &self.keys {
            match (k.outside, open) {
                (false, None) => open = Some(k.frame),
                (true, Some(s)) => {
                    out.extend(Interval::new(s, k.frame.min(len)));
                    open = None;
                }
                _ => {}
            }
        }
        if let Some(s) = open {
            out.extend(Interval::new(s, len));
        }
        out
    }
}

/// The tracks of per-frame regions: boxes with one track id become one track
/// (a gap between frames ends it until the next box); boxes without an id,
/// and a second box of one id on a frame, become one-frame tracks with new ids.
pub fn tracks_from_regions(regions: &[Region]) -> Vec<Track> {
    let mut next_id = regions
        .iter()
        .filter_map(|r| r.track)
        .max()
        .map_or(0, |m| m.saturating_add(1));
    let mut fresh = || {
        let id = next_id;
        next_id = next_id.saturating_add(1);
        id
    };
    let mut by_id: std::collections::BTreeMap<u32, Vec<(usize, BoxPx)>> = Default::default();
    let mut singles = Vec::new();
    for r in regions {
        let b = BoxPx {
            x: r.x,
            y: r.y,
            w: r.w,
            h: r.h,
        };
        match r.track {
            Some(id) => by_id.entry(id).or_default().push((r.frame, b)),
            None => singles.push((r.frame, b)),
        }
    }
    let mut out = Vec::new();
    for (id, mut boxes) in by_id {
        boxes.sort_by_key(|&(f, _)| f);
        let mut run: Vec<(usize, BoxPx)> = Vec::new();
        for (f, b) in boxes {
            if run.last().is_some_and(|&(g, _)| g == f) {
                singles.push((f, b));
            } else {
                run.push((f, b));
            }
        }
        out.push(track_of_boxes(id, &run));
    }
    for (f, b) in singles {
        out.push(track_of_boxes(fresh(), &[(f, b)]));
    }
    out.sort_by_key(|t| t.id);
    out
}

/// A track through boxes sorted by frame: keyframes where the motion bends
/// (a second difference other than zero), at the ends of each run of
/// consecutive frames, and an `outside` key after each run.
fn track_of_boxes(id: u32, boxes: &[(usize, BoxPx)]) -> Track {
    // Interpolating between kept keys reproduces the dropped boxes to within this.
    const EPS_PX: f32 = 1e-3;
    let mut keys = Vec::new();
    for (i, &(f, b)) in boxes.iter().enumerate() {
        let prev = i.checked_sub(1).map(|j| boxes[j]).filter(|p| p.0 + 1 == f);
        let next = boxes.get(i + 1).copied().filter(|n| n.0 == f + 1);
        let linear =
            matches!((prev, next), (Some(p), Some(n)) if p.1.lerp(n.1, 0.5).close_to(b, EPS_PX));
        if !linear {
            keys.push(Keyframe {
                frame: f,
                bbox: b,
                outside: false,
            });
        }
        if next.is_none() {
            keys.push(Keyframe {
                frame: f + 1,
                bbox: b,
                outside: true,
            });
        }
    }
    Track { id, keys }
}

/// Every box of `tracks` on frames `0..len`, as regions sorted by frame and track.
pub fn regions_of(tracks: &[Track], len: usize) -> Vec<Region> {
    let mut out = Vec::new();
    for t in tracks {
        for span in t.spans(len) {
            for f in span.range() {
                if let Some(b) = t.box_at(f) {
                    out.push(Region {
                        frame: f,
                        track: Some(t.id),
                        x: b.x,
                        y: b.y,
                        w: b.w,
                        h: b.h,
                    });
                }
            }
        }
    }
    out.sort_by_key(|r| (r.frame, r.track));
    out
}

/// The frames any track is visible on: the intervals derived from the boxes.
pub fn spans_of(tracks: &[Track], len: usize) -> Vec<Interval> {
    normalize_intervals(tracks.iter().flat_map(|t| t.spans(len)).collect())
}

/// An id no track in `tracks` has.
pub fn free_id(tracks: &[Track]) -> u32 {
    tracks
        .iter()
        .map(|t| t.id)
        .max()
        .map_or(0, |m| m.saturating_add(1))
}

#[cfg(test)]
#[path = "tracks_tests.rs"]
mod tests;
