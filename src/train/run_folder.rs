//! The run folder that `train` writes, and the rule for one that holds a run
//! already (see [`crate::save::folder`]): it is continued with `--resume` from
//! its own checkpoint, replaced only with `--overwrite` (the old run kept as
//! `RUN.bak`), and never written by two processes at once.

use std::fs;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::save::folder::{move_to_backup, Existing};
use crate::save::{FolderKind, OutputLock};

/// A training run's folder: any of these files marks one.
pub const RUN: FolderKind = FolderKind {
    what: "a training run",
    markers: &[
        "checkpoint.safetensors",
        "optimizer.safetensors",
        "loss.csv",
        "config.json",
    ],
    overwrite_flag: Some("--overwrite"),
};

/// A run folder this process writes, locked until dropped.
#[derive(Debug)]
pub(super) struct RunFolder {
    dir: PathBuf,
    /// Where the run it replaced went (`--overwrite`).
    pub backup: Option<PathBuf>,
    /// Whether this process created the folder (a new run).
    created: bool,
    _lock: OutputLock,
}

/// What claiming a folder will do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    /// Create it (a new run).
    Create,
    /// Write into it as it is (empty, or the run being resumed).
    Use,
    /// Move the run in it to `RUN.bak`, then create it afresh.
    Replace,
}

/// Checks, before any work, that a run can be written to `dir` (as
/// [`claim`] would, without changing anything): the folder is free, and the
/// flags fit what is in it.
pub fn check(dir: &Path, resume: Option<&Path>, overwrite: bool) -> Result<()> {
    decide(dir, resume, overwrite)?;
    if dir
        .parent()
        .is_none_or(|p| p.as_os_str().is_empty() || p.is_dir())
    {
        drop(OutputLock::acquire(dir)?);
    }
    Ok(())
}

/// Claims `dir` for a run that starts afresh or resumes from `resume`.
pub(super) fn claim(dir: &Path, resume: Option<&Path>, overwrite: bool) -> Result<RunFolder> {
    if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
        fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
    }
    let lock = OutputLock::acquire(dir)?;
    let mut folder = RunFolder {
        dir: dir.to_path_buf(),
        backup: None,
        created: false,
        _lock: lock,
    };
    match decide(dir, resume, overwrite)? {
        Action::Create => folder.create()?,
        Action::Use => {}
        Action::Replace => {
            folder.backup = Some(move_to_backup(dir)?);
            folder.create()?;
        }
    }
    Ok(folder)
}

fn decide(dir: &Path, resume: Option<&Path>, overwrite: bool) -> Result<Action> {
    if dir.file_name().is_none() {
        return Err(Error::invalid(format!(
            "{}: not a folder name",
            dir.display()
        )));
    }
    let inside = resume.is_some_and(|r| holds(dir, r));
    Ok(match RUN.inspect(dir)? {
        Existing::Missing => Action::Create,
        Existing::Empty => Action::Use,
        Existing::Foreign => return Err(RUN.foreign_error(dir)),
        Existing::Ours if inside && overwrite => {
            return Err(Error::invalid(format!(
                "--overwrite would move aside {}, the run you resume from; leave out \
                 --overwrite to continue it in place",
                dir.display()
            )))
        }
        Existing::Ours if inside => Action::Use,
        Existing::Ours if overwrite => Action::Replace,
        Existing::Ours => {
            let hint = match resume {
                Some(r) => format!(
                    "resuming {} into it needs --overwrite (the old run is kept as {}), or \
                     choose a new folder",
                    r.display(),
                    crate::save::backup_path(dir).display()
                ),
                None => format!(
                    "continue it with --resume {}, replace it with --overwrite (the old run \
                     is kept as {}), or choose a new folder",
                    super::checkpoint_path(dir).display(),
                    crate::save::backup_path(dir).display()
                ),
            };
            return Err(Error::invalid(format!(
                "{} already holds a training run; {hint}",
                dir.display()
            )));
        }
    })
}

/// Whether the file `path` lies in the folder `dir`.
fn holds(dir: &Path, path: &Path) -> bool {
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    match (fs::canonicalize(dir), fs::canonicalize(parent)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

impl RunFolder {
    fn create(&mut self) -> Result<()> {
        fs::create_dir(&self.dir).map_err(|e| Error::io(&self.dir, e))?;
        self.created = true;
        Ok(())
    }

    /// After a failure before the first checkpoint: removes the folder this
    /// process created and puts back the run it replaced, leaving the file
    /// system as it was. Returns what it did, for the message.
    pub(super) fn roll_back(self) -> Option<String> {
        if !self.created || super::checkpoint_path(&self.dir).exists() {
            return None;
        }
        fs::remove_dir_all(&self.dir).ok()?;
        match &self.backup {
            Some(b) => fs::rename(b, &self.dir).ok().map(|()| {
                format!(
                    "{} is removed and the run it replaced is back in place",
                    self.dir.display()
                )
            }),
            None => Some(format!("{} is removed", self.dir.display())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run_in(dir: &Path, marker: &[u8]) {
        fs::create_dir_all(dir).unwrap();
        fs::write(dir.join("checkpoint.safetensors"), marker).unwrap();
    }

    #[test]
    fn an_existing_run_needs_resume_or_overwrite() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("run");
        run_in(&dir, b"original");
        let err = claim(&dir, None, false).unwrap_err().to_string();
        assert!(
            err.contains("--resume") && err.contains("--overwrite"),
            "{err}"
        );
        let ckpt = dir.join("checkpoint.safetensors");
        assert!(claim(&dir, Some(&ckpt), false).is_ok());
        let err = claim(&dir, Some(&ckpt), true).unwrap_err().to_string();
        assert!(err.contains("resume from"), "{err}");
        let other = tmp.path().join("other/checkpoint.safetensors");
        let err = claim(&dir, Some(&other), false).unwrap_err().to_string();
        assert!(err.contains("needs --overwrite"), "{err}");
        assert_eq!(fs::read(&ckpt).unwrap(), b"original");
    }

    #[test]
    fn overwrite_keeps_the_old_run_and_a_failed_start_puts_it_back() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("run");
        run_in(&dir, b"original");
        let folder = claim(&dir, None, true).unwrap();
        let backup = folder.backup.clone().unwrap();
        assert_eq!(
            fs::read(backup.join("checkpoint.safetensors")).unwrap(),
            b"original"
        );
        assert!(dir.is_dir() && !dir.join("checkpoint.safetensors").exists());
        assert!(folder.roll_back().is_some());
        assert_eq!(
            fs::read(dir.join("checkpoint.safetensors")).unwrap(),
            b"original"
        );
        assert!(!backup.exists());
    }

    #[test]
    fn one_process_per_run_folder() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("run");
        let _held = claim(&dir, None, false).unwrap();
        let err = claim(&dir, None, false).unwrap_err().to_string();
        assert!(err.contains("in use by another vadscope process"), "{err}");
        let err = check(&dir, None, false).unwrap_err().to_string();
        assert!(err.contains("in use by another vadscope process"), "{err}");
    }

    #[test]
    fn other_folders_are_refused_even_with_overwrite() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("home");
        fs::create_dir(&dir).unwrap();
        fs::write(dir.join("thesis.tex"), b"x").unwrap();
        let err = claim(&dir, None, true).unwrap_err().to_string();
        assert!(err.contains("does not hold a training run"), "{err}");
        assert!(dir.join("thesis.tex").exists());
    }
}
