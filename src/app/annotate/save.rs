//! The app's side of ground-truth editing: annotation commands applied at
//! the playhead (review, recording and detections resolved here, where the
//! scores are), saves on a background thread (atomic, with a `.bak`, never
//! over a file that changed on disk unasked), the unsaved-changes marker in
//! the window title and the guard on closing with unsaved changes.

use eframe::egui;

use crate::app::annotate::review::{Kind, Review};
use crate::app::annotate::{self, TruthCommand};
use crate::app::store::{save_truth, stamp_of, TruthSource};
use crate::app::{Command, SaveJob, VadApp};
use crate::truth::history::AnnotationCommand;
use crate::truth::Format;

impl VadApp {
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

    /// Applies an annotation command (the one place the truth changes).
    pub(crate) fn annotate(&mut self, cmd: TruthCommand) {
        if self.recovered.is_some()
            && !matches!(cmd, TruthCommand::SaveAs(_) | TruthCommand::SaveAsMasks(_))
        {
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
            TruthCommand::SaveAsMasks(path) => {
                self.save_as(path, Format::MaskFolder);
                return;
            }
            TruthCommand::Reload => {
                self.reload_truth();
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
            let format = Format::from_extension(&path).or_else(|| folder_target(&path));
            match format {
                Some(format) => self.save_as(path, format),
                None => self.state.errors.push(format!(
                    "{}: the ground truth's format follows the extension: .json, .m, .mat, .npy or .csv; a name without one is a folder of per-video .npy files (new, or holding only .npy files) (mask images: File > Save ground truth as mask images…)",
                    path.display()
                )),
            }
        }
    }

    /// Saves into a new target in `format` (which becomes where Ctrl+S saves).
    pub(crate) fn save_as(&mut self, path: std::path::PathBuf, format: Format) {
        if format == Format::MaskFolder {
            if let Some(why) = not_a_mask_folder(&path) {
                self.state.errors.push(format!(
                    "{}: not replaced by mask images ({why}); pick a folder of mask folders (as Ped2's testing/masks) or a new one",
                    path.display()
                ));
                return;
            }
        }
        let videos = vec![(self.doc.name.clone(), self.doc.len)];
        self.start_save(TruthSource::new(path, format, videos), false);
    }

    /// Starts writing the truth to `target` on a thread. `check_disk`: refuse
    /// when the file changed since it was read (someone else's edits).
    fn start_save(&mut self, target: TruthSource, check_disk: bool) {
        if self.saving.is_some() {
            self.annotator.message = Some("a save is still running".into());
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
        let mut video = self.store.truth.video();
        let step = self.store.truth.edit.state_id();
        // A mask folder's masks are put together on the thread (decoding the
        // file's masks takes a while): from what the app shows.
        let folder = (target.format == Format::MaskFolder).then(|| {
            let t = &self.store.truth;
            let base = self.doc.mask_base(&t.rest);
            (
                base,
                t.edit.masks().clone(),
                t.tracks().to_vec(),
                self.doc.size,
            )
        });
        let len = self.doc.len;
        let (tx, rx) = std::sync::mpsc::channel();
        let ctx = self.ctx.clone();
        let job_target = target.clone();
        let spawned = std::thread::Builder::new()
            .name("vadscope-save-truth".into())
            .spawn(move || {
                let result = (|| {
                    if let Some((base, painted, tracks, size)) = folder {
                        let masks = crate::truth::paint::masks_for_folder(
                            &video.anomalous,
                            base.as_ref(),
                            &painted,
                            &tracks,
                            len,
                            size,
                        )
                        .map_err(|e| {
                            crate::Error::invalid(format!("{}: {e}", job_target.path.display()))
                        })?;
                        video.masks = Some(masks);
                    }
                    save_truth(&video, &job_target)
                })();
                let _ = tx.send(result);
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

    /// Replaces the edits with the truth file as it is on disk now, as one
    /// undoable step (undo brings the edits back); the file's masks too.
    fn reload_truth(&mut self) {
        let Some(mut source) = self.store.truth.source.clone() else {
            self.annotator.message = Some("this ground truth came from no file".into());
            return;
        };
        let read = crate::app::source::read_truth(&source.path, &self.doc.name, self.doc.len);
        let v = match read {
            Ok(v) => v,
            Err(e) => {
                self.state.errors.push(format!("{e:#}"));
                return;
            }
        };
        let command = AnnotationCommand::Restore {
            intervals: v.anomalous.clone(),
            tracks: crate::truth::tracks::tracks_from_regions(&v.regions),
            masks: Default::default(),
        };
        self.store.truth.apply(command, None);
        self.store.truth.edit.mark_saved();
        self.store.truth.rest.masks = v.masks;
        self.doc.forget_mask();
        source.stamp = stamp_of(&source.path);
        self.annotator.message = Some(format!(
            "reloaded {} as it is on disk (Ctrl+Z brings your edits back)",
            source.path.display()
        ));
        self.store.truth.source = Some(source);
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
                let mut target = job.target;
                target.stamp = stamp_of(&target.path);
                let boxes = self.store.truth.tracks().len();
                let painted = self.store.truth.edit.masks().len();
                let into_masks = target.format == Format::MaskFolder;
                let (path, name) = (target.path.display(), target.format.name());
                self.annotator.message = Some(if painted > 0 && !into_masks {
                    // The painted masks live only here and in the recovery
                    // file: the state stays unsaved, so quitting still asks.
                    format!(
                        "saved the intervals to {path}, but not the {painted} painted mask(s): only a folder of mask images keeps them (File > Save ground truth as mask images…)"
                    )
                } else if boxes > 0 && into_masks {
                    format!("saved to {path}: the {boxes} box track(s) are filled into the masks (a .json file keeps them as boxes)")
                } else if boxes > 0 && !target.format.keeps_regions() {
                    format!(
                        "saved the intervals to {path}; a .{name} file keeps no boxes: Save ground truth as… .json keeps the {boxes} box tracks"
                    )
                } else {
                    format!("saved to {path}")
                });
                if painted == 0 || into_masks {
                    self.store.truth.edit.mark_saved_at(job.step);
                }
                self.store.truth.source = Some(target);
            }
            Err(e) => {
                let report = crate::error::report(&e).trim_end().to_string();
                self.annotator.message = Some(format!(
                    "not saved to {}: see the error",
                    job.target.path.display()
                ));
                self.state.errors.push(report);
            }
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
/// is refused (mask images are saved by their own menu entry, which checks
/// the folder holds masks).
fn folder_target(path: &std::path::Path) -> Option<Format> {
    if path.extension().is_some() {
        return None;
    }
    if !path.exists() {
        return Some(Format::NpyPerVideo);
    }
    let mut only_npy = true;
    for e in std::fs::read_dir(path).ok()? {
        let p = e.ok()?.path();
        only_npy &= p.is_file() && p.extension().is_some_and(|x| x.eq_ignore_ascii_case("npy"));
    }
    only_npy.then_some(Format::NpyPerVideo)
}

/// Why an existing folder must not be replaced by mask images: it holds
/// something else than mask folders, or images of more than two levels
/// (video frames, most likely). A new or empty folder is fine.
fn not_a_mask_folder(path: &std::path::Path) -> Option<String> {
    use crate::truth::masks;
    let entries: Vec<_> = std::fs::read_dir(path).ok()?.flatten().collect();
    let mut first_image = None;
    for e in &entries {
        let p = e.path();
        if e.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        let image = if p.is_dir() {
            masks::mask_frames(&p)
                .ok()
                .and_then(|f| f.into_iter().next())
        } else {
            Some(p.clone()).filter(|p| crate::video::is_image_file(p))
        };
        match image {
            Some(i) => first_image = first_image.or(Some(i)),
            None => {
                return Some(format!(
                    "{} is neither a mask image nor a folder of them",
                    p.display()
                ))
            }
        }
    }
    let img = image::open(first_image?).ok()?.to_luma8();
    let mut levels = std::collections::BTreeSet::new();
    for p in img.pixels() {
        levels.insert(p.0[0]);
        if levels.len() > 2 {
            return Some(
                "its images have more than two grey levels: video frames, not masks".into(),
            );
        }
    }
    None
}

/// The title for video `name`, marked when the truth has unsaved changes.
pub fn window_title(name: &str, dirty: bool) -> String {
    format!("{}{name} — vadscope", if dirty { "*" } else { "" })
}
