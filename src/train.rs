//! The training loop of the hybrid model (Long et al., trained end to end):
//! training clips with their flows, held in memory, batched in a seeded random
//! order; AdamW steps on the weighted loss; the memory update [7–9] after each
//! step; a loss log; NaN/inf detection that stops with the last good checkpoint
//! kept; training-set score statistics saved with the final checkpoint.
//!
//! Frames go to the model scaled to `[-1, 1]`; flow vectors are in pixels of
//! the model's input size divided by [`FLOW_SCALE`].

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use candle_core::{DType, Device, Tensor};
use candle_nn::{AdamW, Optimizer, ParamsAdamW, VarBuilder, VarMap};
use serde::Serialize;

use crate::dataset::{clips, Clip};
use crate::error::{Error, Result};
use crate::flow::{Flow, FlowEstimator, Params};
use crate::frame::{Frame, PixelFormat};
use crate::model::{checkpoint, Hybrid, Input, ModelConfig, Sampling, ScoreStats, TermStats};
use crate::video::{self, OutputSpec};

/// Flow vectors (pixels at the model's size) are divided by this before entering
/// the model, so that typical motions of a few pixels are of order 1.
pub const FLOW_SCALE: f32 = 4.0;

fn model_err(e: candle_core::Error) -> Error {
    Error::invalid(format!("model: {e}"))
}

/// The frames and consecutive-pair flows of a set of videos at the model's
/// input size, decoded and computed once.
pub struct ClipSet {
    frames: Vec<Vec<Frame<f32>>>,
    /// `flows[v][j]` is the flow from frame `j` to `j + 1` of video `v`.
    flows: Vec<Vec<Flow>>,
    clips: Vec<Clip>,
    t: usize,
}

impl ClipSet {
    /// Decodes `videos` (files or frame folders) at the config's size and
    /// format, computes each consecutive pair's flow once, and cuts clips of
    /// `t + 1` frames with stride 1. `progress` is called once per frame.
    pub fn load(
        videos: &[PathBuf],
        cfg: &ModelConfig,
        flow: &Params,
        progress: &dyn Fn(),
    ) -> Result<ClipSet> {
        let (w, h, t) = (cfg.input.width, cfg.input.height, cfg.input.frames);
        let format = if cfg.input.channels == 3 {
            PixelFormat::Rgb
        } else {
            PixelFormat::Gray
        };
        let spec = OutputSpec {
            format,
            size: Some((w, h)),
        };
        let mut est = FlowEstimator::new(flow.clone())?;
        let (mut all_frames, mut all_flows, mut counts) = (Vec::new(), Vec::new(), Vec::new());
        let (mut scratch, mut gray_a, mut gray_b) =
            (Frame::default(), Frame::default(), Frame::default());
        for path in videos {
            let mut v = video::open_with(path, spec)?;
            let mut frames: Vec<Frame<f32>> = Vec::with_capacity(v.len());
            let mut flows = Vec::with_capacity(v.len().saturating_sub(1));
            for i in 0..v.len() {
                let mut f = Frame::default();
                v.read_f32_into(i, &mut scratch, &mut f)?;
                if let Some(prev) = frames.last() {
                    prev.to_gray_into(&mut gray_a);
                    f.to_gray_into(&mut gray_b);
                    flows.push(est.estimate(&gray_a, &gray_b)?);
                }
                frames.push(f);
                progress();
            }
            counts.push(frames.len());
            all_frames.push(frames);
            all_flows.push(flows);
        }
        let clips = clips(&counts, t + 1, 1)?;
        if clips.is_empty() {
            return Err(Error::invalid(format!(
                "no training clips: every video is shorter than t + 1 = {} frames",
                t + 1
            )));
        }
        Ok(ClipSet {
            frames: all_frames,
            flows: all_flows,
            clips,
            t,
        })
    }

    /// The clips.
    pub fn clips(&self) -> &[Clip] {
        &self.clips
    }

    /// Model input for a batch of clips: x_1..t, x_t+1 and y_1..t.
    pub fn batch(&self, batch: &[Clip], device: &Device) -> Result<Input> {
        let t = self.t;
        let (mut frames, mut next, mut flow) = (Vec::new(), Vec::new(), Vec::new());
        let first = &self.frames[batch[0].video][batch[0].start];
        let (w, h, c) = (first.width, first.height, first.channels);
        for clip in batch {
            let v = &self.frames[clip.video];
            for k in 0..t {
                push_planes(&v[clip.start + k], &mut frames);
                push_flow(&self.flows[clip.video][clip.start + k], &mut flow);
            }
            push_planes(&v[clip.start + t], &mut next);
        }
        let b = batch.len();
        let tensor = |data: Vec<f32>, ch: usize| {
            Tensor::from_vec(data, (b, ch, h, w), device).map_err(model_err)
        };
        Ok(Input {
            frames: tensor(frames, t * c)?,
            next: tensor(next, c)?,
            flow: tensor(flow, 2 * t)?,
        })
    }
}

/// Appends a frame as channel planes scaled to `[-1, 1]`.
fn push_planes(f: &Frame<f32>, out: &mut Vec<f32>) {
    for c in 0..f.channels {
        out.extend(
            f.data
                .iter()
                .skip(c)
                .step_by(f.channels)
                .map(|&v| v * 2.0 - 1.0),
        );
    }
}

/// Appends a flow as its u and v planes, scaled by [`FLOW_SCALE`].
fn push_flow(f: &Flow, out: &mut Vec<f32>) {
    for c in 0..2 {
        out.extend(f.data.iter().skip(c).step_by(2).map(|&v| v / FLOW_SCALE));
    }
}

/// Loss values of one step, unweighted, and their weighted total.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct LossValues {
    /// Reconstruction MSE.
    pub recon: f64,
    /// Compactness [10].
    pub compact: f64,
    /// Separation [11].
    pub separate: f64,
    /// Prediction MSE.
    pub pred: f64,
    /// KL(q ‖ p).
    pub kl: f64,
    /// Gradient loss.
    pub gradient: f64,
    /// Weighted sum.
    pub total: f64,
}

impl LossValues {
    fn read(l: &crate::model::Losses) -> Result<LossValues> {
        let v = |t: &Tensor| -> Result<f64> {
            t.to_dtype(DType::F64)
                .and_then(|t| t.to_scalar::<f64>())
                .map_err(model_err)
        };
        Ok(LossValues {
            recon: v(&l.recon)?,
            compact: v(&l.compact)?,
            separate: v(&l.separate)?,
            pred: v(&l.pred)?,
            kl: v(&l.kl)?,
            gradient: v(&l.gradient)?,
            total: v(&l.total)?,
        })
    }

    fn is_finite(&self) -> bool {
        [
            self.recon,
            self.compact,
            self.separate,
            self.pred,
            self.kl,
            self.gradient,
            self.total,
        ]
        .iter()
        .all(|v| v.is_finite())
    }
}

/// What the training loop reports as it goes.
#[derive(Debug, Clone)]
pub enum TrainEvent {
    /// An optimiser step finished.
    Step {
        /// Epoch, from 0.
        epoch: usize,
        /// Step, from 0, over the whole run.
        step: usize,
        /// Steps the run will take.
        total_steps: usize,
        /// The step's losses.
        losses: LossValues,
        /// Training clips per second over the run so far.
        clips_per_sec: f64,
    },
    /// A checkpoint was written.
    Checkpoint(PathBuf),
}

/// Where and how to train.
#[derive(Debug, Clone)]
pub struct TrainOptions {
    /// Output folder: `checkpoint.safetensors`, `loss.csv`, `config.json`.
    pub out_dir: PathBuf,
    /// Stop after this many steps (the config's epochs otherwise).
    pub max_steps: Option<usize>,
}

/// The result of a run.
#[derive(Debug, Clone)]
pub struct TrainSummary {
    /// Steps taken.
    pub steps: usize,
    /// The final checkpoint.
    pub checkpoint: PathBuf,
    /// Whether the run was stopped early (by `stop`), after saving.
    pub interrupted: bool,
    /// Training-set score statistics stored in the checkpoint.
    pub stats: ScoreStats,
}

/// Trains a fresh model on `set` with `cfg`. Writes a checkpoint after every
/// epoch (atomically; the previous one survives a failure), the loss log, and
/// the final checkpoint with training-set score statistics. `stop` ends the run
/// early after saving. A non-finite loss stops the run with an error; the last
/// good checkpoint stays on disk.
pub fn train(
    set: &ClipSet,
    cfg: &ModelConfig,
    opts: &TrainOptions,
    device: &Device,
    stop: &AtomicBool,
    on_event: &mut dyn FnMut(&TrainEvent),
) -> Result<TrainSummary> {
    cfg.validate()?;
    std::fs::create_dir_all(&opts.out_dir).map_err(|e| Error::io(&opts.out_dir, e))?;
    cfg.save(&opts.out_dir.join("config.json"))?;
    let vars = VarMap::new();
    let vb = VarBuilder::from_varmap(&vars, DType::F32, device);
    let mut model = Hybrid::new(cfg, vb).map_err(model_err)?;
    let params = ParamsAdamW {
        lr: cfg.train.learning_rate,
        weight_decay: cfg.train.weight_decay,
        ..Default::default()
    };
    let mut opt = AdamW::new(vars.all_vars(), params).map_err(model_err)?;

    let ckpt = checkpoint_path(&opts.out_dir);
    let log_path = opts.out_dir.join("loss.csv");
    let mut log = std::io::BufWriter::new(
        std::fs::File::create(&log_path).map_err(|e| Error::io(&log_path, e))?,
    );
    let log_err = |e| Error::io(&log_path, e);
    writeln!(
        log,
        "epoch,step,recon,compact,separate,pred,kl,gradient,total"
    )
    .map_err(log_err)?;

    let batch_size = cfg.train.batch_size.max(1);
    let per_epoch = set.clips.len().div_ceil(batch_size);
    let total_steps = opts
        .max_steps
        .unwrap_or(usize::MAX)
        .min(per_epoch * cfg.train.epochs);
    let mut rng = cfg.train.seed ^ 0x9E37_79B9_7F4A_7C15;
    let mut order: Vec<usize> = (0..set.clips.len()).collect();
    let started = Instant::now();
    let (mut step, mut interrupted) = (0usize, false);
    'epochs: for epoch in 0..cfg.train.epochs {
        shuffle(&mut order, &mut rng);
        for chunk in order.chunks(batch_size) {
            if step >= total_steps {
                break 'epochs;
            }
            if stop.load(Ordering::Relaxed) {
                interrupted = true;
                break 'epochs;
            }
            let batch: Vec<Clip> = chunk.iter().map(|&i| set.clips[i]).collect();
            let input = set.batch(&batch, device)?;
            let out = model
                .forward(&input, &Sampling::Random)
                .map_err(model_err)?;
            let losses = LossValues::read(&out.losses)?;
            if !losses.is_finite() {
                return Err(Error::invalid(format!(
                    "training diverged at epoch {epoch}, step {step}: a loss is not finite ({losses:?}); \
                     the last good checkpoint is {} (lower the learning rate)",
                    ckpt.display()
                )));
            }
            opt.backward_step(&out.losses.total).map_err(model_err)?;
            model.update_memories(&out).map_err(model_err)?;
            let l = &losses;
            writeln!(
                log,
                "{epoch},{step},{},{},{},{},{},{},{}",
                l.recon, l.compact, l.separate, l.pred, l.kl, l.gradient, l.total
            )
            .map_err(log_err)?;
            step += 1;
            let clips_per_sec =
                (step * batch_size) as f64 / started.elapsed().as_secs_f64().max(1e-9);
            on_event(&TrainEvent::Step {
                epoch,
                step: step - 1,
                total_steps,
                losses,
                clips_per_sec,
            });
        }
        log.flush().map_err(log_err)?;
        checkpoint::save(&ckpt, &model, &vars, None)?;
        on_event(&TrainEvent::Checkpoint(ckpt.clone()));
    }
    log.flush().map_err(log_err)?;
    let stats = score_stats(&mut model, set, device, batch_size)?;
    checkpoint::save(&ckpt, &model, &vars, Some(&stats))?;
    on_event(&TrainEvent::Checkpoint(ckpt.clone()));
    Ok(TrainSummary {
        steps: step,
        checkpoint: ckpt,
        interrupted,
        stats,
    })
}

/// Score terms over the training clips: the statistics for z-score normalisation.
fn score_stats(
    model: &mut Hybrid,
    set: &ClipSet,
    device: &Device,
    batch_size: usize,
) -> Result<ScoreStats> {
    let (mut recon, mut pred, mut compact) = (Vec::new(), Vec::new(), Vec::new());
    for chunk in set.clips.chunks(batch_size) {
        let out = model
            .forward(&set.batch(chunk, device)?, &Sampling::Mean)
            .map_err(model_err)?;
        for (dst, t) in [
            (&mut recon, &out.scores.recon),
            (&mut pred, &out.scores.pred),
            (&mut compact, &out.scores.compact),
        ] {
            let v: Vec<f64> = t
                .to_dtype(DType::F64)
                .and_then(|t| t.to_vec1::<f64>())
                .map_err(model_err)?;
            dst.extend(v);
        }
    }
    Ok(ScoreStats {
        recon: TermStats::from_values(&recon),
        pred: TermStats::from_values(&pred),
        compact: TermStats::from_values(&compact),
        samples: recon.len(),
    })
}

/// Fisher–Yates with xorshift64*: a reproducible order without a dependency.
fn shuffle(v: &mut [usize], state: &mut u64) {
    for i in (1..v.len()).rev() {
        *state ^= *state >> 12;
        *state ^= *state << 25;
        *state ^= *state >> 27;
        let r = state.wrapping_mul(0x2545_F491_4F6C_DD1D);
        v.swap(i, (r % (i as u64 + 1)) as usize);
    }
}

/// The checkpoint that [`train`] writes in its output folder `dir`.
pub fn checkpoint_path(dir: &Path) -> PathBuf {
    dir.join("checkpoint.safetensors")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Checkpoint;
    use crate::synth::{Scene, SceneConfig};

    fn scene_videos(dir: &Path, n: usize) -> Vec<PathBuf> {
        (0..n)
            .map(|k| {
                let path = dir.join(format!("v{k}"));
                std::fs::create_dir_all(&path).unwrap();
                let cfg = SceneConfig {
                    width: 64,
                    height: 48,
                    frames: 12,
                    seed: k as u64,
                    ..Default::default()
                };
                let scene = Scene::new(&cfg).unwrap();
                for i in 0..scene.len() {
                    let f = scene.render(i);
                    image::GrayImage::from_raw(64, 48, f.data)
                        .unwrap()
                        .save(path.join(format!("{i:03}.png")))
                        .unwrap();
                }
                path
            })
            .collect()
    }

    #[test]
    fn trains_logs_checkpoints_and_records_statistics() {
        let dir = tempfile::tempdir().unwrap();
        let videos = scene_videos(dir.path(), 2);
        let cfg = ModelConfig::profile("demo").unwrap();
        let set = ClipSet::load(&videos, &cfg, &Params::default(), &|| {}).unwrap();
        // 12 frames per video, clips of t + 1 = 3: 10 per video.
        assert_eq!(set.clips().len(), 20);
        let input = set.batch(&set.clips()[..3], &Device::Cpu).unwrap();
        assert_eq!(input.frames.dims(), &[3, 2, 32, 32]);
        assert_eq!(input.flow.dims(), &[3, 4, 32, 32]);
        assert_eq!(input.next.dims(), &[3, 1, 32, 32]);

        let opts = TrainOptions {
            out_dir: dir.path().join("run"),
            max_steps: None,
        };
        let mut totals = Vec::new();
        let mut checkpoints = 0;
        let summary = train(
            &set,
            &cfg,
            &opts,
            &Device::Cpu,
            &AtomicBool::new(false),
            &mut |e| match e {
                TrainEvent::Step { losses, .. } => totals.push(losses.total),
                TrainEvent::Checkpoint(_) => checkpoints += 1,
            },
        )
        .unwrap();
        assert_eq!(summary.steps, 25); // 5 epochs of 5 batches
        assert!(!summary.interrupted);
        assert_eq!(checkpoints, 6); // one per epoch and the final one with statistics
        let first: f64 = totals[..3].iter().sum::<f64>() / 3.0;
        let last: f64 = totals[totals.len() - 3..].iter().sum::<f64>() / 3.0;
        assert!(last < 0.6 * first, "loss {first} -> {last}");
        let log = std::fs::read_to_string(opts.out_dir.join("loss.csv")).unwrap();
        assert_eq!(log.lines().count(), 26);
        assert_eq!(summary.stats.samples, 20);
        assert!(summary.stats.recon.mean > 0.0 && summary.stats.recon.std >= 0.0);

        let ck = Checkpoint::read(&summary.checkpoint, &Device::Cpu).unwrap();
        assert_eq!(ck.config, cfg);
        assert_eq!(ck.stats.as_ref().unwrap().samples, 20);
        let mut model = ck
            .inference_model(&summary.checkpoint, DType::F32, &Device::Cpu)
            .unwrap();
        let out = model.score(&input).unwrap();
        assert_eq!(out.scores.recon.dims(), &[3]);
    }

    #[test]
    fn stops_when_asked_and_refuses_non_finite_losses() {
        let dir = tempfile::tempdir().unwrap();
        let videos = scene_videos(dir.path(), 1);
        let cfg = ModelConfig::profile("demo").unwrap();
        let mut set = ClipSet::load(&videos, &cfg, &Params::default(), &|| {}).unwrap();
        let opts = TrainOptions {
            out_dir: dir.path().join("run"),
            max_steps: Some(2),
        };
        let stop = AtomicBool::new(true);
        let s = train(&set, &cfg, &opts, &Device::Cpu, &stop, &mut |_| {}).unwrap();
        assert!(s.interrupted && s.steps == 0 && s.checkpoint.exists());

        for f in set.frames.iter_mut().flatten() {
            f.data[5] = f32::NAN;
        }
        let err = train(
            &set,
            &cfg,
            &opts,
            &Device::Cpu,
            &AtomicBool::new(false),
            &mut |_| {},
        )
        .unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("not finite") && msg.contains("checkpoint.safetensors"),
            "{msg}"
        );
    }
}
