//! The hybrid model of Long et al.: the multi-layer MemAE (Fig. 3) reconstructs
//! x_1..t, the CVAE [13–17] predicts x_t+1 from the reconstruction and the flows;
//! both are trained end to end. One forward gives everything the trainer, the
//! scorer and the app need: reconstruction, prediction, per-layer attention, each
//! loss term separately and per-sample score terms (errors and D [12]).

use candle_core::{Result, Tensor};
use candle_nn::VarBuilder;

use super::config::ModelConfig;
use super::cvae::{Cvae, CvaeOutput};
use super::losses;
use super::memae::{MemAe, MemAeOutput};

/// How the CVAE picks its latent z.
#[derive(Debug, Clone)]
pub enum Sampling {
    /// z = μ_q: test time, deterministic.
    Mean,
    /// z = μ_q + σ_q·ε with fresh standard normal ε: training.
    Random,
    /// z = μ_q + σ_q·ε with the given ε (reproducible training, gradient checks).
    Given(Tensor),
}

/// One batch of model input.
#[derive(Debug, Clone)]
pub struct Input {
    /// x_1..t stacked on channels: (B, t·C, H, W), values roughly in [-1, 1].
    pub frames: Tensor,
    /// x_t+1: (B, C, H, W) (unused by `mem_ae_only`).
    pub next: Tensor,
    /// y_1..t stacked on channels: (B, 2t, H, W), y_i the flow from x_i to
    /// x_i+1 (so y_t looks at x_t+1's motion, as in HF2-VAD); unused without flow.
    pub flow: Tensor,
}

/// Loss terms as scalar tensors, unweighted, and their weighted sum.
#[derive(Debug, Clone)]
pub struct Losses {
    /// MemAE reconstruction MSE.
    pub recon: Tensor,
    /// Compactness [10], summed over memory layers.
    pub compact: Tensor,
    /// Separation [11], summed over memory layers.
    pub separate: Tensor,
    /// Prediction MSE [17] (0 without a CVAE).
    pub pred: Tensor,
    /// KL(q ‖ p) [16] (0 without a CVAE).
    pub kl: Tensor,
    /// Gradient loss [17] (0 without a CVAE).
    pub gradient: Tensor,
    /// Σ weight·term over the terms whose weight is not 0.
    pub total: Tensor,
}

/// Per-sample score terms, detached: each (B,).
#[derive(Debug, Clone)]
pub struct ScoreTerms {
    /// Mean squared reconstruction error of x_1..t.
    pub recon: Tensor,
    /// Mean squared prediction error of x_t+1 (zeros without a CVAE).
    pub pred: Tensor,
    /// Feature-compactness distance D [12], averaged over memory layers.
    pub compact: Tensor,
}

/// What [`Hybrid::forward`] returns.
#[derive(Debug, Clone)]
pub struct HybridOutput {
    /// MemAE output: reconstruction and one memory read per layer.
    pub memae: MemAeOutput,
    /// CVAE output, `None` for `mem_ae_only`.
    pub cvae: Option<CvaeOutput>,
    /// Loss terms.
    pub losses: Losses,
    /// Score terms.
    pub scores: ScoreTerms,
}

impl HybridOutput {
    /// Attention of memory layer `i` (see [`super::memae::MEMORY_NAMES`]):
    /// (B, N, H, W), one heatmap per item.
    pub fn attention(&self, i: usize) -> Option<&Tensor> {
        self.memae.reads.get(i).map(|r| &r.attention)
    }
}

/// The hybrid MemAE + CVAE model.
#[derive(Debug, Clone)]
pub struct Hybrid {
    cfg: ModelConfig,
    memae: MemAe,
    cvae: Option<Cvae>,
}

impl Hybrid {
    /// Builds the model of `cfg` (validated) with weights under `vb`.
    pub fn new(cfg: &ModelConfig, vb: VarBuilder) -> Result<Hybrid> {
        cfg.validate()
            .map_err(|e| candle_core::Error::Msg(e.to_string()))?;
        let memae = MemAe::new(cfg, vb.pp("memae"))?;
        let cvae = if cfg.has_cvae() {
            Some(Cvae::new(cfg, vb.pp("cvae"))?)
        } else {
            None
        };
        Ok(Hybrid {
            cfg: cfg.clone(),
            memae,
            cvae,
        })
    }

    /// The configuration the model was built from.
    pub fn config(&self) -> &ModelConfig {
        &self.cfg
    }

    /// Changes how frame scores are pooled and weighted (scoring only; the
    /// weights and memories are untouched).
    pub fn set_score_config(&mut self, score: crate::model::ScoreConfig) {
        self.cfg.score = score;
    }

    /// The MemAE (memories included).
    pub fn memae(&self) -> &MemAe {
        &self.memae
    }

    /// The CVAE branch, `None` for `mem_ae_only`.
    pub fn cvae(&self) -> Option<&Cvae> {
        self.cvae.as_ref()
    }

    /// Mutable MemAE (checkpoint loading replaces memory items).
    pub fn memae_mut(&mut self) -> &mut MemAe {
        &mut self.memae
    }

    /// Applies the memory update [7–9] with the queries of `out`. Training calls
    /// it after each step; scoring only when `memory.update_at_test` is set.
    pub fn update_memories(&mut self, out: &HybridOutput) -> Result<()> {
        self.memae.update_memories(&out.memae)
    }

    /// Scores a batch at test time: posterior mean, and a memory update afterwards
    /// only when `memory.update_at_test` is set (off by default: frozen memory).
    /// Use a model from [`super::Checkpoint::inference_model`] so no gradient
    /// graph is recorded.
    pub fn score(&mut self, input: &Input) -> Result<HybridOutput> {
        let out = self.forward(input, &Sampling::Mean)?;
        if self.cfg.memory.update_at_test {
            self.update_memories(&out)?;
        }
        Ok(out)
    }

    /// Runs both branches and computes every loss and score term.
    pub fn forward(&self, input: &Input, sampling: &Sampling) -> Result<HybridOutput> {
        let memae = self.memae.forward(&input.frames)?;
        let recon = losses::mse(&memae.recon, &input.frames)?;
        let zero = recon.zeros_like()?;
        let mut compact = zero.clone();
        let mut separate = zero.clone();
        let patch = self.cfg.score.patch;
        let input_h = input.frames.dims()[2];
        let mut distance = zero.zeros_like()?;
        for read in &memae.reads {
            compact = (compact + &read.compactness)?;
            separate = (separate + &read.separation)?;
            let d = if patch == 0 {
                read.distance.detach()
            } else {
                // The same image area at the memory's resolution.
                let scale = input_h / read.distance_map.dims()[2].max(1);
                losses::pool_map(&read.distance_map, patch.div_ceil(scale.max(1)))?
            };
            distance = distance.broadcast_add(&d)?;
        }
        let distance = (distance / memae.reads.len().max(1) as f64)?;
        let w = &self.cfg.loss;
        let mut total = zero.clone();
        for (weight, term) in [
            (w.recon, &recon),
            (w.compact, &compact),
            (w.separate, &separate),
        ] {
            if weight > 0.0 {
                total = (total + (term * weight)?)?;
            }
        }
        let (mut pred, mut kl, mut gradient) = (zero.clone(), zero.clone(), zero.clone());
        let batch = input.frames.dims()[0];
        let mut pred_score = Tensor::zeros(batch, zero.dtype(), zero.device())?;
        let cvae = match &self.cvae {
            Some(cvae) => {
                let noise = match sampling {
                    Sampling::Mean => None,
                    Sampling::Random => Some(cvae.noise(&memae.recon)?),
                    Sampling::Given(eps) => Some(eps.clone()),
                };
                let flow = if self.cfg.cvae.future_flow {
                    input.flow.clone()
                } else {
                    // Zero y_t (the last two channels: u and v of x_t -> x_t+1).
                    let c = input.flow.dims()[1];
                    let past = input.flow.narrow(1, 0, c.saturating_sub(2))?;
                    Tensor::cat(&[&past, &input.flow.narrow(1, c - 2, 2)?.zeros_like()?], 1)?
                };
                let out = cvae.forward(&memae.recon, &flow, noise.as_ref())?;
                pred = losses::mse(&out.pred, &input.next)?;
                kl = match &out.prior {
                    Some((mu_p, logvar_p)) => {
                        losses::kl_gaussians(&out.mu_q, &out.logvar_q, mu_p, logvar_p)?
                    }
                    None => losses::kl_standard(&out.mu_q, &out.logvar_q)?,
                };
                gradient = losses::gradient_loss(&out.pred, &input.next)?;
                for (weight, term) in [(w.pred, &pred), (w.kl, &kl), (w.gradient, &gradient)] {
                    if weight > 0.0 {
                        total = (total + (term * weight)?)?;
                    }
                }
                pred_score = losses::error_score(&out.pred.detach(), &input.next, patch)?;
                Some(out)
            }
            None => None,
        };
        let scores = ScoreTerms {
            recon: losses::error_score(&memae.recon.detach(), &input.frames, patch)?,
            pred: pred_score,
            compact: distance.detach(),
        };
        Ok(HybridOutput {
            memae,
            cvae,
            losses: Losses {
                recon,
                compact,
                separate,
                pred,
                kl,
                gradient,
                total,
            },
            scores,
        })
    }
}
