//! 2x2 max pooling and 2x nearest upsampling of (B, C, H, W) as CPU custom ops
//! with exact backwards (Candle's own `max_pool2d` backward is scaled by 1/4 and
//! `upsample_nearest2d`'s overwrites gradients; see `tests/candle_bugs.rs`).
//!
//! Pooling's backward routes each output gradient to the first maximum of its
//! window (recomputed from the input), as PyTorch does; upsampling's sums the
//! four copies. One node each instead of a reshape/max/broadcast graph.

use candle_core::{CpuStorage, CustomOp1, Layout, Result, Shape, Tensor};
use rayon::prelude::*;

use super::kernels::{storage_slice, with_data, Real};

/// 2x2 max pooling, stride 2 (H and W even).
pub(crate) struct MaxPool2;

/// 2x nearest-neighbour upsampling.
pub(crate) struct Upsample2;

fn planes(shape: &Shape) -> Result<(usize, usize, usize, usize)> {
    shape.dims4()
}

/// The index (within the plane of width `w`) of the first maximum of the 2x2
/// window whose top-left corner is (2y, 2x).
fn argmax<T: Real>(plane: &[T], w: usize, y: usize, x: usize) -> usize {
    let i = 2 * y * w + 2 * x;
    let mut best = i;
    for j in [i + 1, i + w, i + w + 1] {
        if plane[j] > plane[best] {
            best = j;
        }
    }
    best
}

fn pool_fwd<T: Real>(x: &[T], h: usize, w: usize) -> Vec<T> {
    let (ho, wo) = (h / 2, w / 2);
    let mut out = vec![T::ZERO; x.len() / 4];
    out.par_chunks_mut(ho * wo)
        .zip(x.par_chunks(h * w))
        .for_each(|(o, p)| {
            for y in 0..ho {
                for xo in 0..wo {
                    o[y * wo + xo] = p[argmax(p, w, y, xo)];
                }
            }
        });
    out
}

fn pool_bwd<T: Real>(x: &[T], g: &[T], h: usize, w: usize) -> Vec<T> {
    let (ho, wo) = (h / 2, w / 2);
    let mut dx = vec![T::ZERO; x.len()];
    dx.par_chunks_mut(h * w)
        .zip(x.par_chunks(h * w))
        .zip(g.par_chunks(ho * wo))
        .for_each(|((d, p), gp)| {
            for y in 0..ho {
                for xo in 0..wo {
                    d[argmax(p, w, y, xo)] = gp[y * wo + xo];
                }
            }
        });
    dx
}

fn up_fwd<T: Real>(x: &[T], h: usize, w: usize) -> Vec<T> {
    let mut out = vec![T::ZERO; x.len() * 4];
    out.par_chunks_mut(4 * h * w)
        .zip(x.par_chunks(h * w))
        .for_each(|(o, p)| {
            for y in 0..h {
                let src = &p[y * w..][..w];
                let (row0, row1) = o[2 * y * 2 * w..][..4 * w].split_at_mut(2 * w);
                for (pair, &v) in row0.chunks_exact_mut(2).zip(src) {
                    pair[0] = v;
                    pair[1] = v;
                }
                row1.copy_from_slice(row0);
            }
        });
    out
}

fn up_bwd<T: Real>(g: &[T], h: usize, w: usize) -> Vec<T> {
    let mut dx = vec![T::ZERO; g.len() / 4];
    dx.par_chunks_mut(h * w)
        .zip(g.par_chunks(4 * h * w))
        .for_each(|(d, gp)| {
            for y in 0..h {
                let r0 = &gp[2 * y * 2 * w..][..2 * w];
                let r1 = &gp[(2 * y + 1) * 2 * w..][..2 * w];
                for (xo, o) in d[y * w..][..w].iter_mut().enumerate() {
                    *o = (r0[2 * xo] + r0[2 * xo + 1]) + (r1[2 * xo] + r1[2 * xo + 1]);
                }
            }
        });
    dx
}

/// Runs a kernel on f32 or f64 storage.
fn dispatch(
    s: &CpuStorage,
    l: &Layout,
    name: &str,
    f32k: impl FnOnce(&[f32]) -> Vec<f32>,
    f64k: impl FnOnce(&[f64]) -> Vec<f64>,
) -> Result<CpuStorage> {
    Ok(match s {
        CpuStorage::F32(_) => CpuStorage::F32(f32k(storage_slice(s, l, name)?)),
        CpuStorage::F64(_) => CpuStorage::F64(f64k(storage_slice(s, l, name)?)),
        _ => candle_core::bail!("{name}: only f32 and f64 are supported"),
    })
}

impl CustomOp1 for MaxPool2 {
    fn name(&self) -> &'static str {
        "max-pool-2x2"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> Result<(CpuStorage, Shape)> {
        let (b, c, h, w) = planes(l.shape())?;
        if !h.is_multiple_of(2) || !w.is_multiple_of(2) {
            candle_core::bail!("max_pool2x2: height and width must be even, got {h}x{w}");
        }
        let out = dispatch(
            s,
            l,
            "max_pool2x2",
            |x| pool_fwd(x, h, w),
            |x| pool_fwd(x, h, w),
        )?;
        Ok((out, Shape::from((b, c, h / 2, w / 2))))
    }

    fn bwd(&self, arg: &Tensor, _res: &Tensor, grad: &Tensor) -> Result<Option<Tensor>> {
        let (_, _, h, w) = arg.dims4()?;
        let name = "max_pool2x2 backward";
        let dx = match arg.dtype() {
            candle_core::DType::F32 => with_data::<f32, _>(arg, name, |x| {
                with_data::<f32, _>(grad, name, |g| {
                    Tensor::from_vec(pool_bwd(x, g, h, w), arg.shape(), arg.device())
                })
            })?,
            candle_core::DType::F64 => with_data::<f64, _>(arg, name, |x| {
                with_data::<f64, _>(grad, name, |g| {
                    Tensor::from_vec(pool_bwd(x, g, h, w), arg.shape(), arg.device())
                })
            })?,
            d => candle_core::bail!("{name}: unsupported dtype {d:?}"),
        };
        Ok(Some(dx))
    }
}

impl CustomOp1 for Upsample2 {
    fn name(&self) -> &'static str {
        "upsample-nearest-2x"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> Result<(CpuStorage, Shape)> {
        let (b, c, h, w) = planes(l.shape())?;
        let out = dispatch(s, l, "upsample2x", |x| up_fwd(x, h, w), |x| up_fwd(x, h, w))?;
        Ok((out, Shape::from((b, c, 2 * h, 2 * w))))
    }

    fn bwd(&self, arg: &Tensor, _res: &Tensor, grad: &Tensor) -> Result<Option<Tensor>> {
        let (_, _, h, w) = arg.dims4()?;
        let name = "upsample2x backward";
        let dx = match arg.dtype() {
            candle_core::DType::F32 => with_data::<f32, _>(grad, name, |g| {
                Tensor::from_vec(up_bwd(g, h, w), arg.shape(), arg.device())
            })?,
            candle_core::DType::F64 => with_data::<f64, _>(grad, name, |g| {
                Tensor::from_vec(up_bwd(g, h, w), arg.shape(), arg.device())
            })?,
            d => candle_core::bail!("{name}: unsupported dtype {d:?}"),
        };
        Ok(Some(dx))
    }
}
