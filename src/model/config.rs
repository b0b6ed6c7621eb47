//! The model's configuration: a versioned JSON file with three built-in profiles.
//!
//! Every size, memory setting, loss weight and ablation switch of the hybrid model
//! lives here, so an experiment is a file, not a code change. Loss terms are "off"
//! when their weight is 0. The file carries a `version`; readers refuse versions
//! they do not know instead of guessing.
//!
//! Profiles (see [`ModelConfig::profile`]):
//! - `demo`: 32x32 gray, 2 input frames, tiny channels, learning rate 5e-3;
//!   trains in seconds on the synthetic scene (`tests/synth_auc.rs` trains it
//!   at the frames' 64x48 size and checks frame AUC ≥ 0.95).
//! - `cpu`: gray 128x192 frames (Ped2's aspect) trained on 64x64 crops and
//!   scored in tiles of that size, 4 input frames, channels 16..64, the VAE
//!   variant, 16 epochs (4976 steps of 8 clips on Ped2); sized for UCSD Ped2
//!   on 2 CPU cores in under 2 hours (`docs/results/ped2-cpu`).
//! - `paper`: 256x256 RGB, 4 input frames, channels 64..512 as in Long et al.;
//!   meant for a GPU.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// The configuration format this code writes and reads.
pub const CONFIG_VERSION: u32 = 1;

/// Which model the configuration builds (the paper's Table 2 ablation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Variant {
    /// The multi-layer MemAE alone: reconstruction of the input frames only.
    MemAeOnly,
    /// MemAE + a VAE predicting the next frame without optical flow (prior N(0, I)).
    Vae,
    /// MemAE + the flow-conditioned CVAE: the full hybrid model.
    Cvae,
}

impl std::str::FromStr for Variant {
    type Err = Error;

    /// The config file's names: `mem_ae_only`, `vae`, `cvae`.
    fn from_str(s: &str) -> Result<Variant> {
        match s {
            "mem_ae_only" => Ok(Variant::MemAeOnly),
            "vae" => Ok(Variant::Vae),
            "cvae" => Ok(Variant::Cvae),
            _ => Err(Error::invalid(format!(
                "unknown variant `{s}` (mem_ae_only, vae or cvae)"
            ))),
        }
    }
}

/// Where memory modules sit in the U-Net (the paper's Table 3 ablation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MemoryLayers {
    /// One memory on the bottleneck; skip connections (if on) pass features unchanged.
    Single,
    /// Memories on the bottleneck and on the two inner skip connections (Fig. 3).
    Multi,
}

/// Input geometry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InputConfig {
    /// Frame height in pixels; a multiple of 8 (three 2x poolings).
    pub height: usize,
    /// Frame width in pixels; a multiple of 8.
    pub width: usize,
    /// 1 for gray, 3 for RGB.
    pub channels: usize,
    /// t: frames x_1..t the MemAE reconstructs and the CVAE conditions on.
    pub frames: usize,
}

/// The multi-layer memory-augmented autoencoder (Fig. 3).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MemAeConfig {
    /// Channels of the four U-Net levels, outermost first; the last is the bottleneck.
    pub channels: [usize; 4],
    /// Skip connections on the two inner levels (the outermost never has one).
    pub skips: bool,
    /// Memory on the bottleneck only, or on the bottleneck and the inner skips.
    pub memory_layers: MemoryLayers,
}

/// The memory modules [2–11].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MemoryConfig {
    /// Items N of the memories on the bottleneck, level-3 skip and level-2 skip.
    pub slots: [usize; 3],
    /// Softmax temperature T on cosine similarities [3]. Cosine lies in [-1, 1], so
    /// T = 1 leaves the softmax nearly uniform over many items; 0.1 sharpens it.
    pub temperature: f64,
    /// Hard-shrinkage threshold as a fraction of 1/N: λ = shrink / N [4]. Values in
    /// [0, 1] guarantee a non-zero read (the largest weight is at least 1/N); a λ
    /// above 1/N with a near-uniform softmax zeroes every weight.
    pub shrink: f64,
    /// Update radius τ [7]: a query moves its nearest item only when their
    /// Euclidean distance (unit vectors, so in [0, 2]) is below τ.
    pub update_radius: f64,
    /// Margin γ of the separation (triplet) loss [11].
    pub margin: f64,
    /// Whether memories keep updating while scoring (off: the memory is frozen).
    pub update_at_test: bool,
}

/// The CVAE [13–17].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CvaeConfig {
    /// Channels of the four levels of the prior and posterior encoders and the decoder.
    pub channels: [usize; 4],
    /// Channels of the latent z at the bottleneck resolution.
    pub latent: usize,
    /// Skip connections from the posterior net into the decoder.
    pub skips: bool,
    /// Condition on the flow into the predicted frame (y_t, from x_t to
    /// x_t+1; HF2-VAD's convention). Off: that flow is zeroed, so the
    /// prediction must extrapolate the motion of y_1..t-1 instead of being
    /// told it (an ablation; older configs read as on).
    #[serde(default = "future_flow_default")]
    pub future_flow: bool,
}

fn future_flow_default() -> bool {
    true
}

/// Weights of the training loss terms; 0 switches a term off (Table 4).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LossWeights {
    /// MemAE reconstruction MSE of x_1..t.
    pub recon: f64,
    /// Compactness [10], summed over memory layers.
    pub compact: f64,
    /// Separation [11], summed over memory layers.
    pub separate: f64,
    /// Prediction MSE of x_t+1 [17].
    pub pred: f64,
    /// β: KL(q‖p) [16].
    pub kl: f64,
    /// Image-gradient loss of the prediction [17].
    pub gradient: f64,
}

/// The anomaly score [12]: weights of its terms (each term is normalised
/// first) and how an error map becomes one number per frame.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScoreConfig {
    /// Reconstruction error of x_1..t.
    pub recon: f64,
    /// Prediction error of x_t+1.
    pub pred: f64,
    /// Feature-compactness distance D [12].
    pub compact: f64,
    /// Pooling of the error and distance maps into a frame score: 0 takes the
    /// mean over the whole frame (MSE, as in the paper); k > 0 takes the
    /// largest mean over k x k-pixel windows (stride k/2, at the model's input
    /// size), so that a small anomalous object is not diluted by a large normal
    /// background. Distance maps use the window scaled to their resolution.
    #[serde(default)]
    pub patch: usize,
    /// Score whole frames even when trained on crops (`train.crop`); by
    /// default such a model scores a frame in crop-sized tiles, the inputs it
    /// was trained on (see [`super::tiles`]).
    #[serde(default)]
    pub whole_frames: bool,
}

/// How the learning rate changes over a run (after the warm-up).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Schedule {
    /// The learning rate throughout.
    #[default]
    Constant,
    /// Half a cosine from the learning rate down to zero at the last step.
    Cosine,
}

/// Optimiser settings the training loop uses.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainConfig {
    /// AdamW learning rate.
    pub learning_rate: f64,
    /// AdamW weight decay.
    pub weight_decay: f64,
    /// Clips per optimiser step.
    pub batch_size: usize,
    /// Passes over the training clips.
    pub epochs: usize,
    /// Seed of weight initialisation, memory items and sampling.
    pub seed: u64,
    /// Learning-rate schedule after the warm-up (files without it: constant).
    #[serde(default)]
    pub schedule: Schedule,
    /// Steps of linear warm-up from 0 to the learning rate.
    #[serde(default)]
    pub warmup_steps: usize,
    /// Train on random `[height, width]` crops of the input frames (one per
    /// clip and step) instead of whole frames. The model is fully
    /// convolutional, so it scores whole frames at the input size: a large
    /// input at the cost of a small one per step (files without it: no crop).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crop: Option<[usize; 2]>,
}

/// The whole configuration, as stored in a config file and in every checkpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelConfig {
    /// Format version; must equal [`CONFIG_VERSION`].
    pub version: u32,
    /// The profile this configuration started from (informative).
    pub profile: String,
    /// Which model to build.
    pub variant: Variant,
    /// Input geometry.
    pub input: InputConfig,
    /// MemAE architecture.
    pub memae: MemAeConfig,
    /// Memory modules.
    pub memory: MemoryConfig,
    /// CVAE architecture (ignored by `mem_ae_only`).
    pub cvae: CvaeConfig,
    /// Training loss weights.
    pub loss: LossWeights,
    /// Anomaly-score weights.
    pub score: ScoreConfig,
    /// Optimiser settings.
    pub train: TrainConfig,
}

/// Names of the built-in profiles.
pub const PROFILES: [&str; 3] = ["demo", "cpu", "paper"];

impl ModelConfig {
    /// The `[height, width]` a training step sees: the crop, or the whole input.
    pub fn train_size(&self) -> [usize; 2] {
        self.train
            .crop
            .unwrap_or([self.input.height, self.input.width])
    }

    /// A built-in profile by name: `demo`, `cpu` or `paper`.
    pub fn profile(name: &str) -> Result<ModelConfig> {
        let base = |profile: &str, input, memae, slots, cvae, train| ModelConfig {
            version: CONFIG_VERSION,
            profile: profile.to_string(),
            variant: Variant::Cvae,
            input,
            memae,
            memory: MemoryConfig {
                slots,
                temperature: 0.1,
                shrink: 1.0,
                update_radius: 1.0,
                margin: 1.0,
                update_at_test: false,
            },
            cvae,
            loss: LossWeights {
                recon: 1.0,
                compact: 0.01,
                separate: 0.01,
                pred: 1.0,
                kl: 0.01,
                gradient: 1.0,
            },
            score: ScoreConfig {
                recon: 1.0,
                pred: 1.0,
                compact: 0.5,
                patch: 0,
                whole_frames: false,
            },
            train,
        };
        let memae = |channels| MemAeConfig {
            channels,
            skips: true,
            memory_layers: MemoryLayers::Multi,
        };
        let cvae = |channels, latent, future_flow| CvaeConfig {
            channels,
            latent,
            skips: true,
            future_flow,
        };
        let input = |size, channels, frames| InputConfig {
            height: size,
            width: size,
            channels,
            frames,
        };
        let train = |learning_rate, batch_size, epochs| TrainConfig {
            learning_rate,
            weight_decay: 1e-4,
            batch_size,
            epochs,
            seed: 0,
            schedule: Schedule::Cosine,
            warmup_steps: 20,
            crop: None,
        };
        match name {
            "demo" => Ok(base(
                "demo",
                input(32, 1, 2),
                memae([8, 16, 16, 32]),
                [10, 10, 10],
                cvae([8, 16, 16, 32], 8, true),
                train(5e-3, 4, 5),
            )),
            "cpu" => {
                // Measured on Ped2 (docs/results/ped2-cpu): whole frames at
                // 128x192 (Ped2's aspect) trained on 64x64 crops, at the cost
                // of one 64x64 step per batch. The VAE without flow is
                // cheaper per step than the CVAE and not worse (over seeds 0
                // and 1, frame AUC 0.797 vs 0.786); over four seeds this
                // profile gives 0.808 +- 0.104, so seed spread dominates.
                // 16 epochs, not 6: on Ped2 seed 8's prediction-term AUC
                // (sigma 8) rose from 0.868 to 0.935, and a fresh seed gave
                // 0.937 (docs/results/ped2-cpu/epochs-16).
                let mut cfg = base(
                    "cpu",
                    input(64, 1, 4),
                    memae([16, 32, 64, 64]),
                    [50, 50, 50],
                    cvae([16, 32, 64, 64], 16, false),
                    train(1e-3, 8, 16),
                );
                (cfg.input.height, cfg.input.width) = (128, 192);
                cfg.train.crop = Some([64, 64]);
                cfg.variant = Variant::Vae;
                Ok(cfg)
            }
            "paper" => Ok(base(
                "paper",
                input(256, 3, 4),
                memae([64, 128, 256, 512]),
                [100, 100, 100],
                cvae([64, 128, 256, 512], 64, false),
                train(1e-4, 16, 80),
            )),
            other => Err(Error::invalid(format!(
                "unknown model profile `{other}` (known: {})",
                PROFILES.join(", ")
            ))),
        }
    }

    /// Checks ranges and consistency; every message names the field.
    pub fn validate(&self) -> Result<()> {
        let bad = |msg: String| Err(Error::invalid(format!("model config: {msg}")));
        if self.version != CONFIG_VERSION {
            return bad(format!(
                "version {} is not supported (this build reads version {CONFIG_VERSION})",
                self.version
            ));
        }
        let i = &self.input;
        if i.height == 0
            || i.width == 0
            || !i.height.is_multiple_of(8)
            || !i.width.is_multiple_of(8)
        {
            return bad(format!(
                "input.height/width {}x{} must be positive multiples of 8",
                i.height, i.width
            ));
        }
        if i.channels != 1 && i.channels != 3 {
            return bad(format!("input.channels {} must be 1 or 3", i.channels));
        }
        if i.frames == 0 {
            return bad("input.frames must be at least 1".into());
        }
        if self.memae.channels.contains(&0) || self.cvae.channels.contains(&0) {
            return bad("memae.channels and cvae.channels must be positive".into());
        }
        if self.cvae.latent == 0 {
            return bad("cvae.latent must be positive".into());
        }
        let m = &self.memory;
        if m.slots.contains(&0) {
            return bad("memory.slots must be positive".into());
        }
        if !(m.temperature > 0.0 && m.temperature.is_finite()) {
            return bad(format!(
                "memory.temperature {} must be positive",
                m.temperature
            ));
        }
        if !(0.0..=1.0).contains(&m.shrink) {
            return bad(format!(
                "memory.shrink {} must be in [0, 1] (λ = shrink/N; above 1/N the read can vanish)",
                m.shrink
            ));
        }
        if !(m.update_radius >= 0.0 && m.margin >= 0.0) {
            return bad("memory.update_radius and memory.margin must be >= 0".into());
        }
        let l = &self.loss;
        let weights = [
            ("recon", l.recon),
            ("compact", l.compact),
            ("separate", l.separate),
            ("pred", l.pred),
            ("kl", l.kl),
            ("gradient", l.gradient),
            ("score.recon", self.score.recon),
            ("score.pred", self.score.pred),
            ("score.compact", self.score.compact),
        ];
        for (name, w) in weights {
            if !(w >= 0.0 && w.is_finite()) {
                return bad(format!("loss.{name} weight {w} must be finite and >= 0"));
            }
        }
        if self.train.batch_size == 0 {
            return bad("train.batch_size must be positive".into());
        }
        if let Some([h, w]) = self.train.crop {
            if h == 0 || w == 0 || !h.is_multiple_of(8) || !w.is_multiple_of(8) {
                return bad(format!(
                    "train.crop {h}x{w} must be positive multiples of 8"
                ));
            }
            if h > i.height || w > i.width {
                return bad(format!(
                    "train.crop {h}x{w} is larger than the input {}x{}",
                    i.height, i.width
                ));
            }
        }
        Ok(())
    }

    /// Reads and validates a JSON config file; errors name the file.
    pub fn load(path: &Path) -> Result<ModelConfig> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let cfg = Self::from_json(&text).map_err(|e| Error::format(path, e.to_string()))?;
        Ok(cfg)
    }

    /// Parses and validates JSON text.
    pub fn from_json(text: &str) -> Result<ModelConfig> {
        let cfg: ModelConfig =
            serde_json::from_str(text).map_err(|e| Error::invalid(format!("model config: {e}")))?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// Pretty JSON, the format of config files and checkpoint metadata.
    pub fn to_json(&self) -> String {
        // Plain data with string keys: serialisation cannot fail.
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// Writes the config as pretty JSON (atomically).
    pub fn save(&self, path: &Path) -> Result<()> {
        crate::save::atomic_write(path, self.to_json().as_bytes())
    }

    /// Whether the model has a CVAE branch.
    pub fn has_cvae(&self) -> bool {
        self.variant != Variant::MemAeOnly
    }

    /// The first field (dotted path) where `other` differs from `self`, if any.
    pub fn first_difference(&self, other: &ModelConfig) -> Option<String> {
        let a = serde_json::to_value(self).ok()?;
        let b = serde_json::to_value(other).ok()?;
        json_difference(&a, &b, String::new())
    }
}

fn json_difference(a: &serde_json::Value, b: &serde_json::Value, at: String) -> Option<String> {
    use serde_json::Value;
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for (k, va) in x {
                let path = if at.is_empty() {
                    k.clone()
                } else {
                    format!("{at}.{k}")
                };
                match y.get(k) {
                    Some(vb) => {
                        if let Some(d) = json_difference(va, vb, path) {
                            return Some(d);
                        }
                    }
                    None => return Some(path),
                }
            }
            y.keys()
                .find(|k| !x.contains_key(*k))
                .map(|k| format!("{at}.{k}"))
        }
        _ if a == b => None,
        _ => Some(format!("{at} ({a} vs {b})")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profiles_validate_and_round_trip() {
        for name in PROFILES {
            let cfg = ModelConfig::profile(name).unwrap();
            cfg.validate().unwrap();
            let back = ModelConfig::from_json(&cfg.to_json()).unwrap();
            assert_eq!(back, cfg);
        }
        assert!(ModelConfig::profile("huge").is_err());
    }

    #[test]
    fn variants_parse_by_their_config_names() {
        for v in [Variant::MemAeOnly, Variant::Vae, Variant::Cvae] {
            let name = serde_json::to_value(v).unwrap();
            assert_eq!(name.as_str().unwrap().parse::<Variant>().unwrap(), v);
        }
        let e = "memae".parse::<Variant>().unwrap_err().to_string();
        assert!(e.contains("unknown variant `memae`"), "{e}");
        let mut cfg = ModelConfig::profile("cpu").unwrap();
        assert_eq!(cfg.train_size(), cfg.train.crop.unwrap());
        cfg.train.crop = None;
        assert_eq!(cfg.train_size(), [cfg.input.height, cfg.input.width]);
    }

    #[test]
    fn invalid_values_name_the_field() {
        let mut cfg = ModelConfig::profile("demo").unwrap();
        cfg.memory.shrink = 2.0;
        let msg = cfg.validate().unwrap_err().to_string();
        assert!(msg.contains("memory.shrink"), "{msg}");
        let mut cfg = ModelConfig::profile("demo").unwrap();
        cfg.version = 99;
        assert!(cfg.validate().unwrap_err().to_string().contains("version"));
        let mut other = ModelConfig::profile("demo").unwrap();
        other.memory.temperature = 0.5;
        let d = ModelConfig::profile("demo")
            .unwrap()
            .first_difference(&other)
            .unwrap();
        assert!(d.starts_with("memory.temperature"), "{d}");
    }
}
