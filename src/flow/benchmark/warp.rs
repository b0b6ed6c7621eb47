//! Pairs made from real frames by known motions: a background warped by a
//! smooth flow, with textured objects moving on their own over it.
//!
//! The second frame is the real (resized) frame; the first is made by
//! sampling it, `prev(q) = next(q + F(q))`, so `F` is exactly the flow from
//! `prev` to `next` (the convention of `benches/reference/flow_opencv.py`).
//! Objects are layers in front: a shape cut from another frame, placed at
//! `c` in `prev` and at `c + d`, scaled by `s` about its centre, in `next`.
//! Coordinates here are pixel indices (pixel `x` is at `x`).

use crate::flow::Flow;
use crate::frame::Frame;
use crate::synth::Rng;

/// A gray frame sampled bilinearly at `(x, y)`, clamped at the edges.
pub(super) fn sample(img: &Frame<f32>, x: f32, y: f32) -> f32 {
    let (w, h) = (img.width, img.height);
    let x = x.clamp(0.0, (w - 1) as f32);
    let y = y.clamp(0.0, (h - 1) as f32);
    let (x0, y0) = (x as usize, y as usize);
    let (x1, y1) = ((x0 + 1).min(w - 1), (y0 + 1).min(h - 1));
    let (tx, ty) = (x - x0 as f32, y - y0 as f32);
    let g = |xx: usize, yy: usize| img.data[yy * w + xx];
    let top = g(x0, y0) + (g(x1, y0) - g(x0, y0)) * tx;
    let bottom = g(x0, y1) + (g(x1, y1) - g(x0, y1)) * tx;
    top + (bottom - top) * ty
}

/// A random smooth flow of `w` x `h` whose longest vector is `max_px`: an
/// affine part, three low-frequency sinusoids and a Gaussian blob.
pub(super) fn smooth_flow(rng: &mut Rng, w: usize, h: usize, max_px: f32) -> Flow {
    let normal = |rng: &mut Rng| gaussian(rng);
    let a: Vec<f32> = (0..6).map(|_| normal(rng)).collect();
    let waves: Vec<[f32; 5]> = (0..3)
        .map(|_| {
            let tau = std::f32::consts::TAU;
            [
                rng.range(-2.5, 2.5) * tau,
                rng.range(-2.5, 2.5) * tau,
                rng.range(0.0, tau),
                0.7 * normal(rng),
                0.7 * normal(rng),
            ]
        })
        .collect();
    let (bx, by, br) = (
        rng.range(0.2, 0.8),
        rng.range(0.2, 0.8),
        rng.range(0.05, 0.15),
    );
    let (bu, bv) = (2.0 * normal(rng), 2.0 * normal(rng));
    let mut flow = Flow::zeros(w, h);
    let side = w.max(h) as f32;
    for y in 0..h {
        for x in 0..w {
            let (xs, ys) = (x as f32 / side, y as f32 / side);
            let mut u = a[0] + a[1] * (xs - 0.5) + a[2] * (ys - 0.5);
            let mut v = a[3] + a[4] * (xs - 0.5) + a[5] * (ys - 0.5);
            for wv in &waves {
                let s = (wv[0] * xs + wv[1] * ys + wv[2]).sin();
                u += wv[3] * s;
                v += wv[4] * s;
            }
            let g = (-((xs - bx).powi(2) + (ys - by).powi(2)) / (2.0 * br * br)).exp();
            u += bu * g;
            v += bv * g;
            flow.data[2 * (y * w + x)] = u;
            flow.data[2 * (y * w + x) + 1] = v;
        }
    }
    let longest = flow
        .data
        .chunks_exact(2)
        .map(|p| p[0].hypot(p[1]))
        .fold(0.0f32, f32::max);
    let k = max_px / longest.max(1e-9);
    flow.data.iter_mut().for_each(|v| *v *= k);
    flow
}

/// A standard normal sample (Box-Muller).
pub(super) fn gaussian(rng: &mut Rng) -> f32 {
    let u1 = rng.f32().max(1e-7);
    let u2 = rng.f32();
    (-2.0 * u1.ln()).sqrt() * (std::f32::consts::TAU * u2).cos()
}

/// A log-uniform sample in `lo..hi` (displacements: as many small as large).
pub(super) fn log_uniform(rng: &mut Rng, lo: f32, hi: f32) -> f32 {
    (lo.ln() + (hi.ln() - lo.ln()) * rng.f32()).exp()
}

/// An object layer: a rounded shape textured from another frame.
#[derive(Debug, Clone)]
pub(super) struct Object {
    /// Centre in `prev`.
    pub centre: (f32, f32),
    /// Half-axes in pixels.
    pub radii: (f32, f32),
    /// Rotation of the shape (radians).
    pub angle: f32,
    /// Superellipse exponent: 2 is an ellipse, larger is boxier.
    pub power: f32,
    /// Where the texture comes from: texture pixel = `q + offset`.
    pub offset: (f32, f32),
    /// Contrast gain of the texture (sets the object apart from the background).
    pub gain: f32,
    /// Translation from `prev` to `next`.
    pub shift: (f32, f32),
    /// Scale about the centre from `prev` to `next`.
    pub scale: f32,
}

impl Object {
    /// A random object on a `w` x `h` frame, moving by up to `max_shift` px.
    pub fn random(rng: &mut Rng, w: usize, h: usize, max_shift: f32) -> Object {
        let side = w.min(h) as f32;
        let len = log_uniform(rng, 0.5, max_shift);
        let dir = rng.range(0.0, std::f32::consts::TAU);
        Object {
            centre: (
                rng.range(0.1, 0.9) * w as f32,
                rng.range(0.1, 0.9) * h as f32,
            ),
            radii: (side * rng.range(0.05, 0.19), side * rng.range(0.05, 0.19)),
            angle: rng.range(0.0, std::f32::consts::PI),
            power: rng.range(2.0, 6.0),
            offset: (
                rng.range(-0.3, 0.3) * w as f32,
                rng.range(-0.3, 0.3) * h as f32,
            ),
            gain: rng.range(0.7, 1.3),
            shift: (len * dir.cos(), len * dir.sin()),
            scale: rng.range(0.95, 1.05),
        }
    }

    /// Coverage (0..1) of the object at local offset `(lx, ly)` from its
    /// centre in its own unscaled frame; `px` is the size of a pixel there.
    fn coverage(&self, lx: f32, ly: f32, px: f32) -> f32 {
        let (s, c) = self.angle.sin_cos();
        let (a, b) = (c * lx + s * ly, -s * lx + c * ly);
        let p = self.power;
        let n = ((a / self.radii.0).abs().powf(p) + (b / self.radii.1).abs().powf(p)).powf(1.0 / p);
        // Signed distance in pixels, approximately (exact on the axes).
        let sdf = (n - 1.0) * self.radii.0.min(self.radii.1) / px;
        (0.5 - sdf).clamp(0.0, 1.0)
    }

    /// The texture at local offset `(lx, ly)`.
    fn texture(&self, tex: &Frame<f32>, lx: f32, ly: f32) -> f32 {
        let v = sample(
            tex,
            self.centre.0 + lx + self.offset.0,
            self.centre.1 + ly + self.offset.1,
        );
        (0.5 + (v - 0.5) * self.gain).clamp(0.0, 1.0)
    }
}

/// A pair with its truth, as made here (gray `f32` frames).
#[derive(Debug, Clone)]
pub(super) struct Made {
    pub prev: Frame<f32>,
    pub next: Frame<f32>,
    pub flow: Flow,
    pub valid: Vec<bool>,
    pub occluded: Vec<bool>,
}

/// Composes the pair: `base` warped by `bg` behind `objects` (front last),
/// whose texture comes from `tex`.
pub(super) fn compose(base: &Frame<f32>, bg: &Flow, objects: &[Object], tex: &Frame<f32>) -> Made {
    let (w, h) = (base.width, base.height);
    let mut prev = Frame::new(w, h, 1);
    let mut next = base.clone();
    let mut ids0 = vec![0u32; w * h];
    let mut ids1 = vec![0u32; w * h];
    for y in 0..h {
        for x in 0..w {
            let k = y * w + x;
            let (u, v) = bg.at(x, y);
            let mut p = sample(base, x as f32 + u, y as f32 + v);
            let mut n = next.data[k];
            for (j, o) in objects.iter().enumerate() {
                let (lx, ly) = (x as f32 - o.centre.0, y as f32 - o.centre.1);
                let a = o.coverage(lx, ly, 1.0);
                if a > 0.0 {
                    p += (o.texture(tex, lx, ly) - p) * a;
                    if a >= 0.5 {
                        ids0[k] = j as u32 + 1;
                    }
                }
                // In `next` the object sits at centre + shift, scaled.
                let (mx, my) = (
                    (x as f32 - o.centre.0 - o.shift.0) / o.scale,
                    (y as f32 - o.centre.1 - o.shift.1) / o.scale,
                );
                let a = o.coverage(mx, my, 1.0 / o.scale);
                if a > 0.0 {
                    n += (o.texture(tex, mx, my) - n) * a;
                    if a >= 0.5 {
                        ids1[k] = j as u32 + 1;
                    }
                }
            }
            prev.data[k] = p;
            next.data[k] = n;
        }
    }
    let mut flow = Flow::zeros(w, h);
    for y in 0..h {
        for x in 0..w {
            let k = y * w + x;
            let (u, v) = match ids0[k] as usize {
                0 => bg.at(x, y),
                j => {
                    let o = &objects[j - 1];
                    let (lx, ly) = (x as f32 - o.centre.0, y as f32 - o.centre.1);
                    (
                        o.shift.0 + (o.scale - 1.0) * lx,
                        o.shift.1 + (o.scale - 1.0) * ly,
                    )
                }
            };
            flow.data[2 * k] = u;
            flow.data[2 * k + 1] = v;
        }
    }
    let (valid, occluded) = super::visibility(&flow, &vec![true; w * h], &ids0, &ids1);
    Made {
        prev,
        next,
        flow,
        valid,
        occluded,
    }
}

/// A photometric change between the frames.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Change {
    /// `next = gain * next + offset`.
    Brightness { gain: f32, offset: f32 },
    /// Gaussian blur of one frame (`of_next`: which one).
    Blur { sigma: f32, of_next: bool },
    /// Independent Gaussian noise on both frames (standard deviation, 0..1 units).
    Noise { sigma: f32 },
}

impl Change {
    /// One to three random changes of moderate strength.
    pub fn random(rng: &mut Rng) -> Vec<Change> {
        let mut out = Vec::new();
        while out.is_empty() {
            if rng.chance(0.6) {
                out.push(Change::Brightness {
                    gain: rng.range(0.75, 1.25),
                    offset: rng.range(-0.08, 0.08),
                });
            }
            if rng.chance(0.5) {
                out.push(Change::Blur {
                    sigma: rng.range(0.5, 1.5),
                    of_next: rng.chance(0.5),
                });
            }
            if rng.chance(0.6) {
                out.push(Change::Noise {
                    sigma: rng.range(0.005, 0.03),
                });
            }
        }
        out
    }

    /// A short description for the manifest.
    pub fn describe(&self) -> String {
        match self {
            Change::Brightness { gain, offset } => format!("gain {gain:.2} offset {offset:+.3}"),
            Change::Blur { sigma, of_next } => {
                format!(
                    "blur {sigma:.2} of {}",
                    if *of_next { "next" } else { "prev" }
                )
            }
            Change::Noise { sigma } => format!("noise {:.1}/255", sigma * 255.0),
        }
    }

    /// Applies the change to the pair.
    pub fn apply(&self, rng: &mut Rng, prev: &mut Frame<f32>, next: &mut Frame<f32>) {
        match *self {
            Change::Brightness { gain, offset } => {
                for v in &mut next.data {
                    *v = (*v * gain + offset).clamp(0.0, 1.0);
                }
            }
            Change::Blur { sigma, of_next } => blur(if of_next { next } else { prev }, sigma),
            Change::Noise { sigma } => {
                for v in prev.data.iter_mut().chain(next.data.iter_mut()) {
                    *v = (*v + sigma * gaussian(rng)).clamp(0.0, 1.0);
                }
            }
        }
    }
}

/// Separable Gaussian blur in place (edges clamped).
fn blur(img: &mut Frame<f32>, sigma: f32) {
    let r = (3.0 * sigma).ceil() as isize;
    let taps: Vec<f32> = (-r..=r)
        .map(|i| (-(i * i) as f32 / (2.0 * sigma * sigma)).exp())
        .collect();
    let sum: f32 = taps.iter().sum();
    let (w, h) = (img.width as isize, img.height as isize);
    let mut tmp = img.data.clone();
    for pass in 0..2 {
        let src = if pass == 0 {
            img.data.clone()
        } else {
            tmp.clone()
        };
        let dst = if pass == 0 { &mut tmp } else { &mut img.data };
        for y in 0..h {
            for x in 0..w {
                let mut acc = 0.0;
                for (t, &k) in taps.iter().enumerate() {
                    let o = t as isize - r;
                    let (xx, yy) = if pass == 0 {
                        ((x + o).clamp(0, w - 1), y)
                    } else {
                        (x, (y + o).clamp(0, h - 1))
                    };
                    acc += k * src[(yy * w + xx) as usize];
                }
                dst[(y * w + x) as usize] = acc / sum;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A textured test frame (smooth, so bilinear warps are accurate).
    fn texture(w: usize, h: usize) -> Frame<f32> {
        let data = (0..w * h)
            .map(|k| {
                let (x, y) = ((k % w) as f32, (k / w) as f32);
                0.5 + 0.25 * (x * 0.21).sin() * (y * 0.17).cos()
                    + 0.2 * (0.05 * (x + 2.0 * y)).sin()
            })
            .collect();
        Frame::from_vec(w, h, 1, data).unwrap()
    }

    #[test]
    fn composed_pairs_obey_their_flow() {
        let (w, h) = (96, 80);
        let base = texture(w, h);
        let mut rng = Rng::new(3);
        let bg = smooth_flow(&mut rng, w, h, 4.0);
        let longest = bg
            .data
            .chunks_exact(2)
            .map(|p| p[0].hypot(p[1]))
            .fold(0.0f32, f32::max);
        assert!((longest - 4.0).abs() < 1e-3, "{longest}");
        let mut o = Object::random(&mut rng, w, h, 6.0);
        o.centre = (40.0, 40.0);
        o.radii = (14.0, 10.0);
        let made = compose(&base, &bg, std::slice::from_ref(&o), &base);
        // Away from edges and occlusions, prev(q) = next(q + F(q)).
        let mut residuals = Vec::new();
        for y in 4..h - 4 {
            for x in 4..w - 4 {
                let k = y * w + x;
                if !made.valid[k] || made.occluded[k] {
                    continue;
                }
                let (u, v) = made.flow.at(x, y);
                let d = (sample(&made.next, x as f32 + u, y as f32 + v) - made.prev.data[k]).abs();
                // Object edges blend two layers; skip pixels near the outline.
                let (lx, ly) = (x as f32 - o.centre.0, y as f32 - o.centre.1);
                let cov = o.coverage(lx, ly, 1.0);
                if cov > 0.0 && cov < 1.0 {
                    continue;
                }
                residuals.push(d);
            }
        }
        assert!(residuals.len() > w * h / 2, "{}", residuals.len());
        // A destination next to the object's outline in `next` samples a
        // blended pixel: a few residuals are large, almost all are tiny.
        residuals.sort_by(f32::total_cmp);
        let q = |f: f32| residuals[((residuals.len() - 1) as f32 * f) as usize];
        assert!(
            q(0.5) < 0.002 && q(0.97) < 0.02,
            "residuals: median {}, 97th percentile {}",
            q(0.5),
            q(0.97)
        );
        // The object moved, so something behind it or in front of it is occluded.
        assert!(made.occluded.iter().any(|&o| o));
        assert!(made.occluded.iter().filter(|&&o| o).count() < w * h / 4);
    }

    #[test]
    fn changes_are_applied_and_bounded() {
        let base = texture(32, 32);
        let (mut a, mut b) = (base.clone(), base.clone());
        let mut rng = Rng::new(5);
        Change::Brightness {
            gain: 1.2,
            offset: 0.05,
        }
        .apply(&mut rng, &mut a, &mut b);
        assert_eq!(a, base);
        assert!((b.data[0] - (base.data[0] * 1.2 + 0.05).min(1.0)).abs() < 1e-6);
        let before = b.clone();
        Change::Blur {
            sigma: 1.0,
            of_next: true,
        }
        .apply(&mut rng, &mut a, &mut b);
        assert_ne!(b, before);
        let var = |f: &Frame<f32>| {
            let m = f.data.iter().sum::<f32>() / f.data.len() as f32;
            f.data.iter().map(|v| (v - m).powi(2)).sum::<f32>()
        };
        assert!(var(&b) < var(&before), "blur lowers the variance");
        Change::Noise { sigma: 0.02 }.apply(&mut rng, &mut a, &mut b);
        assert_ne!(a, base);
        assert!(a
            .data
            .iter()
            .chain(&b.data)
            .all(|v| (0.0..=1.0).contains(v)));
    }
}
