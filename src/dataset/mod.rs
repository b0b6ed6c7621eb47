//! Benchmark dataset layouts and the one clip pipeline.
//!
//! [`open`] recognises the layouts VAD benchmarks ship in from their root folder
//! and lists their videos with splits and where their ground truth lives;
//! [`clips`] cuts videos into windows of `t + 1` frames that never cross a video
//! boundary; [`ClipReader`] (random access) and [`stream`] (a whole video, in
//! overlapping stages) read them as the model sees them, with their flow.

mod clips;
mod layout;
mod locate;
pub mod stream;

use std::path::{Path, PathBuf};

use serde::Serialize;

pub use clips::{clips, open_for_model, Clip, ClipReader, FlowStage};
pub use layout::open;
pub use locate::containing;
pub use stream::{Outcome, Prepared, StageTimes};

use crate::error::Result;
use crate::truth::{self, GroundTruth, ReadOptions};

/// The layouts recognised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Layout {
    /// UCSD Ped1/Ped2 as distributed: `Train/TrainNNN/*.tif`, `Test/TestNNN/`, `Test/TestNNN_gt/`, `Test/UCSDpedN.m`.
    Ucsd,
    /// The layout of MNAD-style code: `training/frames/NN/`, `testing/frames/NN/` (Ped2, Avenue, … as frames).
    Mnad,
    /// CUHK Avenue as distributed: `training_videos/*.avi`, `testing_videos/*.avi`, `testing_label_mask/N_label.mat`.
    Avenue,
    /// ShanghaiTech Campus: `training/videos/*.avi`, `testing/frames/SS_VVVV/`, `test_frame_mask/*.npy`, `test_pixel_mask/*.npy`.
    ShanghaiTech,
    /// Any folder of video files (all in the test split: no labels are implied).
    VideoFolder,
    /// Any folder of frame folders (each subfolder of images is one video, test split).
    FrameFolders,
}

impl Layout {
    /// A short human name.
    pub fn name(self) -> &'static str {
        match self {
            Layout::Ucsd => "UCSD",
            Layout::Mnad => "MNAD-style frames",
            Layout::Avenue => "CUHK Avenue",
            Layout::ShanghaiTech => "ShanghaiTech",
            Layout::VideoFolder => "folder of videos",
            Layout::FrameFolders => "folder of frame folders",
        }
    }
}

/// Training or test split.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Split {
    /// Normal footage only (the model learns from it).
    Train,
    /// Footage with anomalies (scored and evaluated).
    Test,
}

/// One video of a dataset.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VideoEntry {
    /// The name the benchmark's ground truth uses (`01`, `Test001`, `01_0014`, …).
    pub name: String,
    /// Its split.
    pub split: Split,
    /// A video file or a frame folder.
    pub path: PathBuf,
    /// Its pixel masks (a folder of images or a `.npy`/`.mat` file), if the layout has them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub masks: Option<PathBuf>,
    /// Its frame-label file, for layouts with one file per video.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub labels: Option<PathBuf>,
}

/// A ground-truth file found in a dataset, with what it holds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TruthSource {
    /// The file or folder.
    pub path: PathBuf,
    /// What it is, in words (e.g. "UCSD .m frame ranges").
    pub description: String,
}

/// A recognised dataset.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Dataset {
    /// The root folder.
    pub root: PathBuf,
    /// How it is laid out.
    pub layout: Layout,
    /// Its videos: training split first, each split in natural order of names.
    pub videos: Vec<VideoEntry>,
    /// Ground-truth files and folders found, best first.
    pub truth: Vec<TruthSource>,
    /// The benchmark's frame rate when the layout implies it (frame folders carry none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fps: Option<f64>,
}

impl Dataset {
    /// The videos of one split.
    pub fn split(&self, split: Split) -> impl Iterator<Item = &VideoEntry> {
        self.videos.iter().filter(move |v| v.split == split)
    }

    /// Reads one of the dataset's ground-truth sources, naming and splitting
    /// its videos by the test split's names and frame counts (from
    /// [`Dataset::frame_counts`]).
    pub fn load_truth(
        &self,
        source: &TruthSource,
        test_counts: &[(String, usize)],
    ) -> Result<GroundTruth> {
        let opts = ReadOptions {
            videos: Some(test_counts.to_vec()),
            skip_masks: true,
        };
        truth::read(&source.path, &opts)
    }

    /// Reads the first readable of the dataset's ground-truth sources (see
    /// [`Dataset::load_truth`]); returns it with its source and the errors of
    /// the sources before it, which callers must show: a broken file is never
    /// passed over in silence. `Ok(None)` when the dataset has no sources.
    pub fn load_first_truth(
        &self,
        test_counts: &[(String, usize)],
    ) -> Result<Option<(GroundTruth, &TruthSource, Vec<crate::Error>)>> {
        let mut skipped = Vec::new();
        for src in &self.truth {
            match self.load_truth(src, test_counts) {
                Ok(gt) => return Ok(Some((gt, src, skipped))),
                Err(e) => skipped.push(e),
            }
        }
        match skipped.len() {
            0 => Ok(None),
            1 => Err(skipped.remove(0)),
            _ => Err(crate::Error::invalid(format!(
                "no readable ground truth in {}:\n  {}",
                self.root.display(),
                skipped
                    .iter()
                    .map(|e| e.to_string())
                    .collect::<Vec<_>>()
                    .join("\n  ")
            ))),
        }
    }

    /// Frame counts of the videos of one split (opens each video; frame folders are cheap).
    pub fn frame_counts(&self, split: Split) -> Result<Vec<(String, usize)>> {
        self.split(split)
            .map(|v| Ok((v.name.clone(), frame_count(&v.path)?)))
            .collect()
    }
}

/// The number of frames of a video file or frame folder.
pub fn frame_count(path: &Path) -> Result<usize> {
    if path.is_dir() {
        Ok(crate::video::list_images(path)?.len())
    } else {
        Ok(crate::video::open(path)?.len())
    }
}
