//! The inspection app (feature `gui`): frames, flow, error maps and memory
//! attention beside a score timeline, on eframe with the wgpu renderer.
//!
//! Architecture (Rerun's pattern): UI code only sends [`AppCommand`]s;
//! [`VadApp::ui`] applies them in one place at the end of each frame, then
//! advances playback. State logic lives in [`state`] and is tested without a UI.

pub mod annotate;
pub mod bench;
pub mod curves;
pub mod decimate;
pub mod live_metrics;
pub mod maps;
pub mod model;
pub mod present;
pub mod scoring;
pub mod source;
pub mod state;
pub mod store;
pub mod usage;
mod views;

mod image;
mod keys;
pub mod live;
pub mod menu;

use std::path::PathBuf;
use std::sync::Arc;

use eframe::egui;

use self::annotate::{Annotator, TruthCommand};
use self::curves::Lane;
use self::maps::{FrameSource, Maps, MapsWorker};
use self::model::ModelTarget;
use self::scoring::{ScoreJob, ScoreUpdate};
pub use self::source::OpenRequest;
use self::source::{Document, Frames};
pub use self::state::{AppState, Command, Settings, View};
pub use self::store::Store;
use self::store::{TruthDoc, TruthSource};
use crate::video::cache::CachedVideo;

/// The key under which settings persist in eframe's storage.
const SETTINGS_KEY: &str = "vadscope-settings";

/// What UI code asks for: a state change, or work with files and threads.
#[derive(Debug, Clone, PartialEq)]
pub enum AppCommand {
    /// A pure state change.
    State(Command),
    /// Open something (replaces what is open).
    Open(OpenRequest),
    /// Show a file dialog (asynchronous; the answer opens or sets the file).
    Dialog(menu::DialogKind),
    /// A file picked in a dialog or dropped on the window, with what it is.
    Picked(menu::DialogKind, PathBuf),
    /// Switch to another video of the same dataset.
    OpenSibling(PathBuf),
    /// Stop background scoring.
    CancelScoring,
    /// Stop the video export (it leaves no file).
    CancelExport,
    /// Score again (the model if any, else the motion baseline).
    Rescore,
    /// Edit or save the ground truth.
    Truth(TruthCommand),
    /// Quit even though the ground truth has unsaved changes.
    QuitDiscarding,
    /// Close the unsaved-changes question without quitting.
    CancelQuit,
    /// Answer the offer of edits recovered after a crash: restore them or discard them.
    Recover(bool),
    /// Answer the question about a truth file that changed on disk since it
    /// was read: overwrite it (`true`) or leave it (`false`).
    OverwriteChanged(bool),
    /// Show or close the window that opens a stream URL or a camera.
    StreamDialog(bool),
}

impl From<Command> for AppCommand {
    fn from(c: Command) -> Self {
        AppCommand::State(c)
    }
}

/// Commands sent during one frame.
#[derive(Debug, Default)]
pub struct Commands(Vec<AppCommand>);

impl Commands {
    /// Queues a command.
    pub fn send(&mut self, c: impl Into<AppCommand>) {
        self.0.push(c.into());
    }
}

/// The frame texture, re-uploaded only when the frame changes.
struct FrameTexture {
    frame: usize,
    doc_serial: u64,
    handle: egui::TextureHandle,
}

/// A ground-truth save running on its own thread.
struct SaveJob {
    /// The history step being saved (marked saved when it succeeds).
    step: u64,
    /// Where it goes.
    target: TruthSource,
    rx: std::sync::mpsc::Receiver<crate::Result<()>>,
}

/// The app.
pub struct VadApp {
    /// Playback and view state.
    pub state: AppState,
    /// The data the views read.
    pub store: Store,
    /// Mark-in point and selected edge of the annotation.
    pub annotator: Annotator,
    saving: Option<SaveJob>,
    /// The video export running in the background, if any.
    exporting: Option<present::export::ExportJob>,
    /// A picture of the main view waiting for its screenshot.
    picture: Option<present::picture::PictureJob>,
    /// Where the main view was last drawn (pictures cut it out).
    view_rect: Option<egui::Rect>,
    /// The close button was pressed with unsaved changes: ask.
    confirm_quit: bool,
    /// The open-a-stream window is shown.
    stream_dialog: bool,
    /// A save refused because its file changed on disk, awaiting an answer.
    disk_conflict: Option<TruthSource>,
    /// The user chose to quit without saving.
    quit_anyway: bool,
    /// The window title last sent (sent again only when it changes).
    title: String,
    /// The timeline as last drawn.
    timeline: Option<views::timeline::Layout>,
    /// Writing unsaved edits to the recovery file.
    autosave: annotate::autosave::Autosave,
    /// Edits found in the recovery file when the video was opened, offered for restoring.
    recovered: Option<annotate::recovery::Recovery>,
    doc: Document,
    doc_serial: u64,
    maps: MapsWorker,
    job: Option<ScoreJob>,
    frame_tex: Option<FrameTexture>,
    dialogs: menu::Dialogs,
    /// Whether the wgpu renderer (and so the map shaders) is available.
    gpu: bool,
    /// Commands queued from outside the UI (tests, the CLI).
    pending: Vec<AppCommand>,
    ctx: egui::Context,
}

impl VadApp {
    /// Creates the app, opening `req` (the demo when its path is `None`).
    pub fn new(cc: &eframe::CreationContext<'_>, req: OpenRequest) -> Self {
        let settings: Settings = cc
            .storage
            .and_then(|s| eframe::get_value(s, SETTINGS_KEY))
            .unwrap_or_default();
        let gpu = if let Some(rs) = &cc.wgpu_render_state {
            crate::render::install(rs);
            true
        } else {
            false
        };
        let ctx = cc.egui_ctx.clone();
        let (doc, error) = match Document::open(&req) {
            Ok(d) => (d, None),
            Err(e) => (
                Document::demo().expect("the built-in demo scene is valid"),
                Some(format!("{e:#}")),
            ),
        };
        let maps = spawn_maps(&doc, &ctx);
        let mut app = VadApp {
            state: AppState::new(doc.len, doc.fps, settings),
            store: Store::new(&doc.name, doc.len),
            annotator: Annotator::default(),
            saving: None,
            exporting: None,
            picture: None,
            view_rect: None,
            confirm_quit: false,
            stream_dialog: false,
            disk_conflict: None,
            quit_anyway: false,
            title: String::new(),
            timeline: None,
            autosave: annotate::autosave::Autosave::default(),
            recovered: None,
            doc,
            doc_serial: 1,
            maps,
            job: None,
            frame_tex: None,
            dialogs: menu::Dialogs::default(),
            gpu,
            pending: Vec::new(),
            ctx,
        };
        app.load_document_state();
        if let Some(e) = error {
            app.state.errors.push(e);
        } else if let Some(p) = &req.second_truth {
            app.load_second_truth(p);
        }
        app
    }

    /// Queues a command as if the UI had sent it (applied on the next frame).
    pub fn send(&mut self, c: impl Into<AppCommand>) {
        self.pending.push(c.into());
    }

    /// Where the timeline was last drawn (tests and screenshots aim with it).
    pub fn timeline_rect(&self) -> Option<egui::Rect> {
        self.timeline.as_ref().map(|l| l.rect)
    }

    /// Where the frame view last drew the image, at the current zoom (tests
    /// and screenshots aim at boxes with it).
    pub fn frame_image_rect(&self) -> Option<egui::Rect> {
        self.ctx.data(|d| d.get_temp(views::frame::image_rect_id()))
    }

    /// The x of frame boundary `f` (fractional) on the timeline as last drawn.
    pub fn timeline_x_of(&self, f: f64) -> Option<f32> {
        let l = self.timeline.as_ref()?;
        let frac = (f - l.view.start) / l.view.span();
        Some(l.plot.left() + frac as f32 * l.plot.width())
    }

    /// The open video's name.
    pub fn video_name(&self) -> &str {
        &self.doc.name
    }

    /// The running export: frames written, frames in all, and whether it is
    /// scoring first (tests, the status bar).
    pub fn export_progress(&self) -> Option<(usize, usize, bool)> {
        self.exporting.as_ref().map(|j| {
            let (done, scoring) = j.progress();
            (done, j.total, scoring)
        })
    }

    /// The live source's figures, when a stream or camera is open.
    pub fn live_status(&self) -> Option<live::LiveStatus> {
        self.doc.live().map(|f| f.status())
    }

    /// The current background job's status, if any.
    pub fn job_status(&self) -> Option<&scoring::JobStatus> {
        self.job.as_ref().map(|j| &j.status)
    }

    /// Whether the maps of the current frame are computed.
    pub fn maps_ready(&mut self) -> bool {
        self.maps.poll();
        self.maps.get(self.state.current).is_some()
    }

    /// Puts maps into the cache as if the worker had computed them (tests,
    /// and maps computed elsewhere).
    pub fn insert_maps(&mut self, maps: Maps) {
        self.maps.insert(maps);
    }

    /// Fills the state from a newly opened document and starts its background work.
    fn load_document_state(&mut self) {
        let settings = self.state.settings.clone();
        let mut st = AppState::new(self.doc.len, self.doc.fps, settings);
        let mut store = Store::new(&self.doc.name, self.doc.len);
        // The truth moves into the store: one copy, which the annotation edits.
        if let Some(t) = self.doc.truth.take() {
            store.truth = TruthDoc::new(t, self.doc.len, self.doc.truth_source.clone());
        }
        self.annotator = Annotator::default();
        if let Some(p) = &self.doc.path {
            st.settings.push_recent(p.clone());
        }
        st.errors.extend(
            self.doc
                .notes
                .iter()
                .filter(|n| n.contains("not read"))
                .cloned(),
        );
        if let Some(s) = &self.doc.scores {
            for (lane, col) in [
                (Lane::Score, "score"),
                (Lane::Recon, "recon"),
                (Lane::Pred, "pred"),
                (Lane::Dist, "dist"),
            ] {
                if let Some(v) = s.columns.get(col) {
                    let mut full = vec![f32::NAN; s.first_frame.min(self.doc.len)];
                    full.extend(v.iter().map(|&x| x as f32));
                    store.curves.set_lane(lane, &full);
                }
            }
        }
        st.auto_threshold(&store);
        // A live source plays from the start: the playhead follows the stream.
        st.playing = self.doc.live().is_some();
        self.state = st;
        self.store = store;
        self.open_recovery();
        self.frame_tex = None;
        if self.doc.scores.is_none() {
            self.start_scoring();
        }
    }

    fn start_scoring(&mut self) {
        if let Some(j) = &self.job {
            j.cancel();
        }
        let ctx = self.ctx.clone();
        let wake = move || ctx.request_repaint();
        if let Some(feed) = self.doc.live() {
            // The live session scores from the moment it connected; a new
            // request (e.g. re-scoring) has nothing to restart.
            if let Some(rx) = feed.take_updates(wake) {
                self.job = Some(ScoreJob::adopt(rx, feed.stop_flag()));
            }
            return;
        }
        self.job = Some(match model_target(&self.doc) {
            Some(target) => ScoreJob::model(target, wake),
            None => ScoreJob::baseline(frame_source(&self.doc), wake),
        });
    }

    fn open(&mut self, req: OpenRequest) {
        if self.store.truth.edit.is_dirty() {
            // Opening would drop the edits: keep them until saved or undone.
            self.state.errors.push(
                "the ground truth has unsaved changes: save them (Ctrl+S) or undo them before opening something else"
                    .into(),
            );
            return;
        }
        match Document::open(&req) {
            Ok(doc) => {
                if let Some(j) = &self.job {
                    j.cancel();
                }
                self.job = None;
                self.maps = spawn_maps(&doc, &self.ctx);
                self.doc = doc;
                self.doc_serial += 1;
                self.load_document_state();
                if let Some(p) = &req.second_truth {
                    self.load_second_truth(p);
                }
            }
            Err(e) => self.state.errors.push(format!("{e:#}")),
        }
    }

    /// Applies queued commands: state changes, then file and thread work.
    fn apply(&mut self, cmds: Vec<AppCommand>) {
        for c in cmds {
            match c {
                AppCommand::State(Command::TogglePresentation) => {
                    self.state.apply(Command::TogglePresentation, &self.store);
                    self.ctx
                        .send_viewport_cmd(egui::ViewportCommand::Fullscreen(
                            self.state.presentation,
                        ));
                }
                AppCommand::State(c) => self.state.apply(c, &self.store),
                AppCommand::Truth(t) => self.annotate(t),
                AppCommand::QuitDiscarding => {
                    // Discarded on purpose: nothing to offer next time.
                    annotate::recovery::remove(&self.autosave.path);
                    self.quit_anyway = true;
                    self.confirm_quit = false;
                    self.ctx.send_viewport_cmd(egui::ViewportCommand::Close);
                }
                AppCommand::CancelQuit => self.confirm_quit = false,
                AppCommand::StreamDialog(show) => self.stream_dialog = show,
                AppCommand::OverwriteChanged(overwrite) => self.answer_disk_conflict(overwrite),
                AppCommand::Recover(restore) => self.answer_recovery(restore),
                AppCommand::Open(req) => self.open(req),
                AppCommand::OpenSibling(p) => {
                    let req = OpenRequest {
                        path: Some(p),
                        model: self.doc.model.clone(),
                        ..Default::default()
                    };
                    self.open(req);
                }
                AppCommand::Dialog(kind) => self.dialogs.open(kind, &self.ctx),
                AppCommand::Picked(menu::DialogKind::SaveTruth, path) => {
                    self.annotate(TruthCommand::SaveAs(path))
                }
                AppCommand::Picked(menu::DialogKind::SaveMasks, path) => {
                    self.annotate(TruthCommand::SaveAsMasks(path))
                }
                AppCommand::Picked(menu::DialogKind::ExportVideo, path) => self.start_export(path),
                AppCommand::Picked(menu::DialogKind::SavePicture, path) => self.save_picture(path),
                AppCommand::CancelExport => {
                    if let Some(j) = &self.exporting {
                        j.cancel();
                    }
                }
                AppCommand::Picked(menu::DialogKind::SecondTruth, path) => {
                    self.load_second_truth(&path)
                }
                AppCommand::Picked(kind, path) => {
                    let req = menu::request_for(kind, path, &self.doc);
                    self.open(req);
                }
                AppCommand::CancelScoring => {
                    if let Some(j) = &self.job {
                        j.cancel();
                    }
                }
                AppCommand::Rescore => {
                    let n = self.doc.len;
                    self.store.curves = curves::Curves::new(n);
                    self.store.usage = usage::SlotUsage::new(n);
                    self.start_scoring();
                }
            }
        }
    }

    /// Collects background results: scores, maps, dialog answers.
    fn poll(&mut self) {
        if let Some(job) = &mut self.job {
            for u in job.poll() {
                match u {
                    ScoreUpdate::Scored(s) => {
                        self.store.curves.set(&s);
                        self.state.auto_threshold(&self.store);
                    }
                    ScoreUpdate::Usage(u) => {
                        for (frame, layers) in &u {
                            self.store.usage.set(*frame, layers);
                        }
                    }
                    ScoreUpdate::Failed(e) => {
                        self.state.errors.push(format!("scoring failed: {e}"))
                    }
                    _ => {}
                }
            }
        }
        if let Some(n) = self.doc.live().and_then(|f| f.newest()) {
            if self.state.live_edge != Some(n) {
                self.pending.push(AppCommand::State(Command::LiveEdge(n)));
            }
        }
        self.poll_save();
        self.poll_export();
        self.poll_picture();
        self.maps.poll();
        for (kind, path) in self.dialogs.poll() {
            self.pending.push(AppCommand::Picked(kind, path));
        }
    }

    /// The current frame's texture, uploaded when the frame changed.
    fn frame_texture(&mut self, ctx: &egui::Context) -> Option<egui::TextureHandle> {
        let i = self.state.current;
        if let Some(t) = &self.frame_tex {
            if t.frame == i && t.doc_serial == self.doc_serial {
                return Some(t.handle.clone());
            }
        }
        match self.doc.frame(i) {
            Ok(f) => {
                let img = egui::ColorImage::from_rgb([f.width, f.height], &f.data);
                let opts = egui::TextureOptions::NEAREST;
                let handle = match self.frame_tex.take() {
                    Some(mut t) => {
                        t.handle.set(img, opts);
                        t.handle
                    }
                    None => ctx.load_texture("vadscope-frame", img, opts),
                };
                self.frame_tex = Some(FrameTexture {
                    frame: i,
                    doc_serial: self.doc_serial,
                    handle: handle.clone(),
                });
                Some(handle)
            }
            Err(e) => {
                let msg = format!("frame {i}: {e:#}");
                if !self.state.errors.contains(&msg) {
                    self.state.errors.push(msg);
                }
                self.frame_tex.as_ref().map(|t| t.handle.clone())
            }
        }
    }

    /// The maps to draw for the current frame (the nearest earlier ones while it is computed).
    fn current_maps(&mut self) -> Option<Arc<Maps>> {
        let i = self.state.current;
        if self.doc.live().is_some() && self.state.playing {
            // Following a stream, maps of every new frame would take the
            // scorer's CPU: they are computed for the frame paused on.
            return self.maps.nearest(i);
        }
        self.maps.get(i).or_else(|| self.maps.nearest(i))
    }
}

fn frame_source(doc: &Document) -> FrameSource {
    match &doc.frames {
        Frames::Synthetic(s) => FrameSource::Synthetic(s.clone()),
        Frames::Video(v) => FrameSource::Path(video_path(doc, v)),
        Frames::Live(h) => FrameSource::Live(h.0.clone()),
    }
}

/// The file or folder a video document reads: the path it was opened by,
/// else the one its decoder reports.
pub(crate) fn video_path(doc: &Document, v: &CachedVideo) -> PathBuf {
    doc.path.clone().unwrap_or_else(|| v.info().path.clone())
}

/// The model to score `doc` with: the user's checkpoint, or for the built-in
/// scene the demo's weights; `None` (a video without `--model`): the baseline.
pub(crate) fn model_target(doc: &Document) -> Option<ModelTarget> {
    match (&doc.frames, &doc.model) {
        (Frames::Synthetic(scene), checkpoint) => {
            Some(ModelTarget::scene(scene.clone(), checkpoint.clone()))
        }
        (Frames::Video(v), Some(checkpoint)) => Some(ModelTarget::Files {
            checkpoint: checkpoint.clone(),
            video: video_path(doc, v),
        }),
        (Frames::Video(_), None) => None,
        // The live job scores; the maps of kept frames are the model-free ones.
        (Frames::Live(_), _) => None,
    }
}

fn spawn_maps(doc: &Document, ctx: &egui::Context) -> MapsWorker {
    let ctx = ctx.clone();
    MapsWorker::spawn(frame_source(doc), model_target(doc), move || {
        ctx.request_repaint()
    })
}

impl eframe::App for VadApp {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        let ctx = ui.ctx().clone();
        self.poll();
        let mut cmds = Commands(std::mem::take(&mut self.pending));
        keys::handle(&ctx, &self.state, &mut cmds);
        menu::dropped_files(&ctx, &mut cmds);
        let tex = self.frame_texture(&ctx);
        let maps = self.current_maps();
        // A painted mask replaces the file's mask of its frame.
        let painted = self.store.truth.edit.mask(self.state.current).is_some();
        let file_mask = if self.state.settings.show_truth && !painted {
            self.doc.mask(self.state.current, &self.store.truth.rest)
        } else {
            None
        };

        if !self.state.presentation {
            egui::Panel::top("menu").show(ui, |ui| {
                menu::menu_bar_ui(ui, &self.state, &self.store, &self.doc, &mut cmds);
            });
            egui::Panel::bottom("status").show(ui, |ui| {
                views::controls::status_bar(
                    ui,
                    &self.state,
                    &self.store,
                    &self.annotator,
                    &self.doc,
                    views::controls::Work {
                        job: self.job.as_ref(),
                        maps_busy: self.maps.busy(),
                        export: self.exporting.as_ref().map(|j| {
                            let (done, scoring) = j.progress();
                            (done, j.total, scoring)
                        }),
                    },
                    &mut cmds,
                );
            });
        }
        let timeline_height = if self.state.presentation {
            260.0
        } else {
            170.0
        };
        egui::Panel::bottom("timeline")
            .resizable(true)
            .default_size(timeline_height)
            .show(ui, |ui| {
                let layout = views::timeline::timeline_ui(
                    ui,
                    &self.state,
                    &self.store,
                    &self.annotator,
                    &mut cmds,
                );
                self.timeline = Some(layout);
            });
        if !self.state.presentation {
            egui::Panel::left("controls")
                .resizable(true)
                .default_size(230.0)
                .show(ui, |ui| {
                    let input = views::controls::PanelInput {
                        state: &self.state,
                        store: &self.store,
                        annotator: &self.annotator,
                        doc: &self.doc,
                    };
                    views::controls::side_panel(
                        ui,
                        &input,
                        maps.as_deref(),
                        self.job.as_ref(),
                        &mut cmds,
                    );
                });
        }
        egui::CentralPanel::default_margins().show(ui, |ui| {
            let ctxv = image::ViewInput {
                state: &self.state,
                store: &self.store,
                frame: tex.as_ref(),
                frame_size: self.doc.size,
                maps: maps.as_deref(),
                gpu: self.gpu,
                mask: if !self.state.settings.show_truth {
                    None
                } else if painted {
                    self.store.truth.edit.mask(self.state.current)
                } else {
                    file_mask.as_deref()
                },
                annotator: &self.annotator,
            };
            if !self.state.presentation {
                ui.horizontal(|ui| {
                    for v in View::ALL {
                        if ui
                            .selectable_label(self.state.settings.view == v, v.label())
                            .clicked()
                        {
                            cmds.send(Command::SetView(v));
                        }
                    }
                });
                ui.separator();
            }
            if self.state.presentation {
                present::banner::presentation_banner_ui(ui, &self.state, &self.store);
            }
            self.view_rect = Some(ui.available_rect_before_wrap());
            match self.state.settings.view {
                View::Frame => views::frame::frame_ui(ui, &ctxv, &mut cmds),
                View::Flow => views::flow::flow_ui(ui, &ctxv, &mut cmds),
                View::Maps => views::maps::maps_ui(ui, &ctxv, &mut cmds),
                View::Memory => views::memory::memory_ui(ui, &ctxv, &mut cmds),
            }
        });
        if self.state.show_help {
            keys::help_ui(&ctx, &mut cmds);
        }
        self.close_guard(&ctx);
        if let Some(rec) = &self.recovered {
            annotate::windows::recovery_offer_ui(&ctx, rec, &mut cmds);
        }
        if let Some(target) = &self.disk_conflict {
            annotate::windows::disk_conflict_ui(&ctx, target, &mut cmds);
        }
        if self.confirm_quit {
            annotate::windows::quit_question_ui(&ctx, &mut cmds);
        }
        if self.stream_dialog {
            menu::stream_dialog_ui(&ctx, &self.doc, &mut cmds);
        }
        self.update_title(&ctx);
        views::controls::errors_window(&ctx, &self.state, &mut cmds);

        // One place per frame where state changes.
        let changed = !cmds.0.is_empty();
        self.apply(cmds.0);
        self.record_tick(&ctx);
        self.store.refresh();
        self.refresh_review();
        self.autosave_tick(&ctx);
        let dt = ctx.input(|i| i.stable_dt).min(0.25) as f64;
        self.state.tick(dt);
        // A live source repaints when a frame arrives (its edge command), not
        // at the display's rate: the CPU is the scorer's.
        if (self.state.playing && self.doc.live().is_none()) || changed {
            ctx.request_repaint();
        }
        if self.job.as_ref().is_some_and(|j| !j.is_done()) || self.maps.busy() {
            // Background work wakes us too; this keeps the progress bar moving.
            ctx.request_repaint_after(std::time::Duration::from_millis(100));
        }
    }

    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        eframe::set_value(storage, SETTINGS_KEY, &self.state.settings);
    }
}

/// The desktop id: the window's Wayland app id / X11 class, the name of
/// `packaging/APP_ID.desktop` and the AppStream id, so the window groups with
/// its launcher.
pub const APP_ID: &str = "io.github.vadscope.Vadscope";

/// Opens the app window on `req` (the demo when its path is `None`); returns when it closes.
pub fn run(req: OpenRequest) -> anyhow::Result<()> {
    let options = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title("vadscope")
            .with_app_id(APP_ID)
            .with_inner_size([1280.0, 800.0])
            .with_min_inner_size([640.0, 420.0])
            .with_drag_and_drop(true),
        ..Default::default()
    };
    eframe::run_native(
        "vadscope",
        options,
        Box::new(move |cc| Ok(Box::new(VadApp::new(cc, req)))),
    )
    .map_err(|e| anyhow::anyhow!("cannot open the app window: {e}"))
}
