//! Group norm followed by ReLU as one Candle custom op on the CPU.
//!
//! y = max(0, γ_c·(x − μ_g)/√(σ²_g + ε) + β_c), with μ_g and σ²_g (biased) over
//! each sample's group of channels, exactly as `candle_nn::GroupNorm` + `relu`.
//! The forward is two passes over the data (statistics in f64, then one
//! multiply-add and a max); the backward recomputes the statistics and is two
//! passes too: with ĝ = g·[y > 0], x̂ = (x − μ)·r, r = 1/√(σ² + ε) and n the group size,
//! dβ_c = Σ ĝ, dγ_c = Σ ĝ·x̂ and dx = r·(γ_c ĝ − mean(γ ĝ) − x̂·mean(γ ĝ x̂)).
//! Candle's composite version records about ten full-size nodes per norm.

use std::sync::Mutex;

use candle_core::{CpuStorage, CustomOp3, Layout, Module, Result, Shape, Tensor};
use candle_nn::VarBuilder;
use rayon::prelude::*;

use super::kernels::{
    affine_relu, par_filled, shifted_sums, storage_slice, supported, with_data, Real,
};

/// Group norm with a per-channel affine transform, then ReLU. Weights are named
/// like `candle_nn::group_norm` (`weight` initialised to 1, `bias` to 0).
#[derive(Debug, Clone)]
pub struct GroupNormRelu {
    weight: Tensor,
    bias: Tensor,
    groups: usize,
    eps: f64,
}

impl GroupNormRelu {
    /// `groups` groups over `channels` channels (groups must divide channels).
    pub fn new(groups: usize, channels: usize, eps: f64, vb: VarBuilder) -> Result<GroupNormRelu> {
        if groups == 0 || !channels.is_multiple_of(groups) {
            candle_core::bail!("group norm: {groups} groups do not divide {channels} channels");
        }
        Ok(GroupNormRelu {
            weight: vb.get_with_hints(channels, "weight", candle_nn::Init::Const(1.0))?,
            bias: vb.get_with_hints(channels, "bias", candle_nn::Init::Const(0.0))?,
            groups,
            eps,
        })
    }
}

impl Module for GroupNormRelu {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        if supported(x) && x.rank() >= 3 {
            let op = NormRelu {
                groups: self.groups,
                eps: self.eps,
                stats: Mutex::new(Vec::new()),
            };
            x.contiguous()?
                .apply_op3(&self.weight.contiguous()?, &self.bias.contiguous()?, op)
        } else {
            let channels = self.weight.dims1()?;
            candle_nn::GroupNorm::new(
                self.weight.clone(),
                self.bias.clone(),
                channels,
                self.groups,
                self.eps,
            )?
            .forward(x)?
            .relu()
        }
    }
}

struct NormRelu {
    groups: usize,
    eps: f64,
    /// (mean, 1/√(var + ε)) per (sample, group), kept by the forward for the
    /// backward (each graph node owns its op), which saves it a pass over x.
    stats: Mutex<Vec<(f64, f64)>>,
}

/// (batch, channels, positions per channel) of an input shape.
fn geometry(shape: &Shape) -> Result<(usize, usize, usize)> {
    let dims = shape.dims();
    if dims.len() < 3 {
        candle_core::bail!("group norm: input must have rank >= 3, got {dims:?}");
    }
    Ok((dims[0], dims[1], dims[2..].iter().product()))
}

/// Mean and 1/√(var + ε) of a group in one pass: sums of x − s and (x − s)²
/// around the group's first value s, blocks accumulated in f64. Shifting by a
/// value of the data keeps E[(x−s)²] − E[x−s]² from cancelling when the mean
/// is large against the spread.
fn stats<T: Real>(xs: &[T], eps: f64) -> (f64, f64) {
    let n = xs.len().max(1) as f64;
    let shift = xs.first().copied().unwrap_or(T::ZERO);
    let (s1, s2) = shifted_sums(xs, shift);
    let (m1, m2) = (s1 / n, s2 / n);
    let var = (m2 - m1 * m1).max(0.0);
    (shift.to_f64() + m1, 1.0 / (var + eps).sqrt())
}

#[allow(clippy::too_many_arguments)]
fn forward<T: Real>(
    x: &[T],
    gamma: &[T],
    beta: &[T],
    groups: usize,
    eps: f64,
    c: usize,
    hw: usize,
    kept: &Mutex<Vec<(f64, f64)>>,
) -> Vec<T> {
    let cg = c / groups;
    let units = x.len() / (cg * hw).max(1);
    *kept.lock().unwrap_or_else(|e| e.into_inner()) = vec![(0.0, 0.0); units];
    par_filled(x.len(), cg * hw, |unit, yg| {
        let xg = &x[unit * cg * hw..][..yg.len()];
        let (mean, rstd) = stats(xg, eps);
        kept.lock().unwrap_or_else(|e| e.into_inner())[unit] = (mean, rstd);
        let c0 = (unit % groups) * cg;
        for ci in 0..cg {
            let a = gamma[c0 + ci].to_f64() * rstd;
            let (a, b) = (
                T::from_f64(a),
                T::from_f64(beta[c0 + ci].to_f64() - mean * a),
            );
            affine_relu(&xg[ci * hw..][..hw], a, b, &mut yg[ci * hw..][..hw]);
        }
    })
}

/// (Σĝ, Σĝ·(x − m)) over one channel, ĝ = g where y > 0 (else 0): eight `T`
/// lanes per block of 1024, blocks summed in f64 (as `shifted_sums`).
fn ghat_sums<T: Real>(x: &[T], y: &[T], g: &[T], m: T) -> (f64, f64) {
    let (mut t1, mut t2) = (0.0f64, 0.0f64);
    for ((xb, yb), gb) in x.chunks(1024).zip(y.chunks(1024)).zip(g.chunks(1024)) {
        let (mut a1, mut a2) = ([T::ZERO; 8], [T::ZERO; 8]);
        let (xl, yl, gl) = (xb.chunks_exact(8), yb.chunks_exact(8), gb.chunks_exact(8));
        let rest = (xl.remainder(), yl.remainder(), gl.remainder());
        for ((xv, yv), gv) in xl.zip(yl).zip(gl) {
            for j in 0..8 {
                let gh = if yv[j] > T::ZERO { gv[j] } else { T::ZERO };
                a1[j] += gh;
                a2[j] += gh * (xv[j] - m);
            }
        }
        for ((&xv, &yv), &gv) in rest.0.iter().zip(rest.1).zip(rest.2) {
            if yv > T::ZERO {
                t1 += gv.to_f64();
                t2 += (gv * (xv - m)).to_f64();
            }
        }
        t1 += a1.iter().map(|v| v.to_f64()).sum::<f64>();
        t2 += a2.iter().map(|v| v.to_f64()).sum::<f64>();
    }
    (t1, t2)
}

/// (dx, dγ, dβ) from the input, γ, the output y and the upstream gradient.
#[allow(clippy::too_many_arguments)]
fn backward<T: Real>(
    x: &[T],
    gamma: &[T],
    y: &[T],
    gy: &[T],
    groups: usize,
    eps: f64,
    c: usize,
    hw: usize,
    kept: &[(f64, f64)],
) -> (Vec<T>, Vec<T>, Vec<T>) {
    let cg = c / groups;
    let b = x.len() / (c * hw).max(1);
    // The forward's statistics where it ran on this node, else recomputed.
    let kept = (kept.len() == b * groups).then_some(kept);
    let mut dx = vec![T::ZERO; x.len()];
    // Per-sample sums (Σĝ, Σĝx̂) per channel, reduced over the batch afterwards.
    let mut sums = vec![(0.0f64, 0.0f64); b * c];
    dx.par_chunks_mut(cg * hw)
        .zip(sums.par_chunks_mut(cg))
        .enumerate()
        .for_each(|(unit, (dxg, sg))| {
            let off = unit * cg * hw;
            let xg = &x[off..][..cg * hw];
            let (yg, gg) = (&y[off..][..cg * hw], &gy[off..][..cg * hw]);
            let (mean, rstd) = kept.map_or_else(|| stats(xg, eps), |k| k[unit]);
            let c0 = (unit % groups) * cg;
            let (mut m1, mut m2) = (0.0, 0.0);
            let m = T::from_f64(mean);
            for (ci, s) in sg.iter_mut().enumerate() {
                let range = ci * hw..(ci + 1) * hw;
                // Σĝ and Σĝ(x − μ) in T lanes (ĝ: the gradient where ReLU passed it).
                let (s1, s2) = ghat_sums(&xg[range.clone()], &yg[range.clone()], &gg[range], m);
                let s2 = s2 * rstd;
                *s = (s1, s2);
                let gm = gamma[c0 + ci].to_f64();
                m1 += gm * s1;
                m2 += gm * s2;
            }
            let n = (cg * hw) as f64;
            let (m1, m2) = (m1 / n, m2 / n);
            for ci in 0..cg {
                // dx = r·(γĝ − m1 − x̂·m2) = a·ĝ + c·(x − μ) + b.
                let gm = gamma[c0 + ci].to_f64();
                let (a, cx, b) = (
                    T::from_f64(rstd * gm),
                    T::from_f64(-rstd * rstd * m2),
                    T::from_f64(-rstd * m1),
                );
                let range = ci * hw..(ci + 1) * hw;
                for (((d, &xv), &yv), &gv) in dxg[range.clone()]
                    .iter_mut()
                    .zip(&xg[range.clone()])
                    .zip(&yg[range.clone()])
                    .zip(&gg[range])
                {
                    let gh = if yv > T::ZERO { gv } else { T::ZERO };
                    *d = a * gh + cx * (xv - m) + b;
                }
            }
        });
    let mut dgamma = vec![0.0f64; c];
    let mut dbeta = vec![0.0f64; c];
    for row in sums.chunks(c) {
        for (ci, &(s1, s2)) in row.iter().enumerate() {
            dbeta[ci] += s1;
            dgamma[ci] += s2;
        }
    }
    let conv = |v: Vec<f64>| v.into_iter().map(T::from_f64).collect();
    (dx, conv(dgamma), conv(dbeta))
}

fn run_backward<T: Real>(
    op: &NormRelu,
    x: &Tensor,
    gamma: &Tensor,
    y: &Tensor,
    gy: &Tensor,
) -> Result<(Tensor, Tensor, Tensor)> {
    let (_, c, hw) = geometry(x.shape())?;
    let name = "group norm backward";
    let (dx, dg, db) = with_data::<T, _>(x, name, |xv| {
        with_data::<T, _>(gamma, name, |gv| {
            with_data::<T, _>(y, name, |yv| {
                with_data::<T, _>(gy, name, |gyv| {
                    let kept = op.stats.lock().unwrap_or_else(|e| e.into_inner());
                    Ok(backward(xv, gv, yv, gyv, op.groups, op.eps, c, hw, &kept))
                })
            })
        })
    })?;
    let dev = x.device();
    Ok((
        Tensor::from_vec(dx, x.shape(), dev)?,
        Tensor::from_vec(dg, c, dev)?,
        Tensor::from_vec(db, c, dev)?,
    ))
}

impl CustomOp3 for NormRelu {
    fn name(&self) -> &'static str {
        "group-norm-relu"
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
        let (_, c, hw) = geometry(l1.shape())?;
        if l2.shape().dims() != [c] || l3.shape().dims() != [c] || !c.is_multiple_of(self.groups) {
            candle_core::bail!(
                "group norm: weight/bias must have {c} elements, divisible into {} groups",
                self.groups
            );
        }
        fn run<T: Real>(
            op: &NormRelu,
            s: [(&CpuStorage, &Layout); 3],
            c: usize,
            hw: usize,
        ) -> Result<CpuStorage> {
            let x = storage_slice::<T>(s[0].0, s[0].1, "group norm")?;
            let g = storage_slice::<T>(s[1].0, s[1].1, "group norm")?;
            let b = storage_slice::<T>(s[2].0, s[2].1, "group norm")?;
            Ok(T::wrap(forward(
                x, g, b, op.groups, op.eps, c, hw, &op.stats,
            )))
        }
        let s = [(s1, l1), (s2, l2), (s3, l3)];
        let out = match s1 {
            CpuStorage::F32(_) => run::<f32>(self, s, c, hw)?,
            CpuStorage::F64(_) => run::<f64>(self, s, c, hw)?,
            _ => candle_core::bail!("group norm: only f32 and f64 are supported"),
        };
        Ok((out, l1.shape().clone()))
    }

    fn bwd(
        &self,
        x: &Tensor,
        gamma: &Tensor,
        _beta: &Tensor,
        res: &Tensor,
        grad: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let (dx, dg, db) = match x.dtype() {
            candle_core::DType::F32 => run_backward::<f32>(self, x, gamma, res, grad)?,
            candle_core::DType::F64 => run_backward::<f64>(self, x, gamma, res, grad)?,
            d => candle_core::bail!("group norm backward: unsupported dtype {d:?}"),
        };
        Ok((Some(dx), Some(dg), Some(db)))
    }
}
