//! One writer per output: an exclusive lock beside a run or score folder, so
//! that two processes never write the same run (a checkpoint of one and a loss
//! log spliced from both). The operating system releases the lock when its
//! holder dies, even by `kill -9`, so a crash never leaves a folder locked.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::error::{Error, Result};

/// An exclusive lock on an output path, held until dropped.
#[derive(Debug)]
pub struct OutputLock {
    file: File,
    path: PathBuf,
}

/// The lock file of `target`: `.NAME.lock` beside it (not inside, so that a
/// folder can be locked before it exists and while it is renamed to a backup).
pub fn lock_path(target: &Path) -> PathBuf {
    let mut name = std::ffi::OsString::from(".");
    name.push(target.file_name().unwrap_or_default());
    name.push(".lock");
    target.with_file_name(name)
}

impl OutputLock {
    /// Takes the lock of `target`, whose parent folder must exist. Fails at
    /// once, naming the holder (its pid, command line and age), when another
    /// process holds it.
    pub fn acquire(target: &Path) -> Result<OutputLock> {
        let path = lock_path(target);
        // A holder removes the file on release: retry if we locked a file
        // that was unlinked between our open and our lock.
        for _ in 0..8 {
            let file = OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .open(&path)
                .map_err(|e| cannot_write_beside(target, &path, e))?;
            match file.try_lock() {
                Ok(()) => {}
                Err(fs::TryLockError::WouldBlock) => {
                    return Err(Error::invalid(format!(
                        "{} is in use by another vadscope process ({}); wait for it to \
                         finish or stop it, or choose another output",
                        target.display(),
                        holder(&path)
                    )))
                }
                Err(fs::TryLockError::Error(e)) => return Err(Error::io(&path, e)),
            }
            if !same_file(&file, &path) {
                continue;
            }
            let mut lock = OutputLock { file, path };
            lock.write_holder()?;
            return Ok(lock);
        }
        Err(Error::invalid(format!(
            "{}: could not take its lock {} (it keeps being replaced)",
            target.display(),
            path.display()
        )))
    }

    fn write_holder(&mut self) -> Result<()> {
        let since = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let command: Vec<String> = std::env::args().collect();
        let text = format!(
            "pid {}\nsince {since}\ncommand {}\n",
            std::process::id(),
            command.join(" ")
        );
        self.file
            .set_len(0)
            .and_then(|()| self.file.write_all(text.as_bytes()))
            .map_err(|e| Error::io(&self.path, e))
    }
}

impl Drop for OutputLock {
    fn drop(&mut self) {
        // Removed while still held, so nobody locks a file that is going away
        // without noticing (see the retry in `acquire`).
        let _ = fs::remove_file(&self.path);
    }
}

/// Whether `file` is still the file at `path`.
#[cfg(unix)]
fn same_file(file: &File, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (file.metadata(), fs::metadata(path)) {
        (Ok(a), Ok(b)) => a.ino() == b.ino() && a.dev() == b.dev(),
        _ => false,
    }
}

#[cfg(not(unix))]
fn same_file(_file: &File, path: &Path) -> bool {
    path.exists()
}

/// Who holds the lock file at `path`, as its holder wrote it.
fn holder(path: &Path) -> String {
    let text = fs::read_to_string(path).unwrap_or_default();
    let field = |key: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(key).map(|v| v.trim().to_string()))
    };
    let Some(pid) = field("pid ") else {
        return format!("lock file {}", path.display());
    };
    let mut out = format!("pid {pid}");
    if let Some(cmd) = field("command ") {
        out.push_str(&format!(", `{cmd}`"));
    }
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    if let Some(since) = field("since ").and_then(|s| s.parse::<u64>().ok()) {
        out.push_str(&format!(", started {} ago", age(now.saturating_sub(since))));
    }
    out
}

fn age(secs: u64) -> String {
    match secs {
        s if s < 120 => format!("{s} s"),
        s if s < 7200 => format!("{} min", s / 60),
        s => format!("{} h", s / 3600),
    }
}

/// The error of a lock file that cannot be created: it names the output the
/// user asked for (the lock file is ours, not theirs) and why.
fn cannot_write_beside(target: &Path, lock: &Path, e: std::io::Error) -> Error {
    let parent = lock.parent().unwrap_or(Path::new("."));
    let why = if !parent.as_os_str().is_empty() && !parent.is_dir() {
        format!("its folder {} does not exist", parent.display())
    } else {
        format!("cannot create files in {} ({e})", parent.display())
    };
    Error::invalid(format!("cannot write {}: {why}", target.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_is_refused_with_the_first_named() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("run");
        let first = OutputLock::acquire(&target).unwrap();
        let err = OutputLock::acquire(&target).unwrap_err().to_string();
        assert!(err.contains("in use by another vadscope process"), "{err}");
        assert!(
            err.contains(&format!("pid {}", std::process::id())),
            "{err}"
        );
        assert!(err.contains("run"), "{err}");
        drop(first);
        assert!(!lock_path(&target).exists(), "the lock file is removed");
        let again = OutputLock::acquire(&target);
        assert!(again.is_ok(), "released on drop");
    }
}
