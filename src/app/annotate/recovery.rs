//! Crash recovery of ground-truth edits: while there are unsaved changes the
//! app writes them every few seconds to a recovery file per video (atomic,
//! off the UI thread), removes it once they are saved or undone, and on the
//! next open of that video offers to restore what a crash or a kill left.
//!
//! The files live in `$XDG_STATE_HOME/vadscope/recovery/` (by default
//! `~/.local/state/vadscope/recovery/`), named by a hash of the video's path.

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::truth::pixels::PixelMask;
use crate::truth::tracks::Track;
use crate::truth::Interval;

/// How often unsaved edits are written to the recovery file.
pub const AUTOSAVE_INTERVAL: std::time::Duration = std::time::Duration::from_secs(3);

/// What a recovery file holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Recovery {
    /// Always "vadscope-recovery".
    pub format: String,
    /// The video's name.
    pub video: String,
    /// The video's path ("demo" for the built-in scene).
    pub video_path: String,
    /// The ground-truth file the edits belong to, if any.
    pub truth_path: Option<PathBuf>,
    /// The intervals as edited.
    pub intervals: Vec<Interval>,
    /// The box tracks as edited.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tracks: Vec<Track>,
    /// The painted masks by frame (run-length encoded).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub masks: BTreeMap<usize, PixelMask>,
    /// When it was written, in seconds since 1970.
    pub written_unix_s: u64,
    /// Who edited (`$USER`), for the provenance of a restored file.
    pub user: String,
}

const FORMAT: &str = "vadscope-recovery";

impl Recovery {
    /// A record of the edits of video `video` at `video_path`, stamped now.
    pub fn new(
        video: &str,
        video_path: &str,
        truth_path: Option<PathBuf>,
        intervals: &[Interval],
        tracks: &[Track],
        masks: &BTreeMap<usize, PixelMask>,
    ) -> Self {
        Recovery {
            format: FORMAT.into(),
            video: video.into(),
            video_path: video_path.into(),
            truth_path,
            intervals: intervals.to_vec(),
            tracks: tracks.to_vec(),
            masks: masks.clone(),
            written_unix_s: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
            user: std::env::var("USER").unwrap_or_default(),
        }
    }
}

/// The folder of recovery files.
pub fn recovery_dir() -> PathBuf {
    std::env::var_os("XDG_STATE_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/state")))
        .unwrap_or_else(std::env::temp_dir)
        .join("vadscope")
        .join("recovery")
}

/// The recovery file of the video at `video_path` (FNV-1a of the path: stable
/// across runs and Rust versions).
pub fn recovery_path(video_path: &str) -> PathBuf {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in video_path.bytes() {
        h ^= b as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    recovery_dir().join(format!("{h:016x}.json"))
}

/// Writes `rec` atomically to `path` (its folder is created).
pub fn write(path: &Path, rec: &Recovery) -> crate::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| crate::Error::io(dir, e))?;
    }
    let json = serde_json::to_vec_pretty(rec)
        .map_err(|e| crate::Error::invalid(format!("{}: {e}", path.display())))?;
    crate::save::atomic_write(path, &json)
}

/// Reads the recovery file at `path`: `None` when there is none, or when it is
/// not a recovery file of `video_path` (a hash collision or a damaged file is
/// left alone rather than offered).
pub fn read(path: &Path, video_path: &str) -> Option<Recovery> {
    let bytes = std::fs::read(path).ok()?;
    let rec: Recovery = serde_json::from_slice(&bytes).ok()?;
    (rec.format == FORMAT && rec.video_path == video_path).then_some(rec)
}

/// Removes the recovery file and its backup (nothing to recover any more).
pub fn remove(path: &Path) {
    let _ = std::fs::remove_file(path);
    let _ = std::fs::remove_file(crate::save::backup_path(path));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_round_trips_and_belongs_to_its_video() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.json");
        let rec = Recovery::new(
            "04",
            "/d/04",
            Some("/d/gt.npy".into()),
            &[Interval { start: 3, end: 9 }],
            &[Track::new(
                2,
                4,
                crate::truth::tracks::BoxPx {
                    x: 1.0,
                    y: 2.0,
                    w: 3.0,
                    h: 4.5,
                },
            )],
            &BTreeMap::from([(5, {
                let mut m = PixelMask::blank(6, 4);
                m.paint_segment([2.0, 2.0], [4.0, 2.0], 1.0, true);
                m
            })]),
        );
        write(&path, &rec).unwrap();
        assert_eq!(read(&path, "/d/04"), Some(rec));
        assert_eq!(
            read(&path, "/d/05"),
            None,
            "another video's record is not offered"
        );
        std::fs::write(&path, b"{ not json").unwrap();
        assert_eq!(read(&path, "/d/04"), None);
        remove(&path);
        assert!(!path.exists());
        assert_ne!(recovery_path("/d/04"), recovery_path("/d/05"));
    }
}
