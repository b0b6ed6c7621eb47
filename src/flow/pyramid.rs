//! Image pyramids (2x2 box averaging), border padding, gradients and flow
//! upsampling between levels.

use rayon::prelude::*;

use super::simd::avx2_dispatch;
use crate::frame::Frame;

/// Pixels per rayon task in row-parallel loops: enough that task overhead
/// stays small next to the work (coarse levels run as one task, inline),
/// few enough that full-size levels still spread over many threads.
const PIXELS_PER_TASK: usize = 4096;

/// Minimum rows per rayon task for rows of `w` pixels.
#[inline]
pub(crate) fn min_rows(w: usize) -> usize {
    (PIXELS_PER_TASK / w.max(1)).max(1)
}

/// One pyramid level: both images, the first one's gradients and the flow.
/// Intensities are scaled to `[0, 255]`, the scale the robust-penalty constants
/// of the search and the refinement are tuned for.
#[derive(Debug, Clone, Default)]
pub(crate) struct Level {
    /// Width in pixels.
    pub w: usize,
    /// Height in pixels.
    pub h: usize,
    /// Border added on each side of `i1`.
    pub pad: usize,
    /// The first image, `w * h`.
    pub i0: Vec<f32>,
    /// The second image with a replicated border of `pad` pixels, `pw() * ph()`.
    pub i1: Vec<f32>,
    /// Horizontal gradient of `i0`.
    pub gx: Vec<f32>,
    /// Vertical gradient of `i0`.
    pub gy: Vec<f32>,
    /// Horizontal flow, `w * h`.
    pub u: Vec<f32>,
    /// Vertical flow, `w * h`.
    pub v: Vec<f32>,
}

impl Level {
    /// Width of the padded second image.
    #[inline]
    pub fn pw(&self) -> usize {
        self.w + 2 * self.pad
    }

    /// Height of the padded second image.
    #[inline]
    pub fn ph(&self) -> usize {
        self.h + 2 * self.pad
    }

    fn reshape(&mut self, w: usize, h: usize, pad: usize) {
        self.w = w;
        self.h = h;
        self.pad = pad;
        let n = w * h;
        for buf in [
            &mut self.i0,
            &mut self.gx,
            &mut self.gy,
            &mut self.u,
            &mut self.v,
        ] {
            buf.resize(n, 0.0);
        }
        self.i1.resize((w + 2 * pad) * (h + 2 * pad), 0.0);
    }
}

/// Fills `levels[..n]` with the pyramids of `prev` and `next` (level 0 = full size).
pub(crate) fn build(
    levels: &mut Vec<Level>,
    prev: &Frame<f32>,
    next: &Frame<f32>,
    n: usize,
    pad: usize,
) {
    levels.resize_with(n.max(levels.len()), Level::default);
    levels.truncate(n);
    let (w, h) = (prev.width, prev.height);
    let l0 = &mut levels[0];
    l0.reshape(w, h, pad);
    let pw = l0.pw();
    l0.i0
        .par_chunks_mut(w * min_rows(w))
        .zip(prev.data.par_chunks(w * min_rows(w)))
        .for_each(|(o, s)| o.iter_mut().zip(s).for_each(|(o, &s)| *o = s * 255.0));
    l0.i1
        .par_chunks_mut(pw)
        .skip(pad)
        .take(h)
        .zip(next.data.par_chunks(w))
        .with_min_len(min_rows(w))
        .for_each(|(o, s)| {
            o[pad..pad + w]
                .iter_mut()
                .zip(s)
                .for_each(|(o, &s)| *o = s * 255.0)
        });
    for l in 1..n {
        let (fine, coarse) = levels.split_at_mut(l);
        let f = &fine[l - 1];
        let c = &mut coarse[0];
        c.reshape(f.w / 2, f.h / 2, pad);
        let (cw, cpw) = (c.w, c.pw());
        c.i0.par_chunks_mut(cw)
            .enumerate()
            .with_min_len(min_rows(cw))
            .for_each(|(y, row)| {
                let (a, b) = (&f.i0[2 * y * f.w..], &f.i0[(2 * y + 1) * f.w..]);
                downsample_row(row, a, b);
            });
        let fpw = f.pw();
        c.i1.par_chunks_mut(cpw)
            .skip(pad)
            .take(c.h)
            .enumerate()
            .with_min_len(min_rows(cw))
            .for_each(|(y, row)| {
                let a = &f.i1[(2 * y + pad) * fpw + pad..];
                let b = &f.i1[(2 * y + 1 + pad) * fpw + pad..];
                downsample_row(&mut row[pad..pad + cw], a, b);
            });
    }
    for lev in levels.iter_mut() {
        pad_border(&mut lev.i1, lev.w, lev.h, lev.pad);
        gradient(&lev.i0, lev.w, lev.h, &mut lev.gx, &mut lev.gy);
    }
}

/// One output row of a 2x2 box downsampling from rows `a` and `b`.
fn downsample_row(out: &mut [f32], a: &[f32], b: &[f32]) {
    for (x, o) in out.iter_mut().enumerate() {
        *o = 0.25 * (a[2 * x] + a[2 * x + 1] + b[2 * x] + b[2 * x + 1]);
    }
}

/// Replicates the interior's edge pixels into the border of a padded image.
fn pad_border(img: &mut [f32], w: usize, h: usize, pad: usize) {
    let pw = w + 2 * pad;
    for y in pad..pad + h {
        let row = &mut img[y * pw..(y + 1) * pw];
        let (l, r) = (row[pad], row[pad + w - 1]);
        row[..pad].fill(l);
        row[pad + w..].fill(r);
    }
    let (top, rest) = img.split_at_mut(pad * pw);
    let first = &rest[..pw];
    top.chunks_exact_mut(pw)
        .for_each(|r| r.copy_from_slice(first));
    let last_start = (pad + h - 1) * pw;
    let (upper, bottom) = img.split_at_mut((pad + h) * pw);
    let last = &upper[last_start..];
    bottom
        .chunks_exact_mut(pw)
        .for_each(|r| r.copy_from_slice(last));
}

/// Central-difference gradients of a `w` x `h` image (one-sided halves at the border).
pub(crate) fn gradient(img: &[f32], w: usize, h: usize, gx: &mut [f32], gy: &mut [f32]) {
    gx.par_chunks_mut(w)
        .zip(gy.par_chunks_mut(w))
        .enumerate()
        .with_min_len(min_rows(w))
        .for_each(|(y, (rx, ry))| {
            let row = |r: usize| &img[r * w..][..w];
            gradient_row(
                [row(y.saturating_sub(1)), row(y), row((y + 1).min(h - 1))],
                rx,
                ry,
            );
        });
}

/// Row `y` of [`gradient`], from image rows `y - 1`, `y`, `y + 1` (the row
/// itself in place of a missing neighbour).
pub(crate) fn gradient_row(rows: [&[f32]; 3], rx: &mut [f32], ry: &mut [f32]) {
    let [up, row, down] = rows;
    let w = row.len();
    if w >= 2 {
        rx[0] = 0.5 * (row[1] - row[0]);
        rx[w - 1] = 0.5 * (row[w - 1] - row[w - 2]);
    } else {
        rx[0] = 0.0;
    }
    for x in 1..w.saturating_sub(1) {
        rx[x] = 0.5 * (row[x + 1] - row[x - 1]);
    }
    for ((o, &d), &u) in ry.iter_mut().zip(down).zip(up) {
        *o = 0.5 * (d - u);
    }
}

/// Sets `fine`'s flow to `coarse`'s, bilinearly upsampled and doubled.
pub(crate) fn upsample_flow(coarse: &Level, fine: &mut Level) {
    let (cw, ch, fw) = (coarse.w, coarse.h, fine.w);
    fine.u
        .par_chunks_mut(fw)
        .zip(fine.v.par_chunks_mut(fw))
        .enumerate()
        .with_min_len(min_rows(fw))
        .for_each_init(Vec::new, |cols, (y, (ru, rv))| {
            // Coarse pixel k covers fine pixels 2k and 2k+1: centres map by
            // x/2 - 1/4, so fine row y sits between coarse rows y0 and y1.
            let fy = (y as f32 * 0.5 - 0.25).clamp(0.0, (ch - 1) as f32);
            let y0 = fy as usize;
            let y1 = (y0 + 1).min(ch - 1);
            let ty = fy - y0 as f32;
            for (out, src) in [(ru, &coarse.u), (rv, &coarse.v)] {
                let (a, b) = (&src[y0 * cw..][..cw], &src[y1 * cw..][..cw]);
                // The vertical step once per coarse column, not per fine pixel.
                cols.clear();
                cols.extend(a.iter().zip(b).map(|(&a, &b)| 2.0 * (a + ty * (b - a))));
                upsample_row(out, cols);
            }
        });
}

avx2_dispatch! {
    /// One fine row from the coarse columns `c` (already interpolated
    /// vertically): fine pixel 2k sits between coarse k-1 and k (weights 1/4,
    /// 3/4) and 2k+1 between k and k+1 (3/4, 1/4), clamped at the edges.
    /// `out` is `2 c.len()` or `2 c.len() + 1` long.
    fn upsample_row(out: &mut [f32], c: &[f32]) {
        let last = c.len() - 1;
        out[0] = c[0];
        // Pixels 2k + 1 and 2k + 2 both lie between coarse k and k + 1.
        for ((o, &l), &r) in out[1..2 * last + 1]
            .chunks_exact_mut(2)
            .zip(&c[..last])
            .zip(&c[1..])
        {
            o[0] = l + 0.25 * (r - l);
            o[1] = l + 0.75 * (r - l);
        }
        let l = c[last];
        out[2 * last + 1] = l;
        if out.len() > 2 * last + 2 {
            out[2 * last + 2] = l;
        }
    }
}

/// Bilinear sample of a padded image at interior coordinates `(x, y)`, clamped to
/// the padded area.
#[inline(always)]
pub(crate) fn sample(img: &[f32], pw: usize, ph: usize, pad: usize, x: f32, y: f32) -> f32 {
    let x = (x + pad as f32).clamp(0.0, (pw - 2) as f32);
    let y = (y + pad as f32).clamp(0.0, (ph - 2) as f32);
    let (x0, y0) = (x as usize, y as usize);
    let (tx, ty) = (x - x0 as f32, y - y0 as f32);
    let i = y0 * pw + x0;
    let top = img[i] + tx * (img[i + 1] - img[i]);
    let bottom = img[i + pw] + tx * (img[i + pw + 1] - img[i + pw]);
    top + ty * (bottom - top)
}
