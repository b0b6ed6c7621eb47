//! The loss log, `loss.csv`: one row per optimiser step.

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

impl LossLog {
    /// Starts the log at `path`. A resumed run (`start` > 0) keeps the rows of
    /// steps before `start` from an existing log with the same columns and
    /// drops later ones (steps a crashed run took after its last checkpoint).
    pub(super) fn open(path: &Path, start: usize) -> Result<LossLog> {
        let mut kept = String::new();
        if start > 0 {
            if let Ok(text) = std::fs::read_to_string(path) {
                let mut lines = text.lines();
                if lines.next() == Some(HEADER) {
                    for line in lines {
                        let step = line.split(',').nth(1).and_then(|s| s.parse::<usize>().ok());
                        if step.is_some_and(|s| s < start) {
                            kept.push_str(line);
                            kept.push('\n');
                        }
                    }
                }
            }
        }
        let file = std::fs::File::create(path).map_err(|e| Error::io(path, e))?;
        let mut log = LossLog {
            path: path.to_path_buf(),
            out: BufWriter::new(file),
        };
        let header = format!("{HEADER}\n{kept}");
        log.out
            .write_all(header.as_bytes())
            .map_err(|e| Error::io(path, e))?;
        // The kept rows are on disk before the first new step.
        log.flush()?;
        Ok(log)
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
