//! Anti-aliased drawing of simple shapes into a frame, with an object-id buffer.
//!
//! Every shape is a signed distance field in pixels (negative inside); a
//! pixel's coverage is `clamp(0.5 - d, 0, 1)`, evaluated at the pixel centre.
//! Pixels covered at least half record the drawing object's id, so after
//! painting back to front the id buffer says which object is visible where:
//! that is what the ground-truth masks are made of.

/// A point in image coordinates (pixels, y down).
pub(crate) type Pt = (f32, f32);

/// A colour as linear 0..255 red, green, blue.
pub(crate) type Rgb = [f32; 3];

/// The luma of a colour (BT.601 weights), used for gray frames.
pub(crate) fn luma(c: Rgb) -> f32 {
    0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2]
}

/// Scales a colour's brightness by `k`.
pub(crate) fn shade(c: Rgb, k: f32) -> Rgb {
    [c[0] * k, c[1] * k, c[2] * k]
}

/// How a shape changes the pixels it covers.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Paint {
    /// Blend towards a colour; pixels covered at least half take the id
    /// (0 = leave the id buffer alone).
    Solid(Rgb, u32),
    /// Multiply by `1 - k * coverage` (shadows; never changes ids).
    Darken(f32),
}

/// A frame being drawn on, with its id buffer.
pub(crate) struct Canvas<'a> {
    width: usize,
    height: usize,
    channels: usize,
    pixels: &'a mut [u8],
    ids: &'a mut [u32],
}

impl<'a> Canvas<'a> {
    /// Wraps `pixels` (`width * height * channels`) and `ids` (`width * height`).
    pub(crate) fn new(
        width: usize,
        height: usize,
        channels: usize,
        pixels: &'a mut [u8],
        ids: &'a mut [u32],
    ) -> Self {
        debug_assert_eq!(pixels.len(), width * height * channels);
        debug_assert_eq!(ids.len(), width * height);
        Canvas {
            width,
            height,
            channels,
            pixels,
            ids,
        }
    }

    /// Applies `paint` wherever `sdf` covers pixels inside the box (x0, y0, x1, y1).
    fn fill(&mut self, bbox: [f32; 4], paint: Paint, sdf: impl Fn(f32, f32) -> f32) {
        if bbox.iter().any(|v| !v.is_finite()) {
            return;
        }
        let clampx = |v: f32| v.clamp(0.0, self.width as f32) as usize;
        let clampy = |v: f32| v.clamp(0.0, self.height as f32) as usize;
        let (x0, x1) = (clampx(bbox[0] - 1.0), clampx(bbox[2] + 2.0));
        let (y0, y1) = (clampy(bbox[1] - 1.0), clampy(bbox[3] + 2.0));
        let ch = self.channels;
        let color = match paint {
            Paint::Solid(c, _) if ch == 1 => [luma(c); 3],
            Paint::Solid(c, _) => c,
            Paint::Darken(_) => [0.0; 3],
        };
        for y in y0..y1 {
            let py = y as f32 + 0.5;
            for x in x0..x1 {
                let cov = (0.5 - sdf(x as f32 + 0.5, py)).clamp(0.0, 1.0);
                if cov <= 0.0 {
                    continue;
                }
                let i = y * self.width + x;
                let px = &mut self.pixels[i * ch..(i + 1) * ch];
                match paint {
                    Paint::Solid(_, id) => {
                        for (p, &c) in px.iter_mut().zip(&color) {
                            let v = *p as f32;
                            *p = (v + (c - v) * cov).round().clamp(0.0, 255.0) as u8;
                        }
                        if id != 0 && cov >= 0.5 {
                            self.ids[i] = id;
                        }
                    }
                    Paint::Darken(k) => {
                        let f = 1.0 - k * cov;
                        for p in px.iter_mut() {
                            *p = (*p as f32 * f).round() as u8;
                        }
                    }
                }
            }
        }
    }

    /// A disc of radius `r` centred on `c`.
    pub(crate) fn circle(&mut self, c: Pt, r: f32, paint: Paint) {
        let bbox = [c.0 - r, c.1 - r, c.0 + r, c.1 + r];
        self.fill(bbox, paint, |x, y| (x - c.0).hypot(y - c.1) - r);
    }

    /// A ring (circle outline) of radius `r` and line width `w`.
    pub(crate) fn ring(&mut self, c: Pt, r: f32, w: f32, paint: Paint) {
        let o = r + w;
        let bbox = [c.0 - o, c.1 - o, c.0 + o, c.1 + o];
        self.fill(bbox, paint, |x, y| {
            ((x - c.0).hypot(y - c.1) - r).abs() - 0.5 * w
        });
    }

    /// A segment from `a` to `b` with round caps and radius `r` (limbs, poles).
    pub(crate) fn capsule(&mut self, a: Pt, b: Pt, r: f32, paint: Paint) {
        let bbox = [
            a.0.min(b.0) - r,
            a.1.min(b.1) - r,
            a.0.max(b.0) + r,
            a.1.max(b.1) + r,
        ];
        let (dx, dy) = (b.0 - a.0, b.1 - a.1);
        let len2 = (dx * dx + dy * dy).max(1e-9);
        self.fill(bbox, paint, |x, y| {
            let (px, py) = (x - a.0, y - a.1);
            let t = ((px * dx + py * dy) / len2).clamp(0.0, 1.0);
            (px - t * dx).hypot(py - t * dy) - r
        });
    }

    /// An axis-aligned ellipse with radii `rx`, `ry`.
    pub(crate) fn ellipse(&mut self, c: Pt, rx: f32, ry: f32, paint: Paint) {
        let (rx, ry) = (rx.max(1e-3), ry.max(1e-3));
        let bbox = [c.0 - rx, c.1 - ry, c.0 + rx, c.1 + ry];
        self.fill(bbox, paint, |x, y| {
            // First-order distance estimate: the implicit function over its gradient.
            let (qx, qy) = ((x - c.0) / rx, (y - c.1) / ry);
            let k0 = qx.hypot(qy);
            let k1 = (qx / rx).hypot(qy / ry);
            if k1 < 1e-9 {
                -rx.min(ry)
            } else {
                k0 * (k0 - 1.0) / k1
            }
        });
    }

    /// A convex polygon (either winding).
    pub(crate) fn polygon(&mut self, pts: &[Pt], paint: Paint) {
        if pts.len() < 3 {
            return;
        }
        let mut bbox = [f32::MAX, f32::MAX, f32::MIN, f32::MIN];
        let mut area = 0.0;
        for (i, p) in pts.iter().enumerate() {
            let q = pts[(i + 1) % pts.len()];
            area += p.0 * q.1 - q.0 * p.1;
            bbox = [
                bbox[0].min(p.0),
                bbox[1].min(p.1),
                bbox[2].max(p.0),
                bbox[3].max(p.1),
            ];
        }
        if area.abs() < 1e-6 {
            return;
        }
        // Outward unit normals and offsets of the edges' lines.
        let s = area.signum();
        let edges: Vec<(f32, f32, f32)> = (0..pts.len())
            .filter_map(|i| {
                let (p, q) = (pts[i], pts[(i + 1) % pts.len()]);
                let (ex, ey) = (q.0 - p.0, q.1 - p.1);
                let len = ex.hypot(ey);
                (len > 1e-6).then(|| {
                    let (nx, ny) = (s * ey / len, -s * ex / len);
                    (nx, ny, nx * p.0 + ny * p.1)
                })
            })
            .collect();
        self.fill(bbox, paint, |x, y| {
            edges
                .iter()
                .map(|&(nx, ny, d)| nx * x + ny * y - d)
                .fold(f32::MIN, f32::max)
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_cover_what_they_should() {
        let (w, h) = (20, 20);
        let mut px = vec![100u8; w * h];
        let mut ids = vec![0u32; w * h];
        let mut c = Canvas::new(w, h, 1, &mut px, &mut ids);
        c.circle((5.0, 5.0), 3.0, Paint::Solid([255.0; 3], 1));
        c.polygon(
            &[(12.0, 12.0), (18.0, 12.0), (18.0, 18.0), (12.0, 18.0)],
            Paint::Solid([0.0; 3], 2),
        );
        c.ellipse((15.0, 4.0), 3.0, 1.5, Paint::Darken(0.5));
        assert_eq!(ids[5 * w + 5], 1);
        assert_eq!(px[5 * w + 5], 255);
        assert_eq!(ids[15 * w + 15], 2);
        assert_eq!(px[15 * w + 15], 0);
        assert_eq!(ids[4 * w + 15], 0, "shadows never set ids");
        assert_eq!(px[4 * w + 15], 50);
        assert_eq!(ids[0], 0);
        assert_eq!(px[0], 100);
        // The disc covers about pi r^2 pixels.
        let n = ids.iter().filter(|&&i| i == 1).count();
        assert!((24..=32).contains(&n), "{n}");
    }
}
