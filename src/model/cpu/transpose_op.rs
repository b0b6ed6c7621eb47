//! Batched matrix transpose (B, R, C) → (B, C, R) as a parallel CPU op, for the
//! memories' (B, C, H, W) ↔ (B·H·W, C) changes of layout ([`crate::model::ops::to_rows`],
//! [`crate::model::ops::from_rows`]). Candle's strided copy does the same on the calling
//! thread only: 3% of a 2-thread inference. The backward is the transpose back.

use candle_core::{CpuStorage, CustomOp1, Layout, Result, Shape, Tensor};
use rayon::prelude::*;

use super::kernels::{storage_slice, Real};

/// Side of the square blocks copied at a time (both sides stay in cache).
const BLOCK: usize = 32;

/// Transposes each of the B (R, C) matrices of a contiguous (B, R, C) tensor.
pub(crate) struct Transpose;

/// The transposes of `x`'s (rows, cols) matrices, one after the other.
fn transpose<T: Real>(x: &[T], rows: usize, cols: usize) -> Vec<T> {
    let plane = rows * cols;
    let mut out = vec![T::ZERO; x.len()];
    if plane == 0 {
        return out;
    }
    // Each matrix splits into blocks of output rows, so a single one still
    // runs in parallel.
    out.par_chunks_mut(plane)
        .zip(x.par_chunks(plane))
        .for_each(|(o, xi)| {
            o.par_chunks_mut(BLOCK * rows)
                .enumerate()
                .for_each(|(cb, ob)| {
                    let (c0, c1) = (cb * BLOCK, cb * BLOCK + ob.len() / rows);
                    for r0 in (0..rows).step_by(BLOCK) {
                        for r in r0..(r0 + BLOCK).min(rows) {
                            let row = &xi[r * cols..][..cols];
                            for c in c0..c1 {
                                ob[(c - c0) * rows + r] = row[c];
                            }
                        }
                    }
                });
        });
    out
}

impl CustomOp1 for Transpose {
    fn name(&self) -> &'static str {
        "batched-transpose"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> Result<(CpuStorage, Shape)> {
        let (b, rows, cols) = l.shape().dims3()?;
        let name = "batched transpose";
        let out = match s {
            CpuStorage::F32(_) => {
                CpuStorage::F32(transpose(storage_slice::<f32>(s, l, name)?, rows, cols))
            }
            CpuStorage::F64(_) => {
                CpuStorage::F64(transpose(storage_slice::<f64>(s, l, name)?, rows, cols))
            }
            _ => candle_core::bail!("{name}: only f32 and f64 are supported"),
        };
        Ok((out, Shape::from((b, cols, rows))))
    }

    fn bwd(&self, _arg: &Tensor, _res: &Tensor, grad: &Tensor) -> Result<Option<Tensor>> {
        Ok(Some(grad.contiguous()?.apply_op1_no_bwd(&Transpose)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{DType, Device, Var};

    /// Forward and gradient equal Candle's `transpose` + `contiguous`, for
    /// shapes that do and do not divide the block, in f32 and f64.
    #[test]
    fn transpose_matches_candle() {
        let dev = Device::Cpu;
        for (b, r, c) in [(3, 70, 33), (1, 5, 130), (2, 64, 64)] {
            for dtype in [DType::F32, DType::F64] {
                let x = Tensor::randn(0f32, 1f32, (b, r, c), &dev)
                    .unwrap()
                    .to_dtype(dtype)
                    .unwrap();
                let v = Var::from_tensor(&x).unwrap();
                let weights = Tensor::randn(0f32, 1f32, (b, c, r), &dev)
                    .unwrap()
                    .to_dtype(dtype)
                    .unwrap();
                let ours = v.as_tensor().apply_op1(Transpose).unwrap();
                let theirs = v.as_tensor().transpose(1, 2).unwrap().contiguous().unwrap();
                let d = (&ours - &theirs).unwrap().abs().unwrap().max_all().unwrap();
                assert_eq!(
                    d.to_dtype(DType::F64).unwrap().to_scalar::<f64>().unwrap(),
                    0.0
                );
                let g1 = (ours * &weights)
                    .unwrap()
                    .sum_all()
                    .unwrap()
                    .backward()
                    .unwrap();
                let g2 = (theirs * &weights)
                    .unwrap()
                    .sum_all()
                    .unwrap()
                    .backward()
                    .unwrap();
                let (g1, g2) = (
                    g1.get(v.as_tensor()).unwrap(),
                    g2.get(v.as_tensor()).unwrap(),
                );
                let d = (g1 - g2).unwrap().abs().unwrap().max_all().unwrap();
                assert_eq!(
                    d.to_dtype(DType::F64).unwrap().to_scalar::<f64>().unwrap(),
                    0.0,
                    "{b}x{r}x{c}"
                );
            }
        }
    }
}
