//! Variational refinement of a dense flow field (as in DIS, after Brox et al.).
//!
//! Minimises, for an increment `(du, dv)` on the current flow,
//! `delta * Psi(brightness) + gamma * Psi(gradient constancy) + alpha * Psi(|grad flow|^2)`
//! with `Psi(s^2) = sqrt(s^2 + eps^2)`, data terms normalised by the local
//! gradient magnitude. The robust weights are frozen for each fixed-point
//! iteration, and the linear system that remains is solved by a few red-black
//! SOR sweeps, parallel over rows.

use rayon::prelude::*;

use super::pyramid::{gradient, sample, Level, ROWS_PER_TASK};
use super::Params;

/// Over-relaxation factor of the SOR sweeps.
const OMEGA: f32 = 1.6;
/// Regulariser of the data-term normalisation (intensities in `[0, 255]`).
const ZETA2: f32 = 0.1 * 0.1;
/// Regulariser of the robust penalty.
const EPS2: f32 = 0.001 * 0.001;

/// Work buffers of the refinement, reused across levels and pairs.
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
    du: Vec<f32>,
    dv: Vec<f32>,
    a11: Vec<f32>,
    a12: Vec<f32>,
    a22: Vec<f32>,
    b1: Vec<f32>,
    b2: Vec<f32>,
    smooth: Vec<f32>,
}

/// A raw pointer that rayon tasks may share. Red-black SOR writes pixels of one
/// colour while reading only pixels of the other, so tasks never touch the same
/// element concurrently; access goes through raw pointers, never references.
#[derive(Clone, Copy)]
struct Shared(*mut f32);
// SAFETY: see the type's doc: concurrent accesses are to distinct elements.
unsafe impl Send for Shared {}
// SAFETY: as above.
unsafe impl Sync for Shared {}

/// Refines `level.u`/`level.v` in place with `iterations` fixed-point iterations.
pub(crate) fn refine(level: &mut Level, s: &mut Scratch, p: &Params, iterations: usize) {
    let (w, h) = (level.w, level.h);
    let n = w * h;
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
        &mut s.smooth,
    ] {
        buf.resize(n, 0.0);
    }
    s.du.clear();
    s.du.resize(n, 0.0);
    s.dv.clear();
    s.dv.resize(n, 0.0);
    derivatives(level, s);
    for _ in 0..iterations {
        coefficients(level, s, p);
        for _ in 0..p.sor_iterations {
            sor_half_sweep(s, w, h, 0);
            sor_half_sweep(s, w, h, 1);
        }
    }
    level
        .u
        .par_iter_mut()
        .zip(&s.du)
        .with_min_len(w * ROWS_PER_TASK)
        .for_each(|(u, d)| *u += d);
    level
        .v
        .par_iter_mut()
        .zip(&s.dv)
        .with_min_len(w * ROWS_PER_TASK)
        .for_each(|(v, d)| *v += d);
}

/// Warps the second image by the current flow and computes the derivatives of
/// the linearised data terms (spatial ones averaged over both images).
fn derivatives(level: &Level, s: &mut Scratch) {
    let (w, h) = (level.w, level.h);
    let (pw, ph, pad) = (level.pw(), level.ph(), level.pad);
    s.warped
        .par_chunks_mut(w)
        .enumerate()
        .with_min_len(ROWS_PER_TASK)
        .for_each(|(y, row)| {
            for (x, o) in row.iter_mut().enumerate() {
                let i = y * w + x;
                *o = sample(
                    &level.i1,
                    pw,
                    ph,
                    pad,
                    x as f32 + level.u[i],
                    y as f32 + level.v[i],
                );
            }
        });
    gradient(&s.warped, w, h, &mut s.gxw, &mut s.gyw);
    let (wf, hf) = ((w - 1) as f32, (h - 1) as f32);
    s.ix.par_chunks_mut(w)
        .zip(s.iy.par_chunks_mut(w))
        .zip(s.iz.par_chunks_mut(w))
        .zip(s.ixz.par_chunks_mut(w))
        .zip(s.iyz.par_chunks_mut(w))
        .enumerate()
        .with_min_len(ROWS_PER_TASK)
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

/// Robust weights frozen at the current increment, folded into the per-pixel
/// linear system `A [du dv] = b` (smoothness of the base flow included in `b`).
fn coefficients(level: &Level, s: &mut Scratch, p: &Params) {
    let (w, h) = (level.w, level.h);
    let (u, v) = (&level.u, &level.v);
    let (du, dv) = (&s.du, &s.dv);
    // Smoothness weights from forward differences of the total flow.
    s.smooth
        .par_chunks_mut(w)
        .enumerate()
        .with_min_len(ROWS_PER_TASK)
        .for_each(|(y, row)| {
            for (x, o) in row.iter_mut().enumerate() {
                let i = y * w + x;
                let (tu, tv) = (u[i] + du[i], v[i] + dv[i]);
                let (mut g, r, d) = (0.0, i + 1, i + w);
                if x + 1 < w {
                    g += (u[r] + du[r] - tu).powi(2) + (v[r] + dv[r] - tv).powi(2);
                }
                if y + 1 < h {
                    g += (u[d] + du[d] - tu).powi(2) + (v[d] + dv[d] - tv).powi(2);
                }
                *o = p.alpha * 0.5 / (g + EPS2).sqrt();
            }
        });
    let sm = &s.smooth;
    let (ix, iy, iz, ixx, ixy, iyy, ixz, iyz) = (
        &s.ix, &s.iy, &s.iz, &s.ixx, &s.ixy, &s.iyy, &s.ixz, &s.iyz,
    );
    s.a11
        .par_chunks_mut(w)
        .zip(s.a12.par_chunks_mut(w))
        .zip(s.a22.par_chunks_mut(w))
        .zip(s.b1.par_chunks_mut(w))
        .zip(s.b2.par_chunks_mut(w))
        .enumerate()
        .with_min_len(ROWS_PER_TASK)
        .for_each(|(y, ((((a11, a12), a22), b1), b2))| {
            for x in 0..w {
                let i = y * w + x;
                let (d_u, d_v) = (du[i], dv[i]);
                // Brightness constancy, normalised by the gradient magnitude.
                let nd = ix[i] * ix[i] + iy[i] * iy[i] + ZETA2;
                let rd = iz[i] + ix[i] * d_u + iy[i] * d_v;
                let wd = p.delta / (rd * rd / nd + EPS2).sqrt() / nd;
                // Gradient constancy, each component normalised.
                let ngx = ixx[i] * ixx[i] + ixy[i] * ixy[i] + ZETA2;
                let ngy = ixy[i] * ixy[i] + iyy[i] * iyy[i] + ZETA2;
                let rgx = ixz[i] + ixx[i] * d_u + ixy[i] * d_v;
                let rgy = iyz[i] + ixy[i] * d_u + iyy[i] * d_v;
                let wg = p.gamma / (rgx * rgx / ngx + rgy * rgy / ngy + EPS2).sqrt();
                let (wgx, wgy) = (wg / ngx, wg / ngy);
                // Smoothness: neighbour weights and the base flow's Laplacian.
                let sl = if x > 0 { sm[i - 1] } else { 0.0 };
                let sr = if x + 1 < w { sm[i] } else { 0.0 };
                let su = if y > 0 { sm[i - w] } else { 0.0 };
                let sd = if y + 1 < h { sm[i] } else { 0.0 };
                let ssum = sl + sr + su + sd;
                let nb = |f: &[f32]| {
                    let mut acc = -ssum * f[i];
                    if x > 0 {
                        acc += sl * f[i - 1];
                    }
                    if x + 1 < w {
                        acc += sr * f[i + 1];
                    }
                    if y > 0 {
                        acc += su * f[i - w];
                    }
                    if y + 1 < h {
                        acc += sd * f[i + w];
                    }
                    acc
                };
                a11[x] = wd * ix[i] * ix[i] + wgx * ixx[i] * ixx[i] + wgy * ixy[i] * ixy[i] + ssum + 1e-6;
                a12[x] = wd * ix[i] * iy[i] + wgx * ixx[i] * ixy[i] + wgy * ixy[i] * iyy[i];
                a22[x] = wd * iy[i] * iy[i] + wgx * ixy[i] * ixy[i] + wgy * iyy[i] * iyy[i] + ssum + 1e-6;
                b1[x] = -(wd * ix[i] * iz[i] + wgx * ixx[i] * ixz[i] + wgy * ixy[i] * iyz[i]) + nb(u);
                b2[x] = -(wd * iy[i] * iz[i] + wgx * ixy[i] * ixz[i] + wgy * iyy[i] * iyz[i]) + nb(v);
            }
        });
}

/// One SOR half-sweep over the pixels with `(x + y) % 2 == color`.
fn sor_half_sweep(s: &mut Scratch, w: usize, h: usize, color: usize) {
    let du = Shared(s.du.as_mut_ptr());
    let dv = Shared(s.dv.as_mut_ptr());
    let (a11, a12, a22, b1, b2, sm) = (&s.a11, &s.a12, &s.a22, &s.b1, &s.b2, &s.smooth);
    (0..h)
        .into_par_iter()
        .with_min_len(ROWS_PER_TASK)
        .for_each(move |y| {
            let (du, dv) = (du, dv);
            // SAFETY: indices stay inside the `w * h` buffers; this task writes
            // only row `y`'s pixels of `color` and reads pixels of the other
            // colour (neighbours) or its own, so no element is written by one
            // task while another accesses it.
            unsafe {
                let get = |p: Shared, i: usize| p.0.add(i).read();
                for x in ((y + color) & 1..w).step_by(2) {
                    let i = y * w + x;
                    let (mut nu, mut nv) = (0.0, 0.0);
                    if x > 0 {
                        nu += sm[i - 1] * get(du, i - 1);
                        nv += sm[i - 1] * get(dv, i - 1);
                    }
                    if x + 1 < w {
                        nu += sm[i] * get(du, i + 1);
                        nv += sm[i] * get(dv, i + 1);
                    }
                    if y > 0 {
                        nu += sm[i - w] * get(du, i - w);
                        nv += sm[i - w] * get(dv, i - w);
                    }
                    if y + 1 < h {
                        nu += sm[i] * get(du, i + w);
                        nv += sm[i] * get(dv, i + w);
                    }
                    let (old_u, old_v) = (get(du, i), get(dv, i));
                    let new_u = (b1[i] + nu - a12[i] * old_v) / a11[i];
                    let upd_u = old_u + OMEGA * (new_u - old_u);
                    du.0.add(i).write(upd_u);
                    let new_v = (b2[i] + nv - a12[i] * upd_u) / a22[i];
                    dv.0.add(i).write(old_v + OMEGA * (new_v - old_v));
                }
            }
        });
}
