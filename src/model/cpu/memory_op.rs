//! The memory addressing [3–5] as one CPU custom op: from the cosine
//! similarities s (P, N) to the attention ŵ, row by row:
//! w = softmax(s / T), a = w − λ, h = max(a, 0)·w / (|a| + ε), ŵ = h / (Σh + ε).
//!
//! Backward (per row, g = ∂L/∂ŵ, S = Σh + ε): ∂h_j = g_j / S − Σ_i g_i h_i / S²;
//! ∂w_j = ∂h_j · ((w_j + a_j)(a_j + ε) − a_j w_j) / (a_j + ε)² where a_j > 0, else 0;
//! ∂s_j = w_j (∂w_j − Σ_i ∂w_i w_i) / T. Computed in f64. The Candle graph of the
//! same maths has a dozen (P, N) nodes, each with a zeroed gradient to add into.

use candle_core::{CpuStorage, CustomOp1, Layout, Result, Shape, Tensor};
use rayon::prelude::*;

use super::kernels::{storage_slice, with_data, Real};

/// ε of the hard shrinkage and of the L1 renormalisation (as in `memory.rs`).
const EPS: f64 = 1e-12;

/// Softmax with temperature, hard shrinkage and L1 renormalisation of (P, N).
pub(crate) struct Addressing {
    /// Temperature T.
    pub temperature: f64,
    /// Shrinkage threshold λ.
    pub lambda: f64,
}

/// Softmax weights w of one row into `w` (f64).
fn softmax_row<T: Real>(s: &[T], temperature: f64, w: &mut [f64]) {
    let m = s
        .iter()
        .map(|v| v.to_f64())
        .fold(f64::NEG_INFINITY, f64::max);
    let mut z = 0.0;
    for (o, v) in w.iter_mut().zip(s) {
        *o = ((v.to_f64() - m) / temperature).exp();
        z += *o;
    }
    for o in w.iter_mut() {
        *o /= z;
    }
}

fn shrink(w: f64, lambda: f64) -> f64 {
    let a = w - lambda;
    if a > 0.0 {
        a * w / (a + EPS)
    } else {
        0.0
    }
}

impl Addressing {
    fn forward<T: Real>(&self, s: &[T], n: usize) -> Vec<T> {
        let mut out = vec![T::ZERO; s.len()];
        out.par_chunks_mut(n).zip(s.par_chunks(n)).for_each_init(
            || vec![0.0; n],
            |w, (o, row)| {
                softmax_row(row, self.temperature, w);
                let total = w.iter().map(|&x| shrink(x, self.lambda)).sum::<f64>() + EPS;
                for (o, &x) in o.iter_mut().zip(w.iter()) {
                    *o = T::from_f64(shrink(x, self.lambda) / total);
                }
            },
        );
        out
    }

    fn backward<T: Real>(&self, s: &[T], g: &[T], n: usize) -> Vec<T> {
        let (t, lambda) = (self.temperature, self.lambda);
        let mut ds = vec![T::ZERO; s.len()];
        ds.par_chunks_mut(n)
            .zip(s.par_chunks(n).zip(g.par_chunks(n)))
            .for_each_init(
                || (vec![0.0; n], vec![0.0; n]),
                |(w, dw), (d, (row, gr))| {
                    softmax_row(row, t, w);
                    let total = w.iter().map(|&x| shrink(x, lambda)).sum::<f64>() + EPS;
                    let gh: f64 = gr
                        .iter()
                        .zip(w.iter())
                        .map(|(g, &x)| g.to_f64() * shrink(x, lambda))
                        .sum();
                    let mut dot = 0.0;
                    for ((o, &x), gv) in dw.iter_mut().zip(w.iter()).zip(gr) {
                        let a = x - lambda;
                        let dh = gv.to_f64() / total - gh / (total * total);
                        *o = if a > 0.0 {
                            dh * ((x + a) * (a + EPS) - a * x) / ((a + EPS) * (a + EPS))
                        } else {
                            0.0
                        };
                        dot += *o * x;
                    }
                    for ((o, &x), &dwv) in d.iter_mut().zip(w.iter()).zip(dw.iter()) {
                        *o = T::from_f64(x * (dwv - dot) / t);
                    }
                },
            );
        ds
    }
}

impl CustomOp1 for Addressing {
    fn name(&self) -> &'static str {
        "memory-addressing"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> Result<(CpuStorage, Shape)> {
        let (_, n) = l.shape().dims2()?;
        let out = match s {
            CpuStorage::F32(_) => {
                CpuStorage::F32(self.forward(storage_slice::<f32>(s, l, "memory addressing")?, n))
            }
            CpuStorage::F64(_) => {
                CpuStorage::F64(self.forward(storage_slice::<f64>(s, l, "memory addressing")?, n))
            }
            _ => candle_core::bail!("memory addressing: only f32 and f64 are supported"),
        };
        Ok((out, l.shape().clone()))
    }

    fn bwd(&self, arg: &Tensor, _res: &Tensor, grad: &Tensor) -> Result<Option<Tensor>> {
        let (_, n) = arg.dims2()?;
        let name = "memory addressing backward";
        fn run<T: Real>(op: &Addressing, arg: &Tensor, grad: &Tensor, n: usize) -> Result<Tensor> {
            let name = "memory addressing backward";
            let ds = with_data::<T, _>(arg, name, |s| {
                with_data::<T, _>(grad, name, |g| Ok(op.backward(s, g, n)))
            })?;
            Tensor::from_vec(ds, arg.shape(), arg.device())
        }
        let ds = match arg.dtype() {
            candle_core::DType::F32 => run::<f32>(self, arg, grad, n)?,
            candle_core::DType::F64 => run::<f64>(self, arg, grad, n)?,
            d => candle_core::bail!("{name}: unsupported dtype {d:?}"),
        };
        Ok(Some(ds))
    }
}

/// (most, second most) similar column of each row of `n` values; the second
/// is the first again when there is one column.
pub(crate) fn nearest_rows<T: Copy + PartialOrd + Send + Sync>(
    data: &[T],
    n: usize,
) -> Vec<(u32, u32)> {
    data.par_chunks(n.max(1))
        .with_min_len(256)
        .map(|row| {
            let (mut i1, mut i2) = (0usize, usize::MAX);
            for j in 1..row.len() {
                if row[j] > row[i1] {
                    i2 = i1;
                    i1 = j;
                } else if i2 == usize::MAX || row[j] > row[i2] {
                    i2 = j;
                }
            }
            (i1 as u32, if i2 == usize::MAX { i1 } else { i2 } as u32)
        })
        .collect()
}
