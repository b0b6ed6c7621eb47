//! AdamW (Loshchilov & Hutter) with a learning-rate schedule, and its state on
//! disk so that training can resume exactly where it stopped.
//!
//! Candle's `AdamW` keeps its moments private, so a resumed run would restart
//! them from zero; this one saves them (`optimizer.safetensors` beside the
//! checkpoint). The update is Candle's: decoupled weight decay
//! θ ← θ·(1 − lr·wd) − lr·m̂ / (√v̂ + ε) with bias-corrected moments.

use std::collections::HashMap;
use std::path::Path;

use candle_core::{Tensor, Var};
use candle_nn::VarMap;

use crate::error::{Error, Result};
use crate::model::config::{Schedule, TrainConfig};

/// Tag of the optimizer-state file.
pub const OPTIMIZER_FORMAT: &str = "vadscope-optimizer";
/// Version of the optimizer-state file this code reads and writes.
pub const OPTIMIZER_VERSION: u32 = 1;

const BETA1: f64 = 0.9;
const BETA2: f64 = 0.999;
const EPS: f64 = 1e-8;

/// AdamW over every variable of a [`VarMap`], in name order.
pub struct AdamW {
    vars: Vec<(String, Var)>,
    m: Vec<Tensor>,
    v: Vec<Tensor>,
    /// Updates applied so far (the bias-correction exponent).
    t: u64,
    weight_decay: f64,
}

/// Where a run stood when its optimizer state was saved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    /// Optimiser steps taken over the whole run.
    pub step: usize,
    /// Training clips the run was using (resuming needs the same set).
    pub clips: usize,
}

impl AdamW {
    /// Fresh moments for every variable in `vars`.
    pub fn new(vars: &VarMap, weight_decay: f64) -> Result<AdamW> {
        let mut all: Vec<(String, Var)> = vars
            .data()
            .lock()
            .map_err(|_| Error::invalid("variable map lock poisoned"))?
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        all.sort_by(|a, b| a.0.cmp(&b.0));
        let zeros = |v: &Var| v.as_tensor().zeros_like().map_err(Error::from);
        let m = all.iter().map(|(_, v)| zeros(v)).collect::<Result<_>>()?;
        let v = all.iter().map(|(_, v)| zeros(v)).collect::<Result<_>>()?;
        Ok(AdamW {
            vars: all,
            m,
            v,
            t: 0,
            weight_decay,
        })
    }

    /// Back-propagates `loss` and applies one update with learning rate `lr`.
    /// Variables without a gradient (unused by this loss) are left alone.
    pub fn backward_step(&mut self, loss: &Tensor, lr: f64) -> Result<()> {
        let grads = loss.backward().map_err(Error::from)?;
        self.t += 1;
        let t = self.t as i32;
        let (c1, c2) = (1.0 - BETA1.powi(t), 1.0 - BETA2.powi(t));
        for (i, (_, var)) in self.vars.iter().enumerate() {
            let Some(g) = grads.get(var) else { continue };
            let step = || -> candle_core::Result<(Tensor, Tensor)> {
                let m = ((&self.m[i] * BETA1)? + (g * (1.0 - BETA1))?)?;
                let v = ((&self.v[i] * BETA2)? + (g.sqr()? * (1.0 - BETA2))?)?;
                let update = ((&m / c1)? / ((&v / c2)?.sqrt()? + EPS)?)?;
                let next = ((var.as_tensor() * (1.0 - lr * self.weight_decay))? - (update * lr)?)?;
                var.set(&next)?;
                Ok((m, v))
            };
            let (m, v) = step().map_err(Error::from)?;
            self.m[i] = m;
            self.v[i] = v;
        }
        Ok(())
    }

    /// Writes the moments and `pos` to `path` (atomically).
    pub fn save(&self, path: &Path, pos: Position) -> Result<()> {
        let mut tensors: Vec<(String, &Tensor)> = Vec::with_capacity(2 * self.vars.len());
        for (i, (name, _)) in self.vars.iter().enumerate() {
            tensors.push((format!("m.{name}"), &self.m[i]));
            tensors.push((format!("v.{name}"), &self.v[i]));
        }
        let meta = HashMap::from([
            ("format".to_string(), OPTIMIZER_FORMAT.to_string()),
            ("version".to_string(), OPTIMIZER_VERSION.to_string()),
            ("adam_t".to_string(), self.t.to_string()),
            ("step".to_string(), pos.step.to_string()),
            ("clips".to_string(), pos.clips.to_string()),
        ]);
        let bytes = safetensors::tensor::serialize(
            tensors.iter().map(|(k, v)| (k.as_str(), *v)),
            Some(meta),
        )
        .map_err(|e| Error::format(path, format!("cannot serialise optimizer state: {e}")))?;
        crate::save::atomic_write(path, &bytes)
    }

    /// Restores moments saved by [`AdamW::save`] for the same variables and
    /// returns where that run stood. Errors name the file and the tensor.
    pub fn load(&mut self, path: &Path) -> Result<Position> {
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        let bad = |m: String| Error::format(path, m);
        let (_, header) = safetensors::SafeTensors::read_metadata(&bytes)
            .map_err(|e| bad(format!("not a safetensors file: {e}")))?;
        let meta = header.metadata().clone().unwrap_or_default();
        if meta.get("format").map(String::as_str) != Some(OPTIMIZER_FORMAT) {
            return Err(bad("not a vadscope optimizer state".into()));
        }
        if meta.get("version").map(String::as_str) != Some(&OPTIMIZER_VERSION.to_string()) {
            return Err(bad(format!(
                "optimizer state version {:?} is not supported (this build reads {OPTIMIZER_VERSION})",
                meta.get("version")
            )));
        }
        let number = |key: &str| -> Result<u64> {
            meta.get(key)
                .and_then(|v| v.parse().ok())
                .ok_or_else(|| bad(format!("metadata `{key}` is missing or not a number")))
        };
        let (t, step, clips) = (number("adam_t")?, number("step")?, number("clips")?);
        let device = self.vars.first().map(|(_, v)| v.device().clone());
        let device = device.unwrap_or(candle_core::Device::Cpu);
        let tensors = candle_core::safetensors::load_buffer(&bytes, &device)
            .map_err(|e| bad(format!("cannot read tensors: {e}")))?;
        let mut m = Vec::with_capacity(self.vars.len());
        let mut v = Vec::with_capacity(self.vars.len());
        for (name, var) in &self.vars {
            for (prefix, out) in [("m", &mut m), ("v", &mut v)] {
                let key = format!("{prefix}.{name}");
                let tensor = tensors
                    .get(&key)
                    .ok_or_else(|| bad(format!("tensor `{key}` is missing")))?;
                if tensor.dims() != var.dims() {
                    return Err(bad(format!(
                        "tensor `{key}` has shape {:?}, the model expects {:?}",
                        tensor.dims(),
                        var.dims()
                    )));
                }
                out.push(
                    tensor
                        .to_dtype(var.dtype())
                        .map_err(|e| Error::tensors(path, format!("tensor `{key}`"), e))?,
                );
            }
        }
        if tensors.len() != 2 * self.vars.len() {
            return Err(bad(format!(
                "{} tensors, the model's optimizer has {}",
                tensors.len(),
                2 * self.vars.len()
            )));
        }
        self.m = m;
        self.v = v;
        self.t = t;
        Ok(Position {
            step: step as usize,
            clips: clips as usize,
        })
    }
}

/// The learning rate at `step` (from 0) of a run of `total` steps: linear
/// warm-up over `warmup_steps`, then constant or cosine decay to zero.
pub fn learning_rate(cfg: &TrainConfig, step: usize, total: usize) -> f64 {
    let base = cfg.learning_rate;
    if step < cfg.warmup_steps {
        return base * (step + 1) as f64 / cfg.warmup_steps as f64;
    }
    match cfg.schedule {
        Schedule::Constant => base,
        Schedule::Cosine => {
            let span = total.saturating_sub(cfg.warmup_steps).max(1) as f64;
            let p = ((step - cfg.warmup_steps) as f64 / span).min(1.0);
            0.5 * base * (1.0 + (std::f64::consts::PI * p).cos())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{DType, Device};
    use candle_nn::Optimizer;

    fn quadratic(vars: &VarMap) -> Tensor {
        let w = vars.data().lock().unwrap()["w"].as_tensor().clone();
        let target = Tensor::new(&[1f32, -2.0, 3.0], &Device::Cpu).unwrap();
        (w - target).unwrap().sqr().unwrap().sum_all().unwrap()
    }

    fn vars(init: &[f32]) -> VarMap {
        let vars = VarMap::new();
        let var = Var::new(init, &Device::Cpu).unwrap();
        vars.data().lock().unwrap().insert("w".into(), var);
        vars
    }

    fn weights(vars: &VarMap) -> Vec<f32> {
        vars.data().lock().unwrap()["w"]
            .as_tensor()
            .to_vec1()
            .unwrap()
    }

    #[test]
    fn matches_candles_adamw() {
        let (a, b) = (vars(&[0.5, 0.5, 0.5]), vars(&[0.5, 0.5, 0.5]));
        let mut ours = AdamW::new(&a, 0.01).unwrap();
        let params = candle_nn::ParamsAdamW {
            lr: 0.05,
            weight_decay: 0.01,
            ..Default::default()
        };
        let mut theirs = candle_nn::AdamW::new(b.all_vars(), params).unwrap();
        for _ in 0..20 {
            ours.backward_step(&quadratic(&a), 0.05).unwrap();
            theirs.backward_step(&quadratic(&b)).unwrap();
        }
        for (x, y) in weights(&a).iter().zip(weights(&b)) {
            assert!((x - y).abs() < 1e-6, "{x} vs {y}");
        }
    }

    #[test]
    fn saved_state_resumes_exactly() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("opt.safetensors");
        let (a, b) = (vars(&[0.0, 0.0, 0.0]), vars(&[0.0; 3]));
        let mut straight = AdamW::new(&a, 0.0).unwrap();
        for _ in 0..10 {
            straight.backward_step(&quadratic(&a), 0.1).unwrap();
        }
        let mut first = AdamW::new(&b, 0.0).unwrap();
        for _ in 0..5 {
            first.backward_step(&quadratic(&b), 0.1).unwrap();
        }
        first.save(&path, Position { step: 5, clips: 9 }).unwrap();
        let mut resumed = AdamW::new(&b, 0.0).unwrap();
        let pos = resumed.load(&path).unwrap();
        assert_eq!(pos, Position { step: 5, clips: 9 });
        for _ in 0..5 {
            resumed.backward_step(&quadratic(&b), 0.1).unwrap();
        }
        assert_eq!(weights(&a), weights(&b));

        // A state for other variables names the tensor.
        let other = VarMap::new();
        let var = Var::zeros((2, 2), DType::F32, &Device::Cpu).unwrap();
        other.data().lock().unwrap().insert("w".into(), var);
        let err = AdamW::new(&other, 0.0)
            .unwrap()
            .load(&path)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("m.w") && err.contains("opt.safetensors"),
            "{err}"
        );
        std::fs::write(&path, b"garbage").unwrap();
        assert!(AdamW::new(&b, 0.0).unwrap().load(&path).is_err());
    }

    #[test]
    fn schedule_warms_up_and_decays() {
        let mut cfg = crate::model::ModelConfig::profile("demo").unwrap().train;
        cfg.learning_rate = 1.0;
        cfg.warmup_steps = 10;
        cfg.schedule = Schedule::Cosine;
        assert!((learning_rate(&cfg, 0, 110) - 0.1).abs() < 1e-12);
        assert!((learning_rate(&cfg, 9, 110) - 1.0).abs() < 1e-12);
        assert!((learning_rate(&cfg, 10, 110) - 1.0).abs() < 1e-12);
        assert!((learning_rate(&cfg, 60, 110) - 0.5).abs() < 1e-12);
        assert!(learning_rate(&cfg, 109, 110) < 0.001);
        cfg.schedule = Schedule::Constant;
        assert_eq!(learning_rate(&cfg, 109, 110), 1.0);
    }
}
