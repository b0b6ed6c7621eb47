//! Red-black SOR on a colour-split layout.
//!
//! Pixels are split by colour `(x + y) % 2` into two planes sets, each holding
//! half a row per row: a red pixel's four neighbours are all black, at fixed
//! offsets in the black planes. A half-sweep then updates one colour in place
//! with contiguous, vectorisable loops that read only the other colour, and
//! rows are independent: the rows of a half-sweep run in parallel, as stages
//! of a [`wavefront`](super::wavefront) run.
//!
//! Coordinates here are those of the one-pixel padded planes of
//! `variational`: interior pixels are `1..=w` x `1..=h`.

use super::simd::avx2_dispatch;
use super::wavefront::Shared;

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

/// The linear system of one row, as `variational` computes it: `a11`, `a12`,
/// `a22`, `b1`, `b2` are the row's `w` pixels (the diagonals inverted); `sr`
/// (weights to the right neighbour) is the padded row, `sd` (to the lower
/// neighbour) the padded row and the one above it.
pub(crate) struct RowSystem<'a> {
    pub a11: &'a [f32],
    pub a12: &'a [f32],
    pub a22: &'a [f32],
    pub b1: &'a [f32],
    pub b2: &'a [f32],
    pub sr: &'a [f32],
    pub sd_up: &'a [f32],
    pub sd: &'a [f32],
}

/// The colour-split solver state (reused across levels and pairs).
#[derive(Debug, Clone, Default)]
pub(crate) struct RedBlack {
    planes: [Vec<f32>; 2],
    /// Half-row length (entries per plane row).
    hw: usize,
    w: usize,
}

/// First and one-past-last half-row index of the interior pixels of colour
/// `c` in padded row `y`.
#[inline]
fn span(w: usize, y: usize, c: usize) -> (usize, usize) {
    let o = (y + c) & 1;
    (1 - o, (w - o) / 2 + 1)
}

impl RedBlack {
    /// Sizes for a `w` x `h` level. The increments of the border rows are
    /// zeroed here, those of rows `1..=h` by [`Rows::zero_row`].
    pub fn reset(&mut self, w: usize, h: usize) {
        self.w = w;
        self.hw = (w + 2) / 2 + 1;
        let hw = self.hw;
        for p in &mut self.planes {
            p.resize((h + 2) * NPL * hw, 0.0);
            // Only the increments must start at zero; the system planes are
            // overwritten by `load_row` wherever they are read.
            for y in [0, h + 1] {
                p[y * NPL * hw..][..2 * hw].fill(0.0);
            }
        }
    }

    /// The planes as the stages of a [`wavefront`](super::wavefront) run share them.
    pub fn rows(&mut self) -> Rows<'_> {
        let [p0, p1] = &mut self.planes;
        Rows {
            planes: [Shared::new(p0), Shared::new(p1)],
            hw: self.hw,
            w: self.w,
        }
    }
}

/// Row access to [`RedBlack`]'s planes for the stages of one wavefront run.
/// Rows are padded rows, `1..=h`. Each method writes only row `y` (of one
/// plane or both) and reads rows `y - 1 ..= y + 1`: the stage contract of
/// [`wavefront`](super::wavefront), which the callers keep by giving each stage its own rows.
pub(crate) struct Rows<'a> {
    planes: [Shared<'a>; 2],
    hw: usize,
    w: usize,
}

impl Rows<'_> {
    /// Zeroes row `y`'s increments in both colours.
    ///
    /// # Safety
    /// Called from a wavefront stage that owns row `y`, before any stage
    /// that reads row `y`'s increments.
    pub unsafe fn zero_row(&self, y: usize) {
        for plane in &self.planes {
            // SAFETY: row y's increments belong to this stage (caller).
            unsafe { plane.slice_mut(y * NPL * self.hw, 2 * self.hw) }.fill(0.0);
        }
    }

    /// Scatters row `y`'s system into the colour planes.
    ///
    /// # Safety
    /// Called from a wavefront stage that owns row `y`, with no other stage
    /// of the same run touching row `y`'s coefficients concurrently.
    pub unsafe fn load_row(&self, y: usize, sys: &RowSystem) {
        let (w, hw) = (self.w, self.hw);
        for c in 0..2 {
            let (lo, hi) = span(w, y, c);
            if hi <= lo {
                continue;
            }
            let n = hi - lo;
            // Pixel x = 2k + o of this colour is dense column x - 1; the
            // first one, k = lo, is column `first`.
            let first = 2 * lo + ((y + c) & 1) - 1;
            // SAFETY: row y's coefficient part belongs to this stage (caller).
            let blk = unsafe { self.planes[c].slice_mut((y * NPL + A11) * hw, (NPL - A11) * hw) };
            for (p, src) in [
                (A11, &sys.a11[first..]),
                (A12, &sys.a12[first..]),
                (A22, &sys.a22[first..]),
                (B1, &sys.b1[first..]),
                (B2, &sys.b2[first..]),
                // Padded columns: x - 1 (left), x (right, up, down).
                (WL, &sys.sr[first..]),
                (WR, &sys.sr[first + 1..]),
                (WU, &sys.sd_up[first + 1..]),
                (WD, &sys.sd[first + 1..]),
            ] {
                every_other(&mut blk[(p - A11) * hw + lo..][..n], src);
            }
        }
    }

    /// One SOR half-sweep of colour `c` over row `y` with over-relaxation `omega`.
    ///
    /// # Safety
    /// Called from a wavefront stage that owns row `y`, in which no stage
    /// writes the other colour (so rows `y - 1 ..= y + 1` of it are stable).
    pub unsafe fn half_sweep_row(&self, c: usize, y: usize, omega: f32) {
        let (w, hw) = (self.w, self.hw);
        let (lo, hi) = span(w, y, c);
        if hi <= lo {
            return;
        }
        let n = hi - lo;
        let o = (y + c) & 1;
        let other = &self.planes[1 - c];
        // Neighbours in the other colour: left at k + o - 1, right at
        // k + o, up and down at k (see the module doc).
        // SAFETY: the other colour is not written in this stage (caller).
        let at =
            |row: usize, p: usize, k: usize| unsafe { other.slice((row * NPL + p) * hw + k, n) };
        let (ul, ur) = (at(y, DU, lo + o - 1), at(y, DU, lo + o));
        let (uu, ud) = (at(y - 1, DU, lo), at(y + 1, DU, lo));
        let (vl, vr) = (at(y, DV, lo + o - 1), at(y, DV, lo + o));
        let (vu, vd) = (at(y - 1, DV, lo), at(y + 1, DV, lo));
        // SAFETY: row y of this colour belongs to this stage (caller).
        let blk = unsafe { self.planes[c].slice_mut(y * NPL * hw, NPL * hw) };
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
    }

    /// Gathers row `y`'s increments into padded dense rows (`w + 2` long).
    /// The border columns get the planes' entries outside the colour spans,
    /// which stay zero.
    ///
    /// # Safety
    /// Called from a wavefront stage in which no stage writes row `y`'s
    /// increments.
    pub unsafe fn store_row(&self, y: usize, ru: &mut [f32], rv: &mut [f32]) {
        let hw = self.hw;
        // Even padded columns 2k are colour (y & 1)'s entry k, odd ones 2k + 1
        // the other colour's.
        let even = y & 1;
        // SAFETY: row y's increments are not written in this stage (caller).
        let (e, o) = unsafe {
            (
                self.planes[even].slice(y * NPL * hw, 2 * hw),
                self.planes[1 - even].slice(y * NPL * hw, 2 * hw),
            )
        };
        interleave(ru, &e[DU * hw..][..hw], &o[DU * hw..][..hw]);
        interleave(rv, &e[DV * hw..][..hw], &o[DV * hw..][..hw]);
    }
}

avx2_dispatch! {
    /// `dst[j] = src[2 j]` for every `j` of `dst` (`src` at least `2 dst.len() - 1` long).
    fn every_other(dst: &mut [f32], src: &[f32]) {
        let n = dst.len();
        if n == 0 {
            return;
        }
        // Pairs of the source, then its last value alone: fixed-size chunks
        // let the loop vectorise (a strided index does not).
        let (pairs, _) = src[..2 * n - 2].as_chunks::<2>();
        let (last, head) = dst.split_last_mut().expect("n > 0");
        for (d, p) in head.iter_mut().zip(pairs) {
            *d = p[0];
        }
        *last = src[2 * n - 2];
    }
}

avx2_dispatch! {
    /// `dst[2 k] = even[k]`, `dst[2 k + 1] = odd[k]` over all of `dst`.
    fn interleave(dst: &mut [f32], even: &[f32], odd: &[f32]) {
        let pairs = dst.len() / 2;
        let (even, odd) = (&even[..dst.len().div_ceil(2)], &odd[..pairs]);
        for (k, d) in dst.chunks_exact_mut(2).enumerate() {
            d[0] = even[k];
            d[1] = odd[k];
        }
        if dst.len() % 2 == 1 {
            dst[2 * pairs] = even[pairs];
        }
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
