//! The maps view: reconstruction, prediction and the per-term error maps
//! side by side, each drawn by the shader, with a colour bar.

use std::sync::{Arc, OnceLock};

use eframe::egui::{self, Color32, Rect, Vec2};

use crate::app::image::{self, ViewInput};
use crate::app::state::MapKind;
use crate::app::Commands;
use crate::render::{DrawParams, MapImage, Mode};
use crate::Frame;

/// A horizontal ramp 0..1 (256 wide), colour-mapped into a colour bar.
fn ramp() -> MapImage {
    static RAMP: OnceLock<Arc<Frame<f32>>> = OnceLock::new();
    let f = RAMP.get_or_init(|| {
        Arc::new(Frame {
            width: 256,
            height: 1,
            channels: 1,
            data: (0..256).map(|i| i as f32 / 255.0).collect(),
        })
    });
    MapImage::new("colorbar-ramp", f.clone())
}

/// Draws the view.
pub fn maps_ui(ui: &mut egui::Ui, input: &ViewInput<'_>, cmds: &mut Commands) {
    let Some(maps) = input.maps else {
        image::placeholder(ui, "computing maps…");
        return;
    };
    let panels: Vec<(MapKind, &Arc<Frame<f32>>)> = MapKind::ALL
        .iter()
        .filter_map(|&k| {
            let m = match k {
                MapKind::Recon => maps.recon.as_ref(),
                MapKind::Pred => maps.pred.as_ref(),
                MapKind::ReconError => maps.recon_error.as_ref(),
                MapKind::PredError => maps.pred_error.as_ref(),
            };
            m.map(|m| (k, m))
        })
        .collect();
    if panels.is_empty() {
        // With a model, the origin says why this frame has none (the first
        // frames have no history); without one, how to get one.
        let why = if maps.origin.is_empty() {
            "no reconstruction or prediction maps: they need a model (vadscope open VIDEO --model CKPT)"
                .to_string()
        } else {
            format!("no reconstruction or prediction maps here: {}", maps.origin)
        };
        image::placeholder(ui, &why);
        return;
    }
    let s = &input.state.settings;
    if !maps.origin.is_empty() {
        ui.label(egui::RichText::new(format!("maps: {}", maps.origin)).weak());
    }
    // The colour bar of the error maps.
    let (bar, _) = ui.allocate_exact_size(
        Vec2::new(ui.available_width().min(320.0), 12.0),
        egui::Sense::hover(),
    );
    if input.gpu {
        crate::render::paint(
            ui.painter(),
            bar,
            20,
            ramp(),
            DrawParams {
                mode: Mode::Colormap(s.colormap),
                gamma: s.gamma,
                ..Default::default()
            },
        );
    }
    let cols = if panels.len() > 1 { 2 } else { 1 };
    let rows = panels.len().div_ceil(cols);
    let avail = ui.available_size();
    let cell = Vec2::new(
        avail.x / cols as f32,
        (avail.y / rows as f32 - 18.0).max(40.0),
    );
    egui::Grid::new("maps-grid")
        .spacing([4.0, 2.0])
        .show(ui, |ui| {
            for (n, (kind, map)) in panels.iter().enumerate() {
                ui.vertical(|ui| {
                    let range = if kind.is_error() {
                        image::auto_range(input.state, map)
                    } else {
                        (0.0, 1.0)
                    };
                    ui.label(format!("{} [{:.3}, {:.3}]", kind.label(), range.0, range.1));
                    let (rect, _) = image::image_area(
                        ui,
                        10 + n as u64,
                        // Maps are at the model's input size: shown at the frame's aspect.
                        input.frame_size,
                        cell - Vec2::new(4.0, 0.0),
                        input.state,
                        cmds,
                    );
                    let mode = if kind.is_error() {
                        Mode::Colormap(s.colormap)
                    } else {
                        Mode::Gray
                    };
                    let params = DrawParams {
                        mode,
                        range,
                        gamma: if kind.is_error() { s.gamma } else { 1.0 },
                        ..Default::default()
                    };
                    image::draw_map(
                        ui,
                        input,
                        rect,
                        10 + n as u64,
                        image::keyed(kind.label(), maps, 0, map),
                        params,
                    );
                    if s.map == *kind {
                        ui.painter().rect_stroke(
                            rect,
                            0.0,
                            egui::Stroke::new(1.0, Color32::YELLOW),
                            egui::StrokeKind::Outside,
                        );
                    }
                    let _: Rect = rect;
                });
                if (n + 1) % cols == 0 {
                    ui.end_row();
                }
            }
        });
}
