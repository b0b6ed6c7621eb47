//! ROC plots as PNG, drawn directly with the `image` crate: axes with ticks at
//! 0.2, the chance diagonal, anti-aliased curves and a small built-in font for
//! tick labels, axis names and a legend.

use std::path::Path;

use image::{Rgb, RgbImage};

use crate::error::{Error, Result};

/// One curve to draw.
#[derive(Debug, Clone)]
pub struct Curve<'a> {
    /// False positive rates (x).
    pub fpr: &'a [f64],
    /// True positive rates (y).
    pub tpr: &'a [f64],
    /// Line colour.
    pub color: [u8; 3],
    /// Line width in pixels.
    pub width: f32,
    /// Legend text (upper-case letters, digits, `.`, `=`, space), if any.
    pub label: Option<String>,
}

const SIZE: u32 = 640;
const LEFT: f32 = 80.0;
const BOTTOM: f32 = 70.0;
const TOP: f32 = 30.0;
const RIGHT: f32 = 30.0;

/// 5x7 glyphs, one 5-bit row each, most significant bit left.
fn glyph(c: char) -> [u8; 7] {
    match c {
        '0' => [14, 17, 19, 21, 25, 17, 14],
        '1' => [4, 12, 4, 4, 4, 4, 14],
        '2' => [14, 17, 1, 2, 4, 8, 31],
        '3' => [31, 2, 4, 2, 1, 17, 14],
        '4' => [2, 6, 10, 18, 31, 2, 2],
        '5' => [31, 16, 30, 1, 1, 17, 14],
        '6' => [6, 8, 16, 30, 17, 17, 14],
        '7' => [31, 1, 2, 4, 8, 8, 8],
        '8' => [14, 17, 17, 14, 17, 17, 14],
        '9' => [14, 17, 17, 15, 1, 2, 12],
        '.' => [0, 0, 0, 0, 0, 12, 12],
        '=' => [0, 0, 31, 0, 31, 0, 0],
        'A' => [14, 17, 17, 31, 17, 17, 17],
        'C' => [14, 17, 16, 16, 16, 17, 14],
        'F' => [31, 16, 16, 30, 16, 16, 16],
        'P' => [30, 17, 17, 30, 16, 16, 16],
        'R' => [30, 17, 17, 30, 20, 18, 17],
        'T' => [31, 4, 4, 4, 4, 4, 4],
        'U' => [17, 17, 17, 17, 17, 17, 14],
        _ => [0; 7],
    }
}

/// Width in pixels of `text` at `scale`.
fn text_width(text: &str, scale: u32) -> u32 {
    text.chars().count() as u32 * 6 * scale
}

fn draw_text(img: &mut RgbImage, text: &str, x: u32, y: u32, scale: u32, color: Rgb<u8>) {
    for (k, c) in text.chars().enumerate() {
        for (row, bits) in glyph(c).iter().enumerate() {
            for col in 0..5u32 {
                if bits & (16 >> col) == 0 {
                    continue;
                }
                for dy in 0..scale {
                    for dx in 0..scale {
                        let px = x + (k as u32 * 6 + col) * scale + dx;
                        let py = y + row as u32 * scale + dy;
                        if px < img.width() && py < img.height() {
                            img.put_pixel(px, py, color);
                        }
                    }
                }
            }
        }
    }
}

/// Coverage of one stroke layer (0..1 per pixel); strokes combine by maximum,
/// so joints of a polyline are not drawn twice.
struct Layer(Vec<f32>);

impl Layer {
    fn new() -> Self {
        Layer(vec![0.0; (SIZE * SIZE) as usize])
    }

    /// An anti-aliased segment of `width` pixels: coverage from the distance of
    /// each pixel centre to the segment. `dash` > 0 draws dashes of that length.
    fn segment(&mut self, p: (f32, f32), q: (f32, f32), width: f32, dash: f32) {
        let (dx, dy) = (q.0 - p.0, q.1 - p.1);
        let len2 = dx * dx + dy * dy;
        let h = width / 2.0 + 1.0;
        let (x0, x1) = (p.0.min(q.0) - h, p.0.max(q.0) + h);
        let (y0, y1) = (p.1.min(q.1) - h, p.1.max(q.1) + h);
        let lim = SIZE as f32 - 1.0;
        for y in y0.floor().max(0.0) as u32..=y1.ceil().min(lim) as u32 {
            for x in x0.floor().max(0.0) as u32..=x1.ceil().min(lim) as u32 {
                let (cx, cy) = (x as f32 + 0.5, y as f32 + 0.5);
                let t = if len2 > 0.0 {
                    (((cx - p.0) * dx + (cy - p.1) * dy) / len2).clamp(0.0, 1.0)
                } else {
                    0.0
                };
                if dash > 0.0 && (t * len2.sqrt() / dash) as i64 % 2 == 1 {
                    continue;
                }
                let d = ((cx - p.0 - t * dx).powi(2) + (cy - p.1 - t * dy).powi(2)).sqrt();
                let a = (width / 2.0 + 0.5 - d).clamp(0.0, 1.0);
                let c = &mut self.0[(y * SIZE + x) as usize];
                *c = c.max(a);
            }
        }
    }

    /// Blends the layer in `color` onto `img`.
    fn paint(&self, img: &mut RgbImage, color: [u8; 3]) {
        for (p, &a) in img.pixels_mut().zip(&self.0) {
            if a > 0.0 {
                for (c, &t) in p.0.iter_mut().zip(&color) {
                    *c = (f32::from(*c) * (1.0 - a) + f32::from(t) * a).round() as u8;
                }
            }
        }
    }
}

/// Draws one segment as its own layer.
fn segment(
    img: &mut RgbImage,
    p: (f32, f32),
    q: (f32, f32),
    width: f32,
    color: [u8; 3],
    dash: f32,
) {
    let mut l = Layer::new();
    l.segment(p, q, width, dash);
    l.paint(img, color);
}

/// Renders ROC curves (the first drawn last, on top) to an RGB image.
pub fn render_roc(curves: &[Curve]) -> RgbImage {
    let mut img = RgbImage::from_pixel(SIZE, SIZE, Rgb([255, 255, 255]));
    let w = SIZE as f32 - LEFT - RIGHT;
    let hgt = SIZE as f32 - TOP - BOTTOM;
    let to_px = |x: f64, y: f64| (LEFT + x as f32 * w, TOP + (1.0 - y as f32) * hgt);
    let grey = [225, 225, 225];
    let ink = Rgb([40, 40, 40]);
    for k in 0..=5 {
        let v = f64::from(k) / 5.0;
        segment(&mut img, to_px(v, 0.0), to_px(v, 1.0), 1.0, grey, 0.0);
        segment(&mut img, to_px(0.0, v), to_px(1.0, v), 1.0, grey, 0.0);
        let label = if k == 0 {
            "0".to_owned()
        } else if k == 5 {
            "1".to_owned()
        } else {
            format!("0.{}", 2 * k)
        };
        let (px, py) = to_px(v, v);
        let tw = text_width(&label, 2);
        draw_text(
            &mut img,
            &label,
            (px as u32).saturating_sub(tw / 2),
            (TOP + hgt) as u32 + 12,
            2,
            ink,
        );
        draw_text(
            &mut img,
            &label,
            LEFT as u32 - 12 - tw,
            py as u32 - 7,
            2,
            ink,
        );
    }
    segment(
        &mut img,
        to_px(0.0, 0.0),
        to_px(1.0, 1.0),
        1.5,
        [150, 150, 150],
        8.0,
    );
    let dark = [40, 40, 40];
    segment(&mut img, to_px(0.0, 0.0), to_px(1.0, 0.0), 2.0, dark, 0.0);
    segment(&mut img, to_px(0.0, 0.0), to_px(0.0, 1.0), 2.0, dark, 0.0);
    draw_text(
        &mut img,
        "FPR",
        (LEFT + w / 2.0) as u32 - text_width("FPR", 2) / 2,
        SIZE - 30,
        2,
        ink,
    );
    draw_text(
        &mut img,
        "TPR",
        8,
        TOP as u32 + (hgt / 2.0) as u32 - 7,
        2,
        ink,
    );
    for c in curves.iter().rev() {
        let mut layer = Layer::new();
        for (i, j) in (1..c.fpr.len().min(c.tpr.len())).map(|j| (j - 1, j)) {
            layer.segment(
                to_px(c.fpr[i], c.tpr[i]),
                to_px(c.fpr[j], c.tpr[j]),
                c.width,
                0.0,
            );
        }
        layer.paint(&mut img, c.color);
    }
    let mut y = (TOP + hgt) as u32 - 30;
    for c in curves.iter().filter(|c| c.label.is_some()).rev() {
        let label = c.label.as_deref().unwrap_or_default();
        let x = (LEFT + w) as u32 - text_width(label, 2) - 50;
        segment(
            &mut img,
            (x as f32 - 36.0, y as f32 + 7.0),
            (x as f32 - 8.0, y as f32 + 7.0),
            3.0,
            c.color,
            0.0,
        );
        draw_text(&mut img, label, x, y, 2, ink);
        y -= 24;
    }
    img
}

/// Draws ROC curves and saves them as a PNG at `path` (atomically).
pub fn roc_png(curves: &[Curve], path: &Path) -> Result<()> {
    let img = render_roc(curves);
    let mut bytes = std::io::Cursor::new(Vec::new());
    img.write_to(&mut bytes, image::ImageFormat::Png)
        .map_err(|e| Error::invalid(format!("{}: PNG encoding failed: {e}", path.display())))?;
    crate::save::atomic_write(path, bytes.get_ref())
}
