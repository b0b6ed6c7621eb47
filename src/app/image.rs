//! What the image views share: fitting an image into the panel, zoom and pan
//! (one transform for all views), and drawing frames and maps.

use std::sync::Arc;

use eframe::egui::{self, Pos2, Rect, Sense, Vec2};

use super::maps::Maps;
use super::state::{AppState, Command};
use super::Commands;
use crate::render::{self, DrawParams, MapImage};
use crate::Frame;

/// What a view draws from.
pub struct ViewInput<'a> {
    /// The state.
    pub state: &'a AppState,
    /// The data views read.
    pub store: &'a super::store::Store,
    /// The current frame's texture.
    pub frame: Option<&'a egui::TextureHandle>,
    /// Frame size in pixels.
    pub frame_size: (usize, usize),
    /// The current frame's maps, if computed.
    pub maps: Option<&'a Maps>,
    /// Whether the wgpu renderer draws maps.
    pub gpu: bool,
    /// The ground-truth mask of the current frame.
    pub mask: Option<&'a super::source::Mask>,
    /// The annotation state (selected box, box tool).
    pub annotator: &'a super::annotate::Annotator,
}

/// The visible part of the image in texture coordinates.
pub fn uv_rect(state: &AppState) -> Rect {
    let (lo, hi) = state.image_view.uv();
    Rect::from_min_max(Pos2::new(lo[0], lo[1]), Pos2::new(hi[0], hi[1]))
}

/// The image point under screen position `pos` in the view `rect`.
pub fn screen_to_uv(rect: Rect, state: &AppState, pos: Pos2) -> [f32; 2] {
    let uv = uv_rect(state);
    let t = (pos - rect.min) / rect.size();
    [uv.min.x + t.x * uv.width(), uv.min.y + t.y * uv.height()]
}

/// The screen position of image point `uv` in the view `rect`.
pub fn uv_to_screen(rect: Rect, state: &AppState, uv: [f32; 2]) -> Pos2 {
    let v = uv_rect(state);
    Pos2::new(
        rect.min.x + (uv[0] - v.min.x) / v.width() * rect.width(),
        rect.min.y + (uv[1] - v.min.y) / v.height() * rect.height(),
    )
}

/// Allocates the largest rect of the image's aspect in `size` (centred) and
/// turns scrolling into zoom about the pointer, dragging into pan and a double
/// click into "show all".
pub fn image_area(
    ui: &mut egui::Ui,
    salt: u64,
    image_size: (usize, usize),
    avail: Vec2,
    state: &AppState,
    cmds: &mut Commands,
) -> (Rect, egui::Response) {
    let (rect, resp) = image_area_no_pan(ui, salt, image_size, avail, state, cmds);
    pan(&resp, rect, state, cmds);
    (rect, resp)
}

/// Dragging the image pans it (a view that uses drags for more calls it
/// when the drag is not its own).
pub fn pan(resp: &egui::Response, rect: Rect, state: &AppState, cmds: &mut Commands) {
    if resp.dragged() {
        let d = resp.drag_delta();
        let uv = uv_rect(state);
        cmds.send(Command::PanImage([
            -d.x / rect.width() * uv.width(),
            -d.y / rect.height() * uv.height(),
        ]));
    }
}

/// [`image_area`] without the pan.
pub fn image_area_no_pan(
    ui: &mut egui::Ui,
    salt: u64,
    image_size: (usize, usize),
    avail: Vec2,
    state: &AppState,
    cmds: &mut Commands,
) -> (Rect, egui::Response) {
    let (w, h) = (image_size.0.max(1) as f32, image_size.1.max(1) as f32);
    let scale = (avail.x / w).min(avail.y / h).max(0.01);
    let size = Vec2::new(w * scale, h * scale);
    let (outer, _) = ui.allocate_exact_size(avail, Sense::hover());
    let rect = Rect::from_center_size(outer.center(), size);
    let resp = ui.interact(
        rect,
        ui.scope_id().with(("vadscope-image", salt)),
        Sense::click_and_drag(),
    );
    if resp.hovered() {
        let (scroll, zoom) = ui.input(|i| (i.smooth_scroll_delta.y, i.zoom_delta()));
        let factor = zoom * (scroll * 0.003).exp();
        if (factor - 1.0).abs() > 1e-4 {
            if let Some(p) = resp.hover_pos() {
                cmds.send(Command::ZoomImage {
                    factor,
                    about: screen_to_uv(rect, state, p),
                });
            }
        }
    }
    if resp.double_clicked() {
        cmds.send(Command::ResetImageView);
    }
    (rect, resp)
}

/// Draws the frame texture into `rect` with the shared zoom.
pub fn draw_frame(
    painter: &egui::Painter,
    rect: Rect,
    tex: &egui::TextureHandle,
    state: &AppState,
) {
    painter.image(tex.id(), rect, uv_rect(state), egui::Color32::WHITE);
}

/// Draws a map with the GPU shader, or says why it cannot.
pub fn draw_map(
    ui: &egui::Ui,
    input: &ViewInput<'_>,
    rect: Rect,
    slot: u64,
    image: MapImage,
    mut params: DrawParams,
) {
    if !input.gpu {
        ui.painter().text(
            rect.center(),
            egui::Align2::CENTER_CENTER,
            "maps need the wgpu renderer",
            egui::FontId::proportional(14.0),
            egui::Color32::LIGHT_RED,
        );
        return;
    }
    params.uv = uv_rect(input.state);
    render::paint(
        &ui.painter().with_clip_rect(rect),
        rect,
        slot,
        image,
        params,
    );
}

/// The value range of a heat map: the fixed one in the settings, or 0 to the
/// map's 99th percentile (so one hot pixel does not wash out the rest).
pub fn auto_range(state: &AppState, f: &Frame<f32>) -> (f32, f32) {
    if let Some(r) = state.settings.range {
        return r;
    }
    let mut v: Vec<f32> = f
        .data
        .iter()
        .step_by((f.data.len() / 4096).max(1))
        .copied()
        .filter(|v| v.is_finite())
        .collect();
    if v.is_empty() {
        return (0.0, 1.0);
    }
    let k = ((v.len() as f32 * 0.99) as usize).min(v.len() - 1);
    let (_, hi, _) = v.select_nth_unstable_by(k, f32::total_cmp);
    (0.0, hi.max(1e-6))
}

/// A placeholder message centred in the remaining space.
pub fn placeholder(ui: &mut egui::Ui, text: &str) {
    ui.centered_and_justified(|ui| {
        ui.label(egui::RichText::new(text).color(egui::Color32::GRAY));
    });
}

/// A map image keyed by what it shows, which maps and which variant.
pub fn keyed(kind: &str, maps: &Maps, extra: usize, f: &Arc<Frame<f32>>) -> MapImage {
    MapImage::new(
        (kind, maps.source_id, maps.frame, extra, f.width, f.height),
        f.clone(),
    )
}
