//! The recovery file of unsaved edits, written every few seconds while
//! there are any (see [`crate::app::annotate::recovery`]), and the offer to
//! restore one that a crash or a kill left.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use eframe::egui;

use crate::app::annotate::recovery::{self, Recovery};
use crate::app::VadApp;
use crate::truth::history::AnnotationCommand;

/// The recovery file of the open video and when it was last written.
#[derive(Debug)]
pub struct Autosave {
    /// The file.
    pub path: PathBuf,
    /// How often unsaved edits are written.
    pub interval: Duration,
    last_write: Option<Instant>,
    /// The truth's version last written (`None`: no file written for it).
    written: Option<u64>,
}

impl Default for Autosave {
    fn default() -> Self {
        Autosave {
            path: PathBuf::new(),
            interval: recovery::AUTOSAVE_INTERVAL,
            last_write: None,
            written: None,
        }
    }
}

impl VadApp {
    /// The key the open video's recovery file is named by: its absolute path,
    /// so that `open ./04` and `open /data/04` find the same file.
    fn recovery_key(&self) -> String {
        self.doc.path.as_deref().map_or_else(
            || "demo".into(),
            |p| {
                std::fs::canonicalize(p)
                    .unwrap_or_else(|_| p.to_path_buf())
                    .display()
                    .to_string()
            },
        )
    }

    /// Looks for edits a crash left for the newly opened video.
    pub(crate) fn open_recovery(&mut self) {
        let key = self.recovery_key();
        let interval = self.autosave.interval;
        self.autosave = Autosave {
            path: recovery::recovery_path(&key),
            interval,
            ..Autosave::default()
        };
        self.recovered = recovery::read(&self.autosave.path, &key);
        if self.recovered.as_ref().is_some_and(|r| {
            r.intervals == self.store.intervals()
                && r.tracks == self.store.truth.tracks()
                && &r.masks == self.store.truth.edit.masks()
        }) {
            // The file already holds these intervals: nothing was lost.
            recovery::remove(&self.autosave.path);
            self.recovered = None;
        }
    }

    /// Restores the recovered edits (as one undoable edit) or discards them.
    pub(crate) fn answer_recovery(&mut self, restore: bool) {
        let Some(rec) = self.recovered.take() else {
            return;
        };
        if restore {
            let command = AnnotationCommand::Restore {
                intervals: rec.intervals,
                tracks: rec.tracks,
                masks: rec.masks,
            };
            self.store.truth.apply(command, None);
            self.annotator.message =
                Some("restored the recovered edits: save them with Ctrl+S".into());
        } else {
            recovery::remove(&self.autosave.path);
            self.annotator.message = Some("discarded the recovered edits".into());
        }
    }

    /// Every [`Autosave::interval`], writes unsaved edits to the recovery
    /// file (off the UI thread); removes it once there are none.
    pub(crate) fn autosave_tick(&mut self, ctx: &egui::Context) {
        let edit = &self.store.truth.edit;
        if !edit.is_dirty() {
            // Saved or undone; but keep a file still offered for restoring.
            if self.autosave.written.take().is_some() && self.recovered.is_none() {
                recovery::remove(&self.autosave.path);
            }
            return;
        }
        let state = edit.version();
        let due = self
            .autosave
            .last_write
            .is_none_or(|t| t.elapsed() >= self.autosave.interval);
        if self.autosave.written != Some(state) && due {
            let rec = Recovery::new(
                &self.doc.name,
                &self.recovery_key(),
                self.store.truth.source.as_ref().map(|s| s.path.clone()),
                edit.intervals(),
                edit.tracks(),
                edit.masks(),
            );
            let path = self.autosave.path.clone();
            // A failed write is retried on the next change; it never blocks editing.
            let _ = std::thread::Builder::new()
                .name("vadscope-recovery".into())
                .spawn(move || recovery::write(&path, &rec));
            self.autosave.written = Some(state);
            self.autosave.last_write = Some(Instant::now());
        }
        // Come back when the next write is due even if nothing else wakes the UI.
        ctx.request_repaint_after(self.autosave.interval);
    }

    /// Sets how often unsaved edits go to the recovery file (tests use a short one).
    pub fn set_autosave_interval(&mut self, interval: Duration) {
        self.autosave.interval = interval;
    }

    /// The open video's recovery file.
    pub fn recovery_file(&self) -> &std::path::Path {
        &self.autosave.path
    }
}
