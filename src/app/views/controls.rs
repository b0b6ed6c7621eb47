//! The side panel (video, scoring, threshold and jump list, playback, map
//! settings), the status bar and the error list.

use crate::truth::agreement::measure_text;
use eframe::egui::{self, Color32, RichText};

use crate::app::annotate::{Annotator, TruthCommand};
use crate::app::maps::Maps;
use crate::app::scoring::ScoreJob;
use crate::app::source::Document;
use crate::app::state::{AppState, Command, MapKind, SPEED_RANGE};
use crate::app::store::Store;
use crate::app::{AppCommand, Commands};
use crate::render::Colormap;

/// What the side panel reads.
pub struct PanelInput<'a> {
    /// Playback and view state.
    pub state: &'a AppState,
    /// Scores, truth, live metrics.
    pub store: &'a Store,
    /// Annotation state (review mode).
    pub annotator: &'a Annotator,
    /// The open video.
    pub doc: &'a Document,
}

/// The side panel.
pub fn side_panel(
    ui: &mut egui::Ui,
    input: &PanelInput<'_>,
    maps: Option<&Maps>,
    job: Option<&ScoreJob>,
    cmds: &mut Commands,
) {
    let PanelInput {
        state,
        store,
        annotator,
        doc,
    } = *input;
    egui::ScrollArea::vertical().show(ui, |ui| {
        ui.heading(doc.name.as_str());
        if doc.live().is_some() {
            ui.label(format!(
                "live · {:.1} fps · {}×{} · up to {} min",
                doc.fps,
                doc.size.0,
                doc.size.1,
                crate::app::live::LIVE_MINUTES
            ));
        } else {
            ui.label(format!(
                "{} frames · {:.1} fps · {}×{}",
                doc.len, doc.fps, doc.size.0, doc.size.1
            ));
        }
        for n in doc.notes.iter().take(3) {
            ui.label(RichText::new(n).small().weak());
        }

        section(ui, "playback", |ui| playback(ui, state, cmds));
        section(ui, "scoring", |ui| {
            scoring(ui, store, job, doc.live().is_some(), cmds)
        });
        section(ui, "threshold", |ui| threshold(ui, state, store, cmds));
        section(ui, "heatmaps", |ui| heatmaps(ui, state, maps, cmds));
        section(ui, "truth", |ui| truth_ui(ui, store, cmds));
        section(ui, "review", |ui| review_ui(ui, annotator, cmds));
    });
}

/// One side-panel section under a separator, in a scope of its own: widget ids
/// then don't shift when an earlier section grows or shrinks (scores stream
/// in), which would drop a click whose press and release straddle the change.
fn section(ui: &mut egui::Ui, name: &str, add: impl FnOnce(&mut egui::Ui)) {
    ui.separator();
    let scope = egui::UiBuilder::new().scope_id(egui::Id::unique(("vadscope_section", name)));
    ui.scope_builder(scope, add);
}

fn scoring(
    ui: &mut egui::Ui,
    store: &Store,
    job: Option<&ScoreJob>,
    live: bool,
    cmds: &mut Commands,
) {
    ui.strong("Scoring");
    let Some(job) = job else {
        ui.label(format!("scores from file: {} frames", store.curves.scored));
        return;
    };
    let st = &job.status;
    // Always drawn, so the buttons below keep their ids when the device is named.
    ui.label(RichText::new(&st.device).small());
    if live {
        // A stream has no end to show progress towards.
        if st.done {
            ui.add(egui::Label::new(RichText::new(&st.outcome).small()).wrap());
        } else {
            ui.label(format!("{} frames scored as they arrived", st.scored));
            if ui.button("Stop").clicked() {
                cmds.send(AppCommand::CancelScoring);
            }
        }
        return;
    }
    let frac = if st.frames > 0 {
        st.scored as f32 / st.frames as f32
    } else {
        0.0
    };
    ui.add(egui::ProgressBar::new(frac).text(format!("{}/{}", st.scored, st.frames)));
    if !st.done {
        if ui.button("Cancel").clicked() {
            cmds.send(AppCommand::CancelScoring);
        }
    } else {
        if ui.button("Rescore").clicked() {
            cmds.send(AppCommand::Rescore);
        }
        // Wrapped: an error naming a long path must not widen the panel.
        ui.add(egui::Label::new(RichText::new(&st.outcome).small()).wrap());
    }
}

/// The ground truth being edited: intervals, where it saves, and the live
/// metrics of the scores against it.
fn truth_ui(ui: &mut egui::Ui, store: &Store, cmds: &mut Commands) {
    ui.strong("Ground truth");
    let t = &store.truth;
    let n = t.edit.intervals().len();
    let frames: usize = t.edit.intervals().iter().map(|i| i.len()).sum();
    let s = |k: usize| if k == 1 { "" } else { "s" };
    ui.label(format!(
        "{n} interval{}, {frames} anomalous frame{}",
        s(n),
        s(frames)
    ));
    let source = t
        .source
        .as_ref()
        .map_or("not saved to a file yet".into(), |s| {
            format!("{} ({})", s.path.display(), s.format.name())
        });
    ui.add(egui::Label::new(RichText::new(source).small().weak()).wrap());
    ui.horizontal(|ui| {
        let save = ui.add_enabled(t.edit.is_dirty(), egui::Button::new("Save"));
        if save.on_hover_text("Ctrl+S").clicked() {
            cmds.send(AppCommand::Truth(TruthCommand::Save));
        }
        if ui.button("Save as…").clicked() {
            cmds.send(AppCommand::Dialog(crate::app::menu::DialogKind::SaveTruth));
        }
    });
    if let Some(b) = &store.second {
        let a = &b.agreement;
        let name = b.path.file_name().map_or_else(
            || b.path.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        ui.label(format!(
            "B ({name}): κ {}, IoU {}",
            measure_text(a.kappa),
            measure_text(a.iou)
        ))
        .on_hover_text("frame-level Cohen's κ and the IoU of the anomalous frames, edited truth (A) against the second annotator (B)");
        ui.label(
            RichText::new(format!(
                "{} disagreements, {} frames (D / Shift+D)",
                a.runs.len(),
                a.disagreeing()
            ))
            .small()
            .weak(),
        );
    }
    match &store.metrics.value {
        Some(Ok(m)) => {
            egui::Grid::new("live-metrics")
                .num_columns(2)
                .show(ui, |ui| {
                    for (name, v) in [("frame AUC", m.auc), ("EER", m.eer), ("AP", m.ap)] {
                        ui.label(name);
                        ui.monospace(format!("{v:.4}"));
                        ui.end_row();
                    }
                    ui.label("Δs");
                    ui.monospace(m.delta_s.map_or("–".into(), |d| format!("{d:.4}")));
                    ui.end_row();
                });
            ui.label(
                RichText::new(format!(
                    "{} scored frames, {} anomalous; no smoothing, nothing excluded",
                    m.frames, m.anomalous
                ))
                .small()
                .weak(),
            );
        }
        Some(Err(why)) => {
            ui.label(RichText::new(why).small().weak());
        }
        None => {}
    }
}

/// Review mode: the disagreement under review, how many are left, and the
/// decisions.
fn review_ui(ui: &mut egui::Ui, annotator: &Annotator, cmds: &mut Commands) {
    ui.strong("Review");
    let send = |c| AppCommand::Truth(c);
    let Some(r) = &annotator.review else {
        if ui
            .button("Review disagreements (R)")
            .on_hover_text("the model at its threshold against the ground truth, largest first")
            .clicked()
        {
            cmds.send(send(TruthCommand::ReviewToggle));
        }
        return;
    };
    ui.label(format!(
        "{} left · {} accepted · {} rejected",
        r.left.len(),
        r.accepted,
        r.rejected.len()
    ));
    match r.current() {
        Some(d) => {
            ui.label(format!(
                "{}: frames {}–{} ({} frames)",
                d.kind.label(),
                d.frames.start,
                d.frames.end - 1,
                d.frames.len()
            ));
            ui.horizontal(|ui| {
                if ui
                    .button("Accept (Y)")
                    .on_hover_text("the truth follows the model")
                    .clicked()
                {
                    cmds.send(send(TruthCommand::ReviewAccept));
                }
                if ui
                    .button("Reject (N)")
                    .on_hover_text("the truth stays")
                    .clicked()
                {
                    cmds.send(send(TruthCommand::ReviewReject));
                }
            });
        }
        None => {
            ui.label("nothing left: the model and the truth agree");
        }
    }
    if ui.button("Stop reviewing (R)").clicked() {
        cmds.send(send(TruthCommand::ReviewToggle));
    }
}

fn threshold(ui: &mut egui::Ui, state: &AppState, store: &Store, cmds: &mut Commands) {
    ui.strong("Threshold and events");
    let mut t = state.threshold;
    ui.horizontal(|ui| {
        // Labelled for screen readers (and egui_kittest's accessibility check).
        let label = ui.label("threshold").id;
        let drag = ui.add(egui::DragValue::new(&mut t).speed(0.01));
        if drag.labelled_by(label).changed() {
            cmds.send(Command::SetThreshold(t));
        }
    });
    let (tp, fp, pos) = state.counts(store);
    ui.label(format!("TP {tp} · FP {fp} · anomalous scored frames {pos}"));
    ui.horizontal(|ui| {
        if ui
            .button("< above")
            .on_hover_text("previous event (,)")
            .clicked()
        {
            cmds.send(Command::PrevAbove);
        }
        if ui
            .button("above >")
            .on_hover_text("next event (.)")
            .clicked()
        {
            cmds.send(Command::NextAbove);
        }
        if ui
            .button("< GT")
            .on_hover_text("previous GT interval (Shift+Tab, Shift+G)")
            .clicked()
        {
            cmds.send(AppCommand::Truth(TruthCommand::SelectPrev));
        }
        if ui
            .button("GT >")
            .on_hover_text("next GT interval (Tab, G)")
            .clicked()
        {
            cmds.send(AppCommand::Truth(TruthCommand::SelectNext));
        }
    });
    let mut k = state.settings.top_k;
    ui.horizontal(|ui| {
        let label = ui.label("top events").id;
        let drag = ui.add(egui::DragValue::new(&mut k).range(1..=50));
        if drag.labelled_by(label).changed() {
            cmds.send(Command::SetTopK(k));
        }
    });
    let s = &state.settings;
    let (mut hysteresis, mut min_frames, mut cooldown) =
        (s.alert_hysteresis, s.alert_min_frames, s.alert_cooldown);
    ui.horizontal(|ui| {
        let mut changed = false;
        changed |= ui
            .add(
                egui::DragValue::new(&mut min_frames)
                    .range(1..=100_000)
                    .prefix("min "),
            )
            .on_hover_text("alerts: shortest event, in frames")
            .changed();
        changed |= ui
            .add(
                egui::DragValue::new(&mut cooldown)
                    .range(0..=100_000)
                    .prefix("cooldown "),
            )
            .on_hover_text("alerts: a rise within this many frames of an event's end continues it")
            .changed();
        changed |= ui
            .add(
                egui::DragValue::new(&mut hysteresis)
                    .range(0.0..=1e6)
                    .speed(0.01)
                    .prefix("hyst "),
            )
            .on_hover_text(
                "alerts: an event lasts while the score stays above the threshold minus this",
            )
            .changed();
        if changed {
            cmds.send(Command::SetAlertRule(hysteresis, min_frames, cooldown));
        }
    });
    for (start, end, peak, v) in state.events(store).top(state.settings.top_k) {
        let label = format!("{start}–{} peak {v:.3} @ {peak}", end - 1);
        if ui.selectable_label(state.current == peak, label).clicked() {
            cmds.send(Command::Seek(peak));
        }
    }
}

fn playback(ui: &mut egui::Ui, state: &AppState, cmds: &mut Commands) {
    ui.strong("Playback");
    ui.horizontal(|ui| {
        if ui
            .button("|<")
            .on_hover_text("first frame (Home)")
            .clicked()
        {
            cmds.send(Command::SeekStart);
        }
        if ui
            .button("<")
            .on_hover_text("one frame back (Left)")
            .clicked()
        {
            cmds.send(Command::Step(-1));
        }
        let label = if state.playing { "Pause" } else { "Play" };
        if ui.button(label).on_hover_text("Space").clicked() {
            cmds.send(Command::TogglePlay);
        }
        if ui
            .button(">")
            .on_hover_text("one frame forward (Right)")
            .clicked()
        {
            cmds.send(Command::Step(1));
        }
        if ui.button(">|").on_hover_text("last frame (End)").clicked() {
            cmds.send(Command::SeekEnd);
        }
    });
    let mut speed = state.settings.speed;
    if ui
        .add(
            egui::Slider::new(&mut speed, SPEED_RANGE.0..=SPEED_RANGE.1)
                .logarithmic(true)
                .text("speed ×"),
        )
        .changed()
    {
        cmds.send(Command::SetSpeed(speed));
    }
    let mut looping = state.settings.looping;
    ui.horizontal(|ui| {
        if ui.checkbox(&mut looping, "loop").changed() {
            cmds.send(Command::SetLooping(looping));
        }
        match state.selection {
            Some((a, b)) => {
                ui.label(format!("selection {a}–{}", b - 1));
                if ui.small_button("clear").clicked() {
                    cmds.send(Command::Select(None));
                }
            }
            None => {
                ui.label(
                    RichText::new("Shift-drag the timeline to select")
                        .small()
                        .weak(),
                );
            }
        }
    });
}

fn heatmaps(ui: &mut egui::Ui, state: &AppState, maps: Option<&Maps>, cmds: &mut Commands) {
    let s = &state.settings;
    ui.strong("Heat maps");
    ui.horizontal(|ui| {
        for c in Colormap::ALL {
            if ui.selectable_label(s.colormap == c, c.name()).clicked() {
                cmds.send(Command::SetColormap(c));
            }
        }
    });
    egui::ComboBox::from_label("map")
        .selected_text(s.map.label())
        .show_ui(ui, |ui| {
            for m in MapKind::ALL {
                if ui.selectable_label(s.map == m, m.label()).clicked() {
                    cmds.send(Command::SetMap(m));
                }
            }
        });
    let mut gamma = s.gamma;
    if ui
        .add(
            egui::Slider::new(&mut gamma, 0.2..=5.0)
                .logarithmic(true)
                .text("gamma"),
        )
        .changed()
    {
        cmds.send(Command::SetGamma(gamma));
    }
    let mut fixed = s.range.is_some();
    let (mut lo, mut hi) = s.range.unwrap_or((0.0, 0.5));
    ui.horizontal(|ui| {
        if ui.checkbox(&mut fixed, "fixed range").changed() {
            cmds.send(Command::SetRange(fixed.then_some((lo, hi))));
        }
        if fixed {
            let a = ui.add(egui::DragValue::new(&mut lo).speed(0.005).prefix("low "));
            let b = ui.add(egui::DragValue::new(&mut hi).speed(0.005).prefix("high "));
            if a.changed() || b.changed() {
                cmds.send(Command::SetRange(Some((lo, hi))));
            }
        }
    });
    let mut op = s.overlay_opacity;
    if ui
        .add(egui::Slider::new(&mut op, 0.0..=1.0).text("overlay opacity"))
        .changed()
    {
        cmds.send(Command::SetOverlayOpacity(op));
    }
    let mut fm = s.flow_max;
    if ui
        .add(
            egui::Slider::new(&mut fm, 0.5..=30.0)
                .logarithmic(true)
                .text("flow scale px"),
        )
        .changed()
    {
        cmds.send(Command::SetFlowMax(fm));
    }
    let (mut arrows, mut truth) = (s.flow_arrows, s.show_truth);
    ui.horizontal(|ui| {
        if ui.checkbox(&mut arrows, "flow arrows").changed() {
            cmds.send(Command::SetFlowArrows(arrows));
        }
        if ui.checkbox(&mut truth, "ground truth").changed() {
            cmds.send(Command::SetShowTruth(truth));
        }
    });
    if let Some(e) = maps.and_then(|m| m.error.as_deref()) {
        ui.label(RichText::new(format!("maps: {e}")).color(Color32::LIGHT_RED));
    }
}

/// Background work the status bar reports.
pub struct Work<'a> {
    /// The scoring job, if any.
    pub job: Option<&'a ScoreJob>,
    /// Whether the maps worker is computing.
    pub maps_busy: bool,
    /// The export: frames written, frames in all, scoring first.
    pub export: Option<(usize, usize, bool)>,
}

/// A live source's figures: connected or not, frames received / scored /
/// dropped, the latency of the last score, and what happened last.
fn live_status_ui(ui: &mut egui::Ui, s: &crate::app::live::LiveStatus) {
    ui.separator();
    let (dot, colour) = if s.connected {
        ("LIVE", Color32::from_rgb(230, 60, 60))
    } else {
        ("offline", Color32::GRAY)
    };
    ui.label(RichText::new(dot).color(colour).strong());
    let latency = s
        .latency_ms
        .map_or(String::new(), |l| format!(" · latency {l:.0} ms"));
    ui.label(format!(
        "{} received · {} scored · {} dropped{latency}",
        s.received, s.scored, s.dropped
    ))
    .on_hover_text(
        "When the model is slower than the stream it scores the newest frame and drops the ones in between",
    );
    if !s.connected && !s.message.is_empty() {
        ui.label(RichText::new(&s.message).color(Color32::LIGHT_RED));
    }
}

/// The status bar.
pub fn status_bar(
    ui: &mut egui::Ui,
    state: &AppState,
    store: &Store,
    annotator: &Annotator,
    doc: &Document,
    work: Work<'_>,
    cmds: &mut Commands,
) {
    let Work {
        job,
        maps_busy,
        export,
    } = work;
    ui.horizontal(|ui| {
        let t = state.current as f64 / doc.fps.max(1e-9);
        ui.monospace(format!(
            "frame {:>6}/{}  {:>7.2} s",
            state.current,
            doc.len.saturating_sub(1),
            t
        ));
        ui.separator();
        let speed = state.settings.speed * state.shuttle;
        ui.label(if state.playing {
            format!("playing {speed:.2}×")
        } else {
            "paused".into()
        });
        let score = store.curves.lane(crate::app::curves::Lane::Score);
        if let Some(v) = score.get(state.current).filter(|v| v.is_finite()) {
            ui.separator();
            ui.label(format!("score {v:.4}"));
        }
        if let Some(feed) = doc.live() {
            live_status_ui(ui, &feed.status());
        }
        if let Some(j) = job.filter(|j| !j.is_done() && doc.live().is_none()) {
            ui.separator();
            ui.add(egui::Spinner::new());
            ui.label(format!("scoring {}/{}", j.status.scored, j.status.frames));
        }
        if maps_busy {
            ui.separator();
            ui.label("computing maps…");
        }
        if let Some((done, total, scoring)) = export {
            ui.separator();
            ui.add(egui::Spinner::new());
            if scoring {
                ui.label("export: scoring with the model…");
            } else {
                ui.add(
                    egui::ProgressBar::new(done as f32 / total.max(1) as f32)
                        .desired_width(120.0)
                        .text(format!("export {done}/{total}")),
                );
            }
            if ui.small_button("cancel").clicked() {
                cmds.send(AppCommand::CancelExport);
            }
        }
        let truth = &store.truth;
        if truth.present {
            ui.separator();
            let n = truth.edit.intervals().len();
            let dirty = if truth.edit.is_dirty() {
                " · unsaved"
            } else {
                ""
            };
            let s = if n == 1 { "" } else { "s" };
            ui.label(format!("truth: {n} interval{s}{dirty}"));
        }
        if let Some(m) = &annotator.message {
            ui.separator();
            ui.label(RichText::new(m).weak());
        }
        // An explicit id: the labels before it come and go (scoring, maps), and
        // an auto id would change between press and release, losing the click.
        let help = egui::UiBuilder::new()
            .scope_id(egui::Id::unique("vadscope_help_button"))
            .layout(egui::Layout::right_to_left(egui::Align::Center));
        ui.scope_builder(help, |ui| {
            if ui.button("?").on_hover_text("keyboard shortcuts").clicked() {
                cmds.send(Command::ToggleHelp);
            }
        });
    });
}

/// Errors, each with a dismiss button; the app keeps running.
pub fn errors_window(ctx: &egui::Context, state: &AppState, cmds: &mut Commands) {
    if state.errors.is_empty() {
        return;
    }
    egui::Window::new("Problems")
        .anchor(egui::Align2::RIGHT_BOTTOM, [-12.0, -200.0])
        .collapsible(true)
        .resizable(false)
        .default_width(420.0)
        .max_width(420.0)
        .show(ctx, |ui| {
            for (i, e) in state.errors.iter().enumerate() {
                ui.horizontal_top(|ui| {
                    if ui.small_button("x").clicked() {
                        cmds.send(Command::DismissError(i));
                    }
                    ui.add(egui::Label::new(RichText::new(e).color(Color32::LIGHT_RED)).wrap());
                });
            }
        });
}
