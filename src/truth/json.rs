//! vadscope's own ground-truth JSON, versioned:
//!
//! ```json
//! {
//!   "format": "vadscope-truth",
//!   "version": 1,
//!   "provenance": "UCSDped2.m",
//!   "videos": [
//!     { "name": "01", "num_frames": 180,
//!       "anomalous": [ { "start": 60, "end": 180 } ],
//!       "masks": { "kind": "folder", "path": "masks/01" },
//!       "regions": [ { "frame": 61, "track": 3, "x": 10, "y": 20, "w": 30, "h": 60 } ],
//!       "notes": "" }
//!   ]
//! }
//! ```
//!
//! Frames are 0-based and intervals half-open (`end` is one past the last
//! anomalous frame), exactly the in-memory model. `num_frames`, `masks`,
//! `regions` and `notes` are optional. Pixel masks are never stored inline: a
//! `folder` reference is kept (relative to the JSON file's folder when inside
//! it), and in-memory `Dense` masks are left out on writing — write them with
//! [`Format::MaskFolder`](super::Format::MaskFolder) and reference that folder.
//! Readers refuse other `format` values and versions they do not know.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{GroundTruth, Masks, VideoTruth};
use crate::error::{Error, Result};

/// The `format` tag.
pub const FORMAT_TAG: &str = "vadscope-truth";
/// The version this code writes and reads.
pub const VERSION: u64 = 1;

#[derive(Serialize, Deserialize)]
struct FileV1 {
    format: String,
    version: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    provenance: Option<String>,
    videos: Vec<VideoTruth>,
}

/// Reads a JSON ground-truth file.
pub(crate) fn read(path: &Path) -> Result<GroundTruth> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let bad = |m: String| Error::format(path, m);
    let value: serde_json::Value =
        serde_json::from_slice(&bytes).map_err(|e| bad(format!("not JSON: {e}")))?;
    match value.get("format").and_then(|f| f.as_str()) {
        Some(FORMAT_TAG) => {}
        other => {
            let found = match (other, value.get("format")) {
                (Some(tag), _) => format!("\"format\" is \"{tag}\""),
                (None, Some(v)) => format!("\"format\" is {v}"),
                (None, None) => "it has no \"format\" field".to_string(),
            };
            return Err(bad(format!(
                "not a vadscope ground-truth file ({found}; expected \"format\": \"{FORMAT_TAG}\")"
            )));
        }
    }
    match value.get("version").and_then(|v| v.as_u64()) {
        Some(VERSION) => {}
        other => {
            return Err(bad(format!(
                "unsupported version {} (this vadscope reads version {VERSION})",
                other.map_or("(missing)".into(), |v| v.to_string())
            )))
        }
    }
    let file: FileV1 = serde_json::from_value(value).map_err(|e| bad(e.to_string()))?;
    let base = path.parent().unwrap_or(Path::new(""));
    let mut videos = file.videos;
    for v in &mut videos {
        if let Some(iv) = v.anomalous.iter().find(|iv| iv.start >= iv.end) {
            return Err(bad(format!(
                "video {:?}: interval {}..{} is empty or reversed",
                v.name, iv.start, iv.end
            )));
        }
        v.anomalous = super::normalize_intervals(std::mem::take(&mut v.anomalous));
        match &mut v.masks {
            Some(Masks::Folder { path }) if path.is_relative() => *path = base.join(&*path),
            Some(Masks::Dense { .. }) => {
                return Err(bad(format!(
                "video {:?}: masks of kind \"dense\" cannot be stored in JSON; reference a folder",
                v.name
            )))
            }
            _ => {}
        }
    }
    Ok(GroundTruth {
        videos,
        provenance: file.provenance,
    })
}

/// Encodes `gt` as JSON for a file at `path` (mask folders inside `path`'s
/// folder become relative; `Dense` masks are left out).
pub(crate) fn encode(gt: &GroundTruth, path: &Path) -> Result<Vec<u8>> {
    let base = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => absolute(p),
        _ => absolute(Path::new(".")),
    };
    let videos = gt
        .videos
        .iter()
        .map(|v| {
            let mut v = v.clone();
            v.masks = match v.masks {
                Some(Masks::Folder { path }) => {
                    let abs = absolute(&path);
                    let rel = abs
                        .strip_prefix(&base)
                        .map(Path::to_path_buf)
                        .unwrap_or(abs);
                    Some(Masks::Folder { path: rel })
                }
                _ => None,
            };
            v
        })
        .collect();
    let file = FileV1 {
        format: FORMAT_TAG.into(),
        version: VERSION,
        provenance: gt.provenance.clone(),
        videos,
    };
    let mut bytes = serde_json::to_vec_pretty(&file).map_err(|e| Error::invalid(e.to_string()))?;
    bytes.push(b'\n');
    Ok(bytes)
}

fn absolute(p: &Path) -> PathBuf {
    std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::truth::Interval;

    #[test]
    fn keeps_folder_references_relative() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("gt.json");
        let mut v = VideoTruth::new("01", Some(10), vec![Interval { start: 2, end: 5 }]);
        v.masks = Some(Masks::Folder {
            path: dir.path().join("masks/01"),
        });
        let gt = GroundTruth {
            videos: vec![v],
            provenance: Some("test".into()),
        };
        let bytes = encode(&gt, &path).unwrap();
        let text = String::from_utf8(bytes.clone()).unwrap();
        assert!(text.contains("\"path\": \"masks/01\""), "{text}");
        assert!(text.contains("\"version\": 1"), "{text}");
        std::fs::write(&path, bytes).unwrap();
        assert_eq!(read(&path).unwrap(), gt);
    }

    #[test]
    fn rejects_other_formats_and_versions() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.json");
        for (text, want) in [
            (
                r#"{"format": "vadscope-truth", "version": 2, "videos": []}"#,
                "unsupported version 2",
            ),
            (r#"{"format": "vadscope-truth", "videos": []}"#, "(missing)"),
            (
                r#"{"format": "other", "version": 1, "videos": []}"#,
                "not a vadscope",
            ),
            (
                r#"{"format": "vadscope-truth", "version": 1, "videos": [{"name": 3}]}"#,
                "invalid type",
            ),
            (
                r#"{"format": "vadscope-truth", "version": 1, "videos": [{"name": "a", "anomalous": [{"start": 5, "end": 5}]}]}"#,
                "empty or reversed",
            ),
            ("[1, 2", "not JSON"),
        ] {
            std::fs::write(&path, text).unwrap();
            let e = read(&path).unwrap_err().to_string();
            assert!(e.contains("x.json") && e.contains(want), "{text}: {e}");
        }
    }
}
