//! Reading and writing ground truth in every supported format, with format
//! detection, video lists (names and frame counts) and atomic saves.

use std::fmt;
use std::path::Path;

use super::{csv, json, masks, mat, npy, ucsd_m, GroundTruth, Interval, VideoTruth};
use crate::error::{Error, Result};

/// A ground-truth file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// UCSD MATLAB text (`UCSDped2.m`): 1-based inclusive `gt_frame` ranges.
    UcsdM,
    /// MATLAB v5 `.mat`: UCSD `gt` ranges (read, write) or Avenue `volLabel`
    /// masks (read; a folder of such files is one video per file).
    Mat,
    /// MNAD consolidated frame labels `.npy` (all videos concatenated; written
    /// as int64 `(1, N)`); a 3-D `(F, H, W)` file reads as one video's pixel masks.
    Npy,
    /// A folder of per-video `.npy` files (ShanghaiTech `test_frame_mask` or
    /// `test_pixel_mask`), named by stem; written as int64 `(F,)` frame labels.
    NpyPerVideo,
    /// A folder of per-video folders of mask images (non-zero = anomalous).
    MaskFolder,
    /// vadscope's versioned JSON (`{"format": "vadscope-truth", "version": 1, ...}`).
    Json,
    /// CSV of intervals: `video,start,end,num_frames`, 0-based, end exclusive.
    Csv,
}

impl Format {
    /// Every format.
    pub const ALL: [Format; 7] = [
        Format::UcsdM,
        Format::Mat,
        Format::Npy,
        Format::NpyPerVideo,
        Format::MaskFolder,
        Format::Json,
        Format::Csv,
    ];

    /// The short name used on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Format::UcsdM => "m",
            Format::Mat => "mat",
            Format::Npy => "npy",
            Format::NpyPerVideo => "npy-dir",
            Format::MaskFolder => "masks",
            Format::Json => "json",
            Format::Csv => "csv",
        }
    }

    /// The format with short name `name` (case-insensitive).
    pub fn from_name(name: &str) -> Option<Format> {
        Format::ALL
            .into_iter()
            .find(|f| f.name().eq_ignore_ascii_case(name))
    }

    /// Whether files of this format hold regions (boxes): only our JSON does.
    pub fn keeps_regions(self) -> bool {
        matches!(self, Format::Json)
    }

    /// Whether this format is a folder rather than a file.
    pub fn is_folder(self) -> bool {
        matches!(self, Format::NpyPerVideo | Format::MaskFolder)
    }

    /// The format an output path names by its extension (`.m`, `.mat`, `.npy`,
    /// `.json`, `.csv`); `None` for a name without one of these (a folder).
    pub fn from_extension(path: &Path) -> Option<Format> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        Some(match ext.as_str() {
            "m" => Format::UcsdM,
            "mat" => Format::Mat,
            "npy" => Format::Npy,
            "json" => Format::Json,
            "csv" => Format::Csv,
            _ => return None,
        })
    }

    /// Detects the format of an existing file or folder: by extension, then by
    /// content (magic bytes, header line); a folder by what it holds.
    pub fn detect(path: &Path) -> Result<Format> {
        let meta = std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
        if meta.is_dir() {
            if !masks::list_files(path, &["npy"])?.is_empty() {
                return Ok(Format::NpyPerVideo);
            }
            if !masks::list_files(path, &["mat"])?.is_empty() {
                return Ok(Format::Mat);
            }
            return Ok(Format::MaskFolder);
        }
        if let Some(f) = Format::from_extension(path) {
            return Ok(f);
        }
        // The first 4 KiB tell the format: don't read a large file whole.
        let mut bytes = Vec::with_capacity(4096);
        std::fs::File::open(path)
            .and_then(|f| std::io::Read::read_to_end(&mut std::io::Read::take(f, 4096), &mut bytes))
            .map_err(|e| Error::io(path, e))?;
        let text = String::from_utf8_lossy(&bytes);
        let head = text.trim_start_matches('\u{feff}').trim_start();
        if bytes.starts_with(b"\x93NUMPY") {
            Ok(Format::Npy)
        } else if bytes.starts_with(b"MATLAB") || matches!(bytes.get(126..128), Some(b"IM" | b"MI"))
        {
            Ok(Format::Mat)
        } else if head.starts_with('{') {
            Ok(Format::Json)
        } else if head.to_ascii_lowercase().starts_with("video,") {
            Ok(Format::Csv)
        } else if text.contains("gt_frame") {
            Ok(Format::UcsdM)
        } else {
            Err(Error::format(path, "unknown ground-truth format"))
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Options for reading.
#[derive(Debug, Clone, Default)]
pub struct ReadOptions {
    /// The test videos in order, with frame counts. Splits a consolidated `.npy`
    /// (the counts must sum to its length), names the entries of `.m` and `gt`
    /// `.mat` files by position (their number must match; the list's names win
    /// over names the file carries) and fills in missing frame counts of other
    /// formats' videos by name. Anomalies past a video's count are refused.
    pub videos: Option<Vec<(String, usize)>>,
    /// Don't keep `Dense` pixel masks (labels are still derived from them).
    pub skip_masks: bool,
}

/// The ground truth of video `name` (`frames` long) from `path`, any format:
/// its entry, or the only one the file has. Errors name the file.
pub fn read_video(path: &Path, name: &str, frames: usize) -> Result<VideoTruth> {
    let opts = ReadOptions {
        videos: Some(vec![(name.to_string(), frames)]),
        skip_masks: false,
    };
    let mut videos = read(path, &opts)?.videos;
    match videos.iter().position(|v| v.name == name) {
        Some(i) => Ok(videos.swap_remove(i)),
        None if videos.len() == 1 => Ok(videos.remove(0)),
        None => Err(Error::format(
            path,
            format!("no ground truth for video {name} (and more than one video here)"),
        )),
    }
}

/// Reads ground truth from `path`, detecting its format.
pub fn read(path: &Path, opts: &ReadOptions) -> Result<GroundTruth> {
    read_as(path, Format::detect(path)?, opts)
}

/// Reads ground truth from `path` in `format`.
pub fn read_as(path: &Path, format: Format, opts: &ReadOptions) -> Result<GroundTruth> {
    let is_dir = path.is_dir();
    let mut gt = match format {
        Format::UcsdM => ucsd_m::read(path, opts)?,
        Format::Mat if is_dir => mat::read_folder(path, opts)?,
        Format::Mat => mat::read_file(path, opts)?,
        Format::Npy | Format::NpyPerVideo if is_dir => npy::read_folder(path, opts)?,
        Format::Npy | Format::NpyPerVideo => npy::read_file(path, opts)?,
        Format::MaskFolder => masks::read(path, opts)?,
        Format::Json => json::read(path)?,
        Format::Csv => csv::read(path)?,
    };
    reconcile_counts(&mut gt, opts, path)?;
    check_bounds(&gt, path)?;
    check_counts(&gt, path)?;
    if gt.provenance.is_none() {
        gt.provenance = Some(format!("{} ({format})", path.display()));
    }
    Ok(gt)
}

/// Writes `gt` to `path` in `format`. Files are saved atomically, keeping the
/// replaced file as `NAME.bak`; folders are written beside the target and
/// renamed into place, keeping the replaced folder as `NAME.bak`.
pub fn write(gt: &GroundTruth, path: &Path, format: Format) -> Result<()> {
    if format.is_folder() {
        // One file or folder per video: two videos of one name would collide.
        let mut names: Vec<&str> = gt.videos.iter().map(|v| v.name.as_str()).collect();
        names.sort_unstable();
        if let Some(w) = names.windows(2).find(|w| w[0] == w[1]) {
            return Err(Error::invalid(format!(
                "{}: two videos are named {:?}",
                path.display(),
                w[0]
            )));
        }
    }
    let bytes = match format {
        Format::UcsdM => ucsd_m::encode(gt).into_bytes(),
        Format::Mat => mat::encode(gt),
        Format::Npy => npy::encode_consolidated(gt, path)?,
        Format::Json => json::encode(gt, path)?,
        Format::Csv => csv::encode(gt, path)?.into_bytes(),
        Format::NpyPerVideo => return write_folder(path, |dir| npy::write_folder(gt, dir)),
        Format::MaskFolder => {
            // One video's own folder (`masks/04/`) is written back as it was.
            let flat = gt.videos.len() == 1 && masks::holds_images(path);
            return write_folder(path, |dir| masks::write(gt, dir, flat));
        }
    };
    crate::save::atomic_write(path, &bytes)
}

/// Fills missing frame counts from the video list, by name; a count the file
/// has (one label or mask per frame) must agree with the list's.
fn reconcile_counts(gt: &mut GroundTruth, opts: &ReadOptions, path: &Path) -> Result<()> {
    let Some(list) = &opts.videos else {
        return Ok(());
    };
    for v in gt.videos.iter_mut() {
        let Some(&(_, listed)) = list.iter().find(|(n, _)| *n == v.name) else {
            continue;
        };
        match v.num_frames {
            None => v.num_frames = Some(listed),
            Some(n) if n != listed => {
                return Err(Error::format(
                    path,
                    format!(
                        "video {:?}: the ground truth has {n} frames, the video has {listed}: \
                         labels would be matched to the wrong frames",
                        v.name
                    ),
                ))
            }
            Some(_) => {}
        }
    }
    Ok(())
}

/// Refuses frame counts, interval ends, region frames and mask sizes beyond
/// [`MAX_FRAMES`](super::MAX_FRAMES) and [`MAX_MASK_SIDE`](super::MAX_MASK_SIDE),
/// whatever the format (the readers bound them earlier where they allocate).
fn check_bounds(gt: &GroundTruth, path: &Path) -> Result<()> {
    use super::{Masks, MAX_FRAMES, MAX_MASK_SIDE};
    let bad =
        |v: &VideoTruth, m: String| Err(Error::format(path, format!("video {:?}: {m}", v.name)));
    for v in &gt.videos {
        if let Some(n) = v.num_frames.filter(|&n| n > MAX_FRAMES) {
            return bad(
                v,
                format!("{n} frames is out of range (allowed: 0 to {MAX_FRAMES})"),
            );
        }
        if let Some(iv) = v.anomalous.last().filter(|iv| iv.end > MAX_FRAMES) {
            return bad(
                v,
                format!(
                    "interval {}..{} ends beyond {MAX_FRAMES} frames, the most a video may have",
                    iv.start, iv.end
                ),
            );
        }
        if let Some(r) = v.regions.iter().find(|r| r.frame >= MAX_FRAMES) {
            return bad(
                v,
                format!("region on frame {} is beyond {MAX_FRAMES} frames", r.frame),
            );
        }
        if let Some(Masks::Dense { width, height, .. }) = &v.masks {
            if *width > MAX_MASK_SIDE || *height > MAX_MASK_SIDE {
                return bad(
                    v,
                    format!("masks of {width}x{height} exceed {MAX_MASK_SIDE} pixels a side"),
                );
            }
        }
    }
    Ok(())
}

/// Refuses anomalies past a video's last frame.
fn check_counts(gt: &GroundTruth, path: &Path) -> Result<()> {
    for v in &gt.videos {
        if let (Some(n), Some(last)) = (v.num_frames, v.anomalous.last()) {
            if last.end > n {
                return Err(Error::format(
                    path,
                    format!(
                        "video {:?} has {n} frames but anomalous frames up to {} (0-based)",
                        v.name,
                        last.end - 1
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// Names the entries of a format whose videos are known by position (`.m`,
/// `.mat`): from the video list when given (its length must match), else from the
/// file's own names, else `Test001`, `Test002`, ...
pub(crate) fn name_videos(
    entries: Vec<(Option<String>, Option<usize>, Vec<Interval>)>,
    opts: &ReadOptions,
    path: &Path,
) -> Result<Vec<VideoTruth>> {
    if let Some(list) = &opts.videos {
        if list.len() != entries.len() {
            return Err(Error::format(
                path,
                format!(
                    "lists {} videos, the video list has {}",
                    entries.len(),
                    list.len()
                ),
            ));
        }
        return Ok(entries
            .into_iter()
            .zip(list)
            .map(|((_, _, iv), (name, n))| VideoTruth::new(name.clone(), Some(*n), iv))
            .collect());
    }
    Ok(entries
        .into_iter()
        .enumerate()
        .map(|(i, (name, n, iv))| {
            let name = name.unwrap_or_else(|| format!("Test{:03}", i + 1));
            VideoTruth::new(name, n, iv)
        })
        .collect())
}

/// A video name as a single file or folder name inside `dir`.
pub(crate) fn safe_file_name<'a>(name: &'a str, dir: &Path) -> Result<&'a str> {
    let bad = name.is_empty()
        || name == "."
        || name == ".."
        || name.starts_with('.')
        || name.contains(['/', '\\', '\0']);
    if bad {
        return Err(Error::invalid(format!(
            "{}: video name {name:?} cannot be a file name",
            dir.display()
        )));
    }
    Ok(name)
}

/// Writes a folder atomically (see [`crate::save::StagedFolder`]): filled
/// beside `path` and renamed into place, what it replaces kept as `NAME.bak`.
fn write_folder(path: &Path, fill: impl FnOnce(&Path) -> Result<()>) -> Result<()> {
    let staged = crate::save::StagedFolder::begin(path, &crate::save::FolderKind::ANY, true)?;
    fill(staged.path())?;
    staged.commit().map(drop)
}

/// Video names and frame counts from a folder of per-video frame folders
/// (`testing/frames/01/000.jpg`, ...), in natural order.
pub fn video_list_from_frames(dir: &Path) -> Result<Vec<(String, usize)>> {
    let mut out = Vec::new();
    for v in masks::list_dirs(dir)? {
        let n = masks::list_files(&v, masks::IMAGE_EXTS)?.len();
        let name = v
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        out.push((name, n));
    }
    if out.is_empty() {
        return Err(Error::format(dir, "no per-video frame folders here"));
    }
    Ok(out)
}

/// Video names and frame counts from a text file: one `NAME COUNT` per line
/// (space, tab or comma separated); `#` starts a comment.
pub fn video_list_from_file(path: &Path) -> Result<Vec<(String, usize)>> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    let mut out = Vec::new();
    for (no, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let parsed = line
            .rsplit_once([' ', '\t', ','])
            .and_then(|(name, n)| {
                Some((
                    name.trim().trim_end_matches(',').trim(),
                    n.trim().parse().ok()?,
                ))
            })
            .filter(|(name, _)| !name.is_empty());
        let (name, n) = parsed.ok_or_else(|| {
            Error::format(
                path,
                format!("line {}: expected NAME COUNT, found {line:?}", no + 1),
            )
        })?;
        if n > super::MAX_FRAMES {
            return Err(Error::format(
                path,
                format!(
                    "line {}: {n} frames is out of range (allowed: 0 to {})",
                    no + 1,
                    super::MAX_FRAMES
                ),
            ));
        }
        out.push((name.to_owned(), n));
    }
    if out.is_empty() {
        return Err(Error::format(path, "no videos listed"));
    }
    Ok(out)
}
