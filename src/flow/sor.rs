//! Red-black SOR on a colour-split layout.
//!
//! Pixels are split by colour `(x + y) % 2` into two planes sets, each holding
//! half a row per row: a red pixel's four neighbours are all black, at fixed
//! offsets in the black planes. A half-sweep then updates one colour in place
//! with contiguous, vectorisable loops that read only the other colour, and
//! rows are independent, so they run in parallel with no unsafe code.
//!
//! Coordinates here are those of the one-pixel padded planes of
//! `variational`: interior pixels are `1..=w` x `1..=h`.

use rayon::prelude::*;

use super::pyramid::min_rows;
use super::simd::avx2_dispatch;

const DU: usize = 0;
const DV: usize = 1;
const A11: usize = 2;
const A12: usize = 3;
const A22: usize = 4;
const B1: usize = 5;
const B2: usize = 6;
const WL: usize = 7;
const WR: usize = 8;
const WU: usize = 9;
const WD: usize = 10;
/// Planes per colour, stored row-interleaved: row `y` of every plane is one block.
const NPL: usize = 11;

/// The per-pixel linear systems of one fixed-point iteration, in dense layout:
/// `a11`, `a12`, `a22`, `b1`, `b2` are `w * h` (the diagonals inverted), `sr`
/// and `sd` (weights to the right and lower neighbours) are padded.
pub(crate) struct System<'a> {
    pub a11: &'a [f32],
    pub a12: &'a [f32],
    pub a22: &'a [f32],
    pub b1: &'a [f32],
    pub b2: &'a [f32],
    pub sr: &'a [f32],
    pub sd: &'a [f32],
}

/// The colour-split solver state (reused across levels and pairs).
#[derive(Debug, Clone, Default)]
pub(crate) struct RedBlack {
    planes: [Vec<f32>; 2],
    /// Half-row length (entries per plane row).
    hw: usize,
    w: usize,
    h: usize,
}

/// First and one-past-last half-row index of the interior pixels of colour
/// `c` in padded row `y`.
#[inline]
fn span(w: usize, y: usize, c: usize) -> (usize, usize) {
    let o = (y + c) & 1;
    (1 - o, (w - o) / 2 + 1)
}

impl RedBlack {
    /// Sizes for a `w` x `h` level with zero increments.
    pub fn reset(&mut self, w: usize, h: usize) {
        self.w = w;
        self.h = h;
        self.hw = (w + 2) / 2 + 1;
        let hw = self.hw;
        for p in &mut self.planes {
            p.resize((h + 2) * NPL * hw, 0.0);
            // Only the increments must start at zero (border rows included); the
            // system planes are overwritten by `load` wherever they are read.
            for blk in p.chunks_exact_mut(NPL * hw) {
                blk[..2 * hw].fill(0.0);
            }
        }
    }

    /// Loads a system, scattering it into the colour planes.
    pub fn load(&mut self, sys: &System) {
        let (w, h, hw) = (self.w, self.h, self.hw);
        let ws = w + 2;
        let [p0, p1] = &mut self.planes;
        p0.par_chunks_mut(NPL * hw)
            .zip(p1.par_chunks_mut(NPL * hw))
            .enumerate()
            .skip(1)
            .take(h)
            .with_min_len(min_rows(w))
            .for_each(|(y, (b0, b1))| {
                for (c, blk) in [(0, b0), (1, b1)] {
                    let (lo, hi) = span(w, y, c);
                    let o = (y + c) & 1;
                    for k in lo..hi {
                        let x = 2 * k + o;
                        let i = (y - 1) * w + x - 1;
                        let pi = y * ws + x;
                        blk[A11 * hw + k] = sys.a11[i];
                        blk[A12 * hw + k] = sys.a12[i];
                        blk[A22 * hw + k] = sys.a22[i];
                        blk[B1 * hw + k] = sys.b1[i];
                        blk[B2 * hw + k] = sys.b2[i];
                        blk[WL * hw + k] = sys.sr[pi - 1];
                        blk[WR * hw + k] = sys.sr[pi];
                        blk[WU * hw + k] = sys.sd[pi - ws];
                        blk[WD * hw + k] = sys.sd[pi];
                    }
                }
            });
    }

    /// One SOR half-sweep over colour `c` with over-relaxation `omega`.
    pub fn half_sweep(&mut self, c: usize, omega: f32) {
        let (w, h, hw) = (self.w, self.h, self.hw);
        let [p0, p1] = &mut self.planes;
        let (mine, other) = if c == 0 { (p0, &*p1) } else { (p1, &*p0) };
        mine.par_chunks_mut(NPL * hw)
            .enumerate()
            .skip(1)
            .take(h)
            .with_min_len(min_rows(w))
            .for_each(|(y, blk)| {
                let (lo, hi) = span(w, y, c);
                if hi <= lo {
                    return;
                }
                let n = hi - lo;
                let o = (y + c) & 1;
                // Neighbours in the other colour: left at k + o - 1, right at
                // k + o, up and down at k (see the module doc).
                let at = |row: usize, p: usize, k: usize| &other[(row * NPL + p) * hw + k..][..n];
                let (ul, ur) = (at(y, DU, lo + o - 1), at(y, DU, lo + o));
                let (uu, ud) = (at(y - 1, DU, lo), at(y + 1, DU, lo));
                let (vl, vr) = (at(y, DV, lo + o - 1), at(y, DV, lo + o));
                let (vu, vd) = (at(y - 1, DV, lo), at(y + 1, DV, lo));
                let (du, rest) = blk.split_at_mut(hw);
                let (dv, coef) = rest.split_at_mut(hw);
                let (du, dv) = (&mut du[lo..hi], &mut dv[lo..hi]);
                let pl = |p: usize| &coef[(p - 2) * hw + lo..][..n];
                let (a11, a12, a22, b1, b2) = (pl(A11), pl(A12), pl(A22), pl(B1), pl(B2));
                let (wl, wr, wu, wd) = (pl(WL), pl(WR), pl(WU), pl(WD));
                sor_row(
                    du,
                    dv,
                    [ul, ur, uu, ud],
                    [vl, vr, vu, vd],
                    [a11, a12, a22, b1, b2],
                    [wl, wr, wu, wd],
                    omega,
                );
            });
    }

    /// Gathers the increments into padded dense planes (`(w + 2) * (h + 2)`).
    pub fn store(&self, du: &mut [f32], dv: &mut [f32]) {
        let (w, h, hw) = (self.w, self.h, self.hw);
        let ws = w + 2;
        let planes = &self.planes;
        du.par_chunks_mut(ws)
            .zip(dv.par_chunks_mut(ws))
            .enumerate()
            .skip(1)
            .take(h)
            .with_min_len(min_rows(w))
            .for_each(|(y, (ru, rv))| {
                for (c, plane) in planes.iter().enumerate() {
                    let (lo, hi) = span(w, y, c);
                    let o = (y + c) & 1;
                    let row = &plane[y * NPL * hw..];
                    for k in lo..hi {
                        ru[2 * k + o] = row[DU * hw + k];
                        rv[2 * k + o] = row[DV * hw + k];
                    }
                }
            });
    }
}

avx2_dispatch! {
    /// Updates one half-row of increments from the other colour's neighbours
    /// (left, right, up, down), the system and the neighbour weights.
    fn sor_row(
        du: &mut [f32],
        dv: &mut [f32],
        un: [&[f32]; 4],
        vn: [&[f32]; 4],
        sys: [&[f32]; 5],
        wn: [&[f32]; 4],
        omega: f32,
    ) {
        let n = du.len();
        let dv = &mut dv[..n];
        let [ul, ur, uu, ud] = un.map(|r| &r[..n]);
        let [vl, vr, vu, vd] = vn.map(|r| &r[..n]);
        let [a11, a12, a22, b1, b2] = sys.map(|r| &r[..n]);
        let [wl, wr, wu, wd] = wn.map(|r| &r[..n]);
        for k in 0..n {
            let nu = wl[k] * ul[k] + wr[k] * ur[k] + wu[k] * uu[k] + wd[k] * ud[k];
            let nv = wl[k] * vl[k] + wr[k] * vr[k] + wu[k] * vu[k] + wd[k] * vd[k];
            let (u0, v0) = (du[k], dv[k]);
            let u1 = u0 + omega * ((b1[k] + nu - a12[k] * v0) * a11[k] - u0);
            let v1 = v0 + omega * ((b2[k] + nv - a12[k] * u1) * a22[k] - v0);
            du[k] = u1;
            dv[k] = v1;
        }
    }
}
