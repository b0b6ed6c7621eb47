//! Ctrl-C without half-written output. Every temporary file or folder that an
//! atomic save fills is registered here while it exists; an interrupt removes
//! them before the process exits, so the file system is left as it was found.
//! A command that stops by itself at the next safe point (training saves a
//! checkpoint first) asks for [`stop_gracefully`] instead, and polls
//! [`stop_requested`].

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

static PENDING: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());
static STOP: AtomicBool = AtomicBool::new(false);
static GRACEFUL: AtomicBool = AtomicBool::new(false);

/// The exit status of a process ended by Ctrl-C (128 + SIGINT), as shells use.
pub const INTERRUPTED_EXIT: i32 = 130;

/// Installs the process's Ctrl-C handler (once; later calls do nothing). By
/// default an interrupt removes the registered temporaries, says so, and exits
/// with [`INTERRUPTED_EXIT`].
pub fn install() -> std::result::Result<(), ctrlc::Error> {
    static INSTALLED: AtomicBool = AtomicBool::new(false);
    if INSTALLED.swap(true, Ordering::SeqCst) {
        return Ok(());
    }
    ctrlc::set_handler(|| {
        let graceful = GRACEFUL.load(Ordering::SeqCst);
        // A second Ctrl-C during a graceful stop means "now".
        if graceful && !STOP.swap(true, Ordering::SeqCst) {
            return;
        }
        let removed = remove_pending(|_| true);
        for p in &removed {
            eprintln!("interrupted: removed the unfinished {}", p.display());
        }
        if removed.is_empty() {
            eprintln!("interrupted");
        }
        std::process::exit(INTERRUPTED_EXIT);
    })
}

/// From now on the first Ctrl-C only sets [`stop_requested`]; a second one
/// exits as usual.
pub fn stop_gracefully() {
    GRACEFUL.store(true, Ordering::SeqCst);
}

/// Whether Ctrl-C was pressed (after [`stop_gracefully`]).
pub fn stop_requested() -> bool {
    STOP.load(Ordering::SeqCst)
}

/// The flag behind [`stop_requested`], for code that takes an `&AtomicBool`.
pub fn stop_flag() -> &'static AtomicBool {
    &STOP
}

/// Registers a temporary `path` for removal on interrupt.
pub(crate) fn register(path: &Path) {
    if let Ok(mut p) = PENDING.lock() {
        p.push(path.to_path_buf());
    }
}

/// Forgets `path` (renamed into place, or removed).
pub(crate) fn unregister(path: &Path) {
    if let Ok(mut p) = PENDING.lock() {
        if let Some(i) = p.iter().rposition(|q| q == path) {
            p.swap_remove(i);
        }
    }
}

/// Removes the registered temporaries that `which` selects.
fn remove_pending(which: impl Fn(&Path) -> bool) -> Vec<PathBuf> {
    let pending: Vec<PathBuf> = match PENDING.lock() {
        Ok(mut p) => {
            let (take, keep) = std::mem::take(&mut *p).into_iter().partition(|q| which(q));
            *p = keep;
            take
        }
        Err(_) => return Vec::new(),
    };
    pending
        .into_iter()
        .filter(|p| super::remove_path(p).is_ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pending_temporaries_are_removed_and_forgotten_ones_kept() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join(".a.tmp"), dir.path().join(".b.tmp"));
        std::fs::write(&a, b"x").unwrap();
        std::fs::create_dir(&b).unwrap();
        std::fs::write(b.join("f"), b"y").unwrap();
        let kept = dir.path().join("kept");
        std::fs::write(&kept, b"z").unwrap();
        register(&a);
        register(&b);
        register(&kept);
        unregister(&kept);
        // Only this test's: other tests register their temporaries meanwhile.
        let removed = remove_pending(|p| p.starts_with(dir.path()));
        assert!(removed.contains(&a) && removed.contains(&b), "{removed:?}");
        assert!(!a.exists() && !b.exists());
        assert!(kept.exists());
    }
}
