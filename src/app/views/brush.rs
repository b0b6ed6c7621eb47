//! The mask brush on the frame view (P): a drag paints the playhead frame's
//! mask with a round brush, Shift or the right button erases, a click dabs.
//! A stroke is one undo step; painting a normal frame marks it anomalous
//! in the same step. The mask starts from the one shown (painted before,
//! else the file's), at its size, else at the frame's.

use eframe::egui::{self, Color32, CursorIcon, Pos2, Rect, Stroke};

use crate::app::annotate::TruthCommand;
use crate::app::image::{self, ViewInput};
use crate::app::{AppCommand, Commands};
use crate::truth::edit;
use crate::truth::history::AnnotationCommand;
use crate::truth::pixels::PixelMask;
use crate::truth::Interval;

/// A stroke in progress: the mask as painted so far.
#[derive(Debug, Clone)]
struct StrokeState {
    mask: PixelMask,
    last: [f32; 2],
    erase: bool,
    group: u64,
}

/// Paints with the pointer; returns whether it was busy (so a drag does not pan).
pub fn brush_ui(
    ui: &egui::Ui,
    resp: &egui::Response,
    rect: Rect,
    input: &ViewInput<'_>,
    cmds: &mut Commands,
) -> bool {
    let state = input.state;
    let frame = state.current;
    let (fw, fh) = (
        input.frame_size.0.max(1) as f32,
        input.frame_size.1.max(1) as f32,
    );
    let (mw, mh) = input
        .mask
        .map_or((fw, fh), |m| (m.width as f32, m.height as f32));
    let to_mask = |p: Pos2| {
        let uv = image::screen_to_uv(rect, state, p);
        [uv[0] * mw, uv[1] * mh]
    };
    // The radius is set in frame pixels; the mask may be smaller or larger.
    let radius = input.annotator.brush_radius_px * mw / fw;
    let id = ui.scope_id().with("brush-stroke");

    if let Some(p) = resp.hover_pos() {
        ui.ctx().set_cursor_icon(CursorIcon::None);
        let r_screen = input.annotator.brush_radius_px * rect.width()
            / (fw * image::uv_rect(state).width()).max(1e-6);
        let erase = ui.input(|i| i.modifiers.shift);
        let colour = if erase {
            Color32::from_rgb(255, 120, 120)
        } else {
            Color32::from_rgb(80, 255, 120)
        };
        ui.painter().with_clip_rect(rect).circle_stroke(
            p,
            r_screen.max(1.0),
            Stroke::new(1.5, colour),
        );
    }

    let started = resp.drag_started_by(egui::PointerButton::Primary)
        || resp.drag_started_by(egui::PointerButton::Secondary);
    let clicked = resp.clicked() || resp.secondary_clicked();
    if started || clicked {
        let origin = ui.input(|i| i.pointer.press_origin());
        if let Some(p) = origin.or(resp.interact_pointer_pos()) {
            let erase = ui.input(|i| i.modifiers.shift || i.pointer.secondary_down())
                || resp.secondary_clicked();
            let mask = input
                .mask
                .cloned()
                .unwrap_or_else(|| PixelMask::blank(mw as usize, mh as usize));
            let mut s = StrokeState {
                mask,
                last: to_mask(p),
                erase,
                group: ui.input(|i| (i.time * 1e6) as u64),
            };
            s.mask.paint_segment(s.last, s.last, radius, !erase);
            send(input, frame, &s, cmds);
            if started {
                ui.memory_mut(|m| m.data.insert_temp(id, s));
            }
        }
        return true;
    }
    let stroke: Option<StrokeState> = ui.memory(|m| m.data.get_temp(id));
    let Some(mut s) = stroke else {
        return resp.hovered();
    };
    if let (true, Some(p)) = (resp.dragged(), resp.interact_pointer_pos()) {
        let p = to_mask(p);
        if s.mask.paint_segment(s.last, p, radius, !s.erase) {
            send(input, frame, &s, cmds);
        }
        s.last = p;
        ui.memory_mut(|m| m.data.insert_temp(id, s));
    }
    if resp.drag_stopped() || !resp.dragged() {
        ui.memory_mut(|m| m.data.remove::<StrokeState>(id));
    }
    true
}

/// The stroke's mask as an edit of the frame; painting (not erasing) marks
/// the frame anomalous with it.
fn send(input: &ViewInput<'_>, frame: usize, s: &StrokeState, cmds: &mut Commands) {
    let edit_ = &input.store.truth.edit;
    let intervals = if s.erase {
        edit_.intervals().to_vec()
    } else {
        let one = Interval {
            start: frame,
            end: frame + 1,
        };
        edit::add(edit_.intervals(), one, edit_.len())
    };
    let command = AnnotationCommand::SetMask {
        frame,
        mask: Some(s.mask.clone()),
        intervals,
    };
    let group = Some(s.group);
    cmds.send(AppCommand::Truth(TruthCommand::Edit { command, group }));
}
