//! The memory view: for a chosen layer, the attention of every position to a
//! chosen slot, the arg-max slot map in categorical colours or the entropy
//! map, and a slot browser (each slot's usage over the video and on this
//! frame; click to choose).

use std::sync::Arc;

use eframe::egui::{self, Color32, Sense, Vec2};

use crate::app::image::{self, ViewInput};
use crate::app::state::{Command, MemoryMode};
use crate::app::Commands;
use crate::render::{colormap, DrawParams, MapImage, Mode};
use crate::score::AttentionMap;
use crate::Frame;

/// Draws the view.
pub fn memory_ui(ui: &mut egui::Ui, input: &ViewInput<'_>, cmds: &mut Commands) {
    let Some(maps) = input.maps else {
        image::placeholder(ui, "computing maps…");
        return;
    };
    if maps.attention.is_empty() {
        // With a model, an empty map says why (e.g. a frame without enough
        // history); without one, how to get one.
        let why = if maps.origin.is_empty() {
            "no memory attention: it needs a model (vadscope open VIDEO --model CKPT)".to_string()
        } else {
            format!("no memory attention here: {}", maps.origin)
        };
        image::placeholder(ui, &why);
        return;
    }
    let st = input.state;
    let (layer_i, slot) = st.memory;
    let layer_i = layer_i.min(maps.attention.len() - 1);
    let att = &maps.attention[layer_i];
    let slot = slot.min(att.slots.saturating_sub(1));
    ui.horizontal(|ui| {
        egui::ComboBox::from_label("layer")
            .selected_text(att.layer.as_str())
            .show_ui(ui, |ui| {
                for (i, a) in maps.attention.iter().enumerate() {
                    if ui
                        .selectable_label(i == layer_i, a.layer.as_str())
                        .clicked()
                    {
                        cmds.send(Command::SetMemoryLayer(i));
                    }
                }
            });
        for (m, label) in [
            (MemoryMode::Slot, "slot attention"),
            (MemoryMode::ArgMax, "arg-max slot"),
            (MemoryMode::Entropy, "entropy"),
        ] {
            if ui
                .selectable_label(st.settings.memory_mode == m, label)
                .clicked()
            {
                cmds.send(Command::SetMemoryMode(m));
            }
        }
        let mut s = slot;
        if ui
            .add(egui::Slider::new(&mut s, 0..=att.slots.saturating_sub(1)).text("slot"))
            .changed()
        {
            cmds.send(Command::SetMemorySlot(s));
        }
    });
    slot_browser_ui(ui, input, att, layer_i, slot, cmds);

    let (values, mode, range) = match st.settings.memory_mode {
        MemoryMode::Slot => {
            let v = att.slot(slot.min(att.slots.saturating_sub(1)));
            let hi = v.iter().copied().fold(1e-6f32, f32::max);
            (v, Mode::Colormap(st.settings.colormap), (0.0, hi))
        }
        MemoryMode::ArgMax => (
            att.argmax().into_iter().map(|s| s as f32).collect(),
            Mode::Categorical,
            (0.0, 1.0),
        ),
        MemoryMode::Entropy => (
            att.entropy(),
            Mode::Colormap(st.settings.colormap),
            (0.0, (att.slots.max(2) as f32).ln()),
        ),
    };
    let frame = Arc::new(Frame {
        width: att.width,
        height: att.height,
        channels: 1,
        data: values,
    });
    let avail = ui.available_size();
    let (rect, _) = image::image_area(ui, 30, input.frame_size, avail, st, cmds);
    if let Some(tex) = input.frame {
        image::draw_frame(&ui.painter().with_clip_rect(rect), rect, tex, st);
    }
    let variant = layer_i * 100_000 + slot * 4 + st.settings.memory_mode as usize;
    let params = DrawParams {
        mode,
        range,
        gamma: st.settings.gamma,
        opacity: 0.85,
        ..Default::default()
    };
    image::draw_map(
        ui,
        input,
        rect,
        30,
        image::keyed("memory", maps, variant, &frame),
        params,
    );
}

/// The slot browser: each slot's usage over the whole video (rows: slots,
/// columns: time, drawn by the colour-map shader) when scores carry it, and
/// this frame's usage as bars. Clicking a row chooses the slot; clicking the
/// strip also seeks to that time.
fn slot_browser_ui(
    ui: &mut egui::Ui,
    input: &ViewInput<'_>,
    att: &AttentionMap,
    layer_i: usize,
    slot: usize,
    cmds: &mut Commands,
) {
    let st = input.state;
    let width = ui.available_width();
    let row_h = (96.0 / att.slots.max(1) as f32).clamp(2.0, 8.0);
    let strip = input
        .store
        .usage
        .image(layer_i, width.max(1.0) as usize)
        .filter(|img| img.height == att.slots);
    if let Some(img) = strip {
        ui.label(egui::RichText::new("slot usage over the video (rows: slots)").weak());
        let size = Vec2::new(width, row_h * att.slots as f32);
        let (rect, resp) = ui.allocate_exact_size(size, Sense::click());
        if input.gpu {
            let params = DrawParams {
                mode: Mode::Colormap(st.settings.colormap),
                range: (0.0, 1.0),
                gamma: 0.5,
                ..Default::default()
            };
            let key = ("slot-usage", layer_i, input.store.usage.serial, img.width);
            crate::render::paint(
                ui.painter(),
                rect,
                31,
                MapImage::new(key, Arc::new(img)),
                params,
            );
        }
        let row = egui::Rect::from_x_y_ranges(
            rect.x_range(),
            rect.top() + slot as f32 * row_h..=rect.top() + (slot + 1) as f32 * row_h,
        );
        let stroke = egui::Stroke::new(1.0, Color32::YELLOW);
        ui.painter()
            .rect_stroke(row, 0.0, stroke, egui::StrokeKind::Outside);
        let x = rect.left() + rect.width() * (st.current as f32 + 0.5) / st.frames.max(1) as f32;
        ui.painter().vline(x, rect.y_range(), stroke);
        if let Some(p) = resp.interact_pointer_pos().filter(|_| resp.clicked()) {
            let s = ((p.y - rect.top()) / row_h).floor().max(0.0) as usize;
            let f = ((p.x - rect.left()) / rect.width() * st.frames as f32).max(0.0) as usize;
            cmds.send(Command::SetMemorySlot(s.min(att.slots - 1)));
            cmds.send(Command::Seek(f.min(st.frames.saturating_sub(1))));
        }
    }
    // This frame's usage: one bar per slot (click one to choose its slot).
    let usage = att.usage();
    let max = usage.iter().copied().fold(1e-9f32, f32::max);
    let (bars, _) = ui.allocate_exact_size(Vec2::new(width, 36.0), Sense::hover());
    let bw = bars.width() / usage.len().max(1) as f32;
    for (i, &u) in usage.iter().enumerate() {
        let cell = egui::Rect::from_min_max(
            egui::pos2(bars.left() + i as f32 * bw, bars.top()),
            egui::pos2(bars.left() + (i + 1) as f32 * bw, bars.bottom()),
        );
        let h = (u / max) * bars.height();
        let bar = egui::Rect::from_min_max(
            egui::pos2(cell.left(), cell.bottom() - h.max(1.0)),
            egui::pos2(cell.right() - 1.0, cell.bottom()),
        );
        let c = colormap::category_color(i as u32).map(|v| (v * 255.0) as u8);
        let color = if i == slot {
            Color32::YELLOW
        } else {
            Color32::from_rgb(c[0], c[1], c[2])
        };
        ui.painter().rect_filled(bar, 0.0, color);
        let resp = ui.interact(cell, ui.scope_id().with(("slot", i)), Sense::click());
        resp.widget_info(|| {
            egui::WidgetInfo::labeled(egui::Role::Button, true, format!("slot {i}"))
        });
        if resp.clicked() {
            cmds.send(Command::SetMemorySlot(i));
        }
        resp.on_hover_text(format!("slot {i}: mean attention {u:.4} on this frame"));
    }
}
