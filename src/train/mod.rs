//! The training loop of the hybrid model (Long et al., trained end to end):
//! training clips with their flows, held in memory, batched in a seeded random
//! order; AdamW steps on the weighted loss; the memory update [7–9] after each
//! step; a loss log; NaN/inf detection that stops with the last good checkpoint
//! kept; training-set score statistics saved with the final checkpoint.
//!
//! The clips come from the one clip pipeline ([`crate::dataset`]) in the
//! model's input contract ([`crate::model::input`]).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use candle_core::{DType, Device, Tensor};
use candle_nn::VarMap;
use serde::Serialize;

use crate::dataset::Clip;
use crate::error::{Error, Result};
use crate::model::init::{self, seeded_var_builder, Rng};
use crate::model::{
    checkpoint, Checkpoint, Hybrid, Input, ModelConfig, Sampling, ScoreStats, TermStats,
};

mod clipset;
mod log;
pub mod optim;
pub mod run_folder;

pub use clipset::ClipSet;
use log::LossLog;
use optim::{learning_rate, AdamW, Position};

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
                .map_err(Error::from)
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

    /// `recon 0.1, compact NaN, …`, for messages.
    fn describe(&self) -> String {
        self.named()
            .iter()
            .map(|(n, v)| format!("{n} {v}"))
            .collect::<Vec<_>>()
            .join(", ")
    }

    fn named(&self) -> [(&'static str, f64); 7] {
        [
            ("recon", self.recon),
            ("compact", self.compact),
            ("separate", self.separate),
            ("pred", self.pred),
            ("kl", self.kl),
            ("gradient", self.gradient),
            ("total", self.total),
        ]
    }

    fn is_finite(&self) -> bool {
        self.named().iter().all(|(_, v)| v.is_finite())
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
    /// Something the user should know about the run folder or its log
    /// (a replaced run kept as a backup, loss rows dropped on resume).
    Note(String),
    /// Training-set score statistics: `done` of `total` clips scored.
    Statistics {
        /// Clips scored so far.
        done: usize,
        /// Clips the statistics use (at most [`STATS_CLIPS`]).
        total: usize,
    },
}

/// The training-set score statistics use at most this many clips, evenly
/// spread over the set: enough for a mean and a standard deviation, and
/// minutes less at large inputs.
pub const STATS_CLIPS: usize = 1024;

/// Where and how to train.
#[derive(Debug, Clone, Default)]
pub struct TrainOptions {
    /// Output folder: `checkpoint.safetensors`, `optimizer.safetensors`,
    /// `loss.csv`, `config.json`.
    pub out_dir: PathBuf,
    /// Stop when the run reaches this many steps (the config's epochs otherwise).
    pub max_steps: Option<usize>,
    /// Continue from this checkpoint (weights, memories, the optimizer state
    /// beside it and the step it was saved at) instead of starting afresh.
    /// Its loss log is continued too.
    pub resume: Option<PathBuf>,
    /// Replace a run already in `out_dir`, keeping it as `RUN.bak` (see
    /// [`run_folder`]); without it such a folder is only continued, by `resume`.
    pub overwrite: bool,
}

/// The result of a run.
#[derive(Debug, Clone)]
pub struct TrainSummary {
    /// Steps taken over the whole run (including those before a resume).
    pub steps: usize,
    /// The step the run resumed from (0 for a fresh run).
    pub resumed_from: usize,
    /// The final checkpoint.
    pub checkpoint: PathBuf,
    /// Whether the run was stopped early (by `stop`), after saving.
    pub interrupted: bool,
    /// Training-set score statistics stored in the checkpoint.
    pub stats: ScoreStats,
}

/// The optimizer state that [`train`] writes beside `checkpoint`.
pub fn optimizer_path(checkpoint: &Path) -> PathBuf {
    checkpoint.with_file_name("optimizer.safetensors")
}

/// Trains the model on `set` with `cfg`, from fresh seeded weights or from
/// `opts.resume`. Writes the checkpoint and the optimizer state after every
/// epoch (atomically; the previous ones survive a failure), the loss log, and
/// the final checkpoint with training-set score statistics. `stop` ends the
/// run early after saving, so that it can be resumed exactly. A non-finite loss
/// stops the run with an error; the last good checkpoint stays on disk.
pub fn train(
    set: &ClipSet,
    cfg: &ModelConfig,
    opts: &TrainOptions,
    device: &Device,
    stop: &AtomicBool,
    on_event: &mut dyn FnMut(&TrainEvent),
) -> Result<TrainSummary> {
    cfg.validate()?;
    let folder = run_folder::claim(&opts.out_dir, opts.resume.as_deref(), opts.overwrite)?;
    if let Some(b) = &folder.backup {
        on_event(&TrainEvent::Note(format!(
            "the run that was in {} is kept as {}",
            opts.out_dir.display(),
            b.display()
        )));
    }
    match train_in(set, cfg, opts, device, stop, on_event) {
        Ok(summary) => Ok(summary),
        Err(e) => match folder.roll_back() {
            Some(what) => Err(Error::invalid(format!("{e}\n({what})"))),
            None => Err(e),
        },
    }
}

/// [`train`] in its claimed folder.
fn train_in(
    set: &ClipSet,
    cfg: &ModelConfig,
    opts: &TrainOptions,
    device: &Device,
    stop: &AtomicBool,
    on_event: &mut dyn FnMut(&TrainEvent),
) -> Result<TrainSummary> {
    let vars = VarMap::new();
    let vb = seeded_var_builder(&vars, cfg.train.seed, DType::F32, device);
    let mut model = Hybrid::new(cfg, vb).map_err(Error::from)?;
    model.enable_training_aids();
    let mut opt = AdamW::new(&vars, cfg.train.weight_decay)?;
    let log_path = opts.out_dir.join("loss.csv");
    let (start, continued) = match &opts.resume {
        Some(from) => {
            let start = resume(from, set, &mut model, &vars, &mut opt, device)?;
            // Checked whole before anything is written.
            let from_log = from.with_file_name("loss.csv");
            let continued = log::continue_from(&from_log, start)?;
            if !continued.found {
                on_event(&TrainEvent::Note(format!(
                    "{} not found: the loss log starts at step {start}",
                    from_log.display()
                )));
            }
            if continued.dropped > 0 {
                on_event(&TrainEvent::Note(format!(
                    "{}: {} rows of steps after the checkpoint's step {start} are dropped \
                     (the log as it was is kept as {})",
                    from_log.display(),
                    continued.dropped,
                    crate::save::backup_path(&log_path).display()
                )));
            }
            (start, Some(continued))
        }
        None => (0, None),
    };
    cfg.save(&opts.out_dir.join("config.json"))?;

    let ckpt = checkpoint_path(&opts.out_dir);
    let opt_path = optimizer_path(&ckpt);
    let mut log = LossLog::create(&log_path, continued.as_ref())?;

    let batch_size = cfg.train.batch_size.max(1);
    let per_epoch = set.clips.len().div_ceil(batch_size);
    let total_steps = opts
        .max_steps
        .unwrap_or(usize::MAX)
        .min(per_epoch * cfg.train.epochs);
    let [step_h, step_w] = cfg.train_size();
    let noise_shape = (batch_size, cfg.cvae.latent, step_h / 8, step_w / 8);
    let started = Instant::now();
    let (mut step, mut interrupted) = (start, false);
    // The step of the newest checkpoint on disk, for the divergence message.
    let mut saved = opts.resume.as_ref().map(|p| (p.clone(), start));
    let mut order: (usize, Vec<usize>) = (usize::MAX, Vec::new());
    let save = |model: &Hybrid, opt: &AdamW, step: usize, stats: Option<&ScoreStats>| {
        checkpoint::save(&ckpt, model, &vars, stats, Some(step))?;
        let pos = Position {
            step,
            clips: set.clips.len(),
        };
        opt.save(&opt_path, pos)
    };
    while step < total_steps {
        if stop.load(Ordering::Relaxed) {
            interrupted = true;
            break;
        }
        let epoch = step / per_epoch;
        if order.0 != epoch {
            order = (epoch, epoch_order(set.clips.len(), cfg.train.seed, epoch));
        }
        let k = step % per_epoch;
        let chunk = &order.1[k * batch_size..((k + 1) * batch_size).min(order.1.len())];
        let batch: Vec<Clip> = chunk.iter().map(|&i| set.clips[i]).collect();
        // Noise and crops from the seed and the step: a resumed run draws
        // what the uninterrupted one would have.
        let mut rng = Rng::new(cfg.train.seed ^ (step as u64).wrapping_mul(0x2545_F491_4F6C_DD1D));
        let mut input = set.batch(&batch, device)?;
        if let Some(crop) = cfg.train.crop {
            input = random_crop(&input, crop, &mut rng)?;
        }
        let shape = (batch.len(), noise_shape.1, noise_shape.2, noise_shape.3);
        let eps = init::normal(&mut rng, shape, DType::F32, device).map_err(Error::from)?;
        let out = model
            .forward(&input, &Sampling::Given(eps))
            .map_err(Error::from)?;
        let losses = LossValues::read(&out.losses)?;
        if !losses.is_finite() {
            let kept = match &saved {
                Some((p, s)) => format!("the last good checkpoint is {} (step {s})", p.display()),
                None => "no checkpoint was written before it".to_string(),
            };
            return Err(Error::invalid(format!(
                "training diverged at epoch {epoch}, step {step}: a loss is not finite \
                 ({}); {kept}. Lower the learning rate (train.lr in the config)",
                losses.describe()
            )));
        }
        let lr = learning_rate(&cfg.train, step, total_steps);
        opt.backward_step(&out.losses.total, lr)?;
        model.update_memories(&out).map_err(Error::from)?;
        log.row(epoch, step, lr, &losses)?;
        step += 1;
        let clips_per_sec =
            ((step - start) * batch_size) as f64 / started.elapsed().as_secs_f64().max(1e-9);
        on_event(&TrainEvent::Step {
            epoch,
            step: step - 1,
            total_steps,
            losses,
            clips_per_sec,
        });
        if step.is_multiple_of(per_epoch) && step < total_steps {
            log.flush()?;
            save(&model, &opt, step, None)?;
            saved = Some((ckpt.clone(), step));
            on_event(&TrainEvent::Checkpoint(ckpt.clone()));
        }
    }
    log.flush()?;
    let stats = score_stats(&mut model, set, device, batch_size, on_event)?;
    save(&model, &opt, step, Some(&stats))?;
    on_event(&TrainEvent::Checkpoint(ckpt.clone()));
    Ok(TrainSummary {
        steps: step,
        resumed_from: start,
        checkpoint: ckpt,
        interrupted,
        stats,
    })
}

/// Loads `from` (checkpoint + the optimizer state beside it) into the fresh
/// model and optimizer; returns the step to continue from.
fn resume(
    from: &Path,
    set: &ClipSet,
    model: &mut Hybrid,
    vars: &VarMap,
    opt: &mut AdamW,
    device: &Device,
) -> Result<usize> {
    let ck = Checkpoint::read(from, device)?;
    ck.load_into(from, model, vars)?;
    let opt_path = optimizer_path(from);
    if !opt_path.exists() {
        return Err(Error::invalid(format!(
            "cannot resume from {}: the optimizer state {} is missing (it is written beside every checkpoint)",
            from.display(),
            opt_path.display()
        )));
    }
    let pos = opt.load(&opt_path)?;
    if ck.step != Some(pos.step) {
        let saved = ck
            .step
            .map_or_else(|| "no step".to_string(), |s| format!("step {s}"));
        return Err(Error::invalid(format!(
            "cannot resume: {} is from {saved} but {} from step {} (a save was interrupted?)",
            from.display(),
            opt_path.display(),
            pos.step
        )));
    }
    if pos.clips != set.clips.len() {
        return Err(Error::invalid(format!(
            "cannot resume from {}: it was trained on {} clips, this training set has {}",
            from.display(),
            pos.clips,
            set.clips.len()
        )));
    }
    Ok(pos.step)
}

/// One random `[height, width]` window per clip of `input`, the same window
/// for its frames, next frame and flows.
fn random_crop(input: &Input, [h, w]: [usize; 2], rng: &mut Rng) -> Result<Input> {
    let (b, _, full_h, full_w) = input.frames.dims4().map_err(Error::from)?;
    let (mut frames, mut next, mut flow) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..b {
        let y = (rng.next_u64() % (full_h - h + 1) as u64) as usize;
        let x = (rng.next_u64() % (full_w - w + 1) as u64) as usize;
        let window = |t: &Tensor| -> candle_core::Result<Tensor> {
            t.narrow(0, i, 1)?.narrow(2, y, h)?.narrow(3, x, w)
        };
        frames.push(window(&input.frames).map_err(Error::from)?);
        next.push(window(&input.next).map_err(Error::from)?);
        flow.push(window(&input.flow).map_err(Error::from)?);
    }
    let cat = |parts: Vec<Tensor>| Tensor::cat(&parts, 0).map_err(Error::from);
    Ok(Input {
        frames: cat(frames)?,
        next: cat(next)?,
        flow: cat(flow)?,
    })
}

/// The clip order of `epoch`: a seeded shuffle, the same on every resume.
fn epoch_order(n: usize, seed: u64, epoch: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    let mut state =
        seed ^ 0x9E37_79B9_7F4A_7C15 ^ (epoch as u64).wrapping_mul(0xD1B5_4A32_D192_ED03);
    shuffle(&mut order, &mut state);
    order
}

/// Score terms over the training clips: the statistics for z-score normalisation.
fn score_stats(
    model: &mut Hybrid,
    set: &ClipSet,
    device: &Device,
    batch_size: usize,
    on_event: &mut dyn FnMut(&TrainEvent),
) -> Result<ScoreStats> {
    let n = set.clips.len();
    let total = n.min(STATS_CLIPS);
    let sample: Vec<Clip> = (0..total).map(|k| set.clips[k * n / total]).collect();
    let (mut recon, mut pred, mut compact) = (Vec::new(), Vec::new(), Vec::new());
    for chunk in sample.chunks(batch_size) {
        on_event(&TrainEvent::Statistics {
            done: recon.len(),
            total,
        });
        // As `score` will see them: tiled when trained on crops.
        let out = model
            .score_forward(&set.batch(chunk, device)?)
            .map_err(Error::from)?;
        for (dst, t) in [
            (&mut recon, &out.scores.recon),
            (&mut pred, &out.scores.pred),
            (&mut compact, &out.scores.compact),
        ] {
            let v: Vec<f64> = t
                .to_dtype(DType::F64)
                .and_then(|t| t.to_vec1::<f64>())
                .map_err(Error::from)?;
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

/// A checkpoint file as given, or the checkpoint of a run folder; an error
/// names the path and says what it lacks.
pub fn resolve_checkpoint(path: &Path) -> crate::Result<PathBuf> {
    if path.is_dir() {
        let ckpt = checkpoint_path(path);
        if !ckpt.is_file() {
            return Err(crate::Error::invalid(format!(
                "{}: not a run folder (it has no checkpoint.safetensors; `vadscope train -o RUN` writes one)",
                path.display()
            )));
        }
        Ok(ckpt)
    } else if path.is_file() {
        Ok(path.to_path_buf())
    } else {
        Err(crate::Error::io(
            path,
            std::io::Error::new(std::io::ErrorKind::NotFound, "no such checkpoint"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Checkpoint;
    use crate::synth::{Scene, SceneConfig};

    /// Trains on the CPU to the end (or an error), ignoring events.
    fn train_through(
        set: &ClipSet,
        cfg: &ModelConfig,
        opts: &TrainOptions,
    ) -> Result<TrainSummary> {
        train(
            set,
            cfg,
            opts,
            &Device::Cpu,
            &AtomicBool::new(false),
            &mut |_| {},
        )
    }

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
        let set = ClipSet::load(&videos, &cfg, &|| {}).unwrap();
        // 12 frames per video, clips of t + 1 = 3: 10 per video.
        assert_eq!(set.clips().len(), 20);
        let input = set.batch(&set.clips()[..3], &Device::Cpu).unwrap();
        assert_eq!(input.frames.dims(), &[3, 2, 32, 32]);
        assert_eq!(input.flow.dims(), &[3, 4, 32, 32]);
        assert_eq!(input.next.dims(), &[3, 1, 32, 32]);

        let opts = TrainOptions {
            out_dir: dir.path().join("run"),
            ..Default::default()
        };
        let mut totals = Vec::new();
        let mut checkpoints = 0;
        let mut stats_events = Vec::new();
        let summary = train(
            &set,
            &cfg,
            &opts,
            &Device::Cpu,
            &AtomicBool::new(false),
            &mut |e| match e {
                TrainEvent::Step { losses, .. } => totals.push(losses.total),
                TrainEvent::Checkpoint(_) => checkpoints += 1,
                TrainEvent::Statistics { done, total } => stats_events.push((*done, *total)),
                TrainEvent::Note(n) => panic!("a fresh run has nothing to note: {n}"),
            },
        )
        .unwrap();
        assert_eq!(summary.steps, 25); // 5 epochs of 5 batches
        assert!(!summary.interrupted);
        assert_eq!(checkpoints, 5); // after epochs 1-4 and the final one with statistics
        let first: f64 = totals[..3].iter().sum::<f64>() / 3.0;
        let last: f64 = totals[totals.len() - 3..].iter().sum::<f64>() / 3.0;
        assert!(last < 0.6 * first, "loss {first} -> {last}");
        let log = std::fs::read_to_string(opts.out_dir.join("loss.csv")).unwrap();
        assert_eq!(log.lines().count(), 26);
        assert_eq!(summary.stats.samples, 20);
        // Batches of 4 of the 20 clips, announced before each.
        assert_eq!(
            stats_events,
            [(0, 20), (4, 20), (8, 20), (12, 20), (16, 20)]
        );
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
    fn random_crops_cut_one_window_per_clip_from_frames_next_and_flow() {
        // Each value encodes (sample, channel, row, column), so a window's
        // values tell where it was cut from.
        let code = |b: usize, c: usize, y: usize, x: usize| {
            (b * 1_000_000 + c * 10_000 + y * 100 + x) as f32
        };
        let planes = |channels: usize| {
            let mut v = Vec::new();
            for b in 0..4 {
                for c in 0..channels {
                    for y in 0..24 {
                        for x in 0..32 {
                            v.push(code(b, c, y, x));
                        }
                    }
                }
            }
            Tensor::from_vec(v, (4, channels, 24, 32), &Device::Cpu).unwrap()
        };
        let input = Input {
            frames: planes(2),
            next: planes(1),
            flow: planes(4),
        };
        let mut rng = Rng::new(7);
        let out = random_crop(&input, [8, 16], &mut rng).unwrap();
        assert_eq!(out.frames.dims(), &[4, 2, 8, 16]);
        assert_eq!(out.next.dims(), &[4, 1, 8, 16]);
        assert_eq!(out.flow.dims(), &[4, 4, 8, 16]);
        let mut origins = Vec::new();
        for b in 0..4 {
            let corner = |t: &Tensor| {
                t.get(b)
                    .unwrap()
                    .flatten_all()
                    .unwrap()
                    .to_vec1::<f32>()
                    .unwrap()[0]
            };
            let first = corner(&out.frames) as usize;
            assert_eq!(first / 1_000_000, b, "sample {b} comes from its own clip");
            let (y, x) = ((first % 10_000) / 100, first % 100);
            assert!(y + 8 <= 24 && x + 16 <= 32);
            // The same window in all three tensors, every value in place.
            for (t, ch) in [(&out.frames, 2), (&out.next, 1), (&out.flow, 4)] {
                let v = t
                    .get(b)
                    .unwrap()
                    .flatten_all()
                    .unwrap()
                    .to_vec1::<f32>()
                    .unwrap();
                for c in 0..ch {
                    for r in 0..8 {
                        for q in 0..16 {
                            assert_eq!(v[(c * 8 + r) * 16 + q], code(b, c, y + r, x + q));
                        }
                    }
                }
            }
            origins.push((y, x));
        }
        origins.dedup();
        assert!(origins.len() > 1, "windows are drawn per clip: {origins:?}");
    }

    #[test]
    fn trains_on_crops_and_scores_whole_frames() {
        let dir = tempfile::tempdir().unwrap();
        let videos = scene_videos(dir.path(), 1);
        let mut cfg = ModelConfig::profile("demo").unwrap();
        (cfg.input.height, cfg.input.width) = (48, 64);
        cfg.train.crop = Some([16, 24]);
        cfg.train.epochs = 2;
        let set = ClipSet::load(&videos, &cfg, &|| {}).unwrap();
        let opts = TrainOptions {
            out_dir: dir.path().join("run"),
            ..Default::default()
        };
        let summary = train_through(&set, &cfg, &opts).unwrap();
        assert_eq!(summary.steps, 6); // 10 clips in batches of 4, twice
        let ck = Checkpoint::read(&summary.checkpoint, &Device::Cpu).unwrap();
        assert_eq!(ck.config.train.crop, Some([16, 24]));
        let mut model = ck
            .inference_model(&summary.checkpoint, DType::F32, &Device::Cpu)
            .unwrap();
        let input = set.batch(&set.clips()[..2], &Device::Cpu).unwrap();
        assert_eq!(input.frames.dims(), &[2, 2, 48, 64]);
        let out = model.score(&input).unwrap();
        let recon = out.scores.recon.to_vec1::<f32>().unwrap();
        assert!(recon.iter().all(|v| v.is_finite() && *v > 0.0), "{recon:?}");

        cfg.train.crop = Some([56, 24]);
        let err = train_through(&set, &cfg, &opts).err().unwrap().to_string();
        assert!(
            err.contains("train.crop height 56 is out of range (allowed: 8 to 48)"),
            "{err}"
        );
    }

    #[test]
    fn stops_when_asked_and_refuses_non_finite_losses() {
        let dir = tempfile::tempdir().unwrap();
        let videos = scene_videos(dir.path(), 1);
        let cfg = ModelConfig::profile("demo").unwrap();
        let mut set = ClipSet::load(&videos, &cfg, &|| {}).unwrap();
        let opts = TrainOptions {
            out_dir: dir.path().join("run"),
            max_steps: Some(2),
            ..Default::default()
        };
        let stop = AtomicBool::new(true);
        let s = train(&set, &cfg, &opts, &Device::Cpu, &stop, &mut |_| {}).unwrap();
        assert!(s.interrupted && s.steps == 0 && s.checkpoint.exists());

        for f in set.frames.iter_mut().flatten() {
            f.data[5] = f32::NAN;
        }
        // A new run that diverges before its first checkpoint says so and
        // leaves no folder behind.
        let fresh = TrainOptions {
            out_dir: dir.path().join("fresh"),
            ..opts.clone()
        };
        let msg = train_through(&set, &cfg, &fresh).unwrap_err().to_string();
        assert!(
            msg.contains("not finite") && msg.contains("no checkpoint was written"),
            "{msg}"
        );
        assert!(!fresh.out_dir.exists(), "{msg}");
        // A resumed one names the checkpoint it resumed from, which stays.
        let resumed = TrainOptions {
            resume: Some(s.checkpoint.clone()),
            ..opts
        };
        let msg = train_through(&set, &cfg, &resumed).unwrap_err().to_string();
        assert!(
            msg.contains("not finite") && msg.contains("checkpoint.safetensors (step 0)"),
            "{msg}"
        );
        assert!(s.checkpoint.exists());
    }

    fn weights(path: &Path) -> Vec<(String, Vec<f32>)> {
        let ck = Checkpoint::read(path, &Device::Cpu).unwrap();
        let mut all: Vec<_> = ck
            .tensors
            .iter()
            .map(|(k, t)| {
                (
                    k.clone(),
                    t.flatten_all().unwrap().to_vec1::<f32>().unwrap(),
                )
            })
            .collect();
        all.sort_by(|a, b| a.0.cmp(&b.0));
        all
    }

    #[test]
    fn interrupted_and_resumed_run_equals_an_uninterrupted_one() {
        let dir = tempfile::tempdir().unwrap();
        let videos = scene_videos(dir.path(), 1);
        let cfg = ModelConfig::profile("demo").unwrap();
        let set = ClipSet::load(&videos, &cfg, &|| {}).unwrap();
        let run = |name: &str, max_steps, resume| TrainOptions {
            out_dir: dir.path().join(name),
            max_steps: Some(max_steps),
            resume,
            ..Default::default()
        };
        // 10 clips in batches of 4: 3 steps per epoch; 7 steps cross two epoch ends.
        let straight = train_through(&set, &cfg, &run("a", 7, None)).unwrap();
        assert_eq!((straight.steps, straight.resumed_from), (7, 0));

        // Stop after 4 steps (mid-epoch), then resume in the same folder.
        let stop = AtomicBool::new(false);
        let mut seen = 0;
        let first = train(
            &set,
            &cfg,
            &run("b", 7, None),
            &Device::Cpu,
            &stop,
            &mut |e| {
                if let TrainEvent::Step { .. } = e {
                    seen += 1;
                    if seen == 4 {
                        stop.store(true, Ordering::Relaxed);
                    }
                }
            },
        )
        .unwrap();
        assert!(first.interrupted && first.steps == 4);
        let ckpt = first.checkpoint.clone();
        let resumed = train_through(&set, &cfg, &run("b", 7, Some(ckpt))).unwrap();
        assert_eq!((resumed.steps, resumed.resumed_from), (7, 4));
        assert_eq!(weights(&straight.checkpoint), weights(&resumed.checkpoint));
        let log = std::fs::read_to_string(dir.path().join("b/loss.csv")).unwrap();
        let steps: Vec<&str> = log
            .lines()
            .skip(1)
            .map(|l| l.split(',').nth(1).unwrap())
            .collect();
        assert_eq!(steps, ["0", "1", "2", "3", "4", "5", "6"]);

        // Resuming on another training set, or without the optimizer state, is refused.
        let other = ClipSet::load(&scene_videos(&dir.path().join("o"), 2), &cfg, &|| {}).unwrap();
        let ckpt = dir.path().join("b/checkpoint.safetensors");
        let err = train_through(&other, &cfg, &run("c", 9, Some(ckpt.clone())))
            .unwrap_err()
            .to_string();
        assert!(err.contains("10 clips") && err.contains("20"), "{err}");
        std::fs::remove_file(dir.path().join("b/optimizer.safetensors")).unwrap();
        let err = train_through(&set, &cfg, &run("c", 9, Some(ckpt)))
            .unwrap_err()
            .to_string();
        assert!(err.contains("optimizer.safetensors"), "{err}");
    }
}
