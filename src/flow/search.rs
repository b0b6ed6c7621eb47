//! Patch inverse search on a grid and densification (the core of DIS).
//!
//! Each patch of the first image is aligned with the second image by
//! inverse-compositional Gauss-Newton on a translation: the patch's Hessian is
//! built once from the first image's mean-centred gradients, so an iteration is
//! one bilinear warp of the patch (the same four weights for every pixel, since
//! the motion is a translation) and two dot products. Patches are then blended
//! into a dense field, each weighted per pixel by the inverse of its photometric
//! error there.

use rayon::prelude::*;

use super::pyramid::{min_rows, Level};
use super::simd::avx2_dispatch;
use super::{Params, Propagation};

/// Patch grid and per-patch flows of the current level (reused across levels and pairs).
#[derive(Debug, Clone, Default)]
pub(crate) struct PatchField {
    xs: Vec<usize>,
    ys: Vec<usize>,
    u: Vec<f32>,
    v: Vec<f32>,
    weight: Vec<f32>,
}

/// Grid positions along one axis: every `stride` pixels, the last one flush with
/// the far edge so that every pixel is covered.
fn grid(positions: &mut Vec<usize>, len: usize, patch: usize, stride: usize) {
    positions.clear();
    let last = len - patch;
    let n = last.div_ceil(stride) + 1;
    positions.extend((0..n).map(|i| (i * stride).min(last)));
}

/// Aligns all patches of `level` (starting from its current dense flow) and
/// replaces that flow by the densified patch flows.
pub(crate) fn search_and_densify(level: &mut Level, f: &mut PatchField, p: &Params) {
    let ps = p.patch_size;
    grid(&mut f.xs, level.w, ps, p.patch_stride);
    grid(&mut f.ys, level.h, ps, p.patch_stride);
    let (nx, ny) = (f.xs.len(), f.ys.len());
    f.u.resize(nx * ny, 0.0);
    f.v.resize(nx * ny, 0.0);
    let lev = &*level;
    let (xs, ys) = (&f.xs, &f.ys);
    let mut search = Search {
        iters: p.search_iterations,
        step: p.search_step,
        keep_best: p.search_keep_best,
        propagation: p.search_propagation,
        margin: p.search_propagation_margin,
        near_sq: p.search_propagation_near_px * p.search_propagation_near_px,
    };
    if p.search_propagation == Propagation::Off {
        f.u.par_chunks_mut(nx)
            .zip(f.v.par_chunks_mut(nx))
            .enumerate()
            .with_min_len((64 / nx).max(1))
            .for_each(|(j, (ru, rv))| {
                search_row(lev, xs, ys[j], ps, search, ru, rv);
            });
    } else {
        if p.search_propagation == Propagation::Before {
            // Both passes search, sharing the iterations, as in DIS.
            search.iters = (search.iters / 2).max(1);
        }
        f.u.par_chunks_mut(nx * STRIPE_ROWS)
            .zip(f.v.par_chunks_mut(nx * STRIPE_ROWS))
            .enumerate()
            .for_each(|(s, (su, sv))| {
                let stripe_ys = &ys[s * STRIPE_ROWS..][..su.len() / nx];
                search_stripe(lev, xs, stripe_ys, ps, search, su, sv);
            });
    }
    densify(level, f, ps);
}

/// Grid rows per stripe of the propagating search. Flows propagate down
/// (and back up) within a stripe only; stripes run in parallel. A fixed
/// height, not one stripe per thread as in OpenCV, so that the flow does
/// not depend on the number of threads.
const STRIPE_ROWS: usize = 8;

avx2_dispatch! {
    /// The propagating search over one stripe of grid rows (top edges `ys`):
    /// a forward pass (left to right, top to bottom), then a backward pass.
    /// Each patch compares its own flow with its already visited neighbours'
    /// (left and above going forward, right and below going back) by
    /// mean-normalised SSD, so a motion found by one patch spreads to its
    /// neighbours, across the boundaries that the coarser level blurred
    /// ([`Propagation`] says whether before or after its own search).
    fn search_stripe(
        lev: &Level,
        xs: &[usize],
        ys: &[usize],
        ps: usize,
        search: Search,
        su: &mut [f32],
        sv: &mut [f32],
    ) {
        let nx = xs.len();
        for (j, &py) in ys.iter().enumerate() {
            for (i, &px) in xs.iter().enumerate() {
                (su[j * nx + i], sv[j * nx + i]) = centre_flow(lev, px, py, ps);
            }
        }
        let ny = ys.len();
        for forward in [true, false] {
            // The `t`-th of `n` positions in this pass's order, and the
            // neighbour visited just before position `k` along that axis.
            let nth = |t: usize, n: usize| if forward { t } else { n - 1 - t };
            let before = |k: usize, n: usize| {
                if forward {
                    k.checked_sub(1)
                } else {
                    Some(k + 1).filter(|&k| k < n)
                }
            };
            for j in (0..ny).map(|t| nth(t, ny)) {
                for i in (0..nx).map(|t| nth(t, nx)) {
                    let cands = [
                        before(i, nx).map(|i| j * nx + i),
                        before(j, ny).map(|j| j * nx + i),
                    ];
                    let k = j * nx + i;
                    let at = (xs[i], ys[j], k, forward);
                    let (u, v) = match ps {
                        8 => propagate_as::<8>(lev, at, cands, search, su, sv),
                        12 => propagate_as::<12>(lev, at, cands, search, su, sv),
                        _ => propagate_as::<16>(lev, at, cands, search, su, sv),
                    };
                    su[k] = u;
                    sv[k] = v;
                }
            }
        }
    }
}

/// One patch of the propagating search, at `(px, py, k, forward)` (grid
/// position, index of its flow in `su`/`sv`, pass): its new flow, from its
/// own (`su[k]`, `sv[k]`) and its neighbours' at `cands`.
#[inline(always)]
fn propagate_as<const P: usize>(
    lev: &Level,
    (px, py, k, forward): (usize, usize, usize, bool),
    cands: [Option<usize>; 2],
    search: Search,
    su: &[f32],
    sv: &[f32],
) -> (f32, f32) {
    let patch = Patch::<P>::new(lev, px, py);
    let own = (su[k], sv[k]);
    // The own flow unless a neighbour's fits better: by the margin where it
    // is far from the own flow, at all where it is near.
    let best_of = |own: (f32, f32)| {
        let (mut best, mut ssd_best) = (own, patch.residual(lev, own).2);
        for c in cands.into_iter().flatten() {
            let cand = (su[c], sv[c]);
            let ssd = patch.residual(lev, cand).2;
            let d_sq = (cand.0 - own.0).powi(2) + (cand.1 - own.1).powi(2);
            let margin = if d_sq < search.near_sq {
                1.0
            } else {
                search.margin
            };
            if ssd < margin * ssd_best {
                (best, ssd_best) = (cand, ssd);
            }
        }
        best
    };
    match search.propagation {
        Propagation::After if forward => best_of(patch.search(lev, own, search)),
        Propagation::After => best_of(own),
        _ => patch.search(lev, best_of(own), search),
    }
}

avx2_dispatch! {
    /// Aligns the patches of one grid row (top edge `py`), writing their flows.
    fn search_row(
        lev: &Level,
        xs: &[usize],
        py: usize,
        ps: usize,
        search: Search,
        ru: &mut [f32],
        rv: &mut [f32],
    ) {
        for (i, &px) in xs.iter().enumerate() {
            let init = centre_flow(lev, px, py, ps);
            let (u, v) = match ps {
                8 => align_as::<8>(lev, px, py, init, search),
                12 => align_as::<12>(lev, px, py, init, search),
                _ => align_as::<16>(lev, px, py, init, search),
            };
            ru[i] = u;
            rv[i] = v;
        }
    }
}

/// The level's dense flow at the centre of the `ps`-pixel patch at `(px, py)`:
/// where a patch's search starts.
#[inline(always)]
fn centre_flow(lev: &Level, px: usize, py: usize, ps: usize) -> (f32, f32) {
    let c = (py + ps / 2) * lev.w + px + ps / 2;
    (lev.u[c], lev.v[c])
}

/// How each patch is searched (from [`Params`]).
#[derive(Debug, Clone, Copy)]
struct Search {
    iters: usize,
    step: f32,
    keep_best: bool,
    propagation: Propagation,
    margin: f32,
    /// Squared distance below which a neighbour's flow needs no margin.
    near_sq: f32,
}

/// The search of the `P` x `P` patch at `(px, py)` from `init`.
#[inline(always)]
fn align_as<const P: usize>(
    lev: &Level,
    px: usize,
    py: usize,
    init: (f32, f32),
    search: Search,
) -> (f32, f32) {
    Patch::<P>::new(lev, px, py).search(lev, init, search)
}

/// A `P` x `P` patch of the first image at `(px, py)`, prepared for
/// inverse-compositional alignment.
struct Patch<const P: usize> {
    px: usize,
    py: usize,
    t: [[f32; P]; P],
    gx: [[f32; P]; P],
    gy: [[f32; P]; P],
    /// The inverse Hessian (11, 12, 22); `None` on a patch too flat to align.
    inv: Option<(f32, f32, f32)>,
}

impl<const P: usize> Patch<P> {
    #[inline(always)]
    fn new(lev: &Level, px: usize, py: usize) -> Self {
        let w = lev.w;
        let mut t = [[0f32; P]; P];
        let mut gx = [[0f32; P]; P];
        let mut gy = [[0f32; P]; P];
        let (mut mx, mut my) = (0f32, 0f32);
        for r in 0..P {
            let o = (py + r) * w + px;
            t[r].copy_from_slice(&lev.i0[o..o + P]);
            gx[r].copy_from_slice(&lev.gx[o..o + P]);
            gy[r].copy_from_slice(&lev.gy[o..o + P]);
            mx += gx[r].iter().sum::<f32>();
            my += gy[r].iter().sum::<f32>();
        }
        // Mean-normalised patches: the residual's Jacobian is the centred gradient,
        // and because centred gradients sum to zero the residual's mean drops out of
        // the update, so brightness offsets between the frames cost nothing.
        let n = (P * P) as f32;
        let (mx, my) = (mx / n, my / n);
        let (mut h11, mut h12, mut h22) = ([0f32; P], [0f32; P], [0f32; P]);
        for r in 0..P {
            for c in 0..P {
                gx[r][c] -= mx;
                gy[r][c] -= my;
                h11[c] += gx[r][c] * gx[r][c];
                h12[c] += gx[r][c] * gy[r][c];
                h22[c] += gy[r][c] * gy[r][c];
            }
        }
        let (h11, h12, h22): (f32, f32, f32) =
            (h11.iter().sum(), h12.iter().sum(), h22.iter().sum());
        // A small ridge keeps textureless patches (zero Hessian) where they started.
        let ridge = 1e-2 * n;
        let (h11, h22) = (h11 + ridge, h22 + ridge);
        let det = h11 * h22 - h12 * h12;
        let inv = (det > 1e-6).then(|| (h22 / det, -h12 / det, h11 / det));
        Patch {
            px,
            py,
            t,
            gx,
            gy,
            inv,
        }
    }

    /// [`Patch::align`] from `start` with `search.keep_best` as a constant,
    /// so the plain search (every preset) compiles without the SSD
    /// bookkeeping.
    #[inline(always)]
    fn search(&self, lev: &Level, start: (f32, f32), search: Search) -> (f32, f32) {
        if search.keep_best {
            self.align::<true>(lev, start, search)
        } else {
            self.align::<false>(lev, start, search)
        }
    }

    /// The patch compared with the second image at flow `(u, v)`: the
    /// steepest-descent sums (x, y) and the mean-normalised SSD.
    #[inline(always)]
    fn residual(&self, lev: &Level, (u, v): (f32, f32)) -> (f32, f32, f32) {
        let pw = lev.pw();
        let pad = lev.pad as f32;
        let max_x = (pw - P - 1) as f32;
        let max_y = (lev.ph() - P - 1) as f32;
        let x = (self.px as f32 + u + pad).clamp(0.0, max_x);
        let y = (self.py as f32 + v + pad).clamp(0.0, max_y);
        let (x0, y0) = (x as usize, y as usize);
        let (tx, ty) = (x - x0 as f32, y - y0 as f32);
        let (a00, a01, a10, a11) = (
            (1.0 - tx) * (1.0 - ty),
            tx * (1.0 - ty),
            (1.0 - tx) * ty,
            tx * ty,
        );
        let (mut bx, mut by) = ([0f32; P], [0f32; P]);
        let (mut sd, mut sdd) = ([0f32; P], [0f32; P]);
        let mut below = &lev.i1[y0 * pw + x0..][..P + 1];
        for r in 0..P {
            let above = below;
            below = &lev.i1[(y0 + r + 1) * pw + x0..][..P + 1];
            for c in 0..P {
                let warped =
                    a00 * above[c] + a01 * above[c + 1] + a10 * below[c] + a11 * below[c + 1];
                let d = warped - self.t[r][c];
                bx[c] += self.gx[r][c] * d;
                by[c] += self.gy[r][c] * d;
                sd[c] += d;
                sdd[c] += d * d;
            }
        }
        let (sd, sdd): (f32, f32) = (sd.iter().sum(), sdd.iter().sum());
        let n = (P * P) as f32;
        (bx.iter().sum(), by.iter().sum(), sdd - sd * sd / n)
    }

    /// Inverse-compositional alignment from `init` (`KEEP_BEST`:
    /// `search.keep_best`).
    #[inline(always)]
    fn align<const KEEP_BEST: bool>(
        &self,
        lev: &Level,
        init: (f32, f32),
        search: Search,
    ) -> (f32, f32) {
        let Search { iters, step, .. } = search;
        let Some((i11, i12, i22)) = self.inv else {
            return init;
        };
        let (mut u, mut v) = init;
        // With `keep_best`, the position of lowest mean-normalised SSD among
        // those visited (the start and the end included) wins: Gauss-Newton
        // steps on noise or repeated texture can climb out of a good minimum.
        let mut best = (f32::INFINITY, u, v);
        // With `keep_best` one more pass scores the final position.
        for k in 0..iters + usize::from(KEEP_BEST) {
            // Without `keep_best` the SSD is unused and compiled out.
            let (bx, by, ssd) = self.residual(lev, (u, v));
            if KEEP_BEST {
                if ssd < best.0 {
                    best = (ssd, u, v);
                }
                if k == iters {
                    break;
                }
            }
            let du = step * (i11 * bx + i12 * by);
            let dv = step * (i12 * bx + i22 * by);
            u -= du;
            v -= dv;
            if du * du + dv * dv < 1e-4 {
                break;
            }
        }
        if KEEP_BEST {
            (u, v) = (best.1, best.2);
        }
        // A patch that wandered farther than its own size from its start has locked
        // onto something else: trust the start instead.
        let lim = P as f32;
        if (u - init.0).powi(2) + (v - init.1).powi(2) > lim * lim {
            return init;
        }
        (u, v)
    }
}

/// Blends the patch flows into `level.u`/`level.v`.
fn densify(level: &mut Level, f: &mut PatchField, ps: usize) {
    let w = level.w;
    f.weight.resize(w * level.h, 0.0);
    let patches = Patches {
        xs: &f.xs,
        ys: &f.ys,
        u: &f.u,
        v: &f.v,
        size: ps,
    };
    let weight = &mut f.weight;
    let (i0, i1) = (&level.i0, &level.i1);
    let dims = [w, level.pw(), level.ph(), level.pad];
    level
        .u
        .par_chunks_mut(w)
        .zip(level.v.par_chunks_mut(w))
        .zip(weight.par_chunks_mut(w))
        .enumerate()
        .with_min_len(min_rows(w))
        .for_each(|(y, ((ru, rv), den))| {
            densify_row(y, &patches, &i0[y * w..(y + 1) * w], i1, dims, ru, rv, den);
        });
}

/// The patch grid and its flows, as `densify_row` reads them.
struct Patches<'a> {
    xs: &'a [usize],
    ys: &'a [usize],
    u: &'a [f32],
    v: &'a [f32],
    size: usize,
}

avx2_dispatch! {
    /// Row `y` of the dense flow: the average of the flows of the patches that
    /// cover each pixel, weighted by 1 / max(1, |photometric error|). `t` is the
    /// row of the first image, `i1` the padded second image, `dims` = width,
    /// padded width, padded height, pad.
    fn densify_row(
        y: usize,
        patches: &Patches,
        t: &[f32],
        i1: &[f32],
        dims: [usize; 4],
        ru: &mut [f32],
        rv: &mut [f32],
        den: &mut [f32],
    ) {
        let [_, pw, ph, pad] = dims;
        let ps = patches.size;
        let nx = patches.xs.len();
        let max_x = (pw - ps - 1) as f32;
        let max_y = (ph - 2) as f32;
        ru.fill(0.0);
        rv.fill(0.0);
        den.fill(0.0);
        for (j, &py) in patches.ys.iter().enumerate() {
            if py > y || py + ps <= y {
                continue;
            }
            for (i, &px) in patches.xs.iter().enumerate() {
                let (u, v) = (patches.u[j * nx + i], patches.v[j * nx + i]);
                let sx = (px as f32 + u + pad as f32).clamp(0.0, max_x);
                let sy = (y as f32 + v + pad as f32).clamp(0.0, max_y);
                let (x0, y0) = (sx as usize, sy as usize);
                let (tx, ty) = (sx - x0 as f32, sy - y0 as f32);
                let a = &i1[y0 * pw + x0..][..ps + 1];
                let b = &i1[(y0 + 1) * pw + x0..][..ps + 1];
                let (ru, rv, den, t) = (
                    &mut ru[px..px + ps],
                    &mut rv[px..px + ps],
                    &mut den[px..px + ps],
                    &t[px..px + ps],
                );
                for c in 0..ps {
                    let top = a[c] + tx * (a[c + 1] - a[c]);
                    let bottom = b[c] + tx * (b[c + 1] - b[c]);
                    let d = (top + ty * (bottom - top) - t[c]).abs();
                    let wgt = 1.0 / d.max(1.0);
                    ru[c] += wgt * u;
                    rv[c] += wgt * v;
                    den[c] += wgt;
                }
            }
        }
        for ((u, v), &d) in ru.iter_mut().zip(rv.iter_mut()).zip(den.iter()) {
            let inv = 1.0 / d;
            *u *= inv;
            *v *= inv;
        }
    }
}
