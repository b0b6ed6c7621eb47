//! The CPU convolution as one Candle custom op with a hand-written backward:
//! stride 1, odd square kernel, "same" zero padding, bias.
//!
//! f32 on a CPU with AVX-512 (the training and scoring path) runs the direct
//! kernels of `direct_conv.rs`: forward, input gradient (the same kernel on
//! flipped, transposed weights) and, for 3x3, the weight gradient; no column
//! matrix is built. Elsewhere (f64, the gradient checks; CPUs without AVX-512)
//! it is im2col + gemm per image: im2col into a per-thread buffer, then
//! y = W·cols + b; backward rebuilds the columns (cheaper than keeping k·k copies of every
//! input alive), dW += g·colsᵀ, db += Σ g, and dx = col2im(Wᵀ·g). Images are
//! split over the rayon pool, each single-threaded; a batch smaller than the
//! pool splits within the image instead. Candle's own CPU conv2d backward goes
//! through a plain-loop conv_transpose2d (~15x slower than the forward), and an
//! im2col + matmul + broadcast-add graph spends its backward zeroing and adding
//! k·k-times-larger gradients.

use candle_core::{CpuStorage, CustomOp3, Layout, Result, Shape, Tensor};
use rayon::prelude::*;

use super::direct_conv::{self, conv_image, conv_image_into, weight_gradient, Packed, Part};
use super::im2col::{col2im_add, im2col_into};
use super::kernels::{matmul, par_filled, storage_slice, with_data, with_scratch, Mat, Real};

/// conv(x, weight, bias): x (B, C, H, W), weight (Cout, C, k, k), bias (Cout).
struct ConvSame {
    k: usize,
}

/// Applies the convolution on the CPU (f32 or f64).
pub(crate) fn conv_same(x: &Tensor, weight: &Tensor, bias: &Tensor, k: usize) -> Result<Tensor> {
    x.contiguous()?
        .apply_op3(&weight.contiguous()?, &bias.contiguous()?, ConvSame { k })
}

/// The geometry of one call.
#[derive(Clone, Copy)]
struct Geom {
    b: usize,
    c: usize,
    h: usize,
    w: usize,
    cout: usize,
    k: usize,
}

impl Geom {
    fn ckk(&self) -> usize {
        self.c * self.k * self.k
    }
    fn plane(&self) -> usize {
        self.h * self.w
    }
    /// Threads for each gemm: images run in parallel unless there are too few.
    fn gemm_threads(&self) -> usize {
        let pool = rayon::current_num_threads();
        if self.b >= pool {
            1
        } else {
            pool
        }
    }
}

/// The direct f32 kernel's forward where it runs (AVX-512, k > 1).
fn forward_direct<T: Real>(x: &[T], wt: &[T], bias: &[T], g: Geom) -> Option<Vec<f32>> {
    if g.k == 1 || !direct_conv::available() {
        return None;
    }
    let (x, wt, bias) = (T::as_f32(x)?, T::as_f32(wt)?, T::as_f32(bias)?);
    let packed = Packed::forward(wt, bias, g.cout, g.c, g.k);
    let (chw, hw) = (g.c * g.plane(), g.plane());
    let parallel = g.gemm_threads() > 1;
    Some(par_filled(g.b * g.cout * hw, g.cout * hw, |i, yi| {
        conv_image(
            &[Part::plain(&x[i * chw..][..chw], g.c)],
            (g.h, g.w),
            &packed,
            yi,
            parallel,
        )
    }))
}

fn forward<T: Real>(x: &[T], wt: &[T], bias: &[T], g: Geom) -> CpuStorage {
    if let Some(y) = forward_direct(x, wt, bias, g) {
        return CpuStorage::F32(y);
    }
    T::wrap(forward_im2col(x, wt, bias, g))
}

fn forward_im2col<T: Real>(x: &[T], wt: &[T], bias: &[T], g: Geom) -> Vec<T> {
    let (hw, ckk) = (g.plane(), g.ckk());
    // The output starts as the bias; the gemms accumulate onto it.
    let mut y: Vec<T> = Vec::with_capacity(g.b * g.cout * hw);
    for _ in 0..g.b {
        for &v in bias {
            y.resize(y.len() + hw, v);
        }
    }
    let threads = g.gemm_threads();
    y.par_chunks_mut(g.cout * hw)
        .zip(x.par_chunks(g.c * hw))
        .for_each(|(yi, xi)| {
            let lhs = Mat::rows(wt, ckk);
            if g.k == 1 {
                matmul(g.cout, hw, ckk, yi, true, lhs, Mat::rows(xi, hw), threads);
                return;
            }
            with_scratch(ckk * hw, |cols: &mut [T]| {
                im2col_into(xi, (g.c, g.h, g.w), g.k, cols);
                matmul(g.cout, hw, ckk, yi, true, lhs, Mat::rows(cols, hw), threads);
            });
        });
    y
}

/// One image's share of the backward: dW and db accumulate, dx is written
/// (by the direct kernel with `dx_weights`, else through col2im).
#[allow(clippy::too_many_arguments)]
fn backward_image<T: Real>(
    xi: &[T],
    wt: &[T],
    gi: &[T],
    dxi: &mut [T],
    dw: &mut [T],
    db: &mut [T],
    g: Geom,
    dx_weights: Option<&Packed>,
) {
    let (hw, ckk) = (g.plane(), g.ckk());
    let threads = g.gemm_threads();
    for (d, row) in db.iter_mut().zip(gi.chunks(hw)) {
        let mut s = 0.0;
        for v in row {
            s += v.to_f64();
        }
        *d += T::from_f64(s);
    }
    let gm = Mat::rows(gi, hw);
    // dcols (CKK×HW) = Wᵀ (CKK×Cout) · g (Cout×HW)
    let wtr = Mat::transposed(wt, ckk);
    if g.k == 1 {
        // dW (Cout×C) += g (Cout×HW) · xᵀ (HW×C)
        matmul(
            g.cout,
            ckk,
            hw,
            dw,
            true,
            gm,
            Mat::transposed(xi, hw),
            threads,
        );
        matmul(ckk, hw, g.cout, dxi, false, wtr, gm, threads);
        return;
    }
    let direct_dx = match (dx_weights, T::as_f32(gi), T::as_f32_mut(dxi)) {
        (Some(p), Some(g32), Some(d32)) => {
            conv_image_into(&[Part::plain(g32, g.cout)], (g.h, g.w), p, d32, threads > 1);
            true
        }
        _ => false,
    };
    if direct_dx && g.k == 3 {
        if let (Some(x32), Some(g32), Some(dw32)) =
            (T::as_f32(xi), T::as_f32(gi), T::as_f32_mut(dw))
        {
            weight_gradient(&[Part::plain(x32, g.c)], g32, (g.h, g.w), g.cout, dw32);
            return;
        }
    }
    let scratch = if direct_dx { ckk * hw } else { 2 * ckk * hw };
    with_scratch(scratch, |buf: &mut [T]| {
        let (cols, dcols) = buf.split_at_mut(ckk * hw);
        im2col_into(xi, (g.c, g.h, g.w), g.k, cols);
        // dW (Cout×CKK) += g (Cout×HW) · colsᵀ (HW×CKK)
        matmul(
            g.cout,
            ckk,
            hw,
            dw,
            true,
            gm,
            Mat::transposed(cols, hw),
            threads,
        );
        if !direct_dx {
            matmul(ckk, hw, g.cout, dcols, false, wtr, gm, threads);
            col2im_add(dcols, (g.c, g.h, g.w), g.k, dxi);
        }
    });
}

/// (dx, dweight, dbias) for upstream gradient `gy` (B, Cout, H, W).
fn backward<T: Real>(x: &[T], wt: &[T], gy: &[T], g: Geom) -> (Vec<T>, Vec<T>, Vec<T>) {
    let hw = g.plane();
    let mut dx = vec![T::ZERO; x.len()];
    let dx_weights = (g.k > 1 && direct_conv::available())
        .then(|| T::as_f32(wt).map(|w| Packed::input_gradient(w, g.cout, g.c, g.k)))
        .flatten();
    let partials: Vec<(Vec<T>, Vec<T>)> = dx
        .par_chunks_mut(g.c * hw)
        .zip(x.par_chunks(g.c * hw))
        .zip(gy.par_chunks(g.cout * hw))
        .fold(
            || (vec![T::ZERO; g.cout * g.ckk()], vec![T::ZERO; g.cout]),
            |(mut dw, mut db), ((dxi, xi), gi)| {
                backward_image(xi, wt, gi, dxi, &mut dw, &mut db, g, dx_weights.as_ref());
                (dw, db)
            },
        )
        .collect();
    let mut dw = vec![T::ZERO; g.cout * g.ckk()];
    let mut db = vec![T::ZERO; g.cout];
    for (pw, pb) in partials {
        for (a, b) in dw.iter_mut().zip(pw) {
            *a += b;
        }
        for (a, b) in db.iter_mut().zip(pb) {
            *a += b;
        }
    }
    (dx, dw, db)
}

impl ConvSame {
    fn geom(&self, x: &Shape, w: &Shape, b: &Shape) -> Result<Geom> {
        let (bn, c, h, wd) = x.dims4()?;
        let (cout, cw, kh, kw) = w.dims4()?;
        let k = self.k;
        if cw != c || kh != k || kw != k || b.dims() != [cout] || k.is_multiple_of(2) {
            candle_core::bail!(
                "conv: input {:?}, weight {:?}, bias {:?} do not fit a {k}x{k} same convolution",
                x.dims(),
                w.dims(),
                b.dims()
            );
        }
        Ok(Geom {
            b: bn,
            c,
            h,
            w: wd,
            cout,
            k,
        })
    }
}

fn run_backward<T: Real>(
    x: &Tensor,
    w: &Tensor,
    gy: &Tensor,
    g: Geom,
) -> Result<(Tensor, Tensor, Tensor)> {
    let (dx, dw, db) = with_data::<T, _>(x, "conv backward", |xv| {
        with_data::<T, _>(w, "conv backward", |wv| {
            with_data::<T, _>(gy, "conv backward", |gv| Ok(backward(xv, wv, gv, g)))
        })
    })?;
    let dev = x.device();
    Ok((
        Tensor::from_vec(dx, x.shape(), dev)?,
        Tensor::from_vec(dw, w.shape(), dev)?,
        Tensor::from_vec(db, g.cout, dev)?,
    ))
}

impl CustomOp3 for ConvSame {
    fn name(&self) -> &'static str {
        "conv-same"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
        s3: &CpuStorage,
        l3: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let g = self.geom(l1.shape(), l2.shape(), l3.shape())?;
        let shape = Shape::from((g.b, g.cout, g.h, g.w));
        fn run<T: Real>(s: [(&CpuStorage, &Layout); 3], g: Geom) -> Result<CpuStorage> {
            let x = storage_slice::<T>(s[0].0, s[0].1, "conv")?;
            let w = storage_slice::<T>(s[1].0, s[1].1, "conv")?;
            let b = storage_slice::<T>(s[2].0, s[2].1, "conv")?;
            Ok(forward(x, w, b, g))
        }
        let s = [(s1, l1), (s2, l2), (s3, l3)];
        let out = match s1 {
            CpuStorage::F32(_) => run::<f32>(s, g)?,
            CpuStorage::F64(_) => run::<f64>(s, g)?,
            _ => candle_core::bail!("conv: only f32 and f64 are supported"),
        };
        Ok((out, shape))
    }

    fn bwd(
        &self,
        x: &Tensor,
        w: &Tensor,
        b: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let g = self.geom(x.shape(), w.shape(), b.shape())?;
        let (dx, dw, db) = match x.dtype() {
            candle_core::DType::F32 => run_backward::<f32>(x, w, grad, g)?,
            candle_core::DType::F64 => run_backward::<f64>(x, w, grad, g)?,
            d => candle_core::bail!("conv backward: unsupported dtype {d:?}"),
        };
        Ok((Some(dx), Some(dw), Some(db)))
    }
}
