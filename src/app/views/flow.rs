//! The flow view: optical flow in the Middlebury colour coding (drawn by the
//! shader), arrows on a grid, a colour-wheel legend with the magnitude scale,
//! and which flow it is (with a model: the flow the model sees, see
//! [`crate::app::maps::Maps::flow`]).

use std::sync::{Arc, OnceLock};

use eframe::egui::{self, Color32, Rect, Stroke, Vec2};

use crate::app::image::{self, ViewInput};
use crate::app::Commands;
use crate::render::{DrawParams, MapImage, Mode};
use crate::Frame;

/// Legend size in pixels.
const LEGEND: usize = 64;

fn legend_image() -> MapImage {
    static WHEEL: OnceLock<Arc<Frame<f32>>> = OnceLock::new();
    let f = WHEEL.get_or_init(|| Arc::new(crate::render::wheel_field(LEGEND)));
    MapImage::new("flow-wheel-legend", f.clone())
}

/// Draws the view.
pub fn flow_ui(ui: &mut egui::Ui, input: &ViewInput<'_>, cmds: &mut Commands) {
    let Some(maps) = input.maps else {
        image::placeholder(ui, "computing flow…");
        return;
    };
    let Some(flow) = &maps.flow else {
        image::placeholder(
            ui,
            maps.error.as_deref().unwrap_or("no flow for this frame"),
        );
        return;
    };
    let s = &input.state.settings;
    let avail = ui.available_size();
    let (rect, _) = image::image_area(ui, 2, (flow.width, flow.height), avail, input.state, cmds);
    let params = DrawParams {
        mode: Mode::Flow { max: s.flow_max },
        ..Default::default()
    };
    image::draw_map(
        ui,
        input,
        rect,
        2,
        image::keyed("flow", maps, 0, flow),
        params,
    );
    if s.flow_arrows {
        draw_arrows(&ui.painter().with_clip_rect(rect), rect, input, flow);
    }
    // Legend: the wheel, saturated at `flow_max` pixels.
    let legend = Rect::from_min_size(rect.right_top() + Vec2::new(-72.0, 8.0), Vec2::splat(64.0));
    if input.gpu {
        crate::render::paint(
            ui.painter(),
            legend,
            3,
            legend_image(),
            DrawParams {
                mode: Mode::Flow { max: 1.0 },
                ..Default::default()
            },
        );
    }
    let painter = ui.painter().with_clip_rect(rect);
    label(
        &painter,
        legend.center_bottom() + Vec2::new(0.0, 4.0),
        egui::Align2::CENTER_TOP,
        format!("{:.1} px", s.flow_max),
    );
    label(
        &painter,
        rect.left_bottom() + Vec2::new(8.0, -8.0),
        egui::Align2::LEFT_BOTTOM,
        maps.flow_origin.clone(),
    );
}

/// White text on a dark plate: the flow's colours are light where it is slow.
fn label(painter: &egui::Painter, at: egui::Pos2, align: egui::Align2, text: String) {
    if text.is_empty() {
        return;
    }
    let galley = painter.layout_no_wrap(text, egui::FontId::proportional(12.0), Color32::WHITE);
    let r = align.anchor_size(at, galley.size());
    painter.rect_filled(r.expand(3.0), 3.0, Color32::from_black_alpha(170));
    painter.galley(r.min, galley, Color32::WHITE);
}

/// Arrows every ~24 screen pixels, length in image pixels scaled to the view.
fn draw_arrows(painter: &egui::Painter, rect: Rect, input: &ViewInput<'_>, flow: &Frame<f32>) {
    let step = 24.0;
    let uv = image::uv_rect(input.state);
    let px_per_image_px = rect.width() / (uv.width() * flow.width as f32);
    let stroke = Stroke::new(1.0, Color32::from_black_alpha(200));
    let mut y = rect.top() + step / 2.0;
    while y < rect.bottom() {
        let mut x = rect.left() + step / 2.0;
        while x < rect.right() {
            let p = egui::pos2(x, y);
            let t = image::screen_to_uv(rect, input.state, p);
            let (fx, fy) = (
                (t[0] * flow.width as f32) as usize,
                (t[1] * flow.height as f32) as usize,
            );
            if fx < flow.width && fy < flow.height {
                let i = 2 * (fy * flow.width + fx);
                let v = Vec2::new(flow.data[i], flow.data[i + 1]);
                if v.is_finite() && v.length() > 0.25 {
                    painter.arrow(p, v * px_per_image_px, stroke);
                }
            }
            x += step;
        }
        y += step;
    }
}
