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

use super::{GroundTruth, Interval, ReadOptions, MAX_FRAMES};
use crate::error::{Error, Result};

/// One parsed entry: name and count from our comment, and the intervals.
type Entry = (Option<String>, Option<usize>, Vec<Interval>);

/// The most entries (videos) a file may set by index, `NAME{i}`.
const MAX_ENTRIES: usize = 100_000;

/// Reads a `.m` file.
pub(crate) fn read(path: &Path, opts: &ReadOptions) -> Result<GroundTruth> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let text = String::from_utf8(bytes).map_err(|_| Error::format(path, "not UTF-8 text"))?;
    let lines = parse_lines(&text).map_err(|m| Error::format(path, m))?;
    // An interval past its video's frame count is refused at its line.
    for (i, (no, (_, own, intervals))) in lines.iter().enumerate() {
        let listed = (opts.videos.as_ref())
            .filter(|l| l.len() == lines.len())
            .map(|l| l[i].1);
        if let (Some(n), Some(last)) = (listed.or(*own), intervals.last()) {
            if last.end > n {
                return Err(Error::format(
                    path,
                    format!(
                        "line {no}: entry {} has anomalous frames up to {} (1-based), \
                         beyond the video's {n} frames",
                        i + 1,
                        last.end
                    ),
                ));
            }
        }
    }
    let entries = lines.into_iter().map(|(_, e)| e).collect();
    Ok(GroundTruth {
        videos: super::io::name_videos(entries, opts, path)?,
        provenance: None,
    })
}

#[cfg(test)]
fn parse(text: &str) -> std::result::Result<Vec<Entry>, String> {
    Ok(parse_lines(text)?.into_iter().map(|(_, e)| e).collect())
}

/// The entries in order, each with the (1-based) line that set it.
fn parse_lines(text: &str) -> std::result::Result<Vec<(usize, Entry)>, String> {
    // By slot: memory follows the lines, not the indices they name.
    let mut entries: std::collections::BTreeMap<usize, (usize, Entry)> = Default::default();
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
        if let Some(n) = count.filter(|&n| n > MAX_FRAMES) {
            return Err(at(&format!(
                "frame count {n} is out of range (allowed: 0 to {MAX_FRAMES})"
            )));
        }
        let slot = match index {
            None => entries.last_key_value().map_or(0, |(&k, _)| k + 1),
            Some(0) => return Err(at("MATLAB indices start at 1")),
            Some(i) if i > MAX_ENTRIES => {
                return Err(at(&format!(
                    "index {i} is out of range (allowed: 1 to {MAX_ENTRIES})"
                )))
            }
            Some(i) => i - 1,
        };
        if slot >= MAX_ENTRIES {
            return Err(at(&format!("more than {MAX_ENTRIES} entries")));
        }
        entries.insert(slot, (no + 1, (name, count, intervals)));
    }
    if entries.is_empty() {
        return Err("no `gt_frame` lines".into());
    }
    if let Some(i) = (entries.keys().enumerate()).find_map(|(i, &k)| (i != k).then_some(i)) {
        return Err(format!("entry {} is never set", i + 1));
    }
    Ok(entries.into_values().collect())
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
            let s = s.trim();
            // Digits only: a number too long for usize is out of range, not malformed.
            if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
                return Err(format!("{s:?} is not a 1-based frame number"));
            }
            s.parse::<usize>()
                .ok()
                .filter(|&n| (1..=MAX_FRAMES).contains(&n))
                .ok_or_else(|| {
                    if s.bytes().all(|b| b == b'0') {
                        format!("{s:?} is not a 1-based frame number")
                    } else {
                        format!("frame {s} is out of range (allowed: 1 to {MAX_FRAMES})")
                    }
                })
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
            ("T{end+1}.gt_frame = [1:4000000000];\n", "out of range"),
            (
                "T{end+1}.gt_frame = [99999999999999999999999];\n",
                "1 to 10000000",
            ),
            ("T{100001}.gt_frame = [];\n", "index 100001 is out of range"),
            (
                "T{end+1}.gt_frame = [1:2];  % video: a, frames: 99999999999\n",
                "frame count",
            ),
        ] {
            let e = parse(text).unwrap_err();
            assert!(e.contains(want), "{text:?}: {e}");
        }
    }

    #[test]
    fn four_billion_frames_fail_fast_naming_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("huge.m");
        std::fs::write(
            &path,
            "TestVideoFile = {};\nTestVideoFile{end+1}.gt_frame = [1:4000000000];\n",
        )
        .unwrap();
        let e = read(&path, &ReadOptions::default())
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("huge.m") && e.contains("line 2") && e.contains("1 to 10000000"),
            "{e}"
        );
        // Within the bound but past the video's frame count: refused at its line.
        std::fs::write(&path, "T{end+1}.gt_frame = [5:200];\n").unwrap();
        let opts = ReadOptions {
            videos: Some(vec![("01".into(), 180)]),
            ..Default::default()
        };
        let e = read(&path, &opts).unwrap_err().to_string();
        assert!(
            e.contains("huge.m") && e.contains("line 1") && e.contains("180 frames"),
            "{e}"
        );
    }

    #[test]
    fn a_large_index_does_not_allocate_its_slots() {
        // Entry 100000 alone: refused as incomplete, without 100000 slots.
        let e = parse("T{100000}.gt_frame = [];\n").unwrap_err();
        assert!(e.contains("entry 1 is never set"), "{e}");
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_text_never_panics(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..400)) {
            let text = String::from_utf8_lossy(&bytes);
            if let Ok(entries) = parse_lines(&text) {
                // Every entry came from its own line, every frame is in bounds.
                proptest::prop_assert!(entries.len() <= text.lines().count());
                for (_, (_, n, ivs)) in &entries {
                    proptest::prop_assert!(n.is_none_or(|n| n <= MAX_FRAMES));
                    proptest::prop_assert!(ivs.iter().all(|iv| iv.end <= MAX_FRAMES));
                }
            }
        }

        #[test]
        fn mutated_files_never_panic(
            a in 0usize..20_000_000_000,
            b in 0usize..20_000_000_000,
            index in 0usize..300_000,
            cut in 0usize..80,
        ) {
            let text = format!("T{{{index}}}.gt_frame = [{a}:{b}, {b}];  % video: v, frames: {a}\n");
            let _ = parse_lines(&text);
            let _ = parse_lines(&text[..cut.min(text.len())]);
            let ok = parse_lines(&format!("T{{end+1}}.gt_frame = [{a}:{b}];\n"));
            if a > MAX_FRAMES || b > MAX_FRAMES {
                proptest::prop_assert!(ok.is_err());
            }
        }
    }
}
