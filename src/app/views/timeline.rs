//! The timeline: the score curve and each term as lanes (min/max decimated),
//! ground truth shaded, the threshold line (drag it), the playhead, the loop
//! selection; click or drag to seek, Shift-drag to select, scroll to zoom,
//! right- or middle-drag to pan. Above the curves, the ground-truth lane:
//! drag an interval's edge or the interval itself (one undo step per drag).

use eframe::egui::{self, Color32, Pos2, Rect, Sense, Shape, Stroke, Vec2};

use crate::app::annotate::{Annotator, TruthCommand};
use crate::app::curves::Lane;
use crate::app::state::{AppState, Command};
use crate::app::store::Store;
use crate::app::{AppCommand, Commands};
use crate::truth::edit::{self, Edge};
use crate::truth::history::AnnotationCommand;

/// Width of the lane labels at the left.
const LABEL_W: f32 = 46.0;
/// Height of the frame axis at the bottom.
const AXIS_H: f32 = 16.0;
/// Height of the ground-truth lane at the top.
const TRUTH_H: f32 = 14.0;
/// How close (px) the pointer must be to grab an interval's edge.
const GRAB_PX: f32 = 5.0;

fn lane_color(l: Lane) -> Color32 {
    match l {
        Lane::Score => Color32::from_rgb(120, 190, 255),
        Lane::Recon => Color32::from_rgb(250, 170, 90),
        Lane::Pred => Color32::from_rgb(190, 140, 255),
        Lane::Dist => Color32::from_rgb(130, 220, 150),
    }
}

/// The geometry of one drawn timeline.
#[derive(Debug, Clone)]
pub struct Layout {
    /// The whole widget.
    pub rect: Rect,
    /// The visible frames when it was drawn.
    pub view: crate::app::state::TimeView,
    /// The area of the curves (without labels and axis).
    pub plot: Rect,
    /// The ground-truth lane above the curves.
    pub truth: Rect,
    /// The second annotator's lane under it, when one is open.
    pub second: Option<Rect>,
    /// Lanes and their rects, score first.
    pub lanes: Vec<(Lane, Rect)>,
}

impl Layout {
    /// Lays out `rect` for the lanes that have data (the score lane always).
    pub fn new(rect: Rect, state: &AppState, store: &Store) -> Self {
        let truth = Rect::from_min_max(
            Pos2::new(rect.left() + LABEL_W, rect.top() + 2.0),
            Pos2::new(rect.right() - 4.0, rect.top() + 2.0 + TRUTH_H),
        );
        let second = store.second.as_ref().map(|_| {
            Rect::from_min_max(
                Pos2::new(truth.left(), truth.bottom() + 2.0),
                Pos2::new(truth.right(), truth.bottom() + 2.0 + TRUTH_H),
            )
        });
        let above = second.unwrap_or(truth).bottom();
        let plot = Rect::from_min_max(
            Pos2::new(rect.left() + LABEL_W, above + 2.0),
            Pos2::new(rect.right() - 4.0, rect.bottom() - AXIS_H),
        );
        let terms: Vec<Lane> = [Lane::Recon, Lane::Pred, Lane::Dist]
            .into_iter()
            .filter(|&l| store.curves.has(l))
            .collect();
        let score_h = if terms.is_empty() {
            plot.height()
        } else {
            plot.height() * 0.55
        };
        let mut lanes = vec![(
            Lane::Score,
            Rect::from_min_size(plot.min, Vec2::new(plot.width(), score_h)),
        )];
        let each = (plot.height() - score_h) / terms.len().max(1) as f32;
        for (k, l) in terms.into_iter().enumerate() {
            let top = plot.top() + score_h + k as f32 * each;
            lanes.push((
                l,
                Rect::from_min_size(Pos2::new(plot.left(), top), Vec2::new(plot.width(), each)),
            ));
        }
        Layout {
            rect,
            view: state.time_view,
            plot,
            truth,
            second,
            lanes,
        }
    }

    /// The x of frame `f` (fractional).
    pub fn x_of(&self, state: &AppState, f: f64) -> f32 {
        let tv = state.time_view;
        self.plot.left() + ((f - tv.start) / tv.span()) as f32 * self.plot.width()
    }

    /// The frame under x.
    pub fn frame_at(&self, state: &AppState, x: f32) -> f64 {
        let tv = state.time_view;
        tv.start + ((x - self.plot.left()) / self.plot.width()) as f64 * tv.span()
    }
}

/// The value range drawn in a lane (the score lane includes the threshold).
fn lane_range(state: &AppState, store: &Store, lane: Lane) -> (f32, f32) {
    let (mut lo, mut hi) = store.curves.extent(lane).unwrap_or((0.0, 1.0));
    if lane == Lane::Score {
        lo = lo.min(state.threshold as f32);
        hi = hi.max(state.threshold as f32);
    }
    if hi - lo < 1e-9 {
        hi = lo + 1.0;
    }
    let pad = (hi - lo) * 0.05;
    (lo - pad, hi + pad)
}

fn y_of(rect: Rect, range: (f32, f32), v: f32) -> f32 {
    rect.bottom() - (v - range.0) / (range.1 - range.0) * rect.height()
}

/// Paints the timeline into `rect` (no interaction): used by [`timeline_ui`]
/// and the benchmark.
pub fn paint(
    painter: &egui::Painter,
    rect: Rect,
    state: &AppState,
    store: &Store,
    annotator: &Annotator,
) -> Layout {
    let layout = Layout::new(rect, state, store);
    let plot = layout.plot;
    let visuals_bg = Color32::from_gray(22);
    painter.rect_filled(plot, 0.0, visuals_bg);
    paint_truth_lane(painter, &layout, state, store, annotator);
    painter.text(
        Pos2::new(rect.left() + 4.0, layout.truth.center().y),
        egui::Align2::LEFT_CENTER,
        "truth",
        egui::FontId::proportional(11.0),
        TRUTH_COLOR,
    );
    paint_second_lane(painter, &layout, state, store);
    // Ground truth.
    for iv in store.intervals() {
        let (a, b) = (
            layout.x_of(state, iv.start as f64),
            layout.x_of(state, iv.end as f64),
        );
        if b < plot.left() || a > plot.right() {
            continue;
        }
        let r = Rect::from_x_y_ranges(
            a.max(plot.left())..=b.min(plot.right()).max(a + 1.0),
            plot.y_range(),
        );
        painter.rect_filled(r, 0.0, Color32::from_rgba_unmultiplied(220, 60, 60, 60));
    }
    // Loop selection.
    if let Some((a, b)) = state.selection {
        let (xa, xb) = (layout.x_of(state, a as f64), layout.x_of(state, b as f64));
        let r = Rect::from_x_y_ranges(xa.max(plot.left())..=xb.min(plot.right()), plot.y_range());
        painter.rect_filled(r, 0.0, Color32::from_rgba_unmultiplied(90, 140, 255, 40));
    }
    let columns = plot.width().max(1.0) as usize;
    let tv = state.time_view;
    let mut cols = Vec::with_capacity(columns);
    for (lane, r) in layout.lanes.clone() {
        let range = lane_range(state, store, lane);
        store
            .curves
            .pyramid(lane)
            .columns_into(tv.start, tv.end, columns, &mut cols);
        let per = tv.span() / columns as f64;
        if per >= 1.0 {
            envelope(painter, plot, r, range, &cols, lane_color(lane));
        } else {
            zoomed_line(painter, &layout, state, r, range, &cols, lane_color(lane));
        }
        painter.text(
            Pos2::new(rect.left() + 4.0, r.center().y),
            egui::Align2::LEFT_CENTER,
            lane.label(),
            egui::FontId::proportional(11.0),
            lane_color(lane),
        );
        if lane == Lane::Score {
            let y = y_of(r, range, state.threshold as f32);
            let alert = Color32::from_rgb(255, 150, 40);
            painter.hline(plot.x_range(), y, Stroke::new(1.5, alert));
            // A marker where each alert event starts.
            for (start, ..) in state.events(store).runs {
                let x = layout.x_of(state, start as f64);
                if plot.x_range().contains(x) {
                    let top = r.top() + 1.0;
                    painter.add(egui::Shape::convex_polygon(
                        vec![
                            Pos2::new(x - 4.0, top),
                            Pos2::new(x + 4.0, top),
                            Pos2::new(x, top + 6.0),
                        ],
                        alert,
                        Stroke::NONE,
                    ));
                }
            }
        }
        painter.hline(
            plot.x_range(),
            r.bottom(),
            Stroke::new(1.0, Color32::from_gray(50)),
        );
    }
    // Frame axis.
    let step = nice_step(tv.span() / (plot.width() as f64 / 80.0).max(1.0));
    let mut f = (tv.start / step).ceil() * step;
    while f < tv.end {
        let x = layout.x_of(state, f);
        painter.vline(
            x,
            plot.bottom()..=plot.bottom() + 4.0,
            Stroke::new(1.0, Color32::GRAY),
        );
        painter.text(
            Pos2::new(x, plot.bottom() + 4.0),
            egui::Align2::CENTER_TOP,
            format!("{}", f as u64),
            egui::FontId::proportional(10.0),
            Color32::GRAY,
        );
        f += step;
    }
    // Playhead.
    let x = layout.x_of(state, state.current as f64 + 0.5);
    if plot.x_range().contains(x) {
        painter.vline(x, plot.y_range(), Stroke::new(1.5, Color32::WHITE));
        painter.add(Shape::convex_polygon(
            vec![
                Pos2::new(x - 5.0, plot.top()),
                Pos2::new(x + 5.0, plot.top()),
                Pos2::new(x, plot.top() + 7.0),
            ],
            Color32::WHITE,
            Stroke::NONE,
        ));
    }
    layout
}

/// One or more frames per pixel: each column is a 1-pixel bar from its
/// minimum to its maximum, stretched to meet its neighbour so the envelope
/// stays connected. One mesh per lane: no stroke tessellation, so a
/// 300,000-frame lane costs one pass over the screen's columns.
fn envelope(
    painter: &egui::Painter,
    plot: Rect,
    lane: Rect,
    range: (f32, f32),
    cols: &[(f32, f32)],
    color: Color32,
) {
    let mut mesh = egui::Mesh::default();
    let mut prev: Option<(f32, f32)> = None;
    for (c, &(lo, hi)) in cols.iter().enumerate() {
        if !(lo.is_finite() && hi.is_finite()) {
            prev = None;
            continue;
        }
        let (mut top, mut bottom) = (y_of(lane, range, hi), y_of(lane, range, lo));
        if let Some((pt, pb)) = prev {
            // Reach the previous column's span, so steep slopes leave no gap.
            top = top.min(pb);
            bottom = bottom.max(pt);
        }
        prev = Some((y_of(lane, range, hi), y_of(lane, range, lo)));
        let x = plot.left() + c as f32;
        let r = Rect::from_min_max(Pos2::new(x, top - 0.5), Pos2::new(x + 1.0, bottom + 0.5));
        mesh.add_colored_rect(r, color);
    }
    painter.add(Shape::mesh(mesh));
}

/// Fewer frames than pixels: a line through the frames' values (unscored
/// gaps break it).
fn zoomed_line(
    painter: &egui::Painter,
    layout: &Layout,
    state: &AppState,
    lane: Rect,
    range: (f32, f32),
    cols: &[(f32, f32)],
    color: Color32,
) {
    let tv = state.time_view;
    let per = tv.span() / cols.len().max(1) as f64;
    let stroke = Stroke::new(1.0, color);
    let mut pts: Vec<Pos2> = Vec::new();
    let flush = |pts: &mut Vec<Pos2>| {
        if pts.len() >= 2 {
            painter.add(Shape::line(std::mem::take(pts), stroke));
        } else {
            pts.clear();
        }
    };
    let mut last_frame = None;
    for (c, &(lo, hi)) in cols.iter().enumerate() {
        let frame = (tv.start + c as f64 * per).floor();
        if last_frame == Some(frame) {
            continue; // several columns show one frame: one point
        }
        last_frame = Some(frame);
        if !(lo.is_finite() && hi.is_finite()) {
            flush(&mut pts);
            continue;
        }
        pts.push(Pos2::new(
            layout.x_of(state, frame + 0.5),
            y_of(lane, range, hi),
        ));
    }
    flush(&mut pts);
}

/// 1, 2, 5 × 10^k at or above `x`.
fn nice_step(x: f64) -> f64 {
    let p = 10f64.powf(x.max(1.0).log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * p)
        .find(|&s| s >= x)
        .unwrap_or(10.0 * p)
}

/// The timeline widget: paints and turns input into commands.
pub fn timeline_ui(
    ui: &mut egui::Ui,
    state: &AppState,
    store: &Store,
    annotator: &Annotator,
    cmds: &mut Commands,
) -> Layout {
    let rect = ui.available_rect_before_wrap();
    let resp = ui.allocate_rect(rect, Sense::click_and_drag());
    let painter = ui.painter_at(rect);
    let layout = paint(&painter, rect, state, store, annotator);
    truth_lane_ui(ui, &layout, state, store, cmds);
    let plot = layout.plot;
    let score_rect = layout.lanes[0].1;
    let range = lane_range(state, store, Lane::Score);
    let frames = state.frames;
    let clamp_frame = |f: f64| f.floor().clamp(0.0, frames.saturating_sub(1) as f64) as usize;

    // The threshold line: grab within 5 px.
    let thr_y = y_of(score_rect, range, state.threshold as f32);
    let thr_rect = Rect::from_x_y_ranges(plot.x_range(), thr_y - 5.0..=thr_y + 5.0);
    let thr = ui.interact(thr_rect, ui.scope_id().with("threshold"), Sense::drag());
    if thr.hovered() || thr.dragged() {
        ui.ctx().set_cursor_icon(egui::CursorIcon::ResizeVertical);
    }
    if thr.dragged() {
        if let Some(p) = thr.interact_pointer_pos() {
            let t = p.y.clamp(score_rect.top(), score_rect.bottom());
            let v = range.0 + (score_rect.bottom() - t) / score_rect.height() * (range.1 - range.0);
            cmds.send(Command::SetThreshold(v as f64));
        }
    }
    let (tp, fp, _) = state.counts(store);
    painter.text(
        Pos2::new(plot.right() - 4.0, thr_y - 2.0),
        egui::Align2::RIGHT_BOTTOM,
        format!("threshold {:.3}  TP {tp}  FP {fp}", state.threshold),
        egui::FontId::proportional(11.0),
        Color32::from_rgb(255, 170, 70),
    );

    let shift = ui.input(|i| i.modifiers.shift);
    if !thr.dragged() {
        if let Some(p) = resp.interact_pointer_pos() {
            let primary = ui.input(|i| i.pointer.primary_down() || i.pointer.primary_released());
            let f = clamp_frame(layout.frame_at(state, p.x));
            if resp.dragged_by(egui::PointerButton::Primary) && shift {
                let start = ui.memory_mut(|m| {
                    *m.data
                        .get_temp_mut_or_insert_with(ui.scope_id().with("sel-start"), || f)
                });
                cmds.send(Command::Select(Some((start.min(f), start.max(f) + 1))));
            } else if (resp.clicked() || resp.dragged_by(egui::PointerButton::Primary))
                && primary
                && !shift
            {
                cmds.send(Command::Seek(f));
            }
        }
        if resp.drag_stopped() || !resp.dragged() {
            ui.memory_mut(|m| m.data.remove::<usize>(ui.scope_id().with("sel-start")));
        }
    }
    if resp.dragged_by(egui::PointerButton::Secondary)
        || resp.dragged_by(egui::PointerButton::Middle)
    {
        let dx = resp.drag_delta().x;
        cmds.send(Command::PanTimeline(
            -(dx / plot.width()) as f64 * state.time_view.span(),
        ));
    }
    if resp.hovered() {
        let (scroll, zoom) = ui.input(|i| (i.smooth_scroll_delta, i.zoom_delta()));
        if let Some(p) = resp.hover_pos() {
            let about = layout.frame_at(state, p.x);
            let factor = zoom as f64 * (scroll.y as f64 * 0.004).exp();
            if (factor - 1.0).abs() > 1e-4 {
                cmds.send(Command::ZoomTimeline { factor, about });
            }
            if scroll.x.abs() > 0.0 {
                cmds.send(Command::PanTimeline(
                    -(scroll.x / plot.width()) as f64 * state.time_view.span(),
                ));
            }
            // Hover read-out.
            let f = clamp_frame(about);
            let v = store
                .curves
                .lane(Lane::Score)
                .get(f)
                .copied()
                .unwrap_or(f32::NAN);
            if plot.contains(p) {
                let text = if v.is_finite() {
                    format!("frame {f}: {v:.4}")
                } else {
                    format!("frame {f}: not scored")
                };
                painter.text(
                    Pos2::new(plot.left() + 4.0, plot.top() + 2.0),
                    egui::Align2::LEFT_TOP,
                    text,
                    egui::FontId::proportional(11.0),
                    Color32::LIGHT_GRAY,
                );
            }
        }
    }
    if resp.double_clicked() {
        cmds.send(Command::ResetTimeline);
    }
    layout
}

/// The ground-truth lane's colour.
const TRUTH_COLOR: Color32 = Color32::from_rgb(235, 90, 90);

/// The second annotator's lane: their intervals as bars, and the frames
/// where the two disagree marked under them.
fn paint_second_lane(painter: &egui::Painter, layout: &Layout, state: &AppState, store: &Store) {
    let (Some(lane), Some(second)) = (layout.second, store.second.as_ref()) else {
        return;
    };
    painter.rect_filled(lane, 0.0, Color32::from_gray(30));
    painter.text(
        Pos2::new(layout.rect.left() + 4.0, lane.center().y),
        egui::Align2::LEFT_CENTER,
        "B",
        egui::FontId::proportional(11.0),
        SECOND_COLOR,
    );
    let bar = |iv: &crate::truth::Interval, y: std::ops::RangeInclusive<f32>, c: Color32| {
        let (a, b) = (
            layout.x_of(state, iv.start as f64),
            layout.x_of(state, iv.end as f64),
        );
        if b >= lane.left() && a <= lane.right() {
            let r = Rect::from_x_y_ranges(a.max(lane.left())..=b.min(lane.right()).max(a + 1.0), y);
            painter.rect_filled(r, 1.0, c);
        }
    };
    for iv in &second.intervals {
        bar(iv, lane.top() + 2.0..=lane.bottom() - 5.0, SECOND_COLOR);
    }
    for iv in &second.agreement.runs {
        bar(
            iv,
            lane.bottom() - 3.0..=lane.bottom(),
            Color32::from_rgb(255, 220, 60),
        );
    }
}

const SECOND_COLOR: Color32 = Color32::from_rgb(150, 120, 255);

/// The ground-truth lane: intervals as bars, the selected edge and the
/// mark-in point (I) highlighted.
fn paint_truth_lane(
    painter: &egui::Painter,
    layout: &Layout,
    state: &AppState,
    store: &Store,
    annotator: &Annotator,
) {
    let lane = layout.truth;
    painter.rect_filled(lane, 0.0, Color32::from_gray(30));
    for (i, iv) in store.intervals().iter().enumerate() {
        let (a, b) = (
            layout.x_of(state, iv.start as f64),
            layout.x_of(state, iv.end as f64),
        );
        if b < lane.left() || a > lane.right() {
            continue;
        }
        let r = Rect::from_x_y_ranges(
            a.max(lane.left())..=b.min(lane.right()).max(a + 1.0),
            lane.top() + 2.0..=lane.bottom() - 2.0,
        );
        painter.rect_filled(r, 2.0, TRUTH_COLOR);
        if let Some((_, edge)) = annotator.selected.filter(|(si, _)| *si == i) {
            let x = if edge == Edge::Start { a } else { b };
            painter.vline(x, lane.y_range(), Stroke::new(3.0, Color32::WHITE));
        }
    }
    if let Some(f) = annotator.mark_in {
        let x = layout.x_of(state, f as f64);
        if lane.x_range().contains(x) {
            painter.add(Shape::convex_polygon(
                vec![
                    Pos2::new(x, lane.top()),
                    Pos2::new(x + 7.0, lane.center().y),
                    Pos2::new(x, lane.bottom()),
                ],
                Color32::from_rgb(255, 220, 90),
                Stroke::NONE,
            ));
        }
    }
}

/// What a drag in the truth lane holds on to.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Grab {
    /// An edge of interval `index`.
    Edge(usize, Edge),
    /// The whole interval `index`, last at `frame`.
    Body(usize, i64),
}

/// Drags in the truth lane: an edge (within [`GRAB_PX`]) moves onto the frame
/// under the pointer, with the playhead following so the frame views show the
/// frame under the edge; the body moves the whole interval. One undo step per
/// drag.
fn truth_lane_ui(
    ui: &mut egui::Ui,
    layout: &Layout,
    state: &AppState,
    store: &Store,
    cmds: &mut Commands,
) {
    let lane = layout.truth;
    let id = ui.scope_id().with("truth-lane");
    let resp = ui.interact(lane, id, Sense::click_and_drag());
    let intervals = store.intervals();
    let px_per_frame = (lane.width() as f64 / state.time_view.span()).max(1e-9);
    let grab_at = |x: f32| -> Option<Grab> {
        let f = layout.frame_at(state, x);
        if let Some((i, e)) = edit::nearest_edge(intervals, f, GRAB_PX as f64 / px_per_frame) {
            return Some(Grab::Edge(i, e));
        }
        edit::find(intervals, f.floor().max(0.0) as usize).map(|i| Grab::Body(i, f.floor() as i64))
    };
    if let Some(p) = resp.hover_pos() {
        match grab_at(p.x) {
            Some(Grab::Edge(..)) => ui.ctx().set_cursor_icon(egui::CursorIcon::ResizeHorizontal),
            Some(Grab::Body(..)) => ui.ctx().set_cursor_icon(egui::CursorIcon::Grab),
            None => {}
        }
    }
    let grab_key = id.with("grab");
    let group_key = id.with("group");
    if resp.drag_started() {
        // Where the button went down: by now the pointer has moved past the
        // drag threshold, possibly off the edge it grabbed.
        let origin = ui.input(|i| i.pointer.press_origin());
        if let Some(p) = origin.or(resp.interact_pointer_pos()) {
            let grab = grab_at(p.x);
            let group = ui.input(|i| (i.time * 1e6) as u64);
            ui.memory_mut(|m| {
                m.data.insert_temp(grab_key, grab);
                m.data.insert_temp(group_key, group);
            });
            if let Some(Grab::Edge(i, e)) = grab {
                cmds.send(AppCommand::Truth(TruthCommand::SelectEdge(i, e)));
            }
        }
    }
    if resp.dragged() {
        let grab: Option<Grab> = ui.memory(|m| m.data.get_temp(grab_key)).flatten();
        let group: Option<u64> = ui.memory(|m| m.data.get_temp(group_key));
        if let (Some(grab), Some(p)) = (grab, resp.interact_pointer_pos()) {
            let f = layout.frame_at(state, p.x);
            let last = state.frames.saturating_sub(1) as f64;
            match grab {
                Grab::Edge(index, edge) => {
                    // The start edge sits left of its frame, the end edge right of its frame.
                    let to = match edge {
                        Edge::Start => f.round(),
                        Edge::End => f.round() - 1.0,
                    }
                    .clamp(0.0, last) as usize;
                    let command = AnnotationCommand::MoveEdge { index, edge, to };
                    cmds.send(AppCommand::Truth(TruthCommand::Edit { command, group }));
                    cmds.send(Command::Seek(to));
                }
                Grab::Body(index, from) => {
                    let now = f.floor() as i64;
                    if now != from {
                        let command = AnnotationCommand::Move {
                            index,
                            delta: now - from,
                        };
                        cmds.send(AppCommand::Truth(TruthCommand::Edit { command, group }));
                        ui.memory_mut(|m| {
                            m.data.insert_temp(grab_key, Some(Grab::Body(index, now)))
                        });
                    }
                }
            }
        }
    }
    if resp.drag_stopped() {
        ui.memory_mut(|m| m.data.remove::<Option<Grab>>(grab_key));
    }
    if resp.clicked() {
        if let Some(p) = resp.interact_pointer_pos() {
            match grab_at(p.x) {
                Some(Grab::Edge(i, e)) => {
                    cmds.send(AppCommand::Truth(TruthCommand::SelectEdge(i, e)));
                    cmds.send(Command::Seek(edit::edge_frame(intervals[i], e)));
                }
                _ => {
                    let f = layout
                        .frame_at(state, p.x)
                        .floor()
                        .clamp(0.0, state.frames.saturating_sub(1) as f64);
                    cmds.send(Command::Seek(f as usize));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nice_steps() {
        assert_eq!(nice_step(0.3), 1.0);
        assert_eq!(nice_step(3.0), 5.0);
        assert_eq!(nice_step(11.0), 20.0);
        assert_eq!(nice_step(4000.0), 5000.0);
    }
}
