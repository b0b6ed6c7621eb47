//! The loss log, `loss.csv`: one row per optimiser step, steps 0, 1, 2, …
//!
//! A resumed run continues the log of the run it resumes. That log is read and
//! checked whole first: a malformed row, or steps out of order (two processes
//! wrote it), stop the resume with the line named, and the log is left as it
//! is. Rows of steps the crashed run took after its last checkpoint are
//! dropped, and said so; the log as it was stays as `loss.csv.bak`.

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use super::LossValues;
use crate::error::{Error, Result};

const HEADER: &str = "epoch,step,lr,recon,compact,separate,pred,kl,gradient,total";

/// An open loss log.
pub(super) struct LossLog {
    path: PathBuf,
    out: BufWriter<std::fs::File>,
}

/// The rows of an existing log that a resumed run keeps.
#[derive(Debug)]
pub(super) struct Continued {
    /// The kept text (rows of steps `0..start`), header excluded.
    rows: String,
    /// Rows of steps at or after `start` that are dropped.
    pub dropped: usize,
    /// Whether there was a log at all.
    pub found: bool,
}

/// Reads and checks the log at `path` for a run resuming at step `start`.
pub(super) fn continue_from(path: &Path, start: usize) -> Result<Continued> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Ok(Continued {
                rows: String::new(),
                dropped: 0,
                found: false,
            })
        }
        Err(e) => return Err(Error::io(path, e)),
    };
    let damaged = |line: usize, what: String| {
        Error::format(
            path,
            format!(
                "line {line}: {what}; the log is left as it is. Repair the line, or move the \
                 file aside to resume without this history (the checkpoint is not affected)"
            ),
        )
    };
    let mut lines = text.lines();
    match lines.next() {
        Some(HEADER) => {}
        Some(other) => {
            return Err(damaged(
                1,
                format!("the header is {other:?}, expected {HEADER:?}"),
            ))
        }
        None => return Err(damaged(1, "the file is empty (no header)".into())),
    }
    let columns = HEADER.split(',').count();
    let (mut rows, mut dropped, mut next) = (String::new(), 0, 0usize);
    for (i, line) in lines.enumerate() {
        let n = i + 2;
        let fields: Vec<&str> = line.split(',').collect();
        if fields.len() != columns {
            return Err(damaged(
                n,
                format!("{} fields, expected {columns}", fields.len()),
            ));
        }
        let step = fields[1]
            .parse::<usize>()
            .map_err(|_| damaged(n, format!("step {:?} is not a whole number", fields[1])))?;
        if fields[0].parse::<usize>().is_err() {
            return Err(damaged(
                n,
                format!("epoch {:?} is not a whole number", fields[0]),
            ));
        }
        if let Some(bad) = fields[2..].iter().find(|f| f.parse::<f64>().is_err()) {
            return Err(damaged(n, format!("{bad:?} is not a number")));
        }
        if step != next {
            return Err(damaged(
                n,
                format!(
                    "step {step} where step {next} was expected (were two runs writing this log?)"
                ),
            ));
        }
        next += 1;
        if step < start {
            rows.push_str(line);
            rows.push('\n');
        } else {
            dropped += 1;
        }
    }
    if next < start {
        return Err(damaged(
            text.lines().count(),
            format!("the log ends at step {next}, the checkpoint is from step {start}"),
        ));
    }
    Ok(Continued {
        rows,
        dropped,
        found: true,
    })
}

impl LossLog {
    /// Starts a new log at `path` with the rows `from` keeps (none for a
    /// fresh run). A log it replaces is kept as `loss.csv.bak`.
    pub(super) fn create(path: &Path, from: Option<&Continued>) -> Result<LossLog> {
        let rows = from.map_or("", |c| c.rows.as_str());
        crate::save::atomic_write(path, format!("{HEADER}\n{rows}").as_bytes())?;
        let file = std::fs::OpenOptions::new()
            .append(true)
            .open(path)
            .map_err(|e| Error::io(path, e))?;
        Ok(LossLog {
            path: path.to_path_buf(),
            out: BufWriter::new(file),
        })
    }

    /// Appends the row of one step.
    pub(super) fn row(&mut self, epoch: usize, step: usize, lr: f64, l: &LossValues) -> Result<()> {
        writeln!(
            self.out,
            "{epoch},{step},{lr:.3e},{},{},{},{},{},{},{}",
            l.recon, l.compact, l.separate, l.pred, l.kl, l.gradient, l.total
        )
        .map_err(|e| Error::io(&self.path, e))
    }

    /// Writes buffered rows to disk.
    pub(super) fn flush(&mut self) -> Result<()> {
        self.out.flush().map_err(|e| Error::io(&self.path, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn log(rows: &[&str]) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("loss.csv");
        let mut text = format!("{HEADER}\n");
        for r in rows {
            text.push_str(r);
            text.push('\n');
        }
        std::fs::write(&path, text).unwrap();
        (dir, path)
    }

    fn row(step: usize) -> String {
        format!("0,{step},1e-3,1,2,3,4,5,6,7")
    }

    #[test]
    fn keeps_steps_before_the_checkpoint_and_counts_the_dropped() {
        let rows: Vec<String> = (0..5).map(row).collect();
        let refs: Vec<&str> = rows.iter().map(String::as_str).collect();
        let (_dir, path) = log(&refs);
        let c = continue_from(&path, 3).unwrap();
        assert_eq!(c.dropped, 2);
        assert_eq!(c.rows.lines().count(), 3);
        let mut l = LossLog::create(&path, Some(&c)).unwrap();
        l.flush().unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.lines().count(), 4);
        let backup = crate::save::backup_path(&path);
        assert_eq!(std::fs::read_to_string(backup).unwrap().lines().count(), 6);
    }

    #[test]
    fn damage_is_reported_with_its_line_and_nothing_is_rewritten() {
        let cases: Vec<(Vec<String>, &str)> = vec![
            (vec![row(0), "0,1,1e-3,garbage".into()], "line 3: 4 fields"),
            (
                vec![row(0), "0,1,1e-3,1,2,3,x,5,6,7".into()],
                "line 3: \"x\"",
            ),
            (vec![row(0), row(1), row(0)], "were two runs"),
            (vec![row(0)], "ends at step 1"),
        ];
        for (rows, want) in cases {
            let refs: Vec<&str> = rows.iter().map(String::as_str).collect();
            let (_dir, path) = log(&refs);
            let before = std::fs::read(&path).unwrap();
            let err = continue_from(&path, 2).unwrap_err().to_string();
            assert!(err.contains(want) && err.contains("loss.csv"), "{err}");
            assert_eq!(std::fs::read(&path).unwrap(), before);
        }
    }
}
