//! The app's side of ground-truth editing: annotation commands applied at
//! the playhead, saves on a background thread (atomic, with a `.bak`, never
//! over a file that changed on disk), the unsaved-changes marker in the
//! window title, and the question when quitting with unsaved changes.

use eframe::egui;

use super::annotate::{self, TruthCommand};
use super::store::{save_truth, stamp_of, TruthSource};
use super::{AppCommand, Command, Commands, SaveJob, VadApp};
use crate::truth::Format;

impl VadApp {
    /// Applies an annotation command (the one place the truth changes).
    pub(super) fn annotate(&mut self, cmd: TruthCommand) {
        let out = annotate::apply(
            &mut self.annotator,
            &mut self.store.truth,
            self.state.current,
            cmd,
        );
        if let Some(f) = out.seek {
            self.state.apply(Command::Seek(f), &self.store);
        }
        if out.save {
            match self.store.truth.source.clone() {
                Some(target) => self.start_save(target, true),
                // Truth from no file (the demo): ask where.
                None => self
                    .dialogs
                    .open(super::menu::DialogKind::SaveTruth, &self.ctx),
            }
        }
        if let Some(path) = out.save_as {
            match Format::from_extension(&path) {
                Some(format) => {
                    let videos = vec![(self.doc.name.clone(), self.doc.len)];
                    self.start_save(TruthSource::new(path, format, videos), false);
                }
                None => self.state.errors.push(format!(
                    "{}: the ground truth's format follows the extension: .json, .m, .mat, .npy or .csv",
                    path.display()
                )),
            }
        }
    }

    /// Starts writing the truth to `target` on a thread. `check_disk`: refuse
    /// when the file changed since it was read (someone else's edits).
    fn start_save(&mut self, target: TruthSource, check_disk: bool) {
        if self.saving.is_some() {
            self.annotator.message = Some("a save is still running".into());
            return;
        }
        if matches!(target.format, Format::MaskFolder) {
            self.state.errors.push(format!(
                "{}: frame intervals cannot be saved into a folder of mask images without losing the masks; use Save ground truth as… (.json keeps intervals and regions)",
                target.path.display()
            ));
            return;
        }
        if check_disk && target.stamp.is_some() && target.changed_on_disk() {
            self.state.errors.push(format!(
                "{}: changed on disk since it was opened; not overwritten. Save ground truth as… another file, or reopen it",
                target.path.display()
            ));
            return;
        }
        let video = self.store.truth.video();
        let step = self.store.truth.edit.state_id();
        let (tx, rx) = std::sync::mpsc::channel();
        let ctx = self.ctx.clone();
        let job_target = target.clone();
        let spawned = std::thread::Builder::new()
            .name("vadscope-save-truth".into())
            .spawn(move || {
                let _ = tx.send(save_truth(&video, &job_target));
                ctx.request_repaint();
            });
        match spawned {
            Ok(_) => {
                self.annotator.message = Some(format!("saving to {}…", target.path.display()));
                self.saving = Some(SaveJob { step, target, rx });
            }
            Err(e) => self
                .state
                .errors
                .push(format!("cannot start the save: {e}")),
        }
    }

    /// Collects a finished save.
    pub(super) fn poll_save(&mut self) {
        let Some(job) = &self.saving else { return };
        let Ok(result) = job.rx.try_recv() else {
            return;
        };
        let job = self.saving.take().expect("checked above");
        match result {
            Ok(()) => {
                self.store.truth.edit.mark_saved_at(job.step);
                let mut target = job.target;
                target.stamp = stamp_of(&target.path);
                self.annotator.message = Some(format!("saved to {}", target.path.display()));
                self.store.truth.source = Some(target);
            }
            Err(e) => self
                .state
                .errors
                .push(crate::error::report(&e).trim_end().to_string()),
        }
    }

    /// Intercepts the window's close button while there are unsaved changes.
    pub(super) fn close_guard(&mut self, ctx: &egui::Context) {
        let closing = ctx.input(|i| i.viewport().close_requested());
        if closing && self.store.truth.edit.is_dirty() && !self.quit_anyway {
            ctx.send_viewport_cmd(egui::ViewportCommand::CancelClose);
            self.confirm_quit = true;
        }
    }

    /// "*name — vadscope" while there are unsaved changes.
    pub(super) fn update_title(&mut self, ctx: &egui::Context) {
        let title = window_title(&self.doc.name, self.store.truth.edit.is_dirty());
        if title != self.title {
            ctx.send_viewport_cmd(egui::ViewportCommand::Title(title.clone()));
            self.title = title;
        }
    }

    /// The window title the app shows now.
    pub fn window_title(&self) -> &str {
        &self.title
    }
}

/// The title for video `name`, marked when the truth has unsaved changes.
pub fn window_title(name: &str, dirty: bool) -> String {
    format!("{}{name} — vadscope", if dirty { "*" } else { "" })
}

/// Asks what to do with unsaved ground truth when the window is closed.
pub(super) fn quit_question_ui(ctx: &egui::Context, cmds: &mut Commands) {
    egui::Window::new("Unsaved ground truth")
        .collapsible(false)
        .resizable(false)
        .anchor(egui::Align2::CENTER_CENTER, [0.0, 0.0])
        .show(ctx, |ui| {
            ui.label("The ground truth has changes that are not saved.");
            ui.horizontal(|ui| {
                if ui.button("Save").clicked() {
                    cmds.send(AppCommand::Truth(TruthCommand::Save));
                    cmds.send(AppCommand::CancelQuit);
                }
                if ui.button("Quit without saving").clicked() {
                    cmds.send(AppCommand::QuitDiscarding);
                }
                if ui.button("Cancel").clicked() {
                    cmds.send(AppCommand::CancelQuit);
                }
            });
        });
}
