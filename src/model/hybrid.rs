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
use super::memory::MemoryRead;
use super::tiles::Tiling;

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
    /// Σ weight·term over the terms whose weight is not 0, the KL raised
    /// to `loss.free_bits` per latent channel first (see
    /// [`losses::free_bits_kl`]; `kl` itself is the plain KL).
    pub total: Tensor,
}

/// Per-sample score terms, detached: each (B,).
#[derive(Debug, Clone)]
pub struct ScoreTerms {
    /// Mean squared reconstruction error of x_1..t (and of the flows, when
    /// the MemAE reconstructs them: `cvae.condition` memory).
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
    /// Loss terms (zeros from the scoring forwards, [`Hybrid::score`] and
    /// [`Hybrid::score_forward`], which skip them).
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

/// What a forward computes besides the branches' outputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Terms {
    /// Losses and score terms (training).
    All,
    /// Score terms only (scoring whole frames).
    Scores,
    /// Neither (tiles, scored once stitched).
    Outputs,
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

    /// Turns on the memories' training aids of the config (`memory.init`,
    /// `memory.restart_after`); training calls it before loading a checkpoint
    /// to resume (loaded items cancel the seeding).
    pub fn enable_training_aids(&mut self) {
        self.memae.enable_training_aids(&self.cfg.memory);
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
    /// See [`Hybrid::score_forward`] for how frames are scored.
    pub fn score(&mut self, input: &Input) -> Result<HybridOutput> {
        let out = self.score_forward(input)?;
        if self.cfg.memory.update_at_test {
            self.update_memories(&out)?;
        }
        Ok(out)
    }

    /// The test-time forward (posterior mean), without memory update. A model
    /// trained on crops scores larger frames tile by tile (see [`super::tiles`])
    /// unless `score.whole_frames` is set.
    pub fn score_forward(&self, input: &Input) -> Result<HybridOutput> {
        let (_, _, h, w) = input.frames.dims4()?;
        let tiling = match (self.cfg.train.crop, self.cfg.score.whole_frames) {
            (Some(crop), false) => Tiling::new([h, w], crop),
            _ => None,
        };
        match tiling {
            Some(t) => self.forward_tiled(input, &t),
            None => self.run(input, &Sampling::Mean, Terms::Scores),
        }
    }

    /// Runs both branches and computes every loss and score term.
    pub fn forward(&self, input: &Input, sampling: &Sampling) -> Result<HybridOutput> {
        self.run(input, sampling, Terms::All)
    }

    /// The CVAE's flow condition y: all of y_1..t with `cvae.future_flow`,
    /// else y_t (the last two channels: u and v of x_t → x_t+1) zeroed;
    /// `None` when the model has no flow (the VAE, `mem_ae_only`).
    pub fn flow_condition(&self, input: &Input) -> Result<Option<Tensor>> {
        if self.cvae.is_none() || !self.cfg.variant.uses_flow() {
            return Ok(None);
        }
        if self.cfg.cvae.future_flow {
            return Ok(Some(input.flow.clone()));
        }
        let c = input.flow.dims()[1];
        let past = input.flow.narrow(1, 0, c.saturating_sub(2))?;
        let zeroed = input.flow.narrow(1, c - 2, 2)?.zeros_like()?;
        Ok(Some(Tensor::cat(&[&past, &zeroed], 1)?))
    }

    /// The MemAE's forward on the frames and, when it reconstructs flows
    /// (`cvae.condition` memory), on the condition `flow` of
    /// [`Hybrid::flow_condition`]; separation losses only with `losses`.
    pub fn memae_forward(
        &self,
        input: &Input,
        flow: Option<&Tensor>,
        losses: bool,
    ) -> Result<MemAeOutput> {
        let flow = flow.filter(|_| self.memae.flow_channels() > 0);
        self.memae.forward_with(&input.frames, flow, losses)
    }

    /// What the CVAE is conditioned on: the MemAE's flow reconstruction when
    /// it makes one, else the condition `flow`; the VAE ignores it but still
    /// takes a tensor, so it gets the raw flows.
    pub fn cvae_condition<'a>(
        memae: &'a MemAeOutput,
        flow: Option<&'a Tensor>,
        input: &'a Input,
    ) -> &'a Tensor {
        memae.flow_recon.as_ref().or(flow).unwrap_or(&input.flow)
    }

    /// Both branches, with the loss and score terms that `terms` asks for
    /// (the others are zeros).
    fn run(&self, input: &Input, sampling: &Sampling, terms: Terms) -> Result<HybridOutput> {
        let with_losses = terms == Terms::All;
        let flow = self.flow_condition(input)?;
        let memae = self.memae_forward(input, flow.as_ref(), with_losses)?;
        let cvae = match &self.cvae {
            Some(cvae) => {
                let noise = match sampling {
                    Sampling::Mean => None,
                    Sampling::Random => Some(cvae.noise(&memae.recon)?),
                    Sampling::Given(eps) => Some(eps.clone()),
                };
                let condition = Self::cvae_condition(&memae, flow.as_ref(), input);
                Some(cvae.forward(&memae.recon, condition, noise.as_ref())?)
            }
            None => None,
        };
        let zero = Tensor::zeros((), input.frames.dtype(), input.frames.device())?;
        let recon_map = match terms {
            Terms::Outputs => None,
            _ => Some(recon_error_map(&memae, &input.frames, flow.as_ref())?),
        };
        let losses = match &recon_map {
            Some(map) if with_losses => self.losses(input, map, &memae, cvae.as_ref(), &zero)?,
            _ => Losses {
                recon: zero.clone(),
                compact: zero.clone(),
                separate: zero.clone(),
                pred: zero.clone(),
                kl: zero.clone(),
                gradient: zero.clone(),
                total: zero.clone(),
            },
        };
        let scores = match &recon_map {
            None => ScoreTerms {
                recon: zero.clone(),
                pred: zero.clone(),
                compact: zero,
            },
            Some(map) => self.score_terms(input, &map.detach(), &memae, cvae.as_ref())?,
        };
        Ok(HybridOutput {
            memae,
            cvae,
            losses,
            scores,
        })
    }

    /// Every loss term of a forward's outputs, and their weighted sum;
    /// `recon_map` is the MemAE's error map ([`recon_error_map`]).
    fn losses(
        &self,
        input: &Input,
        recon_map: &Tensor,
        memae: &MemAeOutput,
        cvae: Option<&CvaeOutput>,
        zero: &Tensor,
    ) -> Result<Losses> {
        let recon = recon_map.mean_all()?;
        let mut compact = zero.clone();
        let mut separate = zero.clone();
        for read in &memae.reads {
            compact = (compact + &read.compactness)?;
            separate = (separate + &read.separation)?;
        }
        let w = &self.cfg.loss;
        let (mut pred, mut kl, mut gradient) = (zero.clone(), zero.clone(), zero.clone());
        let mut kl_loss = zero.clone();
        if let Some(out) = cvae {
            pred = losses::mse(&out.pred, &input.next)?;
            let kl_map = match &out.prior {
                Some((mu_p, logvar_p)) => {
                    losses::kl_gaussians_map(&out.mu_q, &out.logvar_q, mu_p, logvar_p)?
                }
                None => losses::kl_standard_map(&out.mu_q, &out.logvar_q)?,
            };
            kl = kl_map.mean_all()?;
            kl_loss = if w.free_bits > 0.0 {
                losses::free_bits_kl(&kl_map, w.free_bits)?
            } else {
                kl.clone()
            };
            gradient = losses::gradient_loss(&out.pred, &input.next)?;
        }
        let mut total = zero.clone();
        for (weight, term) in [
            (w.recon, &recon),
            (w.compact, &compact),
            (w.separate, &separate),
            (w.pred, &pred),
            (w.kl, &kl_loss),
            (w.gradient, &gradient),
        ] {
            if weight > 0.0 {
                total = (total + (term * weight)?)?;
            }
        }
        Ok(Losses {
            recon,
            compact,
            separate,
            pred,
            kl,
            gradient,
            total,
        })
    }

    /// Per-sample score terms of a forward's outputs: errors pooled by
    /// `score.patch` (the mean, or the worst window), D averaged over layers;
    /// `recon_map` is the MemAE's detached error map ([`recon_error_map`]).
    fn score_terms(
        &self,
        input: &Input,
        recon_map: &Tensor,
        memae: &MemAeOutput,
        cvae: Option<&CvaeOutput>,
    ) -> Result<ScoreTerms> {
        let patch = self.cfg.score.patch;
        let (batch, _, input_h, _) = input.frames.dims4()?;
        let mut distance = Tensor::zeros(batch, input.frames.dtype(), input.frames.device())?;
        for read in &memae.reads {
            let d = if patch == 0 {
                read.distance.detach()
            } else {
                // The same image area at the memory's resolution.
                let scale = input_h / read.distance_map.dims()[2].max(1);
                losses::pool_map(&read.distance_map, patch.div_ceil(scale.max(1)))?
            };
            distance = (distance + d)?;
        }
        Ok(ScoreTerms {
            recon: losses::pool_map(recon_map, patch)?,
            pred: match cvae {
                Some(out) => losses::error_score(&out.pred.detach(), &input.next, patch)?,
                None => distance.zeros_like()?,
            },
            compact: (distance / memae.reads.len().max(1) as f64)?,
        })
    }

    /// Both branches (posterior mean) on the tiles of `tiling`, their outputs
    /// stitched back to whole frames and the score terms computed on them.
    fn forward_tiled(&self, input: &Input, tiling: &Tiling) -> Result<HybridOutput> {
        let tiled = Input {
            frames: tiling.split(&input.frames)?,
            next: tiling.split(&input.next)?,
            flow: tiling.split(&input.flow)?,
        };
        let out = self.run(&tiled, &Sampling::Mean, Terms::Outputs)?;
        let st = |t: &Tensor| tiling.stitch(t);
        let mut reads = Vec::with_capacity(out.memae.reads.len());
        for r in out.memae.reads {
            let distance_map = st(&r.distance_map)?;
            reads.push(MemoryRead {
                read: st(&r.read)?,
                attention: st(&r.attention)?,
                distance: distance_map.flatten_from(1)?.mean(1)?,
                distance_map,
                ..r
            });
        }
        let memae = MemAeOutput {
            recon: st(&out.memae.recon)?,
            flow_recon: out.memae.flow_recon.as_ref().map(st).transpose()?,
            reads,
        };
        let cvae = match out.cvae {
            Some(c) => Some(CvaeOutput {
                pred: st(&c.pred)?,
                mu_q: st(&c.mu_q)?,
                logvar_q: st(&c.logvar_q)?,
                prior: match c.prior {
                    Some((m, v)) => Some((st(&m)?, st(&v)?)),
                    None => None,
                },
            }),
            None => None,
        };
        let flow = self.flow_condition(input)?;
        let recon_map = recon_error_map(&memae, &input.frames, flow.as_ref())?;
        let scores = self.score_terms(input, &recon_map, &memae, cvae.as_ref())?;
        Ok(HybridOutput {
            memae,
            cvae,
            losses: out.losses,
            scores,
        })
    }
}

/// The MemAE's squared error per pixel, (B, 1, H, W), averaged over every
/// channel it reconstructs: the frames, and the flows `flow` (the CVAE's
/// condition) when it reconstructs them too. Its mean is the recon loss; its
/// pooling the recon score term.
fn recon_error_map(memae: &MemAeOutput, frames: &Tensor, flow: Option<&Tensor>) -> Result<Tensor> {
    let frame_sq = (&memae.recon - frames)?.sqr()?;
    match (&memae.flow_recon, flow) {
        (Some(flow_recon), Some(flow)) => {
            let channels = frame_sq.dims()[1] + flow.dims()[1];
            let flow_sq = (flow_recon - flow)?.sqr()?;
            (frame_sq.sum_keepdim(1)? + flow_sq.sum_keepdim(1)?)? / channels as f64
        }
        _ => frame_sq.mean_keepdim(1),
    }
}
