//! Tests of the model: gradient checks against finite differences (f64, CPU),
//! tests that pin the Candle bugs we work around, memory behaviour on rendered
//! scenes, checkpoints and a few optimiser steps.

mod candle_bugs;
mod fused;
mod gradcheck;
mod memory_slots;
mod model;

use candle_core::{DType, Device, Result, Tensor, Var};
use candle_nn::{VarBuilder, VarMap};

use super::config::{ModelConfig, Variant};
use super::memory::gaussian;

/// Deterministic standard normal values.
pub(super) fn randn(seed: u64, shape: &[usize]) -> Tensor {
    let n: usize = shape.iter().product();
    let mut state = seed.wrapping_mul(0x2545_f491_4f6c_dd1d) ^ 0x1234;
    let data: Vec<f64> = (0..n).map(|_| gaussian(&mut state) as f64).collect();
    Tensor::from_vec(data, shape, &Device::Cpu).unwrap()
}

/// A trainable f64 variable with random values.
pub(super) fn var(seed: u64, shape: &[usize]) -> Var {
    Var::from_tensor(&randn(seed, shape)).unwrap()
}

/// Maximum relative error between backprop and central differences of the
/// scalar `f` with respect to `vars`, over at most `per_var` elements of each
/// (spread over the tensor). Relative to max(|a|, |n|, 1e-3·max|gradient|) so
/// tiny gradients do not dominate. An element whose error is explained by a kink
/// inside the step (ReLU, max, a change of nearest memory item), i.e. whose
/// one-sided differences disagree by more than the error, is skipped; at most a
/// tenth of the elements may be skipped. A wrong gradient is never explained so:
/// both one-sided differences agree with each other, not with backprop.
pub(super) fn gradcheck(vars: &[Var], per_var: usize, f: impl Fn() -> Result<Tensor>) -> f64 {
    let loss = f().unwrap();
    let at = loss.to_scalar::<f64>().unwrap();
    let grads = loss.backward().unwrap();
    // Small steps make crossing a kink of the whole model (any ReLU) unlikely;
    // f64 keeps the differences' rounding near 1e-9.
    let h = 1e-7;
    let mut samples = Vec::new();
    for v in vars {
        let analytic = match grads.get(v.as_tensor()) {
            Some(g) => g.flatten_all().unwrap().to_vec1::<f64>().unwrap(),
            None => vec![0.0; v.elem_count()],
        };
        let base = v
            .as_tensor()
            .flatten_all()
            .unwrap()
            .to_vec1::<f64>()
            .unwrap();
        let n = base.len();
        let step = (n / per_var.max(1)).max(1);
        let set = |vals: &[f64]| {
            let t = Tensor::from_slice(vals, v.shape(), &Device::Cpu).unwrap();
            v.set(&t).unwrap();
        };
        for i in (0..n).step_by(step).take(per_var) {
            let mut p = base.clone();
            p[i] += h;
            set(&p);
            let up = f().unwrap().to_scalar::<f64>().unwrap();
            p[i] = base[i] - h;
            set(&p);
            let down = f().unwrap().to_scalar::<f64>().unwrap();
            set(&base);
            let (fwd, bwd) = ((up - at) / h, (at - down) / h);
            samples.push((analytic[i], (up - down) / (2.0 * h), (fwd - bwd).abs()));
        }
    }
    let scale = samples
        .iter()
        .map(|(a, n, _)| a.abs().max(n.abs()))
        .fold(0.0, f64::max);
    assert!(scale > 0.0, "all gradients are zero: nothing was checked");
    let rel = |a: f64, n: f64| (a - n).abs() / a.abs().max(n.abs()).max(1e-3 * scale);
    let smooth: Vec<_> = samples
        .iter()
        .filter(|(a, n, kink)| rel(*a, *n) < 1e-5 || *kink < (a - n).abs())
        .collect();
    let skipped = samples.len() - smooth.len();
    assert!(
        skipped * 10 <= samples.len(),
        "{skipped} of {} elements sit on kinks",
        samples.len()
    );
    smooth
        .iter()
        .map(|(a, n, _)| rel(*a, *n))
        .fold(0.0, f64::max)
}

/// Reduces a tensor to a scalar with a fixed random projection, so every
/// element's gradient is exercised (a plain sum would hide some bugs).
pub(super) fn project(x: &Tensor, seed: u64) -> Result<Tensor> {
    let r = randn(seed, x.dims());
    (x * r)?.sum_all()
}

/// The smallest configuration of `variant`: 16x16 gray, 2 frames, 4 channels.
pub(super) fn tiny_config(variant: Variant) -> ModelConfig {
    let mut cfg = ModelConfig::profile("demo").unwrap();
    cfg.variant = variant;
    cfg.input.height = 16;
    cfg.input.width = 16;
    cfg.memae.channels = [4, 4, 4, 4];
    cfg.cvae.channels = [4, 4, 4, 4];
    cfg.cvae.latent = 2;
    cfg.memory.slots = [5, 5, 5];
    cfg
}

/// A fresh f64 variable map and its builder.
pub(super) fn f64_vars() -> (VarMap, DType) {
    (VarMap::new(), DType::F64)
}

/// A builder over `vars` on the CPU.
pub(super) fn builder(vars: &VarMap, dtype: DType) -> VarBuilder<'_> {
    VarBuilder::from_varmap(vars, dtype, &Device::Cpu)
}

/// Replaces every randomly initialised variable of `vars` with seeded normal
/// values (Kaiming scale for conv weights, 0.1 for vectors; constants such as
/// norm gains stay), so model-level tests are reproducible: Candle's
/// initialisers draw from an unseeded RNG.
pub(super) fn seed_vars(vars: &VarMap, seed: u64) {
    let data = vars.data().lock().unwrap();
    let mut names: Vec<&String> = data.keys().collect();
    names.sort();
    for (i, name) in names.into_iter().enumerate() {
        let v = &data[name];
        let values = v
            .as_tensor()
            .flatten_all()
            .unwrap()
            .to_dtype(DType::F64)
            .unwrap();
        let values = values.to_vec1::<f64>().unwrap();
        if values.iter().all(|x| *x == values[0]) {
            continue;
        }
        let dims = v.dims();
        let std = if dims.len() == 4 {
            (2.0 / (dims[1] * dims[2] * dims[3]) as f64).sqrt()
        } else {
            0.1
        };
        let fresh = (randn(seed.wrapping_add(i as u64 * 7919), dims) * std).unwrap();
        v.set(&fresh.to_dtype(v.dtype()).unwrap()).unwrap();
    }
}
