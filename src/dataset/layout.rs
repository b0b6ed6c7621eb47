//! Recognising dataset layouts from their root folder.

use std::path::{Path, PathBuf};

use super::{Dataset, Layout, Split, TruthSource, VideoEntry};
use crate::error::{Error, Result};
use crate::video::{is_image_file, is_video_file, natural_cmp};

/// Recognises one layout: `Ok(None)` when the folder is not laid out that way.
type Detector = fn(&Path) -> Result<Option<Dataset>>;

/// Opens a dataset root: recognises its layout and lists its videos and ground truth.
pub fn open(root: impl AsRef<Path>) -> Result<Dataset> {
    let root = root.as_ref();
    let meta = std::fs::metadata(root).map_err(|e| Error::io(root, e))?;
    if !meta.is_dir() {
        return Err(Error::invalid(format!(
            "{}: not a folder, so not a dataset",
            root.display()
        )));
    }
    let detectors: [Detector; 6] = [
        ucsd,
        shanghaitech,
        avenue,
        mnad,
        video_folder,
        frame_folders,
    ];
    for detect in detectors {
        if let Some(mut ds) = detect(root)? {
            ds.videos.sort_by(|a, b| {
                (a.split as u8)
                    .cmp(&(b.split as u8))
                    .then_with(|| natural_cmp(&a.name, &b.name))
            });
            return Ok(ds);
        }
    }
    Err(Error::invalid(format!(
        "{}: not a dataset layout vadscope knows. Expected one of: UCSD (Train/ and Test/ of frame \
         folders), MNAD-style (training/ and testing/, or train/ and test/, each of frame folders \
         or videos, or with a frames/ subfolder), Avenue (training_videos/, testing_videos/), \
         ShanghaiTech (training/videos/, testing/frames/, test_frame_mask/), a folder of videos, \
         or a folder of frame folders",
        root.display()
    )))
}

/// Entries of `dir` (sorted naturally), or none if it doesn't exist.
fn entries(dir: &Path) -> Result<Vec<PathBuf>> {
    if !dir.is_dir() {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
        out.push(e.map_err(|e| Error::io(dir, e))?.path());
    }
    out.sort_by(|a, b| natural_cmp(&a.to_string_lossy(), &b.to_string_lossy()));
    Ok(out)
}

fn name_of(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn stem_of(p: &Path) -> String {
    p.file_stem()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Subfolders of `dir` that contain at least one image.
fn frame_dirs(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for p in entries(dir)? {
        if p.is_dir() && has_images(&p)? {
            out.push(p);
        }
    }
    Ok(out)
}

fn has_images(dir: &Path) -> Result<bool> {
    for e in std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
        if is_image_file(&e.map_err(|e| Error::io(dir, e))?.path()) {
            return Ok(true);
        }
    }
    Ok(false)
}

fn video_files(dir: &Path) -> Result<Vec<PathBuf>> {
    Ok(entries(dir)?
        .into_iter()
        .filter(|p| p.is_file() && is_video_file(p))
        .collect())
}

fn files_with_ext(dir: &Path, ext: &str) -> Result<Vec<PathBuf>> {
    Ok(entries(dir)?
        .into_iter()
        .filter(|p| p.is_file() && p.extension().is_some_and(|e| e.eq_ignore_ascii_case(ext)))
        .collect())
}

fn entry(name: String, split: Split, path: PathBuf) -> VideoEntry {
    VideoEntry {
        name,
        split,
        path,
        masks: None,
        labels: None,
    }
}

fn source(path: PathBuf, description: &str) -> TruthSource {
    TruthSource {
        path,
        description: description.to_string(),
    }
}

/// Frame-level ground-truth files at a dataset root (MNAD-style repos keep them there).
fn root_truth(root: &Path, out: &mut Vec<TruthSource>) -> Result<()> {
    for p in entries(root)? {
        if !p.is_file() {
            continue;
        }
        let ext = p
            .extension()
            .map(|e| e.to_string_lossy().to_ascii_lowercase())
            .unwrap_or_default();
        match ext.as_str() {
            "m" => out.push(source(p, "UCSD .m frame ranges")),
            "mat" => out.push(source(p, "MATLAB .mat frame ranges")),
            "npy" => out.push(source(p, "consolidated .npy frame labels")),
            "json" if stem_of(&p).contains("truth") => {
                out.push(source(p, "vadscope JSON ground truth"))
            }
            "csv" if stem_of(&p).contains("truth") => {
                out.push(source(p, "CSV of anomalous intervals"))
            }
            _ => {}
        }
    }
    Ok(())
}

fn ucsd(root: &Path) -> Result<Option<Dataset>> {
    let (train_dir, test_dir) = (root.join("Train"), root.join("Test"));
    if !train_dir.is_dir() && !test_dir.is_dir() {
        return Ok(None);
    }
    let mut videos = Vec::new();
    for p in frame_dirs(&train_dir)? {
        videos.push(entry(name_of(&p), Split::Train, p));
    }
    for p in frame_dirs(&test_dir)? {
        let name = name_of(&p);
        if name.ends_with("_gt") {
            continue;
        }
        let gt = test_dir.join(format!("{name}_gt"));
        let mut e = entry(name, Split::Test, p);
        e.masks = gt.is_dir().then_some(gt);
        videos.push(e);
    }
    if videos.is_empty() {
        return Ok(None);
    }
    let mut truth = Vec::new();
    for p in files_with_ext(&test_dir, "m")? {
        truth.push(source(p, "UCSD .m frame ranges"));
    }
    root_truth(root, &mut truth)?;
    // UCSD was recorded at 10 fps.
    Ok(Some(Dataset {
        root: root.into(),
        layout: Layout::Ucsd,
        videos,
        truth,
        fps: Some(10.0),
    }))
}

/// The spellings of the split folders that the MNAD-style layout accepts.
const TRAIN_NAMES: [&str; 3] = ["training", "train", "Training"];
const TEST_NAMES: [&str; 3] = ["testing", "test", "Testing"];

/// The first of `names` that is a folder under `root`.
fn split_dir(root: &Path, names: &[&str]) -> Option<PathBuf> {
    names.iter().map(|n| root.join(n)).find(|p| p.is_dir())
}

/// The videos of a split folder: its `frames/` subfolder's frame folders (MNAD),
/// else its own frame folders and video files.
fn split_videos(dir: Option<&Path>) -> Result<Vec<PathBuf>> {
    let Some(dir) = dir else {
        return Ok(Vec::new());
    };
    let frames = dir.join("frames");
    if frames.is_dir() {
        return frame_dirs(&frames);
    }
    let mut out = frame_dirs(dir)?;
    out.extend(video_files(dir)?);
    out.sort_by(|a, b| natural_cmp(&a.to_string_lossy(), &b.to_string_lossy()));
    Ok(out)
}

fn mnad(root: &Path) -> Result<Option<Dataset>> {
    let (train, test) = (split_dir(root, &TRAIN_NAMES), split_dir(root, &TEST_NAMES));
    if train.is_none() && test.is_none() {
        return Ok(None);
    }
    let mask_root = test
        .as_ref()
        .map_or_else(|| root.join("testing"), |t| t.to_path_buf())
        .join("masks");
    let mut videos = Vec::new();
    for p in split_videos(train.as_deref())? {
        let name = if p.is_dir() { name_of(&p) } else { stem_of(&p) };
        videos.push(entry(name, Split::Train, p));
    }
    for p in split_videos(test.as_deref())? {
        if p == mask_root {
            continue;
        }
        let name = if p.is_dir() { name_of(&p) } else { stem_of(&p) };
        let m = mask_root.join(&name);
        let mut e = entry(name, Split::Test, p);
        e.masks = m.is_dir().then_some(m);
        videos.push(e);
    }
    if videos.is_empty() {
        return Ok(None);
    }
    let mut truth = Vec::new();
    root_truth(root, &mut truth)?;
    if mask_root.is_dir() {
        truth.push(source(mask_root, "per-frame mask images"));
    }
    let lower = name_of(root).to_ascii_lowercase();
    let fps = if lower.contains("ped") {
        Some(10.0)
    } else if lower.contains("avenue") {
        Some(25.0)
    } else {
        None
    };
    Ok(Some(Dataset {
        root: root.into(),
        layout: Layout::Mnad,
        videos,
        truth,
        fps,
    }))
}

fn avenue(root: &Path) -> Result<Option<Dataset>> {
    let (train, test) = (root.join("training_videos"), root.join("testing_videos"));
    if !train.is_dir() && !test.is_dir() {
        return Ok(None);
    }
    let labels = root.join("testing_label_mask");
    let mut videos = Vec::new();
    for p in video_files(&train)? {
        videos.push(entry(stem_of(&p), Split::Train, p));
    }
    for p in video_files(&test)? {
        let name = stem_of(&p);
        // Avenue names videos 01.avi… and their masks 1_label.mat…
        let number = name.trim_start_matches('0');
        let mask = labels.join(format!("{number}_label.mat"));
        let mut e = entry(name, Split::Test, p);
        if mask.is_file() {
            e.masks = Some(mask.clone());
            e.labels = Some(mask);
        }
        videos.push(e);
    }
    let mut truth = Vec::new();
    if labels.is_dir() {
        truth.push(source(labels, "Avenue volLabel .mat masks"));
    }
    root_truth(root, &mut truth)?;
    Ok(Some(Dataset {
        root: root.into(),
        layout: Layout::Avenue,
        videos,
        truth,
        fps: Some(25.0),
    }))
}

fn shanghaitech(root: &Path) -> Result<Option<Dataset>> {
    let train = root.join("training").join("videos");
    let (frame_masks, pixel_masks) = (root.join("test_frame_mask"), root.join("test_pixel_mask"));
    if !train.is_dir() && !frame_masks.is_dir() {
        return Ok(None);
    }
    let mut videos = Vec::new();
    for p in video_files(&train)? {
        videos.push(entry(stem_of(&p), Split::Train, p));
    }
    for p in frame_dirs(&root.join("testing").join("frames"))? {
        let name = name_of(&p);
        let mut e = entry(name.clone(), Split::Test, p);
        let (l, m) = (
            frame_masks.join(format!("{name}.npy")),
            pixel_masks.join(format!("{name}.npy")),
        );
        e.labels = l.is_file().then_some(l);
        e.masks = m.is_file().then_some(m);
        videos.push(e);
    }
    let mut truth = Vec::new();
    if frame_masks.is_dir() {
        truth.push(source(frame_masks, "per-video .npy frame labels"));
    }
    if pixel_masks.is_dir() {
        truth.push(source(pixel_masks, "per-video .npy pixel masks"));
    }
    root_truth(root, &mut truth)?;
    // ShanghaiTech's videos are 24 fps (and carry their own timing anyway).
    Ok(Some(Dataset {
        root: root.into(),
        layout: Layout::ShanghaiTech,
        videos,
        truth,
        fps: Some(24.0),
    }))
}

fn video_folder(root: &Path) -> Result<Option<Dataset>> {
    let files = video_files(root)?;
    if files.is_empty() {
        return Ok(None);
    }
    let videos = files
        .into_iter()
        .map(|p| entry(stem_of(&p), Split::Test, p))
        .collect();
    let mut truth = Vec::new();
    root_truth(root, &mut truth)?;
    Ok(Some(Dataset {
        root: root.into(),
        layout: Layout::VideoFolder,
        videos,
        truth,
        fps: None,
    }))
}

fn frame_folders(root: &Path) -> Result<Option<Dataset>> {
    let dirs = frame_dirs(root)?;
    if dirs.is_empty() {
        return Ok(None);
    }
    let videos = dirs
        .into_iter()
        .map(|p| entry(name_of(&p), Split::Test, p))
        .collect();
    let mut truth = Vec::new();
    root_truth(root, &mut truth)?;
    Ok(Some(Dataset {
        root: root.into(),
        layout: Layout::FrameFolders,
        videos,
        truth,
        fps: None,
    }))
}
