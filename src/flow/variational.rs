//! Variational refinement of a dense flow field (as in DIS, after Brox et al.).
//!
//! Minimises, for an increment `(du, dv)` on the current flow,
//! `delta * Psi(brightness) + gamma * Psi(gradient constancy) + alpha * Psi(|grad flow|^2)`
//! with `Psi(s^2) = sqrt(s^2 + eps^2)`, data terms normalised by the local
//! gradient magnitude. The robust weights are frozen for each fixed-point
//! iteration, and the linear system that remains is solved by a few red-black
//! SOR sweeps (`sor`), parallel over rows.

use rayon::prelude::*;

use super::pyramid::{gradient, min_rows, sample, Level};
use super::simd::avx2_dispatch;
use super::sor::{RedBlack, System};
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
/// iterations of `sor_iterations` SOR sweeps each.
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
    for buf in [&mut s.du, &mut s.dv] {
        buf.clear();
        buf.resize(np, 0.0);
    }
    // The weights' interior is rewritten by every `coefficients`; only the
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
    derivatives(level, s);
    s.solver.reset(w, h);
    for _ in 0..iterations {
        coefficients(w, h, s, p);
        s.solver.load(&System {
            a11: &s.a11,
            a12: &s.a12,
            a22: &s.a22,
            b1: &s.b1,
            b2: &s.b2,
            sr: &s.sr,
            sd: &s.sd,
        });
        for _ in 0..sor_iterations {
            s.solver.half_sweep(0, OMEGA);
            s.solver.half_sweep(1, OMEGA);
        }
        s.solver.store(&mut s.du, &mut s.dv);
    }
    let ws = w + 2;
    for (f, d) in [(&mut level.u, &s.du), (&mut level.v, &s.dv)] {
        for (y, row) in f.chunks_exact_mut(w).enumerate() {
            let d = &d[(y + 1) * ws + 1..][..w];
            row.iter_mut().zip(d).for_each(|(f, d)| *f += d);
        }
    }
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

/// Warps the second image by the current flow and computes the derivatives of
/// the linearised data terms (spatial ones averaged over both images).
fn derivatives(level: &Level, s: &mut Scratch) {
    let (w, h) = (level.w, level.h);
    let (pw, ph, pad) = (level.pw(), level.ph(), level.pad);
    s.warped
        .par_chunks_mut(w)
        .enumerate()
        .with_min_len(min_rows(w))
        .for_each(|(y, row)| {
            let r = y * w;
            warp_row(
                row,
                &level.i1,
                &level.u[r..r + w],
                &level.v[r..r + w],
                y,
                [pw, ph, pad],
            );
        });
    gradient(&s.warped, w, h, &mut s.gxw, &mut s.gyw);
    let (wf, hf) = ((w - 1) as f32, (h - 1) as f32);
    s.ix.par_chunks_mut(w)
        .zip(s.iy.par_chunks_mut(w))
        .zip(s.iz.par_chunks_mut(w))
        .zip(s.ixz.par_chunks_mut(w))
        .zip(s.iyz.par_chunks_mut(w))
        .enumerate()
        .with_min_len(min_rows(w))
        .for_each(|(y, ((((ix, iy), iz), ixz), iyz))| {
            for x in 0..w {
                let i = y * w + x;
                let (tx, ty) = (x as f32 + level.u[i], y as f32 + level.v[i]);
                // Pixels that move out of the frame have no data term.
                let inside = tx >= 0.0 && tx <= wf && ty >= 0.0 && ty <= hf;
                let m = if inside { 1.0 } else { 0.0 };
                ix[x] = m * 0.5 * (s.gxw[i] + level.gx[i]);
                iy[x] = m * 0.5 * (s.gyw[i] + level.gy[i]);
                iz[x] = m * (s.warped[i] - level.i0[i]);
                ixz[x] = m * (s.gxw[i] - level.gx[i]);
                iyz[x] = m * (s.gyw[i] - level.gy[i]);
            }
        });
    // Second derivatives from the averaged first ones (gxw/gyw reused as scratch).
    gradient(&s.ix, w, h, &mut s.ixx, &mut s.ixy);
    gradient(&s.iy, w, h, &mut s.gxw, &mut s.iyy);
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

/// Robust weights frozen at the current increment, folded into the per-pixel
/// linear system `A [du dv] = b` (smoothness of the base flow included in `b`).
fn coefficients(w: usize, h: usize, s: &mut Scratch, p: &Params) {
    let ws = w + 2;
    let (uu, vv, du, dv) = (&s.uu, &s.vv, &s.du, &s.dv);
    let half_alpha = 0.5 * p.alpha;
    // Smoothness weights from forward differences of the total flow; zero
    // towards the padding.
    s.sr.par_chunks_mut(ws)
        .zip(s.sd.par_chunks_mut(ws))
        .skip(1)
        .take(h)
        .enumerate()
        .with_min_len(min_rows(w))
        .for_each(|(y, (sr, sd))| {
            let c = (y + 1) * ws + 1;
            let (u0, u1, ud) = (&uu[c..][..w], &uu[c + 1..][..w], &uu[c + ws..][..w]);
            let (v0, v1, vd) = (&vv[c..][..w], &vv[c + 1..][..w], &vv[c + ws..][..w]);
            let (d0, d1, dd) = (&du[c..][..w], &du[c + 1..][..w], &du[c + ws..][..w]);
            let (e0, e1, ed) = (&dv[c..][..w], &dv[c + 1..][..w], &dv[c + ws..][..w]);
            let (sr, sd) = (&mut sr[1..=w], &mut sd[1..=w]);
            smooth_row(
                sr,
                sd,
                [u0, u1, ud],
                [v0, v1, vd],
                [d0, d1, dd],
                [e0, e1, ed],
                half_alpha,
            );
            sr[w - 1] = 0.0;
            if y + 1 == h {
                sd.fill(0.0);
            }
        });
    let (sr, sd) = (&s.sr, &s.sd);
    let (ix, iy, iz, ixx, ixy, iyy, ixz, iyz) =
        (&s.ix, &s.iy, &s.iz, &s.ixx, &s.ixy, &s.iyy, &s.ixz, &s.iyz);
    let (delta, gamma) = (p.delta, p.gamma);
    s.a11
        .par_chunks_mut(w)
        .zip(s.a12.par_chunks_mut(w))
        .zip(s.a22.par_chunks_mut(w))
        .zip(s.b1.par_chunks_mut(w))
        .zip(s.b2.par_chunks_mut(w))
        .enumerate()
        .with_min_len(min_rows(w))
        .for_each(|(y, ((((a11, a12), a22), b1), b2))| {
            let r = y * w;
            let (ix, iy, iz) = (&ix[r..][..w], &iy[r..][..w], &iz[r..][..w]);
            let (ixx, ixy, iyy) = (&ixx[r..][..w], &ixy[r..][..w], &iyy[r..][..w]);
            let (ixz, iyz) = (&ixz[r..][..w], &iyz[r..][..w]);
            let c = (y + 1) * ws + 1;
            let (d_u, d_v) = (&du[c..][..w], &dv[c..][..w]);
            let (sl, sr0, su, sd0) = (
                &sr[c - 1..][..w],
                &sr[c..][..w],
                &sd[c - ws..][..w],
                &sd[c..][..w],
            );
            let [u0, ul, ur, uu, ud] = neighbour_rows(uu, c, w, ws);
            let [v0, vl, vr, vu, vd] = neighbour_rows(vv, c, w, ws);
            let inp = [
                ix, iy, iz, ixx, ixy, iyy, ixz, iyz, d_u, d_v, sl, sr0, su, sd0, u0, ul, ur, uu,
                ud, v0, vl, vr, vu, vd,
            ];
            let mut out = [a11, a12, a22, b1, b2];
            coefficient_row(w, &inp, &mut out, delta, gamma);
        });
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
