//! Atomic saves: write a temporary file beside the target, sync it, keep a backup
//! of what it replaces, then rename it into place. A crash or a full disk at any
//! point leaves either the old file or the new one, never half of either.
//! Output folders follow one rule, in [`folder`]; [`lock`] gives each output
//! one writer; [`interrupt`] removes what a Ctrl-C left unfinished.

pub mod folder;
pub mod interrupt;
pub mod lock;

pub use folder::{FolderKind, StagedFolder};
pub use lock::OutputLock;

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// The backup path kept for `path` when a save replaces it: `name.ext.bak`.
pub fn backup_path(path: &Path) -> PathBuf {
    let mut name = path
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(".bak");
    path.with_file_name(name)
}

/// Removes `path`, a folder (with its content) or a file.
pub fn remove_path(path: &Path) -> std::io::Result<()> {
    if path.is_dir() {
        fs::remove_dir_all(path)
    } else {
        fs::remove_file(path)
    }
}

/// Writes `bytes` to `path` atomically. If `path` exists, its previous content is
/// kept at [`backup_path`] (replacing an older backup).
pub fn atomic_write(path: &Path, bytes: &[u8]) -> Result<()> {
    atomic_write_with(path, |w| w.write_all(bytes))
}

/// A hidden temporary name beside `path` for writing it atomically:
/// `.NAME.PID-N.tmp`, unique per call, so two threads (or processes) writing
/// the same target never share a temporary file or folder.
pub fn temp_path(path: &Path) -> PathBuf {
    path.with_file_name(temp_name(path.file_name().unwrap_or_default()))
}

fn temp_name(file_name: &std::ffi::OsStr) -> std::ffi::OsString {
    static CALLS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let mut name = std::ffi::OsString::from(".");
    name.push(file_name);
    name.push(format!(".{}-{n}.tmp", std::process::id()));
    name
}

/// Like [`atomic_write`], with the content produced by a writer callback
/// (useful for large outputs that are streamed rather than built in memory).
pub fn atomic_write_with(
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    if !dir.is_dir() {
        return Err(Error::io(
            &dir,
            std::io::Error::new(std::io::ErrorKind::NotFound, "folder does not exist"),
        ));
    }
    let file_name = path
        .file_name()
        .ok_or_else(|| Error::invalid(format!("{}: not a file path", path.display())))?;
    if path.is_dir() {
        return Err(Error::invalid(format!(
            "{} is a folder; give the name of a file to write",
            path.display()
        )));
    }
    let tmp = dir.join(temp_name(file_name));
    interrupt::register(&tmp);
    let result = write_then_rename(path, &tmp, write);
    interrupt::unregister(&tmp);
    result
}

fn write_then_rename(
    path: &Path,
    tmp: &Path,
    write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<()> {
    let result = (|| -> std::io::Result<()> {
        let file = fs::File::create(tmp)?;
        let mut w = std::io::BufWriter::new(file);
        write(&mut w)?;
        let file = w.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        Ok(())
    })();
    if let Err(e) = result {
        let _ = fs::remove_file(tmp);
        return Err(Error::io(path, e));
    }
    if path.exists() {
        let backup = backup_path(path);
        // A copy, not a rename: the target must exist at every instant.
        if let Err(e) = fs::copy(path, &backup) {
            let _ = fs::remove_file(tmp);
            return Err(Error::io(&backup, e));
        }
    }
    fs::rename(tmp, path).map_err(|e| {
        let _ = fs::remove_file(tmp);
        Error::io(path, e)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_and_keeps_backup() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.json");
        atomic_write(&p, b"one").unwrap();
        assert!(!backup_path(&p).exists());
        atomic_write(&p, b"two").unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"two");
        assert_eq!(fs::read(backup_path(&p)).unwrap(), b"one");
        // No temporary file is left behind.
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 2, "{names:?}");
    }

    #[test]
    fn failed_write_leaves_original() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.txt");
        atomic_write(&p, b"keep").unwrap();
        let err = atomic_write_with(&p, |_| Err(std::io::Error::other("disk full"))).unwrap_err();
        assert!(err.to_string().contains("a.txt"), "{err}");
        assert_eq!(fs::read(&p).unwrap(), b"keep");
    }

    #[test]
    fn a_folder_in_place_of_the_file_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let err = atomic_write(dir.path(), b"x").unwrap_err().to_string();
        assert!(err.contains("is a folder"), "{err}");
        assert!(!err.contains(".bak"), "{err}");
    }

    #[test]
    fn missing_folder_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("nope").join("a.txt");
        let err = atomic_write(&p, b"x").unwrap_err();
        assert!(err.to_string().contains("nope"), "{err}");
    }
}
