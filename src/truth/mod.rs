//! Ground truth: what is anomalous, per video, and the file formats of the
//! benchmarks that carry it.
//!
//! Frame indices are 0-based everywhere in this model; intervals are half-open
//! (`start..end`). Formats that count from 1 or include their end (UCSD `.m`,
//! `.mat`) are converted by their readers and writers.
//!
//! Files: [`read()`] detects the format ([`Format::detect`]) and [`read_as`] takes
//! it; [`write()`] saves atomically and keeps a `NAME.bak` of what it replaces.
//! One module per format family: `ucsd_m` (UCSD `.m` text), `mat` over `matv5`
//! (MAT-file v5 `gt` ranges and Avenue `volLabel` masks), `npy` (MNAD consolidated
//! labels, ShanghaiTech per-video labels and pixel masks), `masks` (folders of
//! mask images), `json` (our versioned format), `csv` (intervals). Formats that
//! know videos only by position (`.m`, `.mat`, consolidated `.npy`) get names and
//! frame counts from [`ReadOptions::videos`].

use std::ops::Range;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

pub mod agreement;
mod csv;
pub mod dense;
pub mod edit;
pub mod history;
mod io;
mod json;
pub mod masks;
mod mat;
mod matv5;
pub(crate) mod npy;
pub mod paint;
pub mod pixels;
pub mod tracks;
mod ucsd_m;

pub use io::{
    read, read_as, read_video, video_list_from_file, video_list_from_frames, write, Format,
    ReadOptions,
};
pub use json::{FORMAT_TAG as JSON_FORMAT_TAG, VERSION as JSON_VERSION};

/// The most frames a video's ground truth may cover: every frame count and
/// interval end read from a file is at most this. Ten million frames are over
/// three days at 30 fps (the longest benchmark video, UCF-Crime's, is a few
/// hours); the bound keeps a corrupt or hostile file from making the readers
/// (and whatever turns the intervals into per-frame labels) allocate without end.
pub const MAX_FRAMES: usize = 10_000_000;
/// The largest width or height of a pixel mask read from a file.
pub const MAX_MASK_SIDE: usize = 16384;
/// Ground truth of a set of videos (a test split, or a single video).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct GroundTruth {
    /// One entry per video, in the dataset's order.
    pub videos: Vec<VideoTruth>,
    /// Where this ground truth came from (file, tool, annotator).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provenance: Option<String>,
}

/// Ground truth of one video.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct VideoTruth {
    /// The video's name as the dataset lists it (e.g. `01`, `Test001`, `01_0014`).
    pub name: String,
    /// Number of frames, when the source says (masks, `.npy`) or a dataset supplied it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub num_frames: Option<usize>,
    /// Anomalous frames as sorted, disjoint, non-adjacent half-open intervals.
    pub anomalous: Vec<Interval>,
    /// Per-frame pixel masks, if the source has them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub masks: Option<Masks>,
    /// Anomalous regions (boxes), if any.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub regions: Vec<Region>,
    /// Free-form notes (annotators' comments).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub notes: String,
}

/// A half-open range of frames `start..end`, 0-based.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Interval {
    /// First frame (0-based, inclusive).
    pub start: usize,
    /// One past the last frame.
    pub end: usize,
}

impl Interval {
    /// `start..end`; `None` when empty or reversed.
    pub fn new(start: usize, end: usize) -> Option<Self> {
        (start < end).then_some(Interval { start, end })
    }

    /// Number of frames.
    pub fn len(&self) -> usize {
        self.end - self.start
    }

    /// Always false for a constructed interval; present for API symmetry.
    pub fn is_empty(&self) -> bool {
        self.end <= self.start
    }

    /// Whether frame `i` lies inside.
    pub fn contains(&self, i: usize) -> bool {
        (self.start..self.end).contains(&i)
    }

    /// As a `Range`.
    pub fn range(&self) -> Range<usize> {
        self.start..self.end
    }
}

/// Where per-frame pixel masks live. Masks are large (Ped2: 2010 frames of
/// 360x240), so a folder of images is referenced rather than loaded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Masks {
    /// A folder of mask images, one per frame (non-zero = anomalous), sorted naturally.
    Folder {
        /// The folder.
        path: PathBuf,
    },
    /// Masks held in memory: one bit-packed mask per frame (`None` = all normal).
    Dense {
        /// Mask width in pixels.
        width: usize,
        /// Mask height in pixels.
        height: usize,
        /// Per frame, `width * height` bits packed row-major, LSB first.
        #[serde(skip)]
        frames: Vec<Option<Vec<u8>>>,
    },
}

/// An anomalous region: a box on one frame, optionally part of a track.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Region {
    /// Frame index (0-based).
    pub frame: usize,
    /// Track id linking boxes of the same object across frames.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub track: Option<u32>,
    /// Left edge in pixels.
    pub x: f32,
    /// Top edge in pixels.
    pub y: f32,
    /// Width in pixels.
    pub w: f32,
    /// Height in pixels.
    pub h: f32,
}

impl VideoTruth {
    /// A video with the given anomalous intervals (normalised: sorted, merged).
    pub fn new(
        name: impl Into<String>,
        num_frames: Option<usize>,
        anomalous: Vec<Interval>,
    ) -> Self {
        VideoTruth {
            name: name.into(),
            num_frames,
            anomalous: normalize_intervals(anomalous),
            ..Default::default()
        }
    }

    /// Builds the intervals from per-frame labels (non-zero = anomalous).
    pub fn from_labels<T: Copy + PartialEq + Default>(
        name: impl Into<String>,
        labels: &[T],
    ) -> Self {
        VideoTruth::new(name, Some(labels.len()), intervals_from_labels(labels))
    }

    /// Whether frame `i` is anomalous.
    pub fn is_anomalous(&self, i: usize) -> bool {
        // Intervals are sorted: binary search for the last one starting at or before i.
        let k = self.anomalous.partition_point(|iv| iv.start <= i);
        k > 0 && self.anomalous[k - 1].contains(i)
    }

    /// Per-frame labels (`true` = anomalous) for `n` frames.
    pub fn labels(&self, n: usize) -> Vec<bool> {
        labels_of(&self.anomalous, n)
    }

    /// Number of anomalous frames.
    pub fn anomalous_frames(&self) -> usize {
        self.anomalous.iter().map(Interval::len).sum()
    }
}

impl GroundTruth {
    /// The entry for the video called `name`.
    pub fn video(&self, name: &str) -> Option<&VideoTruth> {
        self.videos.iter().find(|v| v.name == name)
    }

    /// Total anomalous frames over all videos.
    pub fn anomalous_frames(&self) -> usize {
        self.videos.iter().map(VideoTruth::anomalous_frames).sum()
    }
}

impl Masks {
    /// Packs a row-major mask (non-default = anomalous) into `len` bits, LSB first;
    /// `None` when no pixel is set (the `Dense` encoding of an all-normal frame).
    pub fn pack<T: Copy + PartialEq + Default>(values: &[T]) -> Option<Vec<u8>> {
        let zero = T::default();
        Masks::pack_bits(values.iter().map(|&v| v != zero), values.len())
    }

    /// Packs `len` booleans into bits, LSB first; `None` when none is set.
    pub fn pack_bits(bits: impl IntoIterator<Item = bool>, len: usize) -> Option<Vec<u8>> {
        let mut out = vec![0u8; len.div_ceil(8)];
        let mut any = false;
        for (i, b) in bits.into_iter().take(len).enumerate() {
            if b {
                out[i / 8] |= 1 << (i % 8);
                any = true;
            }
        }
        any.then_some(out)
    }

    /// Unpacks `len` bits (LSB first) of a packed `Dense` frame.
    pub fn unpack_bits(packed: &[u8], len: usize) -> Vec<bool> {
        (0..len)
            .map(|i| packed.get(i / 8).is_some_and(|b| b & (1 << (i % 8)) != 0))
            .collect()
    }

    /// The in-memory frames of a `Dense` mask set (`None` for a folder reference).
    pub fn dense_frames(&self) -> Option<&[Option<Vec<u8>>]> {
        match self {
            Masks::Dense { frames, .. } => Some(frames),
            Masks::Folder { .. } => None,
        }
    }
}

/// Sorts intervals and merges overlapping or adjacent ones.
pub fn normalize_intervals(mut v: Vec<Interval>) -> Vec<Interval> {
    v.retain(|iv| iv.start < iv.end);
    v.sort();
    let mut out: Vec<Interval> = Vec::with_capacity(v.len());
    for iv in v {
        match out.last_mut() {
            Some(last) if iv.start <= last.end => last.end = last.end.max(iv.end),
            _ => out.push(iv),
        }
    }
    out
}

/// Per-frame labels (`true` = anomalous) of `n` frames from intervals.
pub fn labels_of(intervals: &[Interval], n: usize) -> Vec<bool> {
    let mut out = vec![false; n];
    for iv in intervals {
        for v in out.iter_mut().take(iv.end).skip(iv.start) {
            *v = true;
        }
    }
    out
}

/// Runs of non-default labels as intervals.
pub fn intervals_from_labels<T: Copy + PartialEq + Default>(labels: &[T]) -> Vec<Interval> {
    let zero = T::default();
    let mut out = Vec::new();
    let mut start = None;
    for (i, &l) in labels.iter().enumerate() {
        match (l != zero, start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                out.push(Interval { start: s, end: i });
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        out.push(Interval {
            start: s,
            end: labels.len(),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_and_intervals_agree() {
        let labels = [0u8, 1, 1, 0, 0, 1, 1, 1];
        let v = VideoTruth::from_labels("a", &labels);
        assert_eq!(
            v.anomalous,
            vec![Interval { start: 1, end: 3 }, Interval { start: 5, end: 8 }]
        );
        let back: Vec<u8> = v.labels(8).into_iter().map(u8::from).collect();
        assert_eq!(back, labels);
        assert!(v.is_anomalous(7) && !v.is_anomalous(3) && !v.is_anomalous(0));
        assert_eq!(v.anomalous_frames(), 5);
    }

    #[test]
    fn normalization_merges_adjacent_and_overlapping() {
        let iv = |s, e| Interval { start: s, end: e };
        let n = normalize_intervals(vec![iv(5, 7), iv(0, 2), iv(2, 3), iv(6, 9), iv(4, 4)]);
        assert_eq!(n, vec![iv(0, 3), iv(5, 9)]);
    }
}
