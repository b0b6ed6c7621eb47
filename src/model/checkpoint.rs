//! Checkpoints: one safetensors file with the weights, the memory items
//! (`memory.bottleneck`, `memory.skip3`, `memory.skip2`), and in its metadata the
//! model config (`config`, JSON), the training-set score statistics (`stats`)
//! and, once `vadscope calibrate` has chosen them, the score weights
//! (`calibration`).
//!
//! Loading checks everything before changing anything: the config must match the
//! model's (the first differing field is named), every tensor the model needs
//! must be present with its exact shape (the tensor is named), and the file may
//! not hold tensors the model does not know.

use std::collections::HashMap;
use std::path::Path;

use candle_core::{DType, Device, Tensor};
use candle_nn::{VarBuilder, VarMap};
use serde::{Deserialize, Serialize};

use super::config::ModelConfig;
use super::hybrid::Hybrid;
use super::memae::MEMORY_NAMES;
use crate::{Error, Result};

/// Summary of one score term over the training set, for online normalisation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct TermStats {
    /// Mean.
    pub mean: f64,
    /// Standard deviation.
    pub std: f64,
    /// Minimum.
    pub min: f64,
    /// Maximum.
    pub max: f64,
}

impl TermStats {
    /// Statistics of `values` (all zero when empty; non-finite values are skipped).
    pub fn from_values(values: &[f64]) -> TermStats {
        let finite: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
        if finite.is_empty() {
            return TermStats::default();
        }
        let n = finite.len() as f64;
        let mean = finite.iter().sum::<f64>() / n;
        let var = finite.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n;
        TermStats {
            mean,
            std: var.sqrt(),
            min: finite.iter().copied().fold(f64::INFINITY, f64::min),
            max: finite.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        }
    }

    /// Min-max normalisation of `value` to [0, 1] by these statistics (0 when
    /// the range is empty); values outside the training range fall outside [0, 1].
    pub fn min_max(&self, value: f64) -> f64 {
        let range = self.max - self.min;
        if range > 0.0 {
            (value - self.min) / range
        } else {
            0.0
        }
    }
}

/// Training-set statistics of the three score terms [12].
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct ScoreStats {
    /// Reconstruction error.
    pub recon: TermStats,
    /// Prediction error.
    pub pred: TermStats,
    /// Feature-compactness distance D.
    pub compact: TermStats,
    /// Number of training samples summarised.
    pub samples: usize,
}

/// A checkpoint read from disk.
#[derive(Debug, Clone)]
pub struct Checkpoint {
    /// The config the weights were trained with.
    pub config: ModelConfig,
    /// Training-set score statistics, if recorded.
    pub stats: Option<ScoreStats>,
    /// Optimiser steps taken when it was saved, if recorded.
    pub step: Option<usize>,
    /// Score weights chosen on training footage, if calibrated (a training
    /// run that saves the checkpoint again drops them: they belong to the
    /// weights they were measured with).
    pub calibration: Option<crate::score::Calibration>,
    /// Every tensor by name (weights and memory items).
    pub tensors: HashMap<String, Tensor>,
}

fn memory_key(i: usize) -> String {
    format!("memory.{}", MEMORY_NAMES[i])
}

/// Writes `model`'s weights (from `vars`), memories, config, `stats` and the
/// training `step` to `path` (atomically).
pub fn save(
    path: &Path,
    model: &Hybrid,
    vars: &VarMap,
    stats: Option<&ScoreStats>,
    step: Option<usize>,
) -> Result<()> {
    let mut tensors: Vec<(String, Tensor)> = {
        let data = vars
            .data()
            .lock()
            .map_err(|_| Error::invalid("variable map lock poisoned"))?;
        data.iter()
            .map(|(k, v)| (k.clone(), v.as_tensor().clone()))
            .collect()
    };
    for (i, memory) in model.memae().memories().iter().enumerate() {
        tensors.push((memory_key(i), memory.items().clone()));
    }
    tensors.sort_by(|a, b| a.0.cmp(&b.0));
    let mut meta = HashMap::new();
    meta.insert("config".to_string(), model.config().to_json());
    if let Some(stats) = stats {
        let json = serde_json::to_string(stats).map_err(|e| Error::invalid(e.to_string()))?;
        meta.insert("stats".to_string(), json);
    }
    if let Some(step) = step {
        meta.insert("step".to_string(), step.to_string());
    }
    let bytes =
        safetensors::tensor::serialize(tensors.iter().map(|(k, v)| (k.as_str(), v)), Some(meta))
            .map_err(|e| Error::format(path, format!("cannot serialise checkpoint: {e}")))?;
    crate::save::atomic_write(path, &bytes)
}

/// Stores `calibration` in the checkpoint at `path` (or removes the one
/// stored, with `None`), leaving its tensors and other metadata as they are.
/// Atomic; the previous file is kept as `path.bak`.
pub fn write_calibration(
    path: &Path,
    calibration: Option<&crate::score::Calibration>,
) -> Result<()> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let bad = |m: String| Error::format(path, m);
    let (_, header) = safetensors::SafeTensors::read_metadata(&bytes)
        .map_err(|e| bad(format!("not a safetensors file: {e}")))?;
    let mut meta = header.metadata().clone().unwrap_or_default();
    if !meta.contains_key("config") {
        return Err(bad("no model config in the checkpoint metadata".into()));
    }
    match calibration {
        Some(c) => {
            let json = serde_json::to_string(c).map_err(|e| Error::invalid(e.to_string()))?;
            meta.insert("calibration".to_string(), json);
        }
        None => {
            meta.remove("calibration");
        }
    }
    let file = safetensors::SafeTensors::deserialize(&bytes)
        .map_err(|e| bad(format!("cannot read tensors: {e}")))?;
    let mut tensors = file.tensors();
    tensors.sort_by(|a, b| a.0.cmp(&b.0));
    let out = safetensors::tensor::serialize(tensors, Some(meta))
        .map_err(|e| bad(format!("cannot serialise checkpoint: {e}")))?;
    crate::save::atomic_write(path, &out)
}

impl Checkpoint {
    /// Reads a checkpoint onto `device`; errors name the file.
    pub fn read(path: &Path, device: &Device) -> Result<Checkpoint> {
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        let bad = |m: String| Error::format(path, m);
        let (_, header) = safetensors::SafeTensors::read_metadata(&bytes)
            .map_err(|e| bad(format!("not a safetensors file: {e}")))?;
        let meta = header.metadata().clone().unwrap_or_default();
        if meta.get("format").map(String::as_str) == Some(crate::train::optim::OPTIMIZER_FORMAT) {
            return Err(bad(
                "this is a run's optimizer state, not a checkpoint (use checkpoint.safetensors beside it)"
                    .into(),
            ));
        }
        let config_json = meta
            .get("config")
            .ok_or_else(|| bad("no model config in the checkpoint metadata".into()))?;
        let config =
            ModelConfig::from_json(config_json).map_err(|e| bad(format!("stored config: {e}")))?;
        let stats = match meta.get("stats") {
            Some(s) => Some(
                serde_json::from_str(s)
                    .map_err(|e| bad(format!("stored score statistics: {e}")))?,
            ),
            None => None,
        };
        let step = match meta.get("step") {
            Some(s) => Some(
                s.parse()
                    .map_err(|_| bad(format!("stored step `{s}` is not a number")))?,
            ),
            None => None,
        };
        let calibration = match meta.get("calibration") {
            Some(s) => Some(
                serde_json::from_str(s)
                    .map_err(|e| bad(format!("stored score calibration: {e}")))?,
            ),
            None => None,
        };
        let tensors = candle_core::safetensors::load_buffer(&bytes, device)
            .map_err(|e| bad(format!("cannot read tensors: {e}")))?;
        Ok(Checkpoint {
            config,
            stats,
            step,
            calibration,
            tensors,
        })
    }

    /// Checks that this checkpoint fits `model` + `vars` exactly: same config
    /// (the number of epochs aside, so a run can be extended), every tensor
    /// present with the right shape, no unknown tensors. `path` is only used in
    /// messages.
    pub fn check(&self, path: &Path, model: &Hybrid, vars: &VarMap) -> Result<()> {
        let bad = |m: String| Err(Error::format(path, m));
        let mut ours = self.config.clone();
        ours.train.epochs = model.config().train.epochs;
        if let Some(field) = ours.first_difference(model.config()) {
            return bad(format!(
                "checkpoint config differs from the model's at `{field}`"
            ));
        }
        let mut expected: Vec<(String, Vec<usize>)> = {
            let data = vars
                .data()
                .lock()
                .map_err(|_| Error::invalid("variable map lock poisoned"))?;
            data.iter()
                .map(|(k, v)| (k.clone(), v.dims().to_vec()))
                .collect()
        };
        for (i, memory) in model.memae().memories().iter().enumerate() {
            expected.push((memory_key(i), memory.items().dims().to_vec()));
        }
        expected.sort();
        for (name, shape) in &expected {
            match self.tensors.get(name) {
                None => {
                    return bad(format!(
                        "tensor `{name}` is missing (model expects shape {shape:?})"
                    ))
                }
                Some(t) if t.dims() != shape.as_slice() => {
                    return bad(format!(
                        "tensor `{name}` has shape {:?}, the model expects {shape:?}",
                        t.dims()
                    ))
                }
                Some(_) => {}
            }
        }
        let mut extra: Vec<&String> = self
            .tensors
            .keys()
            .filter(|k| !expected.iter().any(|(n, _)| n == *k))
            .collect();
        extra.sort();
        if let Some(name) = extra.first() {
            return bad(format!("tensor `{name}` is not part of the model"));
        }
        Ok(())
    }

    /// Loads the weights into `vars` and the memory items into `model` (for
    /// resuming training), after [`Checkpoint::check`].
    pub fn load_into(&self, path: &Path, model: &mut Hybrid, vars: &VarMap) -> Result<()> {
        self.check(path, model, vars)?;
        let fail =
            |name: &str, e: candle_core::Error| Error::tensors(path, format!("tensor `{name}`"), e);
        {
            let data = vars
                .data()
                .lock()
                .map_err(|_| Error::invalid("variable map lock poisoned"))?;
            for (name, var) in data.iter() {
                let t = &self.tensors[name];
                var.set(&t.to_dtype(var.dtype()).map_err(|e| fail(name, e))?)
                    .map_err(|e| fail(name, e))?;
            }
        }
        for (i, memory) in model.memae_mut().memories_mut().iter_mut().enumerate() {
            let key = memory_key(i);
            memory
                .set_items(&self.tensors[&key])
                .map_err(|e| fail(&key, e))?;
        }
        Ok(())
    }

    /// Builds an inference model from the stored config with the weights as plain
    /// tensors (not `Var`s), so a forward records no gradient graph.
    pub fn inference_model(&self, path: &Path, dtype: DType, device: &Device) -> Result<Hybrid> {
        let candle = |e: candle_core::Error| Error::tensors(path, "building the model", e);
        // A throwaway model gives the expected names and shapes for the checks.
        let vars = VarMap::new();
        let probe = Hybrid::new(&self.config, VarBuilder::from_varmap(&vars, dtype, device))
            .map_err(candle)?;
        self.check(path, &probe, &vars)?;
        drop(probe);
        let weights: HashMap<String, Tensor> = self
            .tensors
            .iter()
            .filter(|(k, _)| !k.starts_with("memory."))
            .map(|(k, v)| Ok((k.clone(), v.to_dtype(dtype)?.detach())))
            .collect::<candle_core::Result<_>>()
            .map_err(candle)?;
        let vb = VarBuilder::from_tensors(weights, dtype, device);
        let mut model = Hybrid::new(&self.config, vb).map_err(candle)?;
        for (i, memory) in model.memae_mut().memories_mut().iter_mut().enumerate() {
            let key = memory_key(i);
            memory
                .set_items(&self.tensors[&key])
                .map_err(|e| Error::format(path, format!("tensor `{key}`: {e}")))?;
        }
        Ok(model)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stored_config_out_of_range_fails_before_anything_is_built() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("huge.safetensors");
        let mut cfg = ModelConfig::profile("demo").unwrap();
        // A multiple of 8, so only the range stops it (it used to hang the scorer).
        cfg.input.height = 100_000;
        let meta = HashMap::from([("config".to_string(), cfg.to_json())]);
        let t = Tensor::zeros(4, DType::F32, &Device::Cpu).unwrap();
        let bytes = safetensors::tensor::serialize([("w", &t)], Some(meta)).unwrap();
        std::fs::write(&path, bytes).unwrap();
        let started = std::time::Instant::now();
        let e = Checkpoint::read(&path, &Device::Cpu)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("huge.safetensors")
                && e.contains("stored config")
                && e.contains("input.height 100000")
                && e.contains("8 to 4096"),
            "{e}"
        );
        assert!(started.elapsed().as_secs() < 5);
    }
}
