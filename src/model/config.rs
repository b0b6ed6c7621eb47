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

impl Variant {
    /// Whether the model reads optical flow (only the CVAE's prior and
    /// posterior do; the others ignore the flow part of their input).
    pub fn uses_flow(self) -> bool {
        self == Variant::Cvae
    }
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
    /// Frame height in pixels: a multiple of 8 (three 2x poolings), 8 to 4096.
    pub height: usize,
    /// Frame width in pixels: a multiple of 8, 8 to 4096.
    pub width: usize,
    /// 1 for gray, 3 for RGB.
    pub channels: usize,
    /// t: frames x_1..t the MemAE reconstructs and the CVAE conditions on (1 to 64).
    pub frames: usize,
    /// The optical flow y_1..t is computed with these parameters, on gray
    /// frames at this size (see [`super::input`]). Configurations written
    /// before this field existed were trained with the default, which is
    /// what a missing field reads as.
    #[serde(default)]
    pub flow: crate::flow::Params,
}

/// The multi-layer memory-augmented autoencoder (Fig. 3).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MemAeConfig {
    /// Channels of the four U-Net levels, outermost first; the last is the
    /// bottleneck (each 1 to 4096).
    pub channels: [usize; 4],
    /// Skip connections on the two inner levels (the outermost never has one).
    pub skips: bool,
    /// Memory on the bottleneck only, or on the bottleneck and the inner skips.
    pub memory_layers: MemoryLayers,
}

/// The memory modules [2–11].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MemoryConfig {
    /// Items N of the memories on the bottleneck, level-3 skip and level-2 skip
    /// (each 1 to 100000).
    pub slots: [usize; 3],
    /// Softmax temperature T on cosine similarities [3]. Cosine lies in [-1, 1], so
    /// T = 1 leaves the softmax nearly uniform over many items; 0.1 sharpens it.
    /// Above 0, at most 1000.
    pub temperature: f64,
    /// Hard-shrinkage threshold as a fraction of 1/N: λ = shrink / N [4]. Values in
    /// [0, 1] guarantee a non-zero read (the largest weight is at least 1/N); a λ
    /// above 1/N with a near-uniform softmax zeroes every weight.
    pub shrink: f64,
    /// Update radius τ [7]: a query moves its nearest item only when their
    /// Euclidean distance (unit vectors, so in [0, 2]) is below τ. 0 to 2.
    pub update_radius: f64,
    /// Margin γ of the separation (triplet) loss [11], 0 to 100.
    pub margin: f64,
    /// Whether memories keep updating while scoring (off: the memory is frozen).
    pub update_at_test: bool,
    /// How training starts the items: `random` unit vectors, or `queries`:
    /// distinct queries of the first batch (k-means++ seeding), so that every
    /// item starts where features are and within the update radius τ of some.
    /// Not in the paper (it does not say); older configs read as `random`.
    #[serde(default)]
    pub init: MemoryInit,
    /// Dead-slot restart in training: an item that has been no query's nearest
    /// for this many consecutive steps is moved onto the query its nearest
    /// item represents worst (the VQ codebook restart). 0: never (the paper;
    /// older configs). At most 1000000. The idle counts are not saved: a
    /// resumed run starts them again at 0.
    #[serde(default)]
    pub restart_after: usize,
}

/// How training initialises memory items (see [`MemoryConfig::init`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MemoryInit {
    /// Random unit vectors (seeded).
    #[default]
    Random,
    /// k-means++ picks among the first training batch's queries.
    Queries,
}

/// The CVAE [13–17].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CvaeConfig {
    /// Channels of the four levels of the prior and posterior encoders and the
    /// decoder (each 1 to 4096).
    pub channels: [usize; 4],
    /// Channels of the latent z at the bottleneck resolution (1 to 4096).
    pub latent: usize,
    /// Skip connections from the posterior net into the decoder.
    pub skips: bool,
    /// Condition on the flow into the predicted frame (y_t, from x_t to
    /// x_t+1; HF2-VAD's convention). Off: that flow is zeroed, so the
    /// prediction must extrapolate the motion of y_1..t-1 instead of being
    /// told it (an ablation; older configs read as on).
    #[serde(default = "future_flow_default")]
    pub future_flow: bool,
    /// Where the decoder's skip features come from (with `skips` on): the
    /// posterior net, which sees the flows too (the paper), or an encoder of
    /// the reconstructed frames alone, so that the flow reaches the decoder
    /// only through the latent and the prior (an ablation, issue #18).
    #[serde(default)]
    pub skip_source: SkipSource,
    /// What the CVAE is conditioned on: the flows as computed (the paper), or
    /// the MemAE's reconstruction of them (HF2-VAD: the MemAE reconstructs
    /// the flows beside the frames, so a motion its memories cannot represent
    /// reaches the prediction already replaced by a normal one; issue #18).
    #[serde(default)]
    pub condition: ConditionSource,
}

/// What the CVAE's prior and posterior see as the motion condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConditionSource {
    /// The flows y_1..t as computed.
    #[default]
    Flow,
    /// ŷ_1..t, the MemAE's reconstruction of the flows (the MemAE's input and
    /// output gain 2t flow channels).
    Memory,
}

/// The source of the CVAE decoder's skip connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SkipSource {
    /// The posterior net F_φ on [x̂, y] (the paper's Fig. 2).
    #[default]
    Posterior,
    /// A separate encoder on x̂ alone: appearance passes, motion does not.
    Frames,
}

fn future_flow_default() -> bool {
    true
}

/// Weights of the training loss terms; 0 switches a term off (Table 4). Each
/// weight is 0 to 1e6.
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
    /// Free-bits floor λ of the KL term, in nats per latent element: each
    /// latent channel's KL (averaged over the batch and positions) counts as
    /// at least λ, so the posterior may carry up to λ nats there without
    /// cost (Kingma et al. 2016, against posterior collapse; issue #18). The
    /// logged `kl` is the KL itself. 0 (the default; older configs) is off;
    /// 0 to 100.
    #[serde(default)]
    pub free_bits: f64,
}

/// The anomaly score [12]: weights of its terms (each term is normalised
/// first; each 0 to 1e6) and how an error map becomes one number per frame.
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
    /// 0 to 4096.
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
    /// AdamW learning rate: above 0, at most 1.
    pub learning_rate: f64,
    /// AdamW weight decay, 0 to 1.
    pub weight_decay: f64,
    /// Clips per optimiser step, 1 to 1024.
    pub batch_size: usize,
    /// Passes over the training clips, 1 to 100000.
    pub epochs: usize,
    /// Seed of weight initialisation, memory items and sampling.
    pub seed: u64,
    /// Learning-rate schedule after the warm-up (files without it: constant).
    #[serde(default)]
    pub schedule: Schedule,
    /// Steps of linear warm-up from 0 to the learning rate (0 to 100000000).
    #[serde(default)]
    pub warmup_steps: usize,
    /// Train on random `[height, width]` crops of the input frames (one per
    /// clip and step) instead of whole frames. The model is fully
    /// convolutional, so it scores whole frames at the input size: a large
    /// input at the cost of a small one per step (files without it: no crop).
    /// Each side a multiple of 8, from 8 to the input's.
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

/// The ranges [`ModelConfig::validate`] enforces, with their reasons.
pub mod limits {
    /// Largest input height or width (and `score.patch`): 4096 pixels is 4K
    /// video; a 4096x4096 frame's first feature map already takes tens of MB
    /// per channel, and larger inputs would only exhaust memory.
    pub const MAX_SIDE: usize = 4096;
    /// Most input frames t: the papers use 4 to 16; every frame adds channels
    /// to the first convolution and one flow field per clip.
    pub const MAX_FRAMES: usize = 64;
    /// Most channels of a U-Net level or of the latent (the paper's widest is 512).
    pub const MAX_CHANNELS: usize = 4096;
    /// Most items of one memory (the papers use 10 to 2000).
    pub const MAX_SLOTS: usize = 100_000;
    /// Largest softmax temperature: cosine similarities lie in [-1, 1], so
    /// beyond this the read is uniform over all items anyway.
    pub const MAX_TEMPERATURE: f64 = 1000.0;
    /// Largest triplet margin (distances of unit vectors lie in [0, 2]).
    pub const MAX_MARGIN: f64 = 100.0;
    /// Largest loss or score weight.
    pub const MAX_WEIGHT: f64 = 1e6;
    /// Most clips per optimiser step.
    pub const MAX_BATCH: usize = 1024;
    /// Most epochs of a run.
    pub const MAX_EPOCHS: usize = 100_000;
    /// Most warm-up steps.
    pub const MAX_WARMUP_STEPS: usize = 100_000_000;
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
                init: MemoryInit::Random,
                restart_after: 0,
            },
            cvae,
            loss: LossWeights {
                recon: 1.0,
                compact: 0.01,
                separate: 0.01,
                pred: 1.0,
                kl: 0.01,
                gradient: 1.0,
                free_bits: 0.0,
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
            skip_source: SkipSource::Posterior,
            condition: ConditionSource::Flow,
        };
        let input = |size, channels, frames| InputConfig {
            height: size,
            width: size,
            channels,
            frames,
            flow: crate::flow::Params::default(),
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
                // Slots seeded from the first batch's queries and idle ones
                // restarted: with the paper's update alone the bottleneck and
                // level-3 memories collapse onto one slot of 50; with these,
                // 30-46 effective slots at seeds 21-23, pred term -0.1 points
                // on average (pre-registered, docs/results/ped2-cpu/memory-slots).
                cfg.memory.init = MemoryInit::Queries;
                cfg.memory.restart_after = 50;
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

    /// Checks ranges and consistency; every message names the field, its
    /// value and the allowed range. The ranges (see [`limits`]) are wide
    /// enough for any model this code is meant to train, and narrow enough
    /// that a config (or a checkpoint's stored config) can never make the
    /// model or the scorer allocate without end before anything is built.
    pub fn validate(&self) -> Result<()> {
        use limits::*;
        let bad = |msg: String| Err(Error::invalid(format!("model config: {msg}")));
        if self.version != CONFIG_VERSION {
            return bad(format!(
                "version {} is not supported (this build reads version {CONFIG_VERSION})",
                self.version
            ));
        }
        let int = |name: &str, v: usize, lo: usize, hi: usize| -> Result<()> {
            if (lo..=hi).contains(&v) {
                Ok(())
            } else {
                bad(format!(
                    "{name} {v} is out of range (allowed: {lo} to {hi})"
                ))
            }
        };
        let real = |name: &str, v: f64, lo: f64, hi: f64, open_low: bool| -> Result<()> {
            let low_ok = if open_low { v > lo } else { v >= lo };
            if low_ok && v <= hi {
                Ok(())
            } else if open_low {
                bad(format!(
                    "{name} {v} is out of range (allowed: above {lo} and at most {hi})"
                ))
            } else {
                bad(format!(
                    "{name} {v} is out of range (allowed: {lo} to {hi})"
                ))
            }
        };
        let i = &self.input;
        int("input.height", i.height, 8, MAX_SIDE)?;
        int("input.width", i.width, 8, MAX_SIDE)?;
        if !i.height.is_multiple_of(8) || !i.width.is_multiple_of(8) {
            return bad(format!(
                "input.height/width {}x{} must be multiples of 8 (three 2x poolings)",
                i.height, i.width
            ));
        }
        if i.channels != 1 && i.channels != 3 {
            return bad(format!("input.channels {} must be 1 or 3", i.channels));
        }
        int("input.frames", i.frames, 1, MAX_FRAMES)?;
        i.flow
            .validate()
            .or_else(|e| bad(format!("input.flow: {e}")))?;
        for (k, &c) in self.memae.channels.iter().enumerate() {
            int(&format!("memae.channels[{k}]"), c, 1, MAX_CHANNELS)?;
        }
        for (k, &c) in self.cvae.channels.iter().enumerate() {
            int(&format!("cvae.channels[{k}]"), c, 1, MAX_CHANNELS)?;
        }
        int("cvae.latent", self.cvae.latent, 1, MAX_CHANNELS)?;
        let m = &self.memory;
        for (k, &n) in m.slots.iter().enumerate() {
            int(&format!("memory.slots[{k}]"), n, 1, MAX_SLOTS)?;
        }
        real(
            "memory.temperature",
            m.temperature,
            0.0,
            MAX_TEMPERATURE,
            true,
        )?;
        if !(0.0..=1.0).contains(&m.shrink) {
            return bad(format!(
                "memory.shrink {} is out of range (allowed: 0 to 1; λ = shrink/N, above 1/N the read can vanish)",
                m.shrink
            ));
        }
        real("memory.update_radius", m.update_radius, 0.0, 2.0, false)?;
        int("memory.restart_after", m.restart_after, 0, 1_000_000)?;
        real("memory.margin", m.margin, 0.0, MAX_MARGIN, false)?;
        let l = &self.loss;
        let weights = [
            ("loss.recon", l.recon),
            ("loss.compact", l.compact),
            ("loss.separate", l.separate),
            ("loss.pred", l.pred),
            ("loss.kl", l.kl),
            ("loss.gradient", l.gradient),
            ("score.recon", self.score.recon),
            ("score.pred", self.score.pred),
            ("score.compact", self.score.compact),
        ];
        for (name, w) in weights {
            real(name, w, 0.0, MAX_WEIGHT, false)?;
        }
        real("loss.free_bits", l.free_bits, 0.0, 100.0, false)?;
        int("score.patch", self.score.patch, 0, MAX_SIDE)?;
        let t = &self.train;
        real("train.learning_rate", t.learning_rate, 0.0, 1.0, true)?;
        real("train.weight_decay", t.weight_decay, 0.0, 1.0, false)?;
        int("train.batch_size", t.batch_size, 1, MAX_BATCH)?;
        int("train.epochs", t.epochs, 1, MAX_EPOCHS)?;
        int("train.warmup_steps", t.warmup_steps, 0, MAX_WARMUP_STEPS)?;
        if let Some([h, w]) = t.crop {
            int("train.crop height", h, 8, i.height)?;
            int("train.crop width", w, 8, i.width)?;
            if !h.is_multiple_of(8) || !w.is_multiple_of(8) {
                return bad(format!("train.crop {h}x{w} must be multiples of 8"));
            }
        }
        Ok(())
    }

    /// Reads and validates a JSON config file; errors name the file.
    pub fn load(path: &Path) -> Result<ModelConfig> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let cfg = Self::parse(&text, true).map_err(|e| Error::format(path, e.to_string()))?;
        Ok(cfg)
    }

    /// Parses and validates JSON text (a checkpoint's stored config). The
    /// version is checked first: a config of another version fails on that,
    /// not on a field it lacks.
    pub fn from_json(text: &str) -> Result<ModelConfig> {
        Self::parse(text, false)
    }

    /// [`ModelConfig::from_json`]; with `strict`, as for a file a user wrote,
    /// a field this version does not know is refused with its path, since a
    /// misspelt field would otherwise silently keep its default.
    fn parse(text: &str, strict: bool) -> Result<ModelConfig> {
        let bad = |m: String| Error::invalid(format!("model config: {m}"));
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| bad(e.to_string()))?;
        if let Some(v) = value.get("version").and_then(serde_json::Value::as_u64) {
            if v != u64::from(CONFIG_VERSION) {
                return Err(bad(format!(
                    "version {v} is not supported (this build reads version {CONFIG_VERSION})"
                )));
            }
        }
        let cfg: ModelConfig = match serde_json::from_value(value.clone()) {
            Ok(cfg) => cfg,
            Err(e) => {
                // A missing field is often a misspelt one: name it too. The
                // `cpu` profile has every field, the optional crop included.
                let misspelt = strict
                    .then(|| Self::profile("cpu").ok())
                    .flatten()
                    .and_then(|c| serde_json::to_value(c).ok())
                    .and_then(|known| unknown_field(&value, &known, ""));
                return Err(bad(match misspelt {
                    Some(f) => format!("{e}; unknown field `{f}` (a misspelling?)"),
                    None => e.to_string(),
                }));
            }
        };
        let known = serde_json::to_value(&cfg).map_err(|e| bad(e.to_string()))?;
        if let Some(field) = unknown_field(&value, &known, "").filter(|_| strict) {
            return Err(bad(format!(
                "unknown field `{field}` (a misspelling? `vadscope train --help` and RUN/config.json show the fields)"
            )));
        }
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

    /// Flow channels the MemAE reconstructs beside the frames: 2t when the
    /// CVAE is conditioned on the reconstructed flows, else 0.
    pub fn memae_flow_channels(&self) -> usize {
        if self.variant.uses_flow() && self.cvae.condition == ConditionSource::Memory {
            2 * self.input.frames
        } else {
            0
        }
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

/// The first key of `given` (by path, `a.b`) that `known` lacks; `null`
/// values are skipped (optional fields that are unset are not written).
fn unknown_field(given: &serde_json::Value, known: &serde_json::Value, at: &str) -> Option<String> {
    let (serde_json::Value::Object(g), serde_json::Value::Object(k)) = (given, known) else {
        return None;
    };
    for (key, value) in g {
        let path = if at.is_empty() {
            key.clone()
        } else {
            format!("{at}.{key}")
        };
        match k.get(key) {
            None if !value.is_null() => return Some(path),
            None => {}
            Some(inner) => {
                if let Some(f) = unknown_field(value, inner, &path) {
                    return Some(f);
                }
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flow_parameters_travel_in_the_config_and_default_when_absent() {
        let mut cfg = ModelConfig::profile("demo").unwrap();
        cfg.input.flow = crate::flow::Params::preset(crate::flow::Preset::Accurate);
        let back = ModelConfig::from_json(&cfg.to_json()).unwrap();
        assert_eq!(back.input.flow, cfg.input.flow);
        // A config written before the field existed was trained with the default.
        let mut old: serde_json::Value = serde_json::from_str(&cfg.to_json()).unwrap();
        old["input"].as_object_mut().unwrap().remove("flow");
        let old = ModelConfig::from_json(&old.to_string()).unwrap();
        assert_eq!(old.input.flow, crate::flow::Params::default());
        let mut typo: serde_json::Value = serde_json::from_str(&cfg.to_json()).unwrap();
        typo["memory"]["temprature"] = 0.5.into();
        assert!(ModelConfig::from_json(&typo.to_string()).is_ok());
        let e = ModelConfig::parse(&typo.to_string(), true)
            .unwrap_err()
            .to_string();
        assert!(e.contains("unknown field `memory.temprature`"), "{e}");
        let e = ModelConfig::from_json(r#"{"version": 2}"#)
            .unwrap_err()
            .to_string();
        assert!(e.contains("version 2 is not supported"), "{e}");
        cfg.input.flow.sor_iterations = 1_000_000;
        let e = cfg.validate().unwrap_err().to_string();
        assert!(
            e.contains("input.flow") && e.contains("sor_iterations"),
            "{e}"
        );
    }

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

    #[test]
    fn every_numeric_field_is_bounded_and_named_with_its_range() {
        type Edit = fn(&mut ModelConfig);
        let cases: [(Edit, &str, &str); 21] = [
            (
                |c| c.input.height = 100_000,
                "input.height 100000",
                "8 to 4096",
            ),
            (|c| c.input.width = 0, "input.width 0", "8 to 4096"),
            (|c| c.input.height = 36, "multiples of 8", "36x32"),
            (|c| c.input.frames = 1000, "input.frames 1000", "1 to 64"),
            (|c| c.input.frames = 0, "input.frames 0", "1 to 64"),
            (
                |c| c.memae.channels[2] = 1 << 20,
                "memae.channels[2] 1048576",
                "1 to 4096",
            ),
            (
                |c| c.cvae.channels[0] = 0,
                "cvae.channels[0] 0",
                "1 to 4096",
            ),
            (|c| c.cvae.latent = 10_000, "cvae.latent 10000", "1 to 4096"),
            (
                |c| c.memory.slots[1] = 1 << 30,
                "memory.slots[1]",
                "1 to 100000",
            ),
            (
                |c| c.memory.temperature = f64::NAN,
                "memory.temperature NaN",
                "at most 1000",
            ),
            (
                |c| c.memory.update_radius = 3.0,
                "memory.update_radius 3",
                "0 to 2",
            ),
            (|c| c.memory.margin = 1e300, "memory.margin", "0 to 100"),
            (|c| c.loss.kl = f64::INFINITY, "loss.kl inf", "0 to 1000000"),
            (
                |c| c.loss.free_bits = -0.1,
                "loss.free_bits -0.1",
                "0 to 100",
            ),
            (
                |c| c.score.compact = -1.0,
                "score.compact -1",
                "0 to 1000000",
            ),
            (|c| c.score.patch = 5000, "score.patch 5000", "0 to 4096"),
            (
                |c| c.train.learning_rate = 0.0,
                "train.learning_rate 0",
                "above 0 and at most 1",
            ),
            (
                |c| c.train.batch_size = 1 << 40,
                "train.batch_size",
                "1 to 1024",
            ),
            (|c| c.train.epochs = 0, "train.epochs 0", "1 to 100000"),
            (
                |c| c.train.warmup_steps = usize::MAX,
                "train.warmup_steps",
                "0 to 100000000",
            ),
            (
                |c| c.train.crop = Some([32, 40]),
                "train.crop width 40",
                "8 to 32",
            ),
        ];
        for (edit, field, range) in cases {
            let mut cfg = ModelConfig::profile("demo").unwrap();
            edit(&mut cfg);
            let e = cfg.validate().unwrap_err().to_string();
            assert!(e.contains(field) && e.contains(range), "{field}: {e}");
            // The same through JSON, as a config file or a checkpoint stores it.
            let text = serde_json::to_string(&cfg).unwrap_or_default();
            if !text.is_empty() && !text.contains("null") {
                assert!(ModelConfig::from_json(&text).is_err(), "{field}");
            }
        }
    }
}
