//! Reproducible randomness for the model: seeded weight initialisation and the
//! CVAE's sampling noise.
//!
//! Candle's CPU backend draws from an unseeded thread RNG (`set_seed` is refused
//! on the CPU), so two trainings with the same config would start from
//! different weights. [`seeded_var_builder`] creates every variable from a
//! generator seeded by the config's seed and the variable's name, with the
//! distribution the layer asked for; [`normal`] draws noise from a given state.

use std::sync::Mutex;

use candle_core::{DType, Device, Result, Shape, Tensor, Var};
use candle_nn::init::{Init, NormalOrUniform};
use candle_nn::var_builder::SimpleBackend;
use candle_nn::{VarBuilder, VarMap};

/// SplitMix64: tiny, fast, and good enough for initialisation and noise.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator whose sequence depends only on `seed`.
    pub fn new(seed: u64) -> Rng {
        Rng(seed ^ 0x9e37_79b9_7f4a_7c15)
    }

    /// The raw state, to save and restore a generator exactly.
    pub fn state(&self) -> u64 {
        self.0
    }

    /// A generator continuing from a saved [`Rng::state`].
    pub fn from_state(state: u64) -> Rng {
        Rng(state)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in (0, 1), never exactly 0 or 1.
    pub fn uniform(&mut self) -> f64 {
        ((self.next_u64() >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }

    /// A standard normal sample (Box–Muller).
    pub fn gaussian(&mut self) -> f64 {
        let (u1, u2) = (self.uniform(), self.uniform());
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }
}

/// A (shape) tensor of standard normal samples drawn from `rng`.
pub fn normal(
    rng: &mut Rng,
    shape: impl Into<Shape>,
    dtype: DType,
    device: &Device,
) -> Result<Tensor> {
    let shape = shape.into();
    let data: Vec<f32> = (0..shape.elem_count())
        .map(|_| rng.gaussian() as f32)
        .collect();
    Tensor::from_vec(data, shape, device)?.to_dtype(dtype)
}

/// A [`VarBuilder`] over `vars` whose new variables are drawn from generators
/// seeded by `seed` and the variable's name, so the initial weights do not
/// depend on the order in which layers are built.
pub fn seeded_var_builder(
    vars: &VarMap,
    seed: u64,
    dtype: DType,
    device: &Device,
) -> VarBuilder<'static> {
    let backend = SeededVars {
        vars: vars.clone(),
        seed,
        lock: Mutex::new(()),
    };
    VarBuilder::from_backend(Box::new(backend), dtype, device.clone())
}

struct SeededVars {
    vars: VarMap,
    seed: u64,
    /// Serialises check-then-insert of the same name.
    lock: Mutex<()>,
}

impl SimpleBackend for SeededVars {
    fn get(
        &self,
        shape: Shape,
        name: &str,
        init: Init,
        dtype: DType,
        dev: &Device,
    ) -> Result<Tensor> {
        let _guard = self
            .lock
            .lock()
            .map_err(|_| candle_core::Error::Msg("poisoned lock".into()))?;
        let mut data = self
            .vars
            .data()
            .lock()
            .map_err(|_| candle_core::Error::Msg("poisoned lock".into()))?;
        if let Some(var) = data.get(name) {
            if var.shape() != &shape {
                candle_core::bail!(
                    "variable {name}: shape {:?} requested, {:?} exists",
                    shape,
                    var.shape()
                );
            }
            return Ok(var.as_tensor().clone());
        }
        let mut rng = Rng::new(self.seed ^ fnv1a(name));
        let n = shape.elem_count();
        let values: Vec<f32> = match init {
            Init::Const(c) => vec![c as f32; n],
            Init::Randn { mean, stdev } => (0..n)
                .map(|_| (mean + stdev * rng.gaussian()) as f32)
                .collect(),
            Init::Uniform { lo, up } => (0..n)
                .map(|_| (lo + (up - lo) * rng.uniform()) as f32)
                .collect(),
            Init::Kaiming {
                dist,
                fan,
                non_linearity,
            } => {
                let std = non_linearity.gain() / (fan.for_shape(&shape) as f64).sqrt();
                match dist {
                    NormalOrUniform::Normal => {
                        (0..n).map(|_| (std * rng.gaussian()) as f32).collect()
                    }
                    NormalOrUniform::Uniform => {
                        let bound = 3f64.sqrt() * std;
                        (0..n)
                            .map(|_| (bound * (2.0 * rng.uniform() - 1.0)) as f32)
                            .collect()
                    }
                }
            }
        };
        let tensor = Tensor::from_vec(values, shape, dev)?.to_dtype(dtype)?;
        let var = Var::from_tensor(&tensor)?;
        let out = var.as_tensor().clone();
        data.insert(name.to_string(), var);
        Ok(out)
    }

    fn get_unchecked(&self, name: &str, dtype: DType, dev: &Device) -> Result<Tensor> {
        let data = self
            .vars
            .data()
            .lock()
            .map_err(|_| candle_core::Error::Msg("poisoned lock".into()))?;
        match data.get(name) {
            Some(var) => var.as_tensor().to_device(dev)?.to_dtype(dtype),
            None => candle_core::bail!("variable {name} does not exist"),
        }
    }

    fn contains_tensor(&self, name: &str) -> bool {
        self.vars
            .data()
            .lock()
            .map(|d| d.contains_key(name))
            .unwrap_or(false)
    }
}

/// FNV-1a: a stable hash of a variable's name (std's hasher may change).
fn fnv1a(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Hybrid, ModelConfig};

    fn build(seed: u64) -> VarMap {
        let vars = VarMap::new();
        let vb = seeded_var_builder(&vars, seed, DType::F32, &Device::Cpu);
        Hybrid::new(&ModelConfig::profile("demo").unwrap(), vb).unwrap();
        vars
    }

    fn weights(vars: &VarMap) -> Vec<(String, Vec<f32>)> {
        let mut all: Vec<_> = vars
            .data()
            .lock()
            .unwrap()
            .iter()
            .map(|(k, v)| {
                (
                    k.clone(),
                    v.as_tensor()
                        .flatten_all()
                        .unwrap()
                        .to_vec1::<f32>()
                        .unwrap(),
                )
            })
            .collect();
        all.sort_by(|a, b| a.0.cmp(&b.0));
        all
    }

    #[test]
    fn same_seed_same_weights_other_seed_other_weights() {
        let (a, b, c) = (weights(&build(7)), weights(&build(7)), weights(&build(8)));
        assert_eq!(a, b);
        assert_eq!(a.len(), c.len());
        assert_ne!(a, c);
        // Kaiming-initialised conv weights are not constant and have a sane spread.
        let (name, w) = a
            .iter()
            .find(|(k, v)| k.ends_with("weight") && v.len() > 50)
            .unwrap();
        let mean = w.iter().sum::<f32>() / w.len() as f32;
        let var = w.iter().map(|x| (x - mean).powi(2)).sum::<f32>() / w.len() as f32;
        assert!(var > 1e-4 && var < 1.0, "{name}: variance {var}");
    }

    #[test]
    fn noise_is_reproducible() {
        let mut r1 = Rng::new(3);
        let x = normal(&mut r1, (2, 3), DType::F32, &Device::Cpu).unwrap();
        let mut r2 = Rng::from_state(Rng::new(3).state());
        let y = normal(&mut r2, (2, 3), DType::F32, &Device::Cpu).unwrap();
        assert_eq!(x.to_vec2::<f32>().unwrap(), y.to_vec2::<f32>().unwrap());
        let s: Vec<f32> = normal(&mut r1, 10_000, DType::F32, &Device::Cpu)
            .unwrap()
            .to_vec1()
            .unwrap();
        let mean = s.iter().sum::<f32>() / s.len() as f32;
        let var = s.iter().map(|x| (x - mean).powi(2)).sum::<f32>() / s.len() as f32;
        assert!(
            mean.abs() < 0.05 && (var - 1.0).abs() < 0.05,
            "mean {mean} var {var}"
        );
    }
}
