//! Intervals as CSV:
//!
//! ```text
//! video,start,end,num_frames
//! 01,60,180,180
//! 02,,,150
//! ```
//!
//! One row per anomalous interval, **0-based, `end` exclusive** (the row above
//! marks frames 60..=179, i.e. UCSD's `[61:180]`). A video without anomalies has
//! one row with empty `start` and `end`, so it survives a round trip.
//! `num_frames` is optional (empty when unknown, and the column itself may be
//! left out). Videos keep the order of their first row. Fields holding commas or
//! quotes are quoted (`"a,b"`, `""` for a quote).

use std::path::Path;

use super::{GroundTruth, Interval, VideoTruth, MAX_FRAMES};
use crate::error::{Error, Result};

/// The header this module writes.
const HEADER: &str = "video,start,end,num_frames";

/// Reads a CSV file.
pub(crate) fn read(path: &Path) -> Result<GroundTruth> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let text = String::from_utf8(bytes).map_err(|_| Error::format(path, "not UTF-8 text"))?;
    parse(&text)
        .map(|videos| GroundTruth {
            videos,
            provenance: None,
        })
        .map_err(|m| Error::format(path, m))
}

fn parse(text: &str) -> std::result::Result<Vec<VideoTruth>, String> {
    let mut lines = text
        .trim_start_matches('\u{feff}')
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty());
    let (_, header) = lines.next().ok_or("empty file (no header)")?;
    let cols: Vec<String> = fields(header)?
        .iter()
        .map(|c| c.trim().to_ascii_lowercase())
        .collect();
    let with_count = match cols
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["video", "start", "end"] => false,
        ["video", "start", "end", "num_frames"] => true,
        _ => {
            return Err(format!(
                "header {header:?}: expected {HEADER:?} (0-based, end exclusive)"
            ))
        }
    };
    let mut videos: Vec<VideoTruth> = Vec::new();
    // Position of each video by name: a file of many videos stays linear.
    let mut index: std::collections::HashMap<String, usize> = Default::default();
    // Per video, the furthest interval end and its line.
    let mut furthest: Vec<(usize, usize)> = Vec::new();
    for (no, line) in lines {
        let at = |m: String| format!("line {}: {m}", no + 1);
        let f = fields(line).map_err(at)?;
        if f.len() != cols.len() {
            return Err(at(format!(
                "{} fields, the header has {}",
                f.len(),
                cols.len()
            )));
        }
        let num = |s: &str, what: &str| -> std::result::Result<Option<usize>, String> {
            let s = s.trim();
            if s.is_empty() {
                return Ok(None);
            }
            if !s.bytes().all(|b| b.is_ascii_digit()) {
                return Err(at(format!("{what} {s:?} is not a frame number")));
            }
            match s.parse::<usize>() {
                Ok(n) if n <= MAX_FRAMES => Ok(Some(n)),
                _ => Err(at(format!(
                    "{what} {s} is out of range (allowed: 0 to {MAX_FRAMES})"
                ))),
            }
        };
        let (start, end) = (num(&f[1], "start")?, num(&f[2], "end")?);
        let count = if with_count {
            num(&f[3], "num_frames")?
        } else {
            None
        };
        let interval = match (start, end) {
            (None, None) => None,
            (Some(s), Some(e)) if s < e => Some(Interval { start: s, end: e }),
            (Some(s), Some(e)) => {
                return Err(at(format!("interval {s}..{e} is empty or reversed")))
            }
            _ => {
                return Err(at(
                    "start and end must both be given or both be empty".into()
                ))
            }
        };
        let name = f[0].clone();
        let i = *index.entry(name).or_insert_with_key(|name| {
            videos.push(VideoTruth::new(name.clone(), None, Vec::new()));
            furthest.push((0, 0));
            videos.len() - 1
        });
        let v = &mut videos[i];
        match (v.num_frames, count) {
            (Some(a), Some(b)) if a != b => {
                return Err(at(format!("video {:?} has num_frames {a} and {b}", v.name)))
            }
            (None, Some(b)) => v.num_frames = Some(b),
            _ => {}
        }
        if let Some(iv) = interval.filter(|iv| iv.end > furthest[i].0) {
            furthest[i] = (iv.end, no + 1);
        }
        v.anomalous.extend(interval);
    }
    // An interval past its video's frame count is refused at its line.
    for (v, &(end, line)) in videos.iter().zip(&furthest) {
        if let Some(n) = v.num_frames.filter(|&n| end > n) {
            return Err(format!(
                "line {line}: video {:?} has {n} frames, the interval ends at {end}",
                v.name
            ));
        }
    }
    for v in &mut videos {
        v.anomalous = super::normalize_intervals(std::mem::take(&mut v.anomalous));
    }
    Ok(videos)
}

/// Splits one CSV line into fields, undoing quotes.
fn fields(line: &str) -> std::result::Result<Vec<String>, String> {
    let mut out = vec![String::new()];
    let mut chars = line.chars().peekable();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        let cur = out.last_mut().ok_or("unreachable")?;
        match (c, quoted) {
            ('"', false) if cur.is_empty() => quoted = true,
            ('"', true) if chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            ('"', true) => quoted = false,
            (',', false) => out.push(String::new()),
            (c, _) => cur.push(c),
        }
    }
    if quoted {
        return Err("unterminated quote".into());
    }
    Ok(out)
}

fn quote(s: &str) -> String {
    if s.contains([',', '"']) || s.starts_with(' ') || s.ends_with(' ') {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

/// Encodes `gt` as CSV. Names with line breaks cannot be represented.
pub(crate) fn encode(gt: &GroundTruth, path: &Path) -> Result<String> {
    let mut s = format!("{HEADER}\n");
    for v in &gt.videos {
        if v.name.contains(['\n', '\r']) {
            return Err(Error::invalid(format!(
                "{}: video name {:?} has a line break, which CSV rows cannot hold",
                path.display(),
                v.name
            )));
        }
        let name = quote(&v.name);
        let count = v.num_frames.map(|n| n.to_string()).unwrap_or_default();
        if v.anomalous.is_empty() {
            s.push_str(&format!("{name},,,{count}\n"));
        }
        for iv in &v.anomalous {
            s.push_str(&format!("{name},{},{},{count}\n", iv.start, iv.end));
        }
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_rows_quotes_and_empty_videos() {
        let text = "Video, Start, End\n\"a,b\",0,3\nc,,\n\"a,b\",5,7\n\"q\"\"x\",1,2\n";
        let v = parse(text).unwrap();
        assert_eq!(v.len(), 3);
        assert_eq!(v[0].name, "a,b");
        assert_eq!(v[0].anomalous.len(), 2);
        assert!(v[1].anomalous.is_empty() && v[1].name == "c");
        assert_eq!(v[2].name, "q\"x");
    }

    #[test]
    fn rejects_malformed_rows() {
        for (text, want) in [
            ("", "empty"),
            ("a,b,c\n", "header"),
            ("video,start,end\nx,1\n", "line 2: 2 fields"),
            ("video,start,end\nx,5,2\n", "reversed"),
            ("video,start,end\nx,5,\n", "both"),
            ("video,start,end\nx,-1,3\n", "not a frame number"),
            (
                "video,start,end,num_frames\nx,1,2,5\nx,3,4,6\n",
                "num_frames 5 and 6",
            ),
            ("video,start,end\n\"x,1,2\n", "unterminated"),
            (
                "video,start,end\nx,0,4000000000\n",
                "line 2: end 4000000000 is out of range",
            ),
            (
                "video,start,end,num_frames\nx,1,5,10\nx,8,12,10\nx,2,3,10\n",
                "line 3: video \"x\" has 10 frames, the interval ends at 12",
            ),
            (
                "video,start,end,num_frames\nx,,,99999999999999999999999\n",
                "allowed: 0 to 10000000",
            ),
        ] {
            let e = parse(text).unwrap_err();
            assert!(e.contains(want), "{text:?}: {e}");
        }
    }
}
