//! What the app has open: frames (a synthetic scene, a video file or a frame
//! folder), its ground truth, scores read from disk, and the dataset it
//! belongs to (to switch videos).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;

use super::live::LiveFeed;
use super::store::TruthSource;
use crate::dataset::{self, Split};
use crate::metrics::VideoScores;
use crate::synth::{Scene, SceneConfig};
use crate::truth::{self, VideoTruth};
use crate::video::{cache::CachedVideo, OutputSpec};
use crate::Frame;

/// What to open: `path: None` is the built-in demo.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OpenRequest {
    /// A video file, a frame folder or a dataset root; `None`: the demo scene.
    pub path: Option<PathBuf>,
    /// A checkpoint to score with in the background.
    pub model: Option<PathBuf>,
    /// Scores to show (a `vadscope score` folder or any form `eval` reads).
    pub scores: Option<PathBuf>,
    /// A ground-truth file (any format `vadscope truth` reads).
    pub truth: Option<PathBuf>,
    /// A second annotator's ground truth of the same video, shown as a
    /// second lane with its agreement (Cohen's κ, IoU) with the first.
    pub second_truth: Option<PathBuf>,
}

/// Where frames come from.
pub enum Frames {
    /// A procedural scene rendered on demand.
    Synthetic(Arc<Scene>),
    /// A video file or frame folder behind a cache with a prefetch thread.
    Video(Box<CachedVideo>),
    /// A stream or camera, scored as it arrives (stopped when the document goes).
    Live(LiveHandle),
}

/// The document's hold on a live source: dropping it stops the session
/// (the views' clones of the feed do not).
pub struct LiveHandle(pub LiveFeed);

impl Drop for LiveHandle {
    fn drop(&mut self) {
        self.0.stop();
    }
}

/// An opened video with everything known about it.
pub struct Document {
    /// The video's name (as the ground truth names it).
    pub name: String,
    /// The file or folder (`None` for the demo).
    pub path: Option<PathBuf>,
    /// The frames.
    pub frames: Frames,
    /// Number of frames.
    pub len: usize,
    /// Frames per second.
    pub fps: f64,
    /// Frame size.
    pub size: (usize, usize),
    /// Ground truth, if any was found (the app moves it into its store).
    pub truth: Option<VideoTruth>,
    /// The file the ground truth came from, where saves go.
    pub truth_source: Option<TruthSource>,
    /// Scores read from disk, if any.
    pub scores: Option<VideoScores>,
    /// The checkpoint to score with, if any.
    pub model: Option<PathBuf>,
    /// Other test videos of the same dataset: `(name, path)`.
    pub siblings: Vec<(String, PathBuf)>,
    /// Things worth telling the user (what was found, what was not).
    pub notes: Vec<String>,
    /// Per-frame mask images of the ground truth, when the dataset has them.
    pub mask_files: Vec<PathBuf>,
    mask_cache: Option<(usize, Option<Arc<Mask>>)>,
}

/// A ground-truth pixel mask of one frame.
pub type Mask = crate::truth::pixels::PixelMask;

impl Document {
    /// Opens what `req` names. Errors name the file.
    /// Every problem of the request is reported at once, not only the first.
    pub fn open(req: &OpenRequest) -> anyhow::Result<Document> {
        let mut problems = Vec::new();
        let doc = match &req.path {
            None => Self::demo(),
            Some(p) if crate::video::live::is_live(&p.to_string_lossy()) => {
                Self::open_live(&p.to_string_lossy(), req.model.as_deref())
            }
            Some(p) => Self::open_path(p),
        };
        let mut doc = match doc {
            Ok(d) => Some(d),
            Err(e) => {
                problems.push(format!("{e:#}"));
                None
            }
        };
        if let Some(m) = req.model.as_deref().filter(|m| !m.exists()) {
            problems.push(format!("{}: the model does not exist", m.display()));
        }
        // Without the video, the truth and scores are still checked as far as
        // they can be: that they exist.
        for (path, what) in [(&req.truth, "ground truth"), (&req.scores, "scores")] {
            if let Some(p) = path.as_deref().filter(|p| doc.is_none() && !p.exists()) {
                problems.push(format!("{}: the {what} does not exist", p.display()));
            }
        }
        if let Some(doc) = doc.as_mut() {
            doc.model = req.model.clone();
            if let Some(t) = &req.truth {
                match read_truth(t, &doc.name, doc.len) {
                    Ok(truth) => {
                        // The truth's own mask images are the ones shown: listed
                        // once here, not on every frame change.
                        if let Some(truth::Masks::Folder { path }) = &truth.masks {
                            match truth::masks::mask_frames(path) {
                                Ok(files) => doc.mask_files = files,
                                Err(e) => doc.notes.push(format!("masks not shown: {e}")),
                            }
                        }
                        doc.truth = Some(truth);
                        doc.truth_source = truth::Format::detect(t).ok().map(|f| {
                            TruthSource::new(t.clone(), f, vec![(doc.name.clone(), doc.len)])
                        });
                        doc.notes.push(format!("truth from {}", t.display()));
                    }
                    Err(e) => problems.push(format!("{e:#}")),
                }
            }
            if let Some(s) = &req.scores {
                match scores_for(s, &doc.name, doc.len) {
                    Ok(scores) => {
                        doc.scores = Some(scores);
                        doc.notes.push(format!("scores from {}", s.display()));
                    }
                    Err(e) => problems.push(format!("{e:#}")),
                }
            }
        }
        match (doc, problems.len()) {
            (Some(doc), 0) => Ok(doc),
            (_, 1) => anyhow::bail!("{}", problems[0]),
            _ => anyhow::bail!(
                "{} problems:\n  - {}",
                problems.len(),
                problems.join("\n  - ")
            ),
        }
    }

    /// The built-in synthetic street scene with staged anomalies.
    pub fn demo() -> anyhow::Result<Document> {
        let cfg = SceneConfig::demo();
        let scene = Scene::new(&cfg).context("cannot build the demo scene")?;
        let truth = scene.truth("street");
        Ok(Document {
            name: "street".into(),
            path: None,
            len: scene.len(),
            fps: cfg.fps,
            size: (cfg.width, cfg.height),
            frames: Frames::Synthetic(Arc::new(scene)),
            truth: Some(truth),
            scores: None,
            model: None,
            siblings: Vec::new(),
            notes: vec!["demo: a synthetic street scene with four staged anomalies".into()],
            mask_files: Vec::new(),
            mask_cache: None,
            truth_source: None,
        })
    }

    /// Connects to a stream or camera and starts scoring it with
    /// `checkpoint` (the built-in demo model without one).
    pub fn open_live(source: &str, checkpoint: Option<&Path>) -> anyhow::Result<Document> {
        let (checkpoint, note) = match checkpoint {
            Some(c) => (crate::train::resolve_checkpoint(c)?, None),
            None => (
                super::model::demo_checkpoint()?,
                Some("scored by the built-in demo model (synthetic streets): give --model CKPT for your scene"),
            ),
        };
        let (feed, info) = LiveFeed::open(source, checkpoint)?;
        let mut notes = vec![format!(
            "live: {}; frames are scored as they arrive, the newest first",
            info.describe()
        )];
        notes.extend(note.map(String::from));
        Ok(Document {
            name: "live".into(),
            path: None,
            len: feed.capacity,
            fps: info
                .fps
                .filter(|f| f.is_finite() && *f > 0.0)
                .unwrap_or(25.0),
            size: (info.width, info.height),
            frames: Frames::Live(LiveHandle(feed)),
            truth: None,
            scores: None,
            model: None,
            siblings: Vec::new(),
            notes,
            mask_files: Vec::new(),
            mask_cache: None,
            truth_source: None,
        })
    }

    /// The live feed, when the document is a live source.
    pub fn live(&self) -> Option<&LiveFeed> {
        match &self.frames {
            Frames::Live(h) => Some(&h.0),
            _ => None,
        }
    }

    fn open_path(path: &Path) -> anyhow::Result<Document> {
        // A dataset root opens its first test video.
        if path.is_dir() && !crate::video::list_images(path).is_ok_and(|v| !v.is_empty()) {
            let ds = dataset::open(path)?;
            let first = ds
                .split(Split::Test)
                .next()
                .with_context(|| format!("{}: the dataset has no test videos", path.display()))?
                .path
                .clone();
            return Self::open_video(&first);
        }
        Self::open_video(path)
    }

    /// Opens one video file or frame folder; finds the dataset it belongs to
    /// (up to three folders up) for its ground truth and sibling videos.
    pub fn open_video(path: &Path) -> anyhow::Result<Document> {
        let video = CachedVideo::open(path, OutputSpec::rgb(), 256 << 20, 32)?;
        let info = video.info().clone();
        let name = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "video".into());
        let mut doc = Document {
            name,
            path: Some(path.to_path_buf()),
            len: info.num_frames,
            fps: info.fps,
            size: (info.width, info.height),
            frames: Frames::Video(Box::new(video)),
            truth: None,
            scores: None,
            model: None,
            siblings: Vec::new(),
            notes: info.warnings.clone(),
            mask_files: Vec::new(),
            mask_cache: None,
            truth_source: None,
        };
        if let Some((ds, entry)) = dataset::containing(path) {
            doc.name = entry.name.clone();
            if let Some(fps) = ds.fps {
                doc.fps = fps;
            }
            doc.siblings = ds
                .split(Split::Test)
                .map(|v| (v.name.clone(), v.path.clone()))
                .collect();
            if let Some(m) = entry.masks.as_deref().filter(|m| m.is_dir()) {
                match truth::masks::mask_frames(m) {
                    Ok(files) => doc.mask_files = files,
                    Err(e) => doc.notes.push(format!("masks not shown: {e}")),
                }
            }
            match dataset_truth(&ds, &entry.name) {
                Ok((truth, skipped)) => {
                    doc.notes.extend(skipped);
                    if let Some((t, source)) = truth {
                        doc.notes
                            .push(format!("truth from the {} dataset", ds.layout.name()));
                        doc.truth = Some(t);
                        doc.truth_source = source;
                    }
                }
                Err(e) => doc.notes.push(format!("ground truth not read: {e:#}")),
            }
        }
        Ok(doc)
    }

    /// Frame `i` (RGB), decoding or rendering it if needed.
    pub fn frame(&mut self, i: usize) -> anyhow::Result<Arc<Frame<u8>>> {
        match &mut self.frames {
            Frames::Synthetic(scene) => Ok(Arc::new(to_rgb(scene.render(i)))),
            Frames::Video(v) => Ok(v.get(i)?),
            // Not received yet, or no longer kept: black.
            Frames::Live(h) => Ok(h
                .0
                .frame(i)
                .unwrap_or_else(|| Arc::new(Frame::new(self.size.0, self.size.1, 3)))),
        }
    }
}

impl Document {
    /// The ground-truth mask of frame `i`, if any (the last one asked for is
    /// cached): from `truth`'s dense masks or the dataset's mask images.
    pub fn mask(&mut self, i: usize, truth: &VideoTruth) -> Option<Arc<Mask>> {
        if let Some((f, m)) = &self.mask_cache {
            if *f == i {
                return m.clone();
            }
        }
        let m = self.load_mask(i, truth).map(Arc::new);
        self.mask_cache = Some((i, m.clone()));
        m
    }

    /// Drops the cached mask (the truth's masks changed).
    pub fn forget_mask(&mut self) {
        self.mask_cache = None;
    }

    fn load_mask(&self, i: usize, truth: &VideoTruth) -> Option<Mask> {
        let listed = self.mask_files.get(i);
        let m = match (&truth.masks, listed) {
            (Some(truth::Masks::Folder { path }), Some(f)) if f.parent() == Some(path) => {
                truth::masks::image_mask(f).ok()?
            }
            (Some(m), _) => m.frames().ok()?.get(i).ok()??,
            (None, Some(f)) => truth::masks::image_mask(f).ok()?,
            (None, None) => return None,
        };
        m.any().then_some(m)
    }

    /// Where the masks the app shows come from: the truth file's, else the
    /// dataset's mask images.
    pub fn mask_base(&self, truth: &VideoTruth) -> Option<truth::Masks> {
        if let Some(m) = &truth.masks {
            return Some(m.clone());
        }
        let dir = self.mask_files.first()?.parent()?;
        Some(truth::Masks::Folder {
            path: dir.to_path_buf(),
        })
    }
}

/// Gray frames become RGB so that every frame texture has one layout.
fn to_rgb(f: Frame<u8>) -> Frame<u8> {
    if f.channels == 3 {
        return f;
    }
    let data = f.data.iter().flat_map(|&v| [v, v, v]).collect::<Vec<u8>>();
    Frame::from_vec(f.width, f.height, 3, data).unwrap_or_default()
}

/// The video's ground truth from the dataset's first readable source, with
/// the problems of the sources it skipped.
/// The dataset's truth of video `name`, with the file it came from.
type DatasetTruth = Option<(VideoTruth, Option<TruthSource>)>;

fn dataset_truth(ds: &dataset::Dataset, name: &str) -> anyhow::Result<(DatasetTruth, Vec<String>)> {
    let counts = ds.frame_counts(Split::Test)?;
    Ok(match ds.load_first_truth(&counts)? {
        Some((gt, src, skipped)) => {
            let notes = skipped
                .iter()
                .map(|e| format!("skipped {e}; truth from {}", src.path.display()))
                .collect();
            let source = truth::Format::detect(&src.path)
                .ok()
                .map(|f| TruthSource::new(src.path.clone(), f, counts.clone()));
            (gt.video(name).cloned().map(|v| (v, source)), notes)
        }
        None => (None, Vec::new()),
    })
}

/// Reads the ground truth of video `name` (or the only video) from `path`.
pub fn read_truth(path: &Path, name: &str, frames: usize) -> anyhow::Result<VideoTruth> {
    Ok(truth::read_video(path, name, frames)?)
}

/// Reads the scores of video `name` (or the only video) from `path`.
pub fn scores_for(path: &Path, name: &str, frames: usize) -> anyhow::Result<VideoScores> {
    Ok(crate::metrics::read_video_scores(path, name, frames)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_opens_with_truth() {
        let doc = Document::open(&OpenRequest::default()).unwrap();
        assert_eq!(doc.len, 240);
        assert!(doc.truth.as_ref().unwrap().anomalous_frames() > 0);
        let mut doc = doc;
        let f = doc.frame(10).unwrap();
        assert_eq!((f.width, f.height, f.channels), (240, 160, 3));
    }

    #[test]
    fn a_frame_folder_opens_with_scores_and_truth() {
        let dir = tempfile::tempdir().unwrap();
        let frames = dir.path().join("07");
        std::fs::create_dir(&frames).unwrap();
        for i in 0..5 {
            let img = image::GrayImage::from_pixel(8, 6, image::Luma([i as u8 * 40]));
            img.save(frames.join(format!("{i:03}.png"))).unwrap();
        }
        let scores = dir.path().join("scores");
        std::fs::create_dir(&scores).unwrap();
        std::fs::write(
            scores.join("07.csv"),
            "frame,score\n1,0.1\n2,0.9\n3,0.2\n4,0.3\n",
        )
        .unwrap();
        let truth = dir.path().join("truth.json");
        let gt = truth::GroundTruth {
            videos: vec![VideoTruth::new(
                "07",
                Some(5),
                vec![truth::Interval::new(2, 4).unwrap()],
            )],
            provenance: None,
        };
        truth::write(&gt, &truth, truth::Format::Json).unwrap();
        let req = OpenRequest {
            path: Some(frames),
            scores: Some(scores),
            truth: Some(truth),
            model: None,
            second_truth: None,
        };
        let mut doc = Document::open(&req).unwrap();
        assert_eq!((doc.name.as_str(), doc.len, doc.size), ("07", 5, (8, 6)));
        let s = doc.scores.as_ref().unwrap();
        assert_eq!(s.first_frame, 1);
        assert_eq!(doc.truth.as_ref().unwrap().anomalous_frames(), 2);
        assert_eq!(doc.frame(4).unwrap().data[0], 160);
        // A missing file is an error that names it.
        let bad = OpenRequest {
            path: Some(dir.path().join("nope.mp4")),
            ..Default::default()
        };
        let err = format!("{:#}", Document::open(&bad).err().unwrap());
        assert!(err.contains("nope.mp4"), "{err}");
        // Several bad inputs: every one is reported.
        let bad = OpenRequest {
            path: Some(dir.path().join("07")),
            scores: Some(dir.path().join("no-scores")),
            truth: Some(dir.path().join("broken.json")),
            model: Some(dir.path().join("no-model.safetensors")),
            second_truth: None,
        };
        std::fs::write(dir.path().join("broken.json"), "{ not json").unwrap();
        let err = format!("{:#}", Document::open(&bad).err().unwrap());
        for name in ["3 problems", "no-scores", "broken.json", "no-model"] {
            assert!(err.contains(name), "{name}: {err}");
        }
    }
}
