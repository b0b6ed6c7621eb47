//! Output folders: the one rule every command that writes a folder follows.
//!
//! - A folder belongs to one process: its [`OutputLock`] is held while it is written.
//! - A folder that already holds output of its kind is continued only where the
//!   command says so (`train --resume`), replaced only with `--overwrite`, which
//!   keeps the old folder as `NAME.bak`; a non-empty folder of anything else is
//!   never touched.
//! - Output that is complete only at the end (scores, synthetic data) is built
//!   in a hidden temporary folder beside the target and renamed into place
//!   ([`StagedFolder`]), so a failure or Ctrl-C leaves nothing half-written.
//!   Temporaries left by a process that was killed are removed by the next
//!   write of the same target.

use std::fs;
use std::path::{Path, PathBuf};

use super::interrupt;
use super::lock::OutputLock;
use crate::error::{Error, Result};

/// A kind of output folder and how to recognise one.
#[derive(Debug, Clone, Copy)]
pub struct FolderKind {
    /// What it holds, for messages: "a training run", "scores".
    pub what: &'static str,
    /// Files of which any one marks a folder of this kind; none: every
    /// folder counts (outputs that replace whatever is there, keeping a backup).
    pub markers: &'static [&'static str],
    /// The command's way to replace one, for messages (`--overwrite`); none:
    /// the command never writes into a non-empty folder.
    pub overwrite_flag: Option<&'static str>,
}

impl FolderKind {
    /// Any folder, replaced by the save, its old content kept as `NAME.bak`.
    pub const ANY: FolderKind = FolderKind {
        what: "output",
        markers: &[],
        overwrite_flag: None,
    };
}

/// What is at an output path now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Existing {
    /// Nothing.
    Missing,
    /// An empty folder.
    Empty,
    /// A folder of the kind asked about.
    Ours,
    /// A file, or a non-empty folder of something else.
    Foreign,
}

impl FolderKind {
    /// What is at `dir`.
    pub fn inspect(&self, dir: &Path) -> Result<Existing> {
        match fs::symlink_metadata(dir) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Existing::Missing),
            Err(e) => return Err(Error::io(dir, e)),
            Ok(m) if !m.is_dir() && !fs::metadata(dir).is_ok_and(|m| m.is_dir()) => {
                return Ok(Existing::Foreign)
            }
            Ok(_) => {}
        }
        let empty = fs::read_dir(dir)
            .map_err(|e| Error::io(dir, e))?
            .next()
            .is_none();
        Ok(if empty {
            Existing::Empty
        } else if self.markers.is_empty() || self.markers.iter().any(|m| dir.join(m).exists()) {
            Existing::Ours
        } else {
            Existing::Foreign
        })
    }

    /// The error for a non-empty `dir` that does not hold this kind of output.
    pub fn foreign_error(&self, dir: &Path) -> Error {
        let what = if dir.is_dir() {
            format!(
                "is not empty and does not hold {} (none of {})",
                self.what,
                self.markers.join(", ")
            )
        } else {
            "is a file, not a folder".to_string()
        };
        Error::invalid(format!(
            "{} {what}; refusing to write into it: choose a new or empty folder",
            dir.display()
        ))
    }
}

/// Removes the temporaries of `target` (`.NAME.PID-N.tmp` beside it) left by
/// processes that no longer run; returns what it removed.
pub fn remove_stale_temps(target: &Path) -> Vec<PathBuf> {
    let (Some(name), Some(parent)) = (target.file_name(), target.parent()) else {
        return Vec::new();
    };
    let parent = if parent.as_os_str().is_empty() {
        Path::new(".")
    } else {
        parent
    };
    let prefix = format!(".{}.", name.to_string_lossy());
    let Ok(entries) = fs::read_dir(parent) else {
        return Vec::new();
    };
    let mut removed = Vec::new();
    for entry in entries.flatten() {
        let file_name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = file_name
            .strip_prefix(&prefix)
            .and_then(|rest| rest.strip_suffix(".tmp"))
            .and_then(|rest| rest.split_once('-'))
            .and_then(|(pid, n)| n.parse::<u64>().ok().and(pid.parse::<u32>().ok()))
        else {
            continue;
        };
        if pid == std::process::id() || process_alive(pid) {
            continue;
        }
        let path = entry.path();
        if super::remove_path(&path).is_ok() {
            removed.push(path);
        }
    }
    removed
}

#[cfg(target_os = "linux")]
fn process_alive(pid: u32) -> bool {
    Path::new("/proc").join(pid.to_string()).exists()
}

#[cfg(not(target_os = "linux"))]
fn process_alive(_pid: u32) -> bool {
    // Without /proc we cannot tell: keep it.
    true
}

/// Moves `path` to its backup `NAME.bak` (replacing an older backup); returns
/// the backup's path.
pub fn move_to_backup(path: &Path) -> Result<PathBuf> {
    let backup = super::backup_path(path);
    if fs::symlink_metadata(&backup).is_ok() {
        // Out of the way first, removed only once the new backup is in place.
        let old = super::temp_path(&backup);
        fs::rename(&backup, &old).map_err(|e| Error::io(&backup, e))?;
        if let Err(e) = fs::rename(path, &backup) {
            let _ = fs::rename(&old, &backup);
            return Err(Error::io(path, e));
        }
        let _ = super::remove_path(&old);
    } else {
        fs::rename(path, &backup).map_err(|e| Error::io(path, e))?;
    }
    Ok(backup)
}

/// A folder built in a hidden temporary sibling and renamed into place by
/// [`StagedFolder::commit`]; dropped uncommitted (a failure), it is removed.
#[derive(Debug)]
pub struct StagedFolder {
    target: PathBuf,
    tmp: PathBuf,
    overwrite: bool,
    stale: Vec<PathBuf>,
    committed: bool,
    _lock: OutputLock,
}

impl StagedFolder {
    /// Starts writing `target`, a folder of `kind`: takes its lock, refuses an
    /// existing one of this kind unless `overwrite` (a non-empty folder of
    /// another kind always), and creates the temporary folder (and `target`'s
    /// parent folders).
    pub fn begin(target: &Path, kind: &FolderKind, overwrite: bool) -> Result<StagedFolder> {
        let name = target
            .file_name()
            .ok_or_else(|| Error::invalid(format!("{}: not a folder name", target.display())))?;
        let parent = match target.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        fs::create_dir_all(&parent).map_err(|e| Error::io(&parent, e))?;
        let target = parent.join(name);
        let lock = OutputLock::acquire(&target)?;
        match kind.inspect(&target)? {
            Existing::Missing | Existing::Empty => {}
            Existing::Ours if overwrite => {}
            Existing::Ours => {
                return Err(match kind.overwrite_flag {
                    Some(flag) => Error::invalid(format!(
                        "{} already holds {}; pass {flag} to replace it (the old folder \
                         is kept as {}), or choose another folder",
                        target.display(),
                        kind.what,
                        super::backup_path(&target).display()
                    )),
                    None => Error::invalid(format!(
                        "{}: already exists and is not empty; refusing to overwrite it",
                        target.display()
                    )),
                })
            }
            Existing::Foreign => return Err(kind.foreign_error(&target)),
        }
        let stale = remove_stale_temps(&target);
        let tmp = super::temp_path(&target);
        fs::create_dir(&tmp).map_err(|e| Error::io(&tmp, e))?;
        interrupt::register(&tmp);
        Ok(StagedFolder {
            target,
            tmp,
            overwrite,
            stale,
            committed: false,
            _lock: lock,
        })
    }

    /// The temporary folder to write into.
    pub fn path(&self) -> &Path {
        &self.tmp
    }

    /// Where the folder will be once committed.
    pub fn target(&self) -> &Path {
        &self.target
    }

    /// Temporaries of killed processes that [`StagedFolder::begin`] removed.
    pub fn stale_removed(&self) -> &[PathBuf] {
        &self.stale
    }

    /// Renames the finished folder into place; a folder it replaces is kept as
    /// `NAME.bak` (returned), an empty one removed.
    pub fn commit(mut self) -> Result<Option<PathBuf>> {
        let mut backup = None;
        let is_empty = |mut d: fs::ReadDir| d.next().is_none();
        match fs::read_dir(&self.target).map(is_empty) {
            Ok(true) => fs::remove_dir(&self.target).map_err(|e| Error::io(&self.target, e))?,
            Ok(false) if !self.overwrite => {
                return Err(Error::invalid(format!(
                    "{} was filled by someone else while this ran; the new output is not \
                     written",
                    self.target.display()
                )))
            }
            Ok(false) => backup = Some(move_to_backup(&self.target)?),
            Err(_) => {}
        }
        fs::rename(&self.tmp, &self.target).map_err(|e| {
            // Put the old folder back rather than leave nothing.
            if let Some(b) = &backup {
                let _ = fs::rename(b, &self.target);
            }
            Error::io(&self.target, e)
        })?;
        interrupt::unregister(&self.tmp);
        self.committed = true;
        Ok(backup)
    }
}

impl Drop for StagedFolder {
    fn drop(&mut self) {
        if !self.committed {
            let _ = fs::remove_dir_all(&self.tmp);
            interrupt::unregister(&self.tmp);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SCORES: FolderKind = FolderKind {
        what: "scores",
        markers: &["run.json"],
        overwrite_flag: Some("--overwrite"),
    };

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn a_failed_write_leaves_nothing_and_a_finished_one_appears_whole() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out");
        let staged = StagedFolder::begin(&target, &SCORES, false).unwrap();
        fs::write(staged.path().join("run.json"), b"{}").unwrap();
        assert!(!target.exists());
        drop(staged);
        assert!(names(dir.path()).is_empty(), "{:?}", names(dir.path()));

        let staged = StagedFolder::begin(&target, &SCORES, false).unwrap();
        fs::write(staged.path().join("run.json"), b"one").unwrap();
        assert_eq!(staged.commit().unwrap(), None);
        assert_eq!(names(dir.path()), ["out"]);
    }

    #[test]
    fn existing_output_needs_overwrite_and_is_kept_as_backup() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out");
        fs::create_dir(&target).unwrap();
        fs::write(target.join("run.json"), b"old").unwrap();
        let err = StagedFolder::begin(&target, &SCORES, false).unwrap_err();
        assert!(err.to_string().contains("--overwrite"), "{err}");
        let staged = StagedFolder::begin(&target, &SCORES, true).unwrap();
        fs::write(staged.path().join("run.json"), b"new").unwrap();
        let backup = staged.commit().unwrap().unwrap();
        assert_eq!(fs::read(target.join("run.json")).unwrap(), b"new");
        assert_eq!(fs::read(backup.join("run.json")).unwrap(), b"old");
        // A second overwrite replaces the backup with the latest old folder.
        let staged = StagedFolder::begin(&target, &SCORES, true).unwrap();
        fs::write(staged.path().join("run.json"), b"newer").unwrap();
        staged.commit().unwrap();
        assert_eq!(fs::read(backup.join("run.json")).unwrap(), b"new");
        assert_eq!(names(dir.path()), ["out", "out.bak"]);
    }

    #[test]
    fn foreign_folders_are_never_touched() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("photos");
        fs::create_dir(&target).unwrap();
        fs::write(target.join("holiday.jpg"), b"x").unwrap();
        let err = StagedFolder::begin(&target, &SCORES, true).unwrap_err();
        assert!(err.to_string().contains("does not hold scores"), "{err}");
        assert_eq!(names(&target), ["holiday.jpg"]);
    }

    #[test]
    #[cfg(target_os = "linux")]
    fn temporaries_of_dead_processes_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out");
        // No process has pid 4194304 + 1 (above Linux's pid_max).
        let stale = dir.path().join(".out.4194305-0.tmp");
        fs::create_dir(&stale).unwrap();
        let mine = super::super::temp_path(&target);
        fs::create_dir(&mine).unwrap();
        let other = dir.path().join(".other.4194305-0.tmp");
        fs::create_dir(&other).unwrap();
        let removed = remove_stale_temps(&target);
        assert_eq!(removed, std::slice::from_ref(&stale));
        assert!(!stale.exists() && mine.exists() && other.exists());
    }
}
