//! Score files: what `vadscope score` writes and what other tools produce.
//!
//! Accepted forms (a path is a folder or a file):
//! - a folder of `<video>.csv`, header `frame,score[,recon,pred,dist,…]`, 0-based
//!   frames, consecutive (frames missing at the start were not scored); a CSV
//!   without a header holds one score per line from frame 0. An optional
//!   `run.json` may carry `"train_stats": {"score": {"mean": M, "std": S}, …}`;
//! - a folder of `<video>.npy`, 1-D float or integer arrays, one score per frame;
//! - one `.npy`, or one `.csv` of one score per line, holding all videos
//!   concatenated, split by the ground truth's per-video frame counts;
//! - one `.csv` with a `video` column (`video,frame,score,…`; `frame` optional).
//!
//! Every error names the file, and the line where there is one.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::evaluate::VideoScores;
use super::normalize::Stats;
use crate::error::{Error, Result};

/// Scores read from a file or folder.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ScoreSet {
    /// Per-video scores, in the order found (natural order of names for folders).
    pub videos: Vec<VideoScores>,
    /// Training statistics from `run.json`, by column.
    pub train_stats: BTreeMap<String, Stats>,
    /// The form the scores were read in, in words.
    pub form: String,
}

/// The scores of video `name` (`frames` long) from `path`, any form: its
/// entry, or the only one there is. Errors name the file.
pub fn read_video_scores(path: &Path, name: &str, frames: usize) -> Result<VideoScores> {
    let counts = [(name.to_string(), frames)];
    let mut videos = read_scores(path, Some(&counts))?.videos;
    match videos.iter().position(|v| v.name == name) {
        Some(i) => Ok(videos.swap_remove(i)),
        None if videos.len() == 1 => Ok(videos.remove(0)),
        None => Err(Error::format(
            path,
            format!("no scores for video {name} (and more than one video here)"),
        )),
    }
}

/// Reads scores from `path`. `counts` (names and frame counts of the test videos,
/// in order) splits a consolidated file; other forms ignore it.
pub fn read_scores(path: &Path, counts: Option<&[(String, usize)]>) -> Result<ScoreSet> {
    let meta = std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
    if meta.is_dir() {
        return read_folder(path);
    }
    let ext = extension(path);
    let split_by = |values: Vec<f64>, form: &str| -> Result<ScoreSet> {
        let counts = counts.ok_or_else(|| {
            Error::format(
                path,
                "a single score file needs the per-video frame counts of the ground truth",
            )
        })?;
        Ok(ScoreSet {
            videos: split(values, counts, path)?,
            form: form.to_owned(),
            ..ScoreSet::default()
        })
    };
    if ext == "npy" {
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        return split_by(read_npy(bytes, path)?, "consolidated .npy");
    }
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    let table = Table::parse(&text, path)?;
    if table.header.iter().any(|h| h == "video") {
        return Ok(ScoreSet {
            videos: table.by_video(path)?,
            form: "CSV with a video column".into(),
            ..ScoreSet::default()
        });
    }
    let t = table.into_video("", path)?;
    if t.first_frame != 0 || t.columns.len() != 1 {
        return Err(Error::format(
            path,
            "a single CSV without a video column must hold one score per line (all videos concatenated)",
        ));
    }
    let values = t.columns.into_values().next().unwrap_or_default();
    split_by(values, "consolidated CSV")
}

fn extension(path: &Path) -> String {
    path.extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default()
}

fn stem(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Splits concatenated scores by per-video frame counts.
fn split(values: Vec<f64>, counts: &[(String, usize)], path: &Path) -> Result<Vec<VideoScores>> {
    let total: usize = counts.iter().map(|c| c.1).sum();
    if values.len() != total {
        return Err(Error::format(
            path,
            format!(
                "holds {} scores but the ground truth's {} videos have {total} frames",
                values.len(),
                counts.len()
            ),
        ));
    }
    let mut it = values.into_iter();
    Ok(counts
        .iter()
        .map(|(name, n)| VideoScores {
            source: Some(path.to_path_buf()),
            ..VideoScores::single(name.clone(), it.by_ref().take(*n).collect())
        })
        .collect())
}

/// Files of a folder with extension `ext`, in natural order of names.
fn files_with(dir: &Path, ext: &str) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
        let p = e.map_err(|e| Error::io(dir, e))?.path();
        if p.is_file() && extension(&p) == ext {
            out.push(p);
        }
    }
    out.sort_by_key(|p| natural_key(&stem(p)));
    Ok(out)
}

/// Sort key comparing digit runs by value (`2` before `10`).
fn natural_key(s: &str) -> Vec<(u8, String)> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut digits = false;
    for c in s.chars() {
        if !cur.is_empty() && c.is_ascii_digit() != digits {
            out.push(key_part(&cur, digits));
            cur.clear();
        }
        digits = c.is_ascii_digit();
        cur.push(c);
    }
    if !cur.is_empty() {
        out.push(key_part(&cur, digits));
    }
    out
}

fn key_part(s: &str, digits: bool) -> (u8, String) {
    if digits {
        let t = s.trim_start_matches('0');
        (0, format!("{:0>20}", t))
    } else {
        (1, s.to_owned())
    }
}

fn read_folder(dir: &Path) -> Result<ScoreSet> {
    let csvs = files_with(dir, "csv")?;
    let mut set = ScoreSet::default();
    if !csvs.is_empty() {
        for p in csvs {
            let text = std::fs::read_to_string(&p).map_err(|e| Error::io(&p, e))?;
            set.videos
                .push(Table::parse(&text, &p)?.into_video(&stem(&p), &p)?);
        }
        set.form = "folder of per-video CSV".into();
    } else {
        for p in files_with(dir, "npy")? {
            let bytes = std::fs::read(&p).map_err(|e| Error::io(&p, e))?;
            let v = VideoScores::single(stem(&p), read_npy(bytes, &p)?);
            set.videos.push(VideoScores {
                source: Some(p),
                ..v
            });
        }
        set.form = "folder of per-video .npy".into();
    }
    if set.videos.is_empty() {
        return Err(Error::format(
            dir,
            "no score files here (expected <video>.csv or <video>.npy)",
        ));
    }
    let run = dir.join("run.json");
    if run.is_file() {
        set.train_stats = read_run_stats(&run)?;
    }
    Ok(set)
}

/// The `train_stats` of a `run.json` (absent = none).
fn read_run_stats(path: &Path) -> Result<BTreeMap<String, Stats>> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    let v: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| Error::format(path, e.to_string()))?;
    // Training footage has no anomalies: its scores (`score --split train`,
    // for slot usage and score statistics) would pair with the test split's
    // labels by name and give a meaningless AUC.
    if v.get("split").and_then(|s| s.as_str()) == Some("train") {
        return Err(Error::format(
            path,
            "these are scores of the training split (score --split train); \
             evaluate the test split's scores",
        ));
    }
    match v.get("train_stats") {
        None | Some(serde_json::Value::Null) => Ok(BTreeMap::new()),
        Some(s) => serde_json::from_value(s.clone())
            .map_err(|e| Error::format(path, format!("train_stats: {e}"))),
    }
}

/// A parsed CSV of numbers with a header (made up as `score` when absent).
struct Table {
    header: Vec<String>,
    /// Rows of raw fields, with their 1-based line numbers.
    rows: Vec<(usize, Vec<String>)>,
    has_header: bool,
}

impl Table {
    fn parse(text: &str, path: &Path) -> Result<Table> {
        let mut lines = text
            .trim_start_matches('\u{feff}')
            .lines()
            .enumerate()
            .map(|(i, l)| (i + 1, l.trim()))
            .filter(|(_, l)| !l.is_empty() && !l.starts_with('#'));
        let split = |l: &str| -> Vec<String> {
            l.split(',')
                .map(|f| f.trim().trim_matches('"').to_owned())
                .collect()
        };
        let Some((no, first)) = lines.next() else {
            return Err(Error::format(path, "empty score file"));
        };
        let first = split(first);
        let has_header = first.iter().any(|f| f.parse::<f64>().is_err());
        let (header, mut rows) = if has_header {
            let h: Vec<String> = first.iter().map(|f| f.to_ascii_lowercase()).collect();
            (h, Vec::new())
        } else if first.len() == 1 {
            (vec!["score".to_owned()], vec![(no, first)])
        } else {
            return Err(Error::format(
                path,
                "line 1: several columns but no header (expected frame,score,…)",
            ));
        };
        rows.extend(lines.map(|(no, l)| (no, split(l))));
        if let Some((no, r)) = rows.iter().find(|(_, r)| r.len() != header.len()) {
            return Err(Error::format(
                path,
                format!(
                    "line {no}: {} fields, the header has {}",
                    r.len(),
                    header.len()
                ),
            ));
        }
        Ok(Table {
            header,
            rows,
            has_header,
        })
    }

    fn num(path: &Path, no: usize, col: &str, f: &str) -> Result<f64> {
        match f.parse::<f64>() {
            // NaN: a frame without a score (a live recording's dropped
            // frames); the app shows a gap, `evaluate` refuses it by name.
            Ok(v) if v.is_finite() || v.is_nan() => Ok(v),
            _ => Err(Error::format(
                path,
                format!("line {no}: {col} {f:?} is not a finite number (or NaN)"),
            )),
        }
    }

    /// The rows as one video's columns; `frame` (if present) must be consecutive.
    fn into_video(self, name: &str, path: &Path) -> Result<VideoScores> {
        let rows: Vec<&(usize, Vec<String>)> = self.rows.iter().collect();
        Table::video_of(&self.header, &rows, name, path, self.has_header)
    }

    fn video_of(
        header: &[String],
        rows: &[&(usize, Vec<String>)],
        name: &str,
        path: &Path,
        has_header: bool,
    ) -> Result<VideoScores> {
        let frame_col = header.iter().position(|h| h == "frame");
        let mut v = VideoScores {
            name: name.to_owned(),
            source: Some(path.to_path_buf()),
            ..VideoScores::default()
        };
        for (ci, h) in header.iter().enumerate() {
            if Some(ci) == frame_col || h == "video" {
                continue;
            }
            let col: Result<Vec<f64>> = rows
                .iter()
                .map(|(no, r)| Table::num(path, *no, h, &r[ci]))
                .collect();
            v.columns.insert(h.clone(), col?);
        }
        if v.columns.is_empty() {
            return Err(Error::format(path, "no score column"));
        }
        if has_header && !v.columns.contains_key("score") && v.columns.len() == 1 {
            // A lone value column under another name is the score.
            let (_, c) = v.columns.pop_first().unwrap_or_default();
            v.columns.insert("score".into(), c);
        }
        if let Some(fc) = frame_col {
            for (k, (no, r)) in rows.iter().enumerate() {
                let f: usize = r[fc].parse().map_err(|_| {
                    Error::format(
                        path,
                        format!("line {no}: frame {:?} is not a frame index", r[fc]),
                    )
                })?;
                let max = crate::truth::MAX_FRAMES;
                if f >= max {
                    return Err(Error::format(
                        path,
                        format!(
                            "line {no}: frame {f} is out of range (allowed: 0 to {})",
                            max - 1
                        ),
                    ));
                }
                if k == 0 {
                    v.first_frame = f;
                } else if f != v.first_frame + k {
                    return Err(Error::format(
                        path,
                        format!("line {no}: frame {f} where {} was expected (frames must be consecutive)", v.first_frame + k),
                    ));
                }
            }
        }
        if v.is_empty() {
            return Err(Error::format(path, format!("no scores for video {name:?}")));
        }
        Ok(v)
    }

    /// Rows grouped by the `video` column, in order of first appearance.
    fn by_video(&self, path: &Path) -> Result<Vec<VideoScores>> {
        let vc = self.header.iter().position(|h| h == "video").unwrap_or(0);
        let mut order: Vec<String> = Vec::new();
        let mut groups: BTreeMap<String, Vec<&(usize, Vec<String>)>> = BTreeMap::new();
        for row in &self.rows {
            let name = row.1[vc].clone();
            if !groups.contains_key(&name) {
                order.push(name.clone());
            }
            groups.entry(name).or_default().push(row);
        }
        order
            .iter()
            .map(|n| Table::video_of(&self.header, &groups[n], n, path, true))
            .collect()
    }
}

/// A 1-D `.npy` (or `(1, N)` / `(N, 1)`) of floats, integers or bools, as f64.
/// The header is checked by the ground-truth reader's parser: the element
/// count must match the file's byte length before anything is allocated.
fn read_npy(bytes: Vec<u8>, path: &Path) -> Result<Vec<f64>> {
    let arr = crate::truth::npy::NpyArray::from_vec(bytes, path)?;
    if arr.shape.iter().filter(|&&d| d > 1).count() > 1 {
        return Err(Error::format(
            path,
            format!("shape {:?}: expected one score per frame (1-D)", arr.shape),
        ));
    }
    let out = arr.to_f64();
    if let Some((i, v)) = out.iter().enumerate().find(|(_, v)| !v.is_finite()) {
        return Err(Error::format(
            path,
            format!("element {i} is {v}, not a finite score"),
        ));
    }
    Ok(out)
}
