//! The app's side of ground-truth editing: annotation commands applied at
//! the playhead, saves on a background thread (atomic, with a `.bak`, never
//! over a file that changed on disk), the recovery file of unsaved edits
//! (see [`crate::app::annotate::recovery`]), the unsaved-changes marker in the window title,
//! and the question when quitting with unsaved changes.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use eframe::egui;

use crate::app::annotate::recovery::{self, Recovery};
use crate::app::annotate::review::{Kind, Review};
use crate::app::annotate::{self, TruthCommand};
use crate::app::store::{save_truth, stamp_of, TruthSource};
use crate::app::{AppCommand, Command, Commands, SaveJob, VadApp};
use crate::truth::history::AnnotationCommand;
use crate::truth::Format;

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
            r.intervals == self.store.intervals() && r.tracks == self.store.truth.tracks()
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

    /// While H is held (after its press started a recording), the frames
    /// from where it started to the playhead are anomalous; one undo step.
    pub(crate) fn record_tick(&mut self, ctx: &egui::Context) {
        let Some((from, group)) = self.annotator.recording else {
            return;
        };
        let held = ctx.input(|i| i.key_down(egui::Key::H));
        let at = self.state.current;
        let (a, b) = (from.min(at), from.max(at));
        let command = AnnotationCommand::Add(crate::truth::Interval {
            start: a,
            end: b + 1,
        });
        self.store.truth.apply(command, Some(group));
        if !held {
            self.annotator.recording = None;
            self.annotator.message = Some(format!("frames {a}–{b} anomalous (recorded)"));
        }
    }

    /// Review mode on (starting at the largest disagreement) or off.
    fn toggle_review(&mut self) {
        if self.annotator.review.take().is_some() {
            self.annotator.message = Some("review mode off".into());
            return;
        }
        self.annotator.review = Some(Review::default());
        self.refresh_review();
        let left = self.annotator.review.as_ref().map_or(0, |r| r.left.len());
        self.annotator.message = Some(format!(
            "review mode: {left} disagreements with the model at its threshold, largest first; Y accepts, N rejects"
        ));
        self.seek_to_review();
    }

    /// Accepts or rejects the disagreement under review, then goes to the next.
    fn decide_review(&mut self, accept: bool) {
        let Some(d) = self.annotator.review.as_ref().and_then(|r| r.current()) else {
            self.annotator.message = Some("nothing to review (R starts review mode)".into());
            return;
        };
        if accept {
            let command = match d.kind {
                Kind::Missed => AnnotationCommand::Erase(d.frames),
                Kind::FalseAlarm => AnnotationCommand::Add(d.frames),
            };
            self.store.truth.apply(command, None);
        }
        if let Some(r) = &mut self.annotator.review {
            if accept {
                r.accepted += 1;
            } else {
                r.rejected.push(d);
            }
        }
        self.refresh_review();
        self.seek_to_review();
    }

    /// Recomputes what is left to review (scores, threshold or truth may have changed).
    pub(crate) fn refresh_review(&mut self) {
        if let Some(r) = &mut self.annotator.review {
            let scores = self.store.curves.lane(crate::app::curves::Lane::Score);
            r.update(scores, self.state.threshold, self.store.intervals());
        }
    }

    fn seek_to_review(&mut self) {
        let next = self.annotator.review.as_ref().and_then(|r| r.current());
        match next {
            Some(d) => {
                self.state.apply(Command::Seek(d.frames.start), &self.store);
                self.state.apply(
                    Command::Select(Some((d.frames.start, d.frames.end))),
                    &self.store,
                );
            }
            None => {
                self.annotator.message = Some(
                    "review done: the model and the truth agree, or every disagreement was decided"
                        .into(),
                )
            }
        }
    }

    /// Sets how often unsaved edits go to the recovery file (tests use a short one).
    pub fn set_autosave_interval(&mut self, interval: Duration) {
        self.autosave.interval = interval;
    }

    /// The open video's recovery file.
    pub fn recovery_file(&self) -> &std::path::Path {
        &self.autosave.path
    }

    /// Applies an annotation command (the one place the truth changes).
    pub(crate) fn annotate(&mut self, cmd: TruthCommand) {
        if self.recovered.is_some() && !matches!(cmd, TruthCommand::SaveAs(_)) {
            // New edits would replace the recovered ones in the recovery file.
            self.annotator.message = Some("restore or discard the recovered edits first".into());
            return;
        }
        let cmd = match cmd {
            TruthCommand::ReviewToggle => {
                self.toggle_review();
                return;
            }
            TruthCommand::Disagreement { forward } => {
                self.jump_disagreement(forward);
                return;
            }
            TruthCommand::ReviewAccept | TruthCommand::ReviewReject => {
                self.decide_review(cmd == TruthCommand::ReviewAccept);
                return;
            }
            TruthCommand::AcceptDetection => {
                let runs = self.state.events(&self.store).runs;
                match annotate::detection_at(&runs, self.state.current) {
                    Some(iv) => {
                        self.annotator.message = Some(format!(
                            "detection {}–{} accepted as anomalous",
                            iv.start,
                            iv.end - 1
                        ));
                        let command = AnnotationCommand::Add(iv);
                        TruthCommand::Edit {
                            command,
                            group: None,
                        }
                    }
                    None => {
                        self.annotator.message = Some(
                            "the playhead's frame is below the threshold: no detection to accept"
                                .into(),
                        );
                        return;
                    }
                }
            }
            cmd => cmd,
        };
        let out = annotate::apply(
            &mut self.annotator,
            &mut self.store.truth,
            self.state.current,
            cmd,
        );
        if let Some(f) = out.seek {
            self.state.apply(Command::Seek(f), &self.store);
        }
        if let Some((a, b)) = out.loop_frames {
            if self.state.selection == Some((a, b)) {
                self.state.apply(Command::Select(None), &self.store);
                self.annotator.message = Some("loop over the interval off".into());
            } else {
                self.state.apply(Command::Select(Some((a, b))), &self.store);
                self.state.apply(Command::SetLooping(true), &self.store);
                if !(a..b).contains(&self.state.current) {
                    self.state.apply(Command::Seek(a), &self.store);
                }
                self.annotator.message = Some(format!(
                    "looping frames {a}–{} (Shift+L again: stop)",
                    b - 1
                ));
            }
        }
        if out.save {
            match self.store.truth.source.clone() {
                Some(target) => self.start_save(target, true),
                // Truth from no file (the demo): ask where.
                None => self
                    .dialogs
                    .open(crate::app::menu::DialogKind::SaveTruth, &self.ctx),
            }
        }
        if let Some(path) = out.save_as {
            let format = Format::from_extension(&path).or_else(|| npy_folder_target(&path));
            match format {
                Some(format) => {
                    let videos = vec![(self.doc.name.clone(), self.doc.len)];
                    self.start_save(TruthSource::new(path, format, videos), false);
                }
                None => self.state.errors.push(format!(
                    "{}: the ground truth's format follows the extension: .json, .m, .mat, .npy or .csv; a name without one is a folder of per-video .npy files (new, or holding only .npy files)",
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
            // Someone else's edits: ask before replacing them.
            self.annotator.message = Some(format!(
                "{}: changed on disk since it was opened; not overwritten",
                target.path.display()
            ));
            self.disk_conflict = Some(target);
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

    /// Overwrites the file that changed on disk (its old content kept as
    /// `.bak`), or leaves it and says how to save elsewhere.
    pub(crate) fn answer_disk_conflict(&mut self, overwrite: bool) {
        let Some(target) = self.disk_conflict.take() else {
            return;
        };
        if overwrite {
            self.start_save(target, false);
        } else {
            self.annotator.message = Some(format!(
                "{} left as it is: Save ground truth as… writes the edits elsewhere",
                target.path.display()
            ));
        }
    }

    /// Collects a finished save.
    pub(crate) fn poll_save(&mut self) {
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
                let boxes = self.store.truth.tracks().len();
                self.annotator.message = Some(if boxes > 0 && !target.format.keeps_regions() {
                    format!(
                        "saved the intervals to {}; a .{} file keeps no boxes: Save ground truth as… .json keeps the {boxes} box tracks",
                        target.path.display(),
                        target.format.name()
                    )
                } else {
                    format!("saved to {}", target.path.display())
                });
                self.store.truth.source = Some(target);
            }
            Err(e) => self
                .state
                .errors
                .push(crate::error::report(&e).trim_end().to_string()),
        }
    }

    /// Intercepts the window's close button while there are unsaved changes.
    pub(crate) fn close_guard(&mut self, ctx: &egui::Context) {
        let closing = ctx.input(|i| i.viewport().close_requested());
        if closing && self.store.truth.edit.is_dirty() && !self.quit_anyway {
            ctx.send_viewport_cmd(egui::ViewportCommand::CancelClose);
            self.confirm_quit = true;
        }
    }

    /// "*name — vadscope" while there are unsaved changes.
    pub(crate) fn update_title(&mut self, ctx: &egui::Context) {
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

/// A save-as target without an extension is a folder of per-video `.npy`
/// labels (ShanghaiTech's layout), if it is new or holds only `.npy` files:
/// the save replaces the folder (keeping it as `.bak`), so any other folder
/// is refused.
fn npy_folder_target(path: &std::path::Path) -> Option<Format> {
    if path.extension().is_some() {
        return None;
    }
    if !path.exists() {
        return Some(Format::NpyPerVideo);
    }
    let entries = std::fs::read_dir(path).ok()?;
    let mut only_npy = true;
    for e in entries {
        let p = e.ok()?.path();
        only_npy &= p.is_file() && p.extension().is_some_and(|x| x.eq_ignore_ascii_case("npy"));
    }
    only_npy.then_some(Format::NpyPerVideo)
}

/// The title for video `name`, marked when the truth has unsaved changes.
pub fn window_title(name: &str, dirty: bool) -> String {
    format!("{}{name} — vadscope", if dirty { "*" } else { "" })
}

/// Offers the edits found in the recovery file.
pub(crate) fn recovery_offer_ui(ctx: &egui::Context, rec: &Recovery, cmds: &mut Commands) {
    egui::Window::new("Recover unsaved ground truth")
        .collapsible(false)
        .resizable(false)
        .anchor(egui::Align2::CENTER_CENTER, [0.0, 0.0])
        .show(ctx, |ui| {
            let age_s = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs())
                .saturating_sub(rec.written_unix_s);
            ui.label(format!(
                "vadscope stopped with unsaved ground-truth edits of {} ({}, written {} ago).",
                rec.video,
                counted(rec.intervals.len(), rec.tracks.len()),
                age_text(age_s)
            ));
            ui.horizontal(|ui| {
                if ui.button("Restore").clicked() {
                    cmds.send(AppCommand::Recover(true));
                }
                if ui.button("Discard").clicked() {
                    cmds.send(AppCommand::Recover(false));
                }
            });
        });
}

/// "1 interval", "3 intervals and 2 box tracks".
fn counted(intervals: usize, tracks: usize) -> String {
    let s = |n: usize| if n == 1 { "" } else { "s" };
    let mut out = format!("{intervals} interval{}", s(intervals));
    if tracks > 0 {
        out += &format!(" and {tracks} box track{}", s(tracks));
    }
    out
}

/// "42 s", "5 min", "3 h", "2 days".
fn age_text(s: u64) -> String {
    match s {
        0..=119 => format!("{s} s"),
        120..=7199 => format!("{} min", s / 60),
        7200..=172_799 => format!("{} h", s / 3600),
        _ => format!("{} days", s / 86_400),
    }
}

/// Asks whether to overwrite a truth file that changed on disk since it was read.
pub(crate) fn disk_conflict_ui(ctx: &egui::Context, target: &TruthSource, cmds: &mut Commands) {
    egui::Window::new("Ground-truth file changed on disk")
        .collapsible(false)
        .resizable(false)
        .anchor(egui::Align2::CENTER_CENTER, [0.0, 0.0])
        .show(ctx, |ui| {
            ui.label(format!(
                "{} changed since vadscope read it (another program or annotator saved it). Saving now replaces their version; it would be kept as {}.bak.",
                target.path.display(),
                target.path.file_name().map_or_else(String::new, |n| n.to_string_lossy().into_owned())
            ));
            ui.horizontal(|ui| {
                if ui.button("Overwrite it").clicked() {
                    cmds.send(AppCommand::OverwriteChanged(true));
                }
                if ui.button("Save as…").clicked() {
                    cmds.send(AppCommand::OverwriteChanged(false));
                    cmds.send(AppCommand::Dialog(crate::app::menu::DialogKind::SaveTruth));
                }
                if ui.button("Cancel").clicked() {
                    cmds.send(AppCommand::OverwriteChanged(false));
                }
            });
        });
}

/// Asks what to do with unsaved ground truth when the window is closed.
pub(crate) fn quit_question_ui(ctx: &egui::Context, cmds: &mut Commands) {
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
