//! An RGB picture that export frames are drawn on: views blitted side by
//! side, heat maps blended over them, ground-truth outlines and boxes, and
//! the lines of the score curve. Everything is clipped to the canvas, so a
//! box that leaves the frame draws what is inside.

use super::colormap::Colormap;
use crate::frame::Frame;
use crate::truth::pixels::PixelMask;

/// An RGB image, 8 bits per channel, rows top to bottom.
#[derive(Debug, Clone, PartialEq)]
pub struct Canvas {
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
    /// `width * height * 3` bytes, interleaved RGB.
    pub data: Vec<u8>,
}

/// A rectangle of the canvas, in pixels: `x, y` its top-left corner.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Area {
    /// Left edge.
    pub x: usize,
    /// Top edge.
    pub y: usize,
    /// Width.
    pub w: usize,
    /// Height.
    pub h: usize,
}

impl Canvas {
    /// A canvas filled with `background`.
    pub fn new(width: usize, height: usize, background: [u8; 3]) -> Canvas {
        Canvas {
            width,
            height,
            data: background.repeat(width * height),
        }
    }

    /// The colour at `(x, y)`; black outside.
    pub fn pixel(&self, x: usize, y: usize) -> [u8; 3] {
        if x >= self.width || y >= self.height {
            return [0; 3];
        }
        let i = (y * self.width + x) * 3;
        [self.data[i], self.data[i + 1], self.data[i + 2]]
    }

    /// Sets `(x, y)` (signed, so lines may start outside); ignored outside.
    pub fn put(&mut self, x: i64, y: i64, c: [u8; 3]) {
        if x < 0 || y < 0 || x as usize >= self.width || y as usize >= self.height {
            return;
        }
        let i = (y as usize * self.width + x as usize) * 3;
        self.data[i..i + 3].copy_from_slice(&c);
    }

    /// Mixes `c` into `(x, y)` with weight `alpha` in `[0, 1]`.
    fn mix(&mut self, x: usize, y: usize, c: [u8; 3], alpha: f32) {
        let i = (y * self.width + x) * 3;
        for (d, &c) in self.data[i..i + 3].iter_mut().zip(&c) {
            let v = *d as f32 * (1.0 - alpha) + c as f32 * alpha;
            *d = v.round().clamp(0.0, 255.0) as u8;
        }
    }

    /// Fills `area` with `c`.
    pub fn fill(&mut self, area: Area, c: [u8; 3]) {
        for y in area.y..(area.y + area.h).min(self.height) {
            for x in area.x..(area.x + area.w).min(self.width) {
                self.put(x as i64, y as i64, c);
            }
        }
    }

    /// Copies `img` (gray or RGB, 8-bit) into `area`, scaled to fill it
    /// (nearest neighbour: exports show pixels as they are).
    pub fn blit(&mut self, img: &Frame<u8>, area: Area) {
        if img.width == 0 || img.height == 0 || img.channels == 0 {
            return;
        }
        for y in 0..area.h.min(self.height.saturating_sub(area.y)) {
            let sy = (y * img.height / area.h.max(1)).min(img.height - 1);
            for x in 0..area.w.min(self.width.saturating_sub(area.x)) {
                let sx = (x * img.width / area.w.max(1)).min(img.width - 1);
                let s = (sy * img.width + sx) * img.channels;
                let c = if img.channels >= 3 {
                    [img.data[s], img.data[s + 1], img.data[s + 2]]
                } else {
                    [img.data[s]; 3]
                };
                self.put((area.x + x) as i64, (area.y + y) as i64, c);
            }
        }
    }

    /// Draws the values `t` (`w * h`, each in `[0, 1]`) over `area` in the
    /// colours of `map`: each pixel is mixed with weight `opacity * t`, so
    /// that low values leave the picture under them visible. `opacity` 1 with
    /// `solid` paints the map itself (every pixel fully covered).
    pub fn heat(
        &mut self,
        t: &[f32],
        (w, h): (usize, usize),
        area: Area,
        map: Colormap,
        opacity: f32,
        solid: bool,
    ) {
        if w == 0 || h == 0 || t.len() != w * h {
            return;
        }
        for y in 0..area.h.min(self.height.saturating_sub(area.y)) {
            let sy = (y * h / area.h.max(1)).min(h - 1);
            for x in 0..area.w.min(self.width.saturating_sub(area.x)) {
                let sx = (x * w / area.w.max(1)).min(w - 1);
                let v = t[sy * w + sx];
                let v = if v.is_finite() {
                    v.clamp(0.0, 1.0)
                } else {
                    0.0
                };
                let alpha = if solid { opacity } else { opacity * v };
                if alpha > 0.0 {
                    self.mix(area.x + x, area.y + y, map.eval_u8(v), alpha.min(1.0));
                }
            }
        }
    }

    /// Outlines the anomalous pixels of `mask` (scaled to `area`): a canvas
    /// pixel is drawn when it is inside the mask and a neighbour is not.
    pub fn outline(&mut self, mask: &PixelMask, area: Area, c: [u8; 3]) {
        let (mw, mh) = (mask.width, mask.height);
        if mw == 0 || mh == 0 || mask.pixels.len() != mw * mh {
            return;
        }
        let inside = |x: i64, y: i64| {
            if x < 0 || y < 0 || x as usize >= area.w || y as usize >= area.h {
                return false;
            }
            let sx = (x as usize * mw / area.w).min(mw - 1);
            let sy = (y as usize * mh / area.h).min(mh - 1);
            mask.pixels[sy * mw + sx]
        };
        for y in 0..area.h as i64 {
            for x in 0..area.w as i64 {
                if inside(x, y)
                    && !(inside(x - 1, y)
                        && inside(x + 1, y)
                        && inside(x, y - 1)
                        && inside(x, y + 1))
                {
                    self.put(area.x as i64 + x, area.y as i64 + y, c);
                }
            }
        }
    }

    /// A rectangle's border `thickness` pixels wide, inside `x0..x1, y0..y1`.
    pub fn rect(&mut self, x0: i64, y0: i64, x1: i64, y1: i64, thickness: i64, c: [u8; 3]) {
        for k in 0..thickness.max(1) {
            self.line(x0, y0 + k, x1 - 1, y0 + k, c);
            self.line(x0, y1 - 1 - k, x1 - 1, y1 - 1 - k, c);
            self.line(x0 + k, y0, x0 + k, y1 - 1, c);
            self.line(x1 - 1 - k, y0, x1 - 1 - k, y1 - 1, c);
        }
    }

    /// A one-pixel line from `(x0, y0)` to `(x1, y1)`, both ends included
    /// (Bresenham).
    pub fn line(&mut self, x0: i64, y0: i64, x1: i64, y1: i64, c: [u8; 3]) {
        let (dx, dy) = ((x1 - x0).abs(), -(y1 - y0).abs());
        let (sx, sy) = (if x0 < x1 { 1 } else { -1 }, if y0 < y1 { 1 } else { -1 });
        let (mut x, mut y, mut err) = (x0, y0, dx + dy);
        // A line across a huge canvas ends: at most this many steps.
        for _ in 0..=(dx - dy) {
            self.put(x, y, c);
            if x == x1 && y == y1 {
                break;
            }
            let e2 = 2 * err;
            if e2 >= dy {
                err += dy;
                x += sx;
            }
            if e2 <= dx {
                err += dx;
                y += sy;
            }
        }
    }

    /// The canvas as an RGB frame.
    pub fn into_frame(self) -> Frame<u8> {
        let (w, h) = (self.width, self.height);
        Frame::from_vec(w, h, 3, self.data).unwrap_or_else(|| Frame::new(w, h, 3))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blit_scales_and_clips() {
        let img = Frame::from_vec(2, 1, 1, vec![10u8, 200]).unwrap();
        let mut c = Canvas::new(5, 2, [0, 0, 0]);
        c.blit(
            &img,
            Area {
                x: 1,
                y: 0,
                w: 4,
                h: 4,
            },
        );
        assert_eq!(c.pixel(0, 0), [0; 3]);
        assert_eq!(c.pixel(1, 0), [10; 3]);
        assert_eq!(c.pixel(2, 1), [10; 3]);
        assert_eq!(c.pixel(3, 1), [200; 3]);
        assert_eq!(c.pixel(4, 0), [200; 3]);
    }

    #[test]
    fn heat_leaves_low_values_alone_and_paints_high_ones() {
        let mut c = Canvas::new(2, 1, [100, 100, 100]);
        let area = Area {
            x: 0,
            y: 0,
            w: 2,
            h: 1,
        };
        c.heat(&[0.0, 1.0], (2, 1), area, Colormap::Inferno, 1.0, false);
        assert_eq!(c.pixel(0, 0), [100; 3]);
        assert_eq!(c.pixel(1, 0), Colormap::Inferno.eval_u8(1.0));
        let mut half = Canvas::new(1, 1, [0, 0, 0]);
        half.heat(&[1.0], (1, 1), area, Colormap::Inferno, 0.5, false);
        let top = Colormap::Inferno.eval_u8(1.0);
        for (got, top) in half.pixel(0, 0).into_iter().zip(top) {
            assert!((got as i32 - top as i32 / 2).abs() <= 1);
        }
    }

    #[test]
    fn outline_draws_the_border_of_a_mask_only() {
        let mut mask = PixelMask::blank(6, 6);
        for y in 1..5 {
            for x in 1..5 {
                mask.pixels[y * 6 + x] = true;
            }
        }
        let mut c = Canvas::new(6, 6, [0, 0, 0]);
        let area = Area {
            x: 0,
            y: 0,
            w: 6,
            h: 6,
        };
        c.outline(&mask, area, [0, 255, 0]);
        assert_eq!(c.pixel(1, 1), [0, 255, 0]);
        assert_eq!(c.pixel(4, 2), [0, 255, 0]);
        assert_eq!(c.pixel(2, 2), [0, 0, 0], "the inside stays");
        assert_eq!(c.pixel(0, 0), [0, 0, 0], "the outside stays");
    }

    #[test]
    fn lines_and_rects_clip_to_the_canvas() {
        let mut c = Canvas::new(4, 4, [0, 0, 0]);
        c.line(-10, 1, 10, 1, [9, 9, 9]);
        assert!((0..4).all(|x| c.pixel(x, 1) == [9; 3]));
        c.rect(0, 0, 4, 4, 1, [1, 2, 3]);
        assert_eq!(c.pixel(0, 3), [1, 2, 3]);
        assert_eq!(c.pixel(3, 0), [1, 2, 3]);
        assert_eq!(c.pixel(2, 2), [0; 3]);
    }
}
