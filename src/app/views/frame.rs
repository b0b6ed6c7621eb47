//! The frame view: the frame, a heat-map overlay with adjustable opacity,
//! and the ground truth (mask contours, the box tracks of [`super::boxes`]
//! and the mask brush of [`super::brush`]).

use eframe::egui::{self, Color32, Rect, Stroke};

use crate::app::image::{self, ViewInput};
use crate::app::state::MapKind;
use crate::app::Commands;
use crate::render::{DrawParams, Mode};

/// Draws the view.
pub fn frame_ui(ui: &mut egui::Ui, input: &ViewInput<'_>, cmds: &mut Commands) {
    let Some(tex) = input.frame else {
        image::placeholder(ui, "no frame");
        return;
    };
    let avail = ui.available_size();
    let (rect, resp) = image::image_area_no_pan(ui, 1, input.frame_size, avail, input.state, cmds);
    ui.ctx().data_mut(|d| d.insert_temp(image_rect_id(), rect));
    let painter = ui.painter().with_clip_rect(rect);
    image::draw_frame(&painter, rect, tex, input.state);
    draw_overlay(ui, input, rect);
    let mut busy = false;
    if input.state.settings.show_truth {
        draw_mask(&painter, rect, input);
        busy = if input.annotator.brush {
            super::boxes::draw_ui(ui, rect, input);
            super::brush::brush_ui(ui, &resp, rect, input, cmds)
        } else {
            super::boxes::boxes_ui(ui, &resp, rect, input, cmds)
        };
    }
    if !busy {
        image::pan(&resp, rect, input.state, cmds);
    }
    let an = input.annotator;
    let hint = if an.brush && input.state.settings.show_truth {
        Some(format!(
            "brush {:.0} px: drag to paint, Shift-drag to erase (P: off)",
            an.brush_radius_px
        ))
    } else if an.brush || an.box_tool && !input.state.settings.show_truth {
        Some("the ground truth is hidden: show it (View) to edit".to_string())
    } else if an.box_tool {
        Some("box tool: drag to draw (B: off)".to_string())
    } else {
        None
    };
    if let Some(hint) = hint {
        painter.text(
            rect.left_top() + egui::vec2(6.0, 6.0),
            egui::Align2::LEFT_TOP,
            hint,
            egui::FontId::proportional(13.0),
            Color32::from_rgb(255, 220, 60),
        );
    }
}

/// Where the frame's image rect is kept in the context's data.
pub fn image_rect_id() -> egui::Id {
    egui::Id::NULL.with("vadscope-frame-image-rect")
}

/// The selected error map over the frame, if there is one and opacity > 0.
fn draw_overlay(ui: &egui::Ui, input: &ViewInput<'_>, rect: Rect) {
    let s = &input.state.settings;
    if s.overlay_opacity <= 0.0 {
        return;
    }
    let Some(maps) = input.maps else { return };
    let kind = if s.map.is_error() {
        s.map
    } else {
        MapKind::ReconError
    };
    let map = match kind {
        MapKind::PredError => maps.pred_error.as_ref(),
        _ => maps.recon_error.as_ref(),
    };
    let Some(map) = map else { return };
    let params = DrawParams {
        mode: Mode::Colormap(s.colormap),
        range: image::auto_range(input.state, map),
        gamma: s.gamma,
        opacity: s.overlay_opacity,
        ..Default::default()
    };
    let img = image::keyed(kind.label(), maps, 0, map);
    image::draw_map(ui, input, rect, 1, img, params);
}

/// The contour of the current frame's ground-truth mask.
fn draw_mask(painter: &egui::Painter, rect: Rect, input: &ViewInput<'_>) {
    if let Some(m) = input.mask {
        let (mw, mh) = (m.width as f32, m.height as f32);
        let stroke = Stroke::new(1.5, Color32::from_rgb(80, 255, 120));
        for (x0, y0, x1, y1) in contour(&m.pixels, m.width, m.height) {
            let p = |x: usize, y: usize| {
                image::uv_to_screen(rect, input.state, [x as f32 / mw, y as f32 / mh])
            };
            painter.line_segment([p(x0, y0), p(x1, y1)], stroke);
        }
    }
}

/// The boundary of a mask as unit edges between a set and an unset pixel
/// (pixel corners as coordinates), horizontal runs merged.
pub fn contour(mask: &[bool], w: usize, h: usize) -> Vec<(usize, usize, usize, usize)> {
    let at = |x: isize, y: isize| {
        x >= 0
            && y >= 0
            && (x as usize) < w
            && (y as usize) < h
            && mask[y as usize * w + x as usize]
    };
    let mut out = Vec::new();
    // Horizontal edges at the top of row y (between rows y-1 and y), merged into runs.
    for y in 0..=h {
        let mut run: Option<usize> = None;
        for x in 0..=w {
            let edge = x < w && at(x as isize, y as isize) != at(x as isize, y as isize - 1);
            match (edge, run) {
                (true, None) => run = Some(x),
                (false, Some(s)) => {
                    out.push((s, y, x, y));
                    run = None;
                }
                _ => {}
            }
        }
    }
    // Vertical edges at the left of column x, merged down columns.
    for x in 0..=w {
        let mut run: Option<usize> = None;
        for y in 0..=h {
            let edge = y < h && at(x as isize, y as isize) != at(x as isize - 1, y as isize);
            match (edge, run) {
                (true, None) => run = Some(y),
                (false, Some(s)) => {
                    out.push((x, s, x, y));
                    run = None;
                }
                _ => {}
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::contour;

    #[test]
    fn a_square_has_four_edges() {
        // A 2x2 square at (1, 1) in a 4x4 mask.
        let mut m = vec![false; 16];
        for (x, y) in [(1, 1), (2, 1), (1, 2), (2, 2)] {
            m[y * 4 + x] = true;
        }
        let mut c = contour(&m, 4, 4);
        c.sort();
        assert_eq!(
            c,
            vec![(1, 1, 1, 3), (1, 1, 3, 1), (1, 3, 3, 3), (3, 1, 3, 3)]
        );
        assert!(contour(&[false; 16], 4, 4).is_empty());
    }
}
