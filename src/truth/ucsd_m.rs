//! The UCSD MATLAB text form (`UCSDped2.m`):
//!
//! ```text
//! TestVideoFile = {};
//! TestVideoFile{end+1}.gt_frame = [61:180];
//! TestVideoFile{end+1}.gt_frame = [1:10, 20:30];   % several ranges
//! TestVideoFile{end+1}.gt_frame = [];              % no anomaly
//! ```
//!
//! Ranges are 1-based and inclusive; a bare number is one frame. `{3}` in place of
//! `{end+1}` sets entry 3. Comments (`%`) and blank lines are ignored, except that
//! our writer's trailing `% video: NAME, frames: N` comment is read back, so a
//! round trip keeps names and frame counts. Videos without such a comment are
//! named by [`ReadOptions`](super::ReadOptions) or `Test001`, `Test002`, ...

use std::path::Path;

use super::{GroundTruth, Interval, ReadOptions};
use crate::error::{Error, Result};

/// One parsed entry: name and count from our comment, and the intervals.
type Entry = (Option<String>, Option<usize>, Vec<Interval>);

/// Reads a `.m` file.
pub(crate) fn read(path: &Path, opts: &ReadOptions) -> Result<GroundTruth> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let text = String::from_utf8(bytes).map_err(|_| Error::format(path, "not UTF-8 text"))?;
    let entries = parse(&text).map_err(|m| Error::format(path, m))?;
    Ok(GroundTruth {
        videos: super::io::name_videos(entries, opts, path)?,
        provenance: None,
    })
}

fn parse(text: &str) -> std::result::Result<Vec<Entry>, String> {
    let mut entries: Vec<Option<Entry>> = Vec::new();
    for (no, raw) in text.lines().enumerate() {
        let at = |m: &str| format!("line {}: {m}: {:?}", no + 1, raw.trim());
        let (code, comment) = match raw.find('%') {
            Some(i) => (&raw[..i], Some(raw[i + 1..].trim())),
            None => (raw, None),
        };
        let code = code.trim().trim_end_matches(';').trim();
        if code.is_empty() {
            continue;
        }
        let Some((lhs, rhs)) = code.split_once('=') else {
            return Err(at("not an assignment"));
        };
        let (lhs, rhs) = (lhs.trim(), rhs.trim());
        if rhs == "{}" && is_ident(lhs) {
            continue; // `TestVideoFile = {};`
        }
        let index = target(lhs).ok_or_else(|| at("expected NAME{end+1}.gt_frame = [...]"))?;
        let intervals = ranges(rhs).map_err(|m| at(&m))?;
        let (name, count) = comment.map(name_comment).unwrap_or((None, None));
        let slot = match index {
            None => entries.len(),
            Some(0) => return Err(at("MATLAB indices start at 1")),
            Some(i) if i > 100_000 => return Err(at("index too large")),
            Some(i) => i - 1,
        };
        if entries.len() <= slot {
            entries.resize(slot + 1, None);
        }
        entries[slot] = Some((name, count, intervals));
    }
    if entries.is_empty() {
        return Err("no `gt_frame` lines".into());
    }
    entries
        .into_iter()
        .enumerate()
        .map(|(i, e)| e.ok_or_else(|| format!("entry {} is never set", i + 1)))
        .collect()
}

fn is_ident(s: &str) -> bool {
    let mut c = s.chars();
    c.next().is_some_and(|f| f.is_ascii_alphabetic())
        && c.all(|ch| ch.is_ascii_alphanumeric() || ch == '_')
}

/// `NAME{end+1}.gt_frame` -> `Some(None)`, `NAME{3}.gt_frame` -> `Some(Some(3))`.
fn target(lhs: &str) -> Option<Option<usize>> {
    let compact: String = lhs.chars().filter(|c| !c.is_whitespace()).collect();
    let rest = compact.strip_suffix("}.gt_frame")?;
    let (name, index) = rest.split_once('{')?;
    if !is_ident(name) {
        return None;
    }
    match index {
        "end+1" => Some(None),
        i => i.parse().ok().map(Some),
    }
}

/// `[61:180]`, `[1:10, 20:30]`, `[5 7:9]`, `[]` -> 0-based half-open intervals.
fn ranges(rhs: &str) -> std::result::Result<Vec<Interval>, String> {
    let inner = rhs
        .strip_prefix('[')
        .and_then(|r| r.strip_suffix(']'))
        .ok_or("expected a [...] list")?;
    let mut out = Vec::new();
    for item in inner.split([',', ';', ' ', '\t']).filter(|s| !s.is_empty()) {
        let num = |s: &str| {
            s.trim()
                .parse::<usize>()
                .ok()
                .filter(|&n| (1..1 << 40).contains(&n))
                .ok_or_else(|| format!("{s:?} is not a 1-based frame number"))
        };
        let (a, b) = match item.split_once(':') {
            Some((a, b)) => (num(a)?, num(b)?),
            None => (num(item)?, num(item)?),
        };
        if b < a {
            return Err(format!("range {item} ends before it starts"));
        }
        out.push(Interval {
            start: a - 1,
            end: b,
        });
    }
    Ok(super::normalize_intervals(out))
}

/// Our writer's `video: NAME, frames: N` comment.
fn name_comment(c: &str) -> (Option<String>, Option<usize>) {
    let Some(rest) = c.strip_prefix("video:") else {
        return (None, None);
    };
    match rest.rsplit_once(", frames:") {
        Some((name, n)) => (Some(name.trim().to_owned()), n.trim().parse().ok()),
        None => (Some(rest.trim().to_owned()), None),
    }
}

/// Encodes a `.m` file; names and counts go into trailing comments.
pub(crate) fn encode(gt: &GroundTruth) -> String {
    let mut s = String::from(
        "% Frame-level ground truth: 1-based, inclusive frame ranges (written by vadscope)\n\
         TestVideoFile = {};\n",
    );
    for v in &gt.videos {
        let list: Vec<String> = v
            .anomalous
            .iter()
            .map(|iv| format!("{}:{}", iv.start + 1, iv.end))
            .collect();
        let name = v.name.replace(['\n', '\r'], " ");
        let count = v
            .num_frames
            .map(|n| format!(", frames: {n}"))
            .unwrap_or_default();
        s.push_str(&format!(
            "TestVideoFile{{end+1}}.gt_frame = [{}];  % video: {name}{count}\n",
            list.join(", ")
        ));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iv(s: usize, e: usize) -> Interval {
        Interval { start: s, end: e }
    }

    #[test]
    fn parses_the_ucsd_file_and_variants() {
        let text = "TestVideoFile = {};\n\
            TestVideoFile{end+1}.gt_frame = [61:180];\n\
            % a comment line\n\
            \n\
              TestVideoFile{end+1}.gt_frame = [1:10, 20:30 ; 40] ; % note\n\
            TestVideoFile{end+1}.gt_frame = [];\n\
            TestVideoFile{ 5 }.gt_frame = [3:3];\n\
            TestVideoFile{4}.gt_frame=[2:4];\n";
        let e = parse(text).unwrap();
        assert_eq!(e.len(), 5);
        assert_eq!(e[0].2, [iv(60, 180)]);
        assert_eq!(e[1].2, [iv(0, 10), iv(19, 30), iv(39, 40)]);
        assert!(e[2].2.is_empty());
        assert_eq!(e[3].2, [iv(1, 4)]);
        assert_eq!(e[4].2, [iv(2, 3)]);
        assert_eq!(e[0].0, None);
    }

    #[test]
    fn reads_back_names_and_counts() {
        let e = parse("T{end+1}.gt_frame = [1:2];  % video: 01, a, frames: 180\n").unwrap();
        assert_eq!(e[0].0.as_deref(), Some("01, a"));
        assert_eq!(e[0].1, Some(180));
    }

    #[test]
    fn rejects_garbage_with_the_line() {
        for (text, want) in [
            ("hello world\n", "line 1"),
            ("T{end+1}.gt_frame = [0:5];\n", "1-based"),
            ("T{end+1}.gt_frame = [9:5];\n", "ends before"),
            ("T{end+1}.gt_frame = [1:x];\n", "frame number"),
            ("T{end+1}.gt_frame = 1:5;\n", "[...]"),
            ("T{3}.gt_frame = [1:5];\n", "entry 1 is never set"),
            ("% only comments\n", "no `gt_frame`"),
            ("x = 3;\n", "expected NAME"),
        ] {
            let e = parse(text).unwrap_err();
            assert!(e.contains(want), "{text:?}: {e}");
        }
    }
}
