//! Box tracks on the frame view: drawn at the playhead (keyframes bold, the
//! selected one with handles), moved and resized by dragging (which sets a
//! keyframe at the playhead), drawn anew with the box tool (B). Every drag
//! is one undo step; the geometry is plain functions, tested without a UI.

use eframe::egui::{self, Color32, CursorIcon, Pos2, Rect, Stroke};

use crate::app::annotate::TruthCommand;
use crate::app::image::{self, ViewInput};
use crate::app::{AppCommand, Commands};
use crate::truth::history::AnnotationCommand;
use crate::truth::tracks::{self, BoxPx, Track};

/// How close to an edge (screen pixels) a press grabs it rather than the box.
const GRAB_PX: f32 = 6.0;

/// What a press on a box holds: the edges it moves (none: the whole box).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Handle {
    /// The left edge.
    pub left: bool,
    /// The right edge.
    pub right: bool,
    /// The top edge.
    pub top: bool,
    /// The bottom edge.
    pub bottom: bool,
}

impl Handle {
    /// Whether it moves the whole box.
    pub fn is_move(self) -> bool {
        !(self.left || self.right || self.top || self.bottom)
    }

    fn cursor(self) -> CursorIcon {
        match (self.left || self.right, self.top || self.bottom) {
            (false, false) => CursorIcon::Move,
            (true, false) => CursorIcon::ResizeHorizontal,
            (false, true) => CursorIcon::ResizeVertical,
            _ if self.left == self.top => CursorIcon::ResizeNwSe,
            _ => CursorIcon::ResizeNeSw,
        }
    }
}

/// The box (track id) and handle under image point `p` on frame `frame`:
/// an edge within `tol` image pixels, else the inside. The selected track
/// wins, then the smallest box (one drawn inside another stays reachable).
pub fn grab_at(
    tracks: &[Track],
    frame: usize,
    p: [f32; 2],
    tol: f32,
    selected: Option<u32>,
) -> Option<(u32, Handle)> {
    let mut best: Option<(bool, f32, u32, Handle)> = None;
    for t in tracks {
        let Some(b) = t.box_at(frame) else { continue };
        let grown = BoxPx {
            x: b.x - tol,
            y: b.y - tol,
            w: b.w + 2.0 * tol,
            h: b.h + 2.0 * tol,
        };
        if !grown.contains(p) {
            continue;
        }
        let h = Handle {
            left: (p[0] - b.x).abs() <= tol,
            right: (p[0] - (b.x + b.w)).abs() <= tol,
            top: (p[1] - b.y).abs() <= tol,
            bottom: (p[1] - (b.y + b.h)).abs() <= tol,
        };
        // A box smaller than two grab widths: the nearer edge of each pair.
        let h = Handle {
            left: h.left && (!h.right || p[0] < b.x + b.w / 2.0),
            right: h.right && (!h.left || p[0] >= b.x + b.w / 2.0),
            top: h.top && (!h.bottom || p[1] < b.y + b.h / 2.0),
            bottom: h.bottom && (!h.top || p[1] >= b.y + b.h / 2.0),
        };
        if h.is_move() && !b.contains(p) {
            continue;
        }
        let key = (selected != Some(t.id), b.w * b.h, t.id, h);
        if best.is_none_or(|b| (key.0, key.1) < (b.0, b.1)) {
            best = Some(key);
        }
    }
    best.map(|(_, _, id, h)| (id, h))
}

/// Box `b` after the pointer moved from `from` to `to` holding `handle`,
/// kept inside a `size` image.
pub fn dragged(b: BoxPx, handle: Handle, from: [f32; 2], to: [f32; 2], size: [f32; 2]) -> BoxPx {
    let to = [to[0].clamp(0.0, size[0]), to[1].clamp(0.0, size[1])];
    let (dx, dy) = (to[0] - from[0], to[1] - from[1]);
    if handle.is_move() {
        let moved = BoxPx {
            x: b.x + dx,
            y: b.y + dy,
            ..b
        };
        return moved.clamped(size[0], size[1]);
    }
    let shift = |on: bool, v: f32, d: f32| if on { v + d } else { v };
    let a = [shift(handle.left, b.x, dx), shift(handle.top, b.y, dy)];
    let c = [
        shift(handle.right, b.x + b.w, dx),
        shift(handle.bottom, b.y + b.h, dy),
    ];
    BoxPx::from_corners(a, c).clamped(size[0], size[1])
}

/// A drag in progress.
#[derive(Debug, Clone)]
enum Drag {
    /// Moving or resizing a box of `track` (as it was when the drag began).
    Edit {
        track: Track,
        handle: Handle,
        start: BoxPx,
        from: [f32; 2],
    },
    /// Drawing a new track `id` from corner `from`.
    New { id: u32, from: [f32; 2] },
}

/// Draws the boxes of the playhead's frame and handles the pointer on them;
/// returns whether the pointer is busy with a box (so a drag does not pan).
pub fn boxes_ui(
    ui: &egui::Ui,
    resp: &egui::Response,
    rect: Rect,
    input: &ViewInput<'_>,
    cmds: &mut Commands,
) -> bool {
    let state = input.state;
    let an = input.annotator;
    let frame = state.current;
    let tracks = input.store.truth.tracks();
    let size = [
        input.frame_size.0.max(1) as f32,
        input.frame_size.1.max(1) as f32,
    ];
    let to_px = |p: Pos2| {
        let uv = image::screen_to_uv(rect, state, p);
        [uv[0] * size[0], uv[1] * size[1]]
    };
    let tol = GRAB_PX * size[0] * image::uv_rect(state).width() / rect.width().max(1.0);
    draw_ui(ui, rect, input);

    let id = ui.scope_id().with("box-drag");
    let group_key = id.with("group");
    let mut busy = false;
    if let Some(p) = resp.hover_pos() {
        if let Some((_, h)) = grab_at(tracks, frame, to_px(p), tol, an.selected_box) {
            ui.ctx().set_cursor_icon(h.cursor());
        } else if an.box_tool {
            ui.ctx().set_cursor_icon(CursorIcon::Crosshair);
        }
    }
    if resp.drag_started_by(egui::PointerButton::Primary) {
        let origin = ui.input(|i| i.pointer.press_origin());
        if let Some(p) = origin.or(resp.interact_pointer_pos()) {
            let p = to_px(p);
            let grab = grab_at(tracks, frame, p, tol, an.selected_box);
            let drag = match grab {
                Some((tid, handle)) => {
                    let track = tracks.iter().find(|t| t.id == tid).cloned();
                    track.and_then(|track| {
                        let start = track.box_at(frame)?;
                        cmds.send(AppCommand::Truth(TruthCommand::SelectBox(Some(tid))));
                        Some(Drag::Edit {
                            track,
                            handle,
                            start,
                            from: p,
                        })
                    })
                }
                None if an.box_tool => Some(Drag::New {
                    id: tracks::free_id(tracks),
                    from: p,
                }),
                None => None,
            };
            let group = ui.input(|i| (i.time * 1e6) as u64);
            ui.memory_mut(|m| {
                m.data.insert_temp(id, drag);
                m.data.insert_temp(group_key, group);
            });
        }
    }
    let drag: Option<Drag> = ui.memory(|m| m.data.get_temp(id)).flatten();
    if let Some(drag) = drag {
        busy = true;
        let group: Option<u64> = ui.memory(|m| m.data.get_temp(group_key));
        if let (true, Some(p)) = (resp.dragged(), resp.interact_pointer_pos()) {
            let p = to_px(p);
            let (tid, track) = match &drag {
                Drag::Edit {
                    track,
                    handle,
                    start,
                    from,
                } => (
                    track.id,
                    track.with_key(frame, dragged(*start, *handle, *from, p, size)),
                ),
                Drag::New { id, from } => {
                    let b = BoxPx::from_corners(*from, p).clamped(size[0], size[1]);
                    (*id, Track::new(*id, frame, b))
                }
            };
            let command = AnnotationCommand::SetTrack {
                id: tid,
                track: Some(track),
            };
            cmds.send(AppCommand::Truth(TruthCommand::Edit { command, group }));
        }
        if resp.drag_stopped() || !resp.dragged() {
            if let Drag::New { id: tid, .. } = drag {
                cmds.send(AppCommand::Truth(TruthCommand::SelectBox(Some(tid))));
            }
            ui.memory_mut(|m| m.data.remove::<Option<Drag>>(id));
        }
    }
    if resp.clicked() {
        if let Some(p) = resp.interact_pointer_pos() {
            let hit = grab_at(tracks, frame, to_px(p), tol, an.selected_box).map(|(t, _)| t);
            if hit.is_some() || an.selected_box.is_some() {
                cmds.send(AppCommand::Truth(TruthCommand::SelectBox(hit)));
                busy = true;
            }
        }
    }
    busy
}

/// Draws the boxes of the playhead's frame (without handling the pointer).
pub fn draw_ui(ui: &egui::Ui, rect: Rect, input: &ViewInput<'_>) {
    let state = input.state;
    let size = [
        input.frame_size.0.max(1) as f32,
        input.frame_size.1.max(1) as f32,
    ];
    let to_screen =
        |p: [f32; 2]| image::uv_to_screen(rect, state, [p[0] / size[0], p[1] / size[1]]);
    let tracks = input.store.truth.tracks();
    let selected = input.annotator.selected_box;
    draw_boxes(ui, rect, tracks, state.current, selected, to_screen);
}

/// The boxes of `frame`: keyframes drawn bold, interpolated ones thin, the
/// selected one in yellow with its corner handles, each labelled with its id.
fn draw_boxes(
    ui: &egui::Ui,
    rect: Rect,
    tracks: &[Track],
    frame: usize,
    selected: Option<u32>,
    to_screen: impl Fn([f32; 2]) -> Pos2,
) {
    let painter = ui.painter().with_clip_rect(rect);
    for t in tracks {
        let Some(b) = t.box_at(frame) else { continue };
        let r = Rect::from_two_pos(to_screen([b.x, b.y]), to_screen([b.x + b.w, b.y + b.h]));
        let sel = selected == Some(t.id);
        let colour = if sel {
            Color32::from_rgb(255, 220, 60)
        } else {
            Color32::from_rgb(80, 255, 120)
        };
        let width = if t.is_key(frame) { 2.5 } else { 1.2 };
        painter.rect_stroke(r, 0.0, Stroke::new(width, colour), egui::StrokeKind::Middle);
        painter.text(
            r.left_top() + egui::vec2(2.0, -2.0),
            egui::Align2::LEFT_BOTTOM,
            format!("#{}", t.id),
            egui::FontId::proportional(11.0),
            colour,
        );
        if sel {
            for c in [
                r.left_top(),
                r.right_top(),
                r.left_bottom(),
                r.right_bottom(),
            ] {
                painter.rect_filled(Rect::from_center_size(c, egui::vec2(6.0, 6.0)), 0.0, colour);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bx(x: f32, y: f32, w: f32, h: f32) -> BoxPx {
        BoxPx { x, y, w, h }
    }

    #[test]
    fn presses_grab_edges_corners_or_the_inside() {
        let tracks = vec![
            Track::new(1, 0, bx(10.0, 10.0, 100.0, 50.0)),
            Track::new(2, 0, bx(40.0, 20.0, 20.0, 20.0)),
        ];
        let g = |x: f32, y: f32| grab_at(&tracks, 0, [x, y], 3.0, None);
        assert_eq!(g(20.0, 30.0), Some((1, Handle::default())));
        // The inner, smaller box wins where both are under the pointer.
        assert_eq!(g(50.0, 30.0), Some((2, Handle::default())));
        let right = Handle {
            right: true,
            ..Handle::default()
        };
        assert_eq!(g(111.0, 30.0), Some((1, right)));
        let corner = Handle {
            left: true,
            top: true,
            ..Handle::default()
        };
        assert_eq!(g(9.0, 8.5), Some((1, corner)));
        assert_eq!(g(200.0, 200.0), None);
        // Not on frames the track is not on.
        let ended = tracks[0].ended_at(5).unwrap();
        assert_eq!(grab_at(&[ended], 7, [20.0, 30.0], 3.0, None), None);
    }

    #[test]
    fn drags_move_and_resize_inside_the_image() {
        let b = bx(10.0, 10.0, 20.0, 20.0);
        let size = [100.0, 80.0];
        let mv = dragged(b, Handle::default(), [15.0, 15.0], [25.0, 20.0], size);
        assert_eq!(mv, bx(20.0, 15.0, 20.0, 20.0));
        // Moved past the border: stops there, same size.
        let far = dragged(b, Handle::default(), [15.0, 15.0], [500.0, 15.0], size);
        assert_eq!(far, bx(80.0, 10.0, 20.0, 20.0));
        let br = Handle {
            right: true,
            bottom: true,
            ..Handle::default()
        };
        assert_eq!(
            dragged(b, br, [30.0, 30.0], [50.0, 35.0], size),
            bx(10.0, 10.0, 40.0, 25.0)
        );
        // Dragging the left edge past the right one flips the box.
        let left = Handle {
            left: true,
            ..Handle::default()
        };
        assert_eq!(
            dragged(b, left, [10.0, 20.0], [40.0, 20.0], size),
            bx(30.0, 10.0, 10.0, 20.0)
        );
    }
}
