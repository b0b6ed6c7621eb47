//! Variational refinement of a dense flow field (as in DIS, after Brox et al.).
//!
//! Minimises, for an increment `(du, dv)` on the current flow,
//! `delta * Psi(brightness) + gamma * Psi(gradient constancy) + alpha * Psi(|grad flow|^2)`
//! with `Psi(s^2) = sqrt(s^2 + eps^2)`, data terms normalised by the local
//! gradient magnitude. The robust weights are frozen for each fixed-point
//! iteration, and the linear system that remains is solved by a few red-black
//! SOR sweeps (`sor`). All passes of a level run as one parallel wavefront.

use super::pyramid::{gradient_row, sample, Level};
use super::simd::avx2_dispatch;
use super::sor::{RedBlack, RowSystem, Rows};
use super::wavefront::{self, Shared};
use super::Params;

/// Over-relaxation factor of the SOR sweeps.
const OMEGA: f32 = 1.6;
/// Regulariser of the data-term normalisation (intensities in `[0, 255]`).
const ZETA2: f32 = 0.1 * 0.1;
/// Regulariser of the robust penalty.
const EPS2: f32 = 0.001 * 0.001;

/// Work buffers of the refinement, reused across levels and pairs. Derivative
/// and coefficient planes are `w * h`; flow planes and smoothness weights are
/// padded by one pixel on each side (`(w + 2) * (h + 2)`), so that every pixel
/// has four neighbours and the inner loops need no border branches: weights
/// towards the border are zero.
#[derive(Debug, Clone, Default)]
pub(crate) struct Scratch {
    warped: Vec<f32>,
    gxw: Vec<f32>,
    gyw: Vec<f32>,
    ix: Vec<f32>,
    iy: Vec<f32>,
    iz: Vec<f32>,
    ixx: Vec<f32>,
    ixy: Vec<f32>,
    iyy: Vec<f32>,
    ixz: Vec<f32>,
    iyz: Vec<f32>,
    /// Inverse of the diagonal term for `du`.
    a11: Vec<f32>,
    a12: Vec<f32>,
    /// Inverse of the diagonal term for `dv`.
    a22: Vec<f32>,
    b1: Vec<f32>,
    b2: Vec<f32>,
    // Padded planes.
    uu: Vec<f32>,
    vv: Vec<f32>,
    du: Vec<f32>,
    dv: Vec<f32>,
    /// Smoothness weight between a pixel and its right neighbour.
    sr: Vec<f32>,
    /// Smoothness weight between a pixel and the one below.
    sd: Vec<f32>,
    solver: RedBlack,
}

/// Refines `level.u`/`level.v` in place with `iterations` fixed-point
/// iterations of `sor_iterations` SOR sweeps each. Every pass over the rows
/// (warp, derivatives, then per iteration the smoothness weights, the
/// coefficients, the half-sweeps and the gathering of the increments) is one
/// stage of a single [`wavefront`] run.
pub(crate) fn refine(
    level: &mut Level,
    s: &mut Scratch,
    p: &Params,
    iterations: usize,
    sor_iterations: usize,
) {
    let (w, h) = (level.w, level.h);
    let n = w * h;
    let np = (w + 2) * (h + 2);
    for buf in [
        &mut s.warped,
        &mut s.gxw,
        &mut s.gyw,
        &mut s.ix,
        &mut s.iy,
        &mut s.iz,
        &mut s.ixx,
        &mut s.ixy,
        &mut s.iyy,
        &mut s.ixz,
        &mut s.iyz,
        &mut s.a11,
        &mut s.a12,
        &mut s.a22,
        &mut s.b1,
        &mut s.b2,
    ] {
        buf.resize(n, 0.0);
    }
    // Increments start at zero: the border rows here, the others in the
    // first stage.
    for buf in [&mut s.du, &mut s.dv] {
        buf.resize(np, 0.0);
        buf[..w + 2].fill(0.0);
        buf[np - w - 2..].fill(0.0);
    }
    // The weights' interior is rewritten by every iteration; only the
    // padding (weights towards it) must be zero.
    for buf in [&mut s.sr, &mut s.sd] {
        buf.resize(np, 0.0);
        let ws = w + 2;
        buf[..ws].fill(0.0);
        buf[np - ws..].fill(0.0);
        for row in buf.chunks_exact_mut(ws) {
            row[0] = 0.0;
            row[ws - 1] = 0.0;
        }
    }
    pad_copy(&level.u, w, h, &mut s.uu);
    pad_copy(&level.v, w, h, &mut s.vv);
    s.solver.reset(w, h);
    let stages = Stages::new(level, s, p, iterations, sor_iterations);
    wavefront::run(h, wavefront::block_rows(w), stages.count(), &|k, rows| {
        for y in rows {
            // SAFETY: `Stages::row` keeps the stage contract of `wavefront`
            // (writes row y only, reads rows y - 1 ..= y + 1).
            unsafe { stages.row(k, y) }
        }
    });
}

/// What a stage of [`refine`] does, by its index.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Stage {
    /// Warp the second image by the current flow (and zero the increments).
    Warp,
    /// The warped image's gradient and the linearised data terms.
    Data,
    /// Second derivatives (gradients of the averaged first ones).
    Second,
    /// Smoothness weights from the total flow.
    Smooth,
    /// The per-pixel systems, scattered into the solver's colour planes.
    System,
    /// A red-black half-sweep of the colour given.
    Sweep(usize),
    /// The increments gathered back into dense planes.
    Store,
    /// The increments added to the level's flow.
    Add,
}

/// The buffers of one [`refine`] call, shared by its stages.
struct Stages<'a> {
    w: usize,
    h: usize,
    /// Padded width, padded height and pad of the second image.
    dims: [usize; 3],
    iterations: usize,
    sor_iterations: usize,
    alpha: f32,
    delta: f32,
    gamma: f32,
    i0: &'a [f32],
    i1: &'a [f32],
    gx: &'a [f32],
    gy: &'a [f32],
    uu: &'a [f32],
    vv: &'a [f32],
    u: Shared<'a>,
    v: Shared<'a>,
    warped: Shared<'a>,
    gxw: Shared<'a>,
    gyw: Shared<'a>,
    ix: Shared<'a>,
    iy: Shared<'a>,
    iz: Shared<'a>,
    ixx: Shared<'a>,
    ixy: Shared<'a>,
    iyy: Shared<'a>,
    ixz: Shared<'a>,
    iyz: Shared<'a>,
    a11: Shared<'a>,
    a12: Shared<'a>,
    a22: Shared<'a>,
    b1: Shared<'a>,
    b2: Shared<'a>,
    du: Shared<'a>,
    dv: Shared<'a>,
    sr: Shared<'a>,
    sd: Shared<'a>,
    planes: Rows<'a>,
}

impl<'a> Stages<'a> {
    fn new(
        level: &'a mut Level,
        s: &'a mut Scratch,
        p: &Params,
        iterations: usize,
        sor_iterations: usize,
    ) -> Self {
        let dims = [level.pw(), level.ph(), level.pad];
        let Level {
            w,
            h,
            i0,
            i1,
            gx,
            gy,
            u,
            v,
            ..
        } = level;
        let sh = |b: &'a mut Vec<f32>| Shared::new(b);
        Stages {
            w: *w,
            h: *h,
            dims,
            iterations,
            sor_iterations,
            alpha: p.alpha,
            delta: p.delta,
            gamma: p.gamma,
            i0,
            i1,
            gx,
            gy,
            uu: &s.uu,
            vv: &s.vv,
            u: sh(u),
            v: sh(v),
            warped: sh(&mut s.warped),
            gxw: sh(&mut s.gxw),
            gyw: sh(&mut s.gyw),
            ix: sh(&mut s.ix),
            iy: sh(&mut s.iy),
            iz: sh(&mut s.iz),
            ixx: sh(&mut s.ixx),
            ixy: sh(&mut s.ixy),
            iyy: sh(&mut s.iyy),
            ixz: sh(&mut s.ixz),
            iyz: sh(&mut s.iyz),
            a11: sh(&mut s.a11),
            a12: sh(&mut s.a12),
            a22: sh(&mut s.a22),
            b1: sh(&mut s.b1),
            b2: sh(&mut s.b2),
            du: sh(&mut s.du),
            dv: sh(&mut s.dv),
            sr: sh(&mut s.sr),
            sd: sh(&mut s.sd),
            planes: s.solver.rows(),
        }
    }

    /// Stages per fixed-point iteration: smoothness, system, half-sweeps, store.
    fn per_iteration(&self) -> usize {
        3 + 2 * self.sor_iterations
    }

    /// Number of stages: three of derivatives, the iterations', the add.
    fn count(&self) -> usize {
        3 + self.iterations * self.per_iteration() + 1
    }

    /// Stage `k`.
    fn stage(&self, k: usize) -> Stage {
        match k {
            0 => Stage::Warp,
            1 => Stage::Data,
            2 => Stage::Second,
            k if k + 1 == self.count() => Stage::Add,
            k => match (k - 3) % self.per_iteration() {
                0 => Stage::Smooth,
                1 => Stage::System,
                j if j + 1 == self.per_iteration() => Stage::Store,
                j => Stage::Sweep(j % 2),
            },
        }
    }

    /// Runs stage `k` on dense row `y`.
    ///
    /// # Safety
    /// Called by a [`wavefront`] run of `count()` stages over the `h` rows,
    /// which gives each stage's rows to one worker after the previous stage
    /// is done on them and their neighbours. Each arm writes only row `y` of
    /// the buffers it fills (padded row `y + 1` of padded ones) and reads
    /// rows `y - 1 ..= y + 1` of buffers earlier stages fill.
    unsafe fn row(&self, k: usize, y: usize) {
        let (w, h) = (self.w, self.h);
        let ws = w + 2;
        let r = y * w;
        // Index of column `x0` of padded row `row` in a padded plane.
        let pr = |row: usize, x0: usize| row * ws + x0;
        // SAFETY (every `slice`/`slice_mut` below): the rows follow the
        // contract stated above, stage by stage.
        unsafe {
            match self.stage(k) {
                Stage::Warp => {
                    warp_row(
                        self.warped.slice_mut(r, w),
                        self.i1,
                        self.u.slice(r, w),
                        self.v.slice(r, w),
                        y,
                        self.dims,
                    );
                    self.du.slice_mut(pr(y + 1, 0), ws).fill(0.0);
                    self.dv.slice_mut(pr(y + 1, 0), ws).fill(0.0);
                    self.planes.zero_row(y + 1);
                }
                Stage::Data => {
                    let rows = |b| around(b, y, w, h);
                    let (gxw, gyw) = (self.gxw.slice_mut(r, w), self.gyw.slice_mut(r, w));
                    gradient_row(rows(&self.warped), gxw, gyw);
                    data_row(
                        y,
                        [self.u.slice(r, w), self.v.slice(r, w)],
                        [gxw, gyw, self.warped.slice(r, w)],
                        [&self.gx[r..r + w], &self.gy[r..r + w], &self.i0[r..r + w]],
                        [
                            self.ix.slice_mut(r, w),
                            self.iy.slice_mut(r, w),
                            self.iz.slice_mut(r, w),
                            self.ixz.slice_mut(r, w),
                            self.iyz.slice_mut(r, w),
                        ],
                        h,
                    );
                }
                Stage::Second => {
                    let rows = |b| around(b, y, w, h);
                    // gxw is scratch here: Ixy comes from Ix's vertical gradient.
                    let (ixx, ixy) = (self.ixx.slice_mut(r, w), self.ixy.slice_mut(r, w));
                    gradient_row(rows(&self.ix), ixx, ixy);
                    let (gxw, iyy) = (self.gxw.slice_mut(r, w), self.iyy.slice_mut(r, w));
                    gradient_row(rows(&self.iy), gxw, iyy);
                }
                Stage::Smooth => {
                    let c = pr(y + 1, 1);
                    let three = |b: &'a [f32]| [c, c + 1, c + ws].map(|i| &b[i..i + w]);
                    let three_shared = |b| [c, c + 1, c + ws].map(|i| Shared::slice(b, i, w));
                    let (sr, sd) = (self.sr.slice_mut(c, w), self.sd.slice_mut(c, w));
                    smooth_row(
                        sr,
                        sd,
                        three(self.uu),
                        three(self.vv),
                        three_shared(&self.du),
                        three_shared(&self.dv),
                        0.5 * self.alpha,
                    );
                    sr[w - 1] = 0.0;
                    if y + 1 == h {
                        sd.fill(0.0);
                    }
                }
                Stage::System => {
                    let c = pr(y + 1, 1);
                    let (sl, sr0) = (self.sr.slice(c - 1, w), self.sr.slice(c, w));
                    let (su, sd0) = (self.sd.slice(c - ws, w), self.sd.slice(c, w));
                    let [u0, ul, ur, uu, ud] = neighbour_rows(self.uu, c, w, ws);
                    let [v0, vl, vr, vu, vd] = neighbour_rows(self.vv, c, w, ws);
                    let inp = [
                        self.ix.slice(r, w),
                        self.iy.slice(r, w),
                        self.iz.slice(r, w),
                        self.ixx.slice(r, w),
                        self.ixy.slice(r, w),
                        self.iyy.slice(r, w),
                        self.ixz.slice(r, w),
                        self.iyz.slice(r, w),
                        self.du.slice(c, w),
                        self.dv.slice(c, w),
                        sl,
                        sr0,
                        su,
                        sd0,
                        u0,
                        ul,
                        ur,
                        uu,
                        ud,
                        v0,
                        vl,
                        vr,
                        vu,
                        vd,
                    ];
                    let mut out = [
                        self.a11.slice_mut(r, w),
                        self.a12.slice_mut(r, w),
                        self.a22.slice_mut(r, w),
                        self.b1.slice_mut(r, w),
                        self.b2.slice_mut(r, w),
                    ];
                    coefficient_row(w, &inp, &mut out, self.delta, self.gamma);
                    let [a11, a12, a22, b1, b2] = out;
                    self.planes.load_row(
                        y + 1,
                        &RowSystem {
                            a11,
                            a12,
                            a22,
                            b1,
                            b2,
                            sr: self.sr.slice(pr(y + 1, 0), ws),
                            sd_up: self.sd.slice(pr(y, 0), ws),
                            sd: self.sd.slice(pr(y + 1, 0), ws),
                        },
                    );
                }
                Stage::Sweep(colour) => self.planes.half_sweep_row(colour, y + 1, OMEGA),
                Stage::Store => {
                    let c = pr(y + 1, 0);
                    self.planes.store_row(
                        y + 1,
                        self.du.slice_mut(c, ws),
                        self.dv.slice_mut(c, ws),
                    );
                }
                Stage::Add => {
                    let c = pr(y + 1, 1);
                    for (f, d) in [(&self.u, &self.du), (&self.v, &self.dv)] {
                        let (row, d) = (f.slice_mut(r, w), d.slice(c, w));
                        row.iter_mut().zip(d).for_each(|(f, d)| *f += d);
                    }
                }
            }
        }
    }
}

/// Rows `y - 1`, `y`, `y + 1` of a `w` x `h` plane (row `y` in place of a
/// missing neighbour).
///
/// # Safety
/// No stage writes these rows while the slices live.
unsafe fn around<'b>(b: &'b Shared, y: usize, w: usize, h: usize) -> [&'b [f32]; 3] {
    // SAFETY: no concurrent writer (caller).
    [y.saturating_sub(1), y, (y + 1).min(h - 1)].map(|yy| unsafe { b.slice(yy * w, w) })
}

/// Copies a `w` x `h` plane into a one-pixel padded plane, replicating edges.
fn pad_copy(src: &[f32], w: usize, h: usize, dst: &mut Vec<f32>) {
    let ws = w + 2;
    dst.resize(ws * (h + 2), 0.0);
    for y in 0..h + 2 {
        let sy = y.clamp(1, h) - 1;
        let row = &mut dst[y * ws..(y + 1) * ws];
        row[1..=w].copy_from_slice(&src[sy * w..(sy + 1) * w]);
        row[0] = row[1];
        row[w + 1] = row[w];
    }
}

/// Row `y` of the linearised data terms: `flow` = u, v; `warped` = the warped
/// image's gradients and values; `first` = the first image's gradients and
/// values; `out` = Ix, Iy, Iz, Ixz, Iyz (spatial derivatives averaged over
/// both images).
fn data_row(
    y: usize,
    flow: [&[f32]; 2],
    warped: [&[f32]; 3],
    first: [&[f32]; 3],
    out: [&mut [f32]; 5],
    h: usize,
) {
    let [u, v] = flow;
    let [gxw, gyw, wp] = warped;
    let [gx, gy, i0] = first;
    let [ix, iy, iz, ixz, iyz] = out;
    let w = u.len();
    let (wf, hf) = ((w - 1) as f32, (h - 1) as f32);
    for x in 0..w {
        let (tx, ty) = (x as f32 + u[x], y as f32 + v[x]);
        // Pixels that move out of the frame have no data term.
        let inside = tx >= 0.0 && tx <= wf && ty >= 0.0 && ty <= hf;
        let m = if inside { 1.0 } else { 0.0 };
        ix[x] = m * 0.5 * (gxw[x] + gx[x]);
        iy[x] = m * 0.5 * (gyw[x] + gy[x]);
        iz[x] = m * (wp[x] - i0[x]);
        ixz[x] = m * (gxw[x] - gx[x]);
        iyz[x] = m * (gyw[x] - gy[x]);
    }
}

avx2_dispatch! {
    /// Row `y` of the padded image `img` (`dims` = padded width, height, pad)
    /// sampled bilinearly at `(x + u, y + v)`.
    fn warp_row(out: &mut [f32], img: &[f32], u: &[f32], v: &[f32], y: usize, dims: [usize; 3]) {
        let [pw, ph, pad] = dims;
        for (x, ((o, &u), &v)) in out.iter_mut().zip(u).zip(v).enumerate() {
            *o = sample(img, pw, ph, pad, x as f32 + u, y as f32 + v);
        }
    }
}

avx2_dispatch! {
    /// Smoothness weights of one row from the total flow (`u + du`, `v + dv`)
    /// at the pixel, its right and its lower neighbour.
    fn smooth_row(
        sr: &mut [f32],
        sd: &mut [f32],
        u: [&[f32]; 3],
        v: [&[f32]; 3],
        du: [&[f32]; 3],
        dv: [&[f32]; 3],
        half_alpha: f32,
    ) {
        let w = sr.len();
        let sd = &mut sd[..w];
        let [u0, u1, ud] = u.map(|r| &r[..w]);
        let [v0, v1, vd] = v.map(|r| &r[..w]);
        let [d0, d1, dd] = du.map(|r| &r[..w]);
        let [e0, e1, ed] = dv.map(|r| &r[..w]);
        for x in 0..w {
            let (tu, tv) = (u0[x] + d0[x], v0[x] + e0[x]);
            let (ux, vx) = (u1[x] + d1[x] - tu, v1[x] + e1[x] - tv);
            let (uy, vy) = (ud[x] + dd[x] - tu, vd[x] + ed[x] - tv);
            let g = ux * ux + vx * vx + uy * uy + vy * vy;
            let psi = half_alpha / (g + EPS2).sqrt();
            sr[x] = psi;
            sd[x] = psi;
        }
    }
}

avx2_dispatch! {
    /// The linear system's coefficients for a row of `w` pixels (see
    /// `coefficient_block`).
    fn coefficient_row(
        w: usize,
        inp: &[&[f32]; 24],
        out: &mut [&mut [f32]; 5],
        delta: f32,
        gamma: f32,
    ) {
        // Blocks of 8 lanes on fixed-size arrays vectorise reliably; the tail
        // goes one pixel at a time through the same code.
        let mut x = 0;
        while x + 8 <= w {
            coefficient_block::<8>(x, inp, out, delta, gamma);
            x += 8;
        }
        while x < w {
            coefficient_block::<1>(x, inp, out, delta, gamma);
            x += 1;
        }
    }
}

/// The linear system's coefficients for pixels `x..x + N` of a row. `inp` holds
/// the row slices of: Ix Iy Iz Ixx Ixy Iyy Ixz Iyz du dv, the smoothness
/// weights left right up down, then u and v (centre left right up down);
/// `out` those of a11 a12 a22 b1 b2.
#[inline(always)]
fn coefficient_block<const N: usize>(
    x: usize,
    inp: &[&[f32]; 24],
    out: &mut [&mut [f32]; 5],
    delta: f32,
    gamma: f32,
) {
    let ld = |k: usize| -> [f32; N] {
        let mut a = [0.0; N];
        a.copy_from_slice(&inp[k][x..x + N]);
        a
    };
    let (ix, iy, iz, ixx, ixy, iyy) = (ld(0), ld(1), ld(2), ld(3), ld(4), ld(5));
    let (ixz, iyz, du, dv) = (ld(6), ld(7), ld(8), ld(9));
    let (sl, sr, su, sd) = (ld(10), ld(11), ld(12), ld(13));
    let (u0, ul, ur, uu, ud) = (ld(14), ld(15), ld(16), ld(17), ld(18));
    let (v0, vl, vr, vu, vd) = (ld(19), ld(20), ld(21), ld(22), ld(23));
    let mut o = [[0f32; N]; 5];
    for l in 0..N {
        // Brightness constancy, normalised by the gradient magnitude.
        let nd = ix[l] * ix[l] + iy[l] * iy[l] + ZETA2;
        let rd = iz[l] + ix[l] * du[l] + iy[l] * dv[l];
        let wd = delta / ((rd * rd / nd + EPS2).sqrt() * nd);
        // Gradient constancy, each component normalised.
        let ngx = ixx[l] * ixx[l] + ixy[l] * ixy[l] + ZETA2;
        let ngy = ixy[l] * ixy[l] + iyy[l] * iyy[l] + ZETA2;
        let rgx = ixz[l] + ixx[l] * du[l] + ixy[l] * dv[l];
        let rgy = iyz[l] + ixy[l] * du[l] + iyy[l] * dv[l];
        let wg = gamma / (rgx * rgx / ngx + rgy * rgy / ngy + EPS2).sqrt();
        let (wgx, wgy) = (wg / ngx, wg / ngy);
        let ssum = sl[l] + sr[l] + su[l] + sd[l];
        // The diagonal is stored inverted: SOR multiplies instead of dividing.
        o[0][l] = 1.0
            / (wd * ix[l] * ix[l] + wgx * ixx[l] * ixx[l] + wgy * ixy[l] * ixy[l] + ssum + 1e-6);
        o[1][l] = wd * ix[l] * iy[l] + wgx * ixx[l] * ixy[l] + wgy * ixy[l] * iyy[l];
        o[2][l] = 1.0
            / (wd * iy[l] * iy[l] + wgx * ixy[l] * ixy[l] + wgy * iyy[l] * iyy[l] + ssum + 1e-6);
        let nbu = sl[l] * ul[l] + sr[l] * ur[l] + su[l] * uu[l] + sd[l] * ud[l];
        let nbv = sl[l] * vl[l] + sr[l] * vr[l] + su[l] * vu[l] + sd[l] * vd[l];
        o[3][l] = nbu
            - ssum * u0[l]
            - (wd * ix[l] * iz[l] + wgx * ixx[l] * ixz[l] + wgy * ixy[l] * iyz[l]);
        o[4][l] = nbv
            - ssum * v0[l]
            - (wd * iy[l] * iz[l] + wgx * ixy[l] * ixz[l] + wgy * iyy[l] * iyz[l]);
    }
    for (dst, src) in out.iter_mut().zip(&o) {
        dst[x..x + N].copy_from_slice(src);
    }
}

/// Row slices of a padded plane around index `c`: centre, left, right, up, down.
#[inline(always)]
fn neighbour_rows(f: &[f32], c: usize, w: usize, ws: usize) -> [&[f32]; 5] {
    [
        &f[c..][..w],
        &f[c - 1..][..w],
        &f[c + 1..][..w],
        &f[c - ws..][..w],
        &f[c + ws..][..w],
    ]
}
