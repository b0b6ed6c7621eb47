//! Interval algebra for editing frame-level ground truth.
//!
//! Every function takes a *normalised* list (sorted, non-empty intervals that
//! neither overlap nor touch, as [`normalize_intervals`] makes) and returns a
//! normalised list clamped to a video of `len` frames. Touching intervals are
//! one interval: ground truth is a label per frame, and every format vadscope
//! reads or writes stores it so. That is why [`split`] leaves the split frame
//! normal and why dragged edges stop one frame short of a neighbour ([`merge`]
//! joins two intervals on purpose).

use super::{normalize_intervals, Interval};

/// Which end of an interval an edit moves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Edge {
    /// The first frame (`start`).
    Start,
    /// The last frame (`end - 1`): edges are named by the frame they are on,
    /// so that moving either edge to the playhead includes the playhead.
    End,
}

/// The interval's clamped intersection with `0..len`, if not empty.
pub fn clamp_interval(iv: Interval, len: usize) -> Option<Interval> {
    Interval::new(iv.start.min(len), iv.end.min(len))
}

/// `v` clamped to `0..len` and normalised.
pub fn clamp(v: &[Interval], len: usize) -> Vec<Interval> {
    normalize_intervals(v.iter().filter_map(|&iv| clamp_interval(iv, len)).collect())
}

/// Index of the interval that contains `frame`.
pub fn find(v: &[Interval], frame: usize) -> Option<usize> {
    let k = v.partition_point(|iv| iv.start <= frame);
    (k > 0 && v[k - 1].contains(frame)).then(|| k - 1)
}

/// Index of the first interval that starts after `frame`.
pub fn next_after(v: &[Interval], frame: usize) -> Option<usize> {
    let k = v.partition_point(|iv| iv.start <= frame);
    (k < v.len()).then_some(k)
}

/// Index of the last interval that starts before `frame`.
pub fn prev_before(v: &[Interval], frame: usize) -> Option<usize> {
    let k = v.partition_point(|iv| iv.start < frame);
    k.checked_sub(1)
}

/// Marks `iv` anomalous: the union of `v` and `iv` (clamped to the video).
pub fn add(v: &[Interval], iv: Interval, len: usize) -> Vec<Interval> {
    let mut out = v.to_vec();
    out.extend(clamp_interval(iv, len));
    clamp(&out, len)
}

/// Marks `iv` normal: `v` without the frames of `iv`.
pub fn erase(v: &[Interval], iv: Interval) -> Vec<Interval> {
    let mut out = Vec::with_capacity(v.len() + 1);
    for &x in v {
        if x.end <= iv.start || x.start >= iv.end {
            out.push(x);
            continue;
        }
        out.extend(Interval::new(x.start, iv.start.max(x.start)));
        out.extend(Interval::new(iv.end.min(x.end), x.end));
    }
    out
}

/// Removes the interval at `index` (nothing when there is none).
pub fn delete(v: &[Interval], index: usize) -> Vec<Interval> {
    let mut out = v.to_vec();
    if index < out.len() {
        out.remove(index);
    }
    out
}

/// Splits the interval containing `frame` in two by making `frame` normal.
/// At either end of an interval this shortens it by that frame.
pub fn split(v: &[Interval], frame: usize) -> Vec<Interval> {
    match find(v, frame) {
        Some(_) => erase(
            v,
            Interval {
                start: frame,
                end: frame + 1,
            },
        ),
        None => v.to_vec(),
    }
}

/// Joins the interval at `index` with the next one, the gap included.
pub fn merge(v: &[Interval], index: usize) -> Vec<Interval> {
    if index + 1 >= v.len() {
        return v.to_vec();
    }
    let mut out = v.to_vec();
    let next = out.remove(index + 1);
    out[index].end = next.end;
    out
}

/// Bounds an interval at `index` may grow to without touching its neighbours
/// or leaving the video: `(lowest start, highest end)`.
fn room(v: &[Interval], index: usize, len: usize) -> (usize, usize) {
    let lo = if index == 0 { 0 } else { v[index - 1].end + 1 };
    let hi = v.get(index + 1).map_or(len, |n| n.start - 1);
    (lo, hi.max(lo))
}

/// Moves one edge of the interval at `index` onto frame `to`. The edge stops
/// one frame short of a neighbour, inside the video, and the interval keeps
/// at least one frame.
pub fn move_edge(v: &[Interval], index: usize, edge: Edge, to: usize, len: usize) -> Vec<Interval> {
    let Some(&iv) = v.get(index) else {
        return v.to_vec();
    };
    let (lo, hi) = room(v, index, len);
    let mut out = v.to_vec();
    match edge {
        Edge::Start => out[index].start = to.clamp(lo, iv.end - 1),
        Edge::End => out[index].end = (to + 1).clamp(iv.start + 1, hi.max(iv.start + 1)),
    }
    clamp(&out, len)
}

/// Shifts the interval at `index` by `delta` frames, keeping its length, as
/// far as its neighbours and the video allow.
pub fn move_interval(v: &[Interval], index: usize, delta: i64, len: usize) -> Vec<Interval> {
    let Some(&iv) = v.get(index) else {
        return v.to_vec();
    };
    let (lo, hi) = room(v, index, len);
    let start = iv.start as i64 + delta;
    let max_start = (hi as i64 - iv.len() as i64).max(lo as i64);
    let start = start.clamp(lo as i64, max_start) as usize;
    let mut out = v.to_vec();
    out[index] = Interval {
        start,
        end: start + iv.len(),
    };
    clamp(&out, len)
}

/// The frame an edge sits on.
pub fn edge_frame(iv: Interval, edge: Edge) -> usize {
    match edge {
        Edge::Start => iv.start,
        Edge::End => iv.end - 1,
    }
}

/// The edge nearest to `frame` within `radius` frames, as
/// `(interval index, edge)`: what a click on the timeline grabs.
pub fn nearest_edge(v: &[Interval], frame: f64, radius: f64) -> Option<(usize, Edge)> {
    let mut best: Option<(f64, usize, Edge)> = None;
    for (i, iv) in v.iter().enumerate() {
        // The start edge is the left side of its frame, the end edge the right side.
        for (edge, x) in [(Edge::Start, iv.start as f64), (Edge::End, iv.end as f64)] {
            let d = (frame - x).abs();
            if d <= radius && best.is_none_or(|(bd, _, _)| d < bd) {
                best = Some((d, i, edge));
            }
        }
    }
    best.map(|(_, i, e)| (i, e))
}

#[cfg(test)]
#[path = "edit_tests.rs"]
mod tests;
