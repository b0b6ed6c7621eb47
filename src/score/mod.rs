//! Scoring videos with a trained checkpoint: per frame, the score terms of the
//! paper's Eq. 12 (reconstruction error, prediction error, feature-compactness
//! distance D) and their weighted sum, written as one CSV per video plus
//! `run.json` (model, config, normalisation statistics) — the score folder that
//! `vadscope eval` reads.
//!
//! Frame `s + t` is scored by the clip `s..=s + t` (it is the frame the CVAE
//! predicts); the first `t` frames of each video have no score and no row.

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use candle_core::{DType, Device};
use serde::Serialize;

use crate::dataset::{stream, ClipReader, Prepared};
use crate::error::{Error, Result};
use crate::flow::Flow;
use crate::frame::Frame;
use crate::model::{make_input, Checkpoint, Hybrid, ModelConfig, ScoreStats};

pub mod baseline;
pub mod calibrate;
mod condition;
pub mod events;
pub mod live;
pub mod map_file;
mod maps;
pub mod record;
pub mod usage;
pub mod worker;

pub use crate::dataset::{Outcome, StageTimes};
pub use calibrate::{CalibrateOptions, Calibration, Pseudo};
pub use condition::FlowCondition;
pub use map_file::{maps_path, ScoreMaps, MAPS_SUFFIX};
pub use maps::{AttentionMap, FrameMaps};
pub use usage::{LayerUsage, UsageTotals};
pub use worker::{ScoreEvent, ScoreRequest, ScoreWorker};

/// A score folder (`vadscope score -o SCORES/`): `run.json` marks one.
pub const SCORE_FOLDER: crate::save::FolderKind = crate::save::FolderKind {
    what: "scores",
    markers: &["run.json"],
    overwrite_flag: Some("--overwrite"),
};

/// The score terms of one frame.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FrameScore {
    /// Frame index (0-based).
    pub frame: usize,
    /// Σ weight · (term − training mean) / training std over the three terms.
    pub score: f64,
    /// Reconstruction MSE of the clip's x_1..t.
    pub recon: f64,
    /// Prediction MSE of x_t+1 (0 for MemAE-only models).
    pub pred: f64,
    /// Feature-compactness distance D [12].
    pub dist: f64,
    /// Slot usage: per memory layer (bottleneck first, as
    /// [`crate::model::memae::MEMORY_NAMES`]), each slot's attention averaged
    /// over the frame's positions (sums to 1 per layer). Not written to CSV.
    #[serde(skip)]
    pub usage: Vec<Vec<f32>>,
}

/// A checkpoint loaded for scoring (no gradient graph is recorded).
pub struct Scorer {
    model: Hybrid,
    config: ModelConfig,
    stats: Option<ScoreStats>,
    /// Score weights chosen on training footage (`vadscope calibrate`), used
    /// instead of the config's when present.
    calibration: Option<Calibration>,
    checkpoint: PathBuf,
    device: Device,
    /// The video [`Scorer::maps`] read last, kept open (with the frames and
    /// flows of the last clip) for the next frame.
    maps_video: Option<(PathBuf, ClipReader)>,
    /// Score maps of the frames scored since the last [`Scorer::take_score_maps`],
    /// when [`Scorer::keep_score_maps`] asked for them.
    score_maps: Option<ScoreMaps>,
    /// The flow the CVAE is conditioned on (an ablation unless `Given`).
    condition: FlowCondition,
    /// Slot usage summed over every frame scored (reported in `run.json`).
    usage: UsageTotals,
    /// The dataset split scored, when a dataset's (recorded in `run.json`).
    split: Option<crate::dataset::Split>,
}

impl Scorer {
    /// Loads `checkpoint` onto `device`.
    pub fn load(checkpoint: &Path, device: &Device) -> Result<Scorer> {
        let ck = Checkpoint::read(checkpoint, device)?;
        let model = ck.inference_model(checkpoint, DType::F32, device)?;
        Ok(Scorer {
            model,
            config: ck.config.clone(),
            stats: ck.stats,
            calibration: ck.calibration,
            checkpoint: checkpoint.to_path_buf(),
            device: device.clone(),
            maps_video: None,
            score_maps: None,
            condition: FlowCondition::Given,
            usage: UsageTotals::default(),
            split: None,
        })
    }

    /// Pools each score term over its worst `patch` × `patch` window instead
    /// of the frame mean (0: the mean); see [`crate::model::ScoreConfig::patch`].
    /// The training statistics were measured with the checkpoint's pooling, so
    /// the combined `score` is only comparable within one setting.
    pub fn set_patch(&mut self, patch: usize) {
        self.config.score.patch = patch;
        self.model.set_score_config(self.config.score.clone());
    }

    /// Scores whole frames even when the model was trained on crops (default:
    /// crop-sized tiles; see [`crate::model::tiles`]). The training statistics
    /// were measured in the checkpoint's setting, so the combined `score` is
    /// only comparable within one setting.
    pub fn set_whole_frames(&mut self, whole: bool) {
        self.config.score.whole_frames = whole;
        self.model.set_score_config(self.config.score.clone());
    }

    /// Conditions the CVAE on an ablated flow (see [`FlowCondition`]), to
    /// measure how much its prediction uses the flow.
    pub fn set_flow_condition(&mut self, condition: FlowCondition) {
        self.condition = condition;
    }

    /// Whether to keep a pixel score map of every frame scored (see
    /// [`map_file`]); collect them with [`Scorer::take_score_maps`].
    pub fn keep_score_maps(&mut self, keep: bool) {
        self.score_maps = keep.then(ScoreMaps::default);
    }

    /// The score maps kept since the last call, in scoring order (`None`
    /// unless [`Scorer::keep_score_maps`] is on).
    pub fn take_score_maps(&mut self) -> Option<ScoreMaps> {
        self.score_maps.as_mut().map(std::mem::take)
    }

    /// Records that the videos scored are a dataset's `split` (in `run.json`;
    /// `vadscope eval` refuses the training split's scores).
    pub fn set_split(&mut self, split: crate::dataset::Split) {
        self.split = Some(split);
    }

    /// Slot usage per memory layer over every frame scored so far.
    pub fn usage_summary(&self) -> Vec<LayerUsage> {
        self.usage.summary()
    }

    /// The model's configuration.
    pub fn config(&self) -> &ModelConfig {
        &self.config
    }

    /// The weights of the `score` column (recon, pred, compact): the
    /// calibrated ones, else the config's.
    pub fn score_weights(&self) -> [f64; 3] {
        match &self.calibration {
            Some(c) => [c.recon, c.pred, c.compact],
            None => {
                let w = &self.config.score;
                [w.recon, w.pred, w.compact]
            }
        }
    }

    /// Scores every frame of `video` that has `t` frames of history;
    /// `progress` is called once per decoded frame.
    pub fn score_video(&mut self, video: &Path, progress: &dyn Fn()) -> Result<Vec<FrameScore>> {
        let mut out = Vec::new();
        let never = AtomicBool::new(false);
        self.score_stream(video, &never, &mut |_| {}, &mut |scores| {
            out.extend_from_slice(scores);
            scores.iter().for_each(|_| progress());
        })?;
        Ok(out)
    }

    /// Scores `video` through the decode → flow → model pipeline, handing each
    /// batch of frame scores to `on_scores` as soon as it is ready. `on_total`
    /// gets the video's frame count first. Stops early when `cancel` is set.
    pub fn score_stream(
        &mut self,
        video: &Path,
        cancel: &AtomicBool,
        on_total: &mut dyn FnMut(usize),
        on_scores: &mut dyn FnMut(&[FrameScore]),
    ) -> Result<Outcome> {
        let cfg = self.config.clone();
        let mut batcher = Batcher {
            scorer: self,
            t: cfg.input.frames,
            batch: cfg.train.batch_size.max(1),
            frames: Vec::new(),
            flows: Vec::new(),
            offset: 0,
            on_scores,
        };
        let outcome = stream::run(
            video,
            &cfg.input,
            cancel,
            &mut |p| batcher.push(p),
            on_total,
        )?;
        if !outcome.cancelled {
            batcher.finish()?;
        }
        Ok(outcome)
    }

    /// Scores clips given as (t + 1 frames at the model's size, their t
    /// flows); `first_frame` is the index of the first clip's first frame.
    pub fn score_clips(
        &mut self,
        windows: &[(&[Frame<f32>], &[Flow])],
        first_frame: usize,
    ) -> Result<Vec<FrameScore>> {
        let mut input = make_input(windows, &self.device)?;
        if self.condition != FlowCondition::Given {
            input.flow = self.condition.apply(&input.flow)?;
        }
        let o = self.model.score(&input).map_err(Error::from)?;
        let col = |t: &candle_core::Tensor| -> Result<Vec<f64>> {
            t.to_dtype(DType::F64)
                .and_then(|t| t.to_vec1::<f64>())
                .map_err(Error::from)
        };
        let (r, p, d) = (
            col(&o.scores.recon)?,
            col(&o.scores.pred)?,
            col(&o.scores.compact)?,
        );
        // (B, N, H, W) attention → (B, N) mean per slot, per layer.
        let usage = o
            .memae
            .reads
            .iter()
            .map(|read| {
                read.attention
                    .flatten_from(2)
                    .and_then(|a| a.mean(2))
                    .and_then(|a| a.to_dtype(DType::F32))
                    .and_then(|a| a.to_vec2::<f32>())
                    .map_err(Error::from)
            })
            .collect::<Result<Vec<_>>>()?;
        if self.score_maps.is_some() {
            let maps = self.pixel_maps(&input, &o)?;
            let (_, _, h, w) = input.frames.dims4().map_err(Error::from)?;
            if let Some(out) = self.score_maps.as_mut() {
                for map in maps.chunks_exact(h * w) {
                    out.push(w, h, map)?;
                }
            }
        }
        let t = self.config.input.frames;
        let scores: Vec<FrameScore> = (0..windows.len())
            .map(|k| {
                let mut f = FrameScore {
                    frame: first_frame + k + t,
                    score: 0.0,
                    recon: r[k],
                    pred: p[k],
                    dist: d[k],
                    usage: usage.iter().map(|layer| layer[k].clone()).collect(),
                };
                f.score = self.combine(&f);
                f
            })
            .collect();
        for f in &scores {
            self.usage.add(&f.usage);
        }
        Ok(scores)
    }

    /// Per sample, the pixel analogue of the score (see [`map_file`]):
    /// (B·H·W) values at the input size.
    fn pixel_maps(
        &self,
        input: &crate::model::Input,
        o: &crate::model::HybridOutput,
    ) -> Result<Vec<f32>> {
        let [w_recon, w_pred, w_compact] = self.score_weights();
        let [(_, std_r), (_, std_p), (_, std_c)] = self.term_scales();
        let (_, _, h, wd) = input.frames.dims4().map_err(Error::from)?;
        let sq = |a: &candle_core::Tensor, b: &candle_core::Tensor| (a - b)?.sqr()?.mean_keepdim(1);
        let run = || -> candle_core::Result<candle_core::Tensor> {
            let mut map = (sq(&o.memae.recon, &input.frames)? * (w_recon / std_r))?;
            if let Some(cv) = &o.cvae {
                map = (map + (sq(&cv.pred, &input.next)? * (w_pred / std_p))?)?;
            }
            let layers = o.memae.reads.len();
            if layers > 0 && w_compact != 0.0 {
                let k = w_compact / std_c / layers as f64;
                for read in &o.memae.reads {
                    let d = read.distance_map.upsample_nearest2d(h, wd)?;
                    map = (map + (d * k)?)?;
                }
            }
            map.to_dtype(DType::F32)?.flatten_all()
        };
        run().and_then(|m| m.to_vec1::<f32>()).map_err(Error::from)
    }

    /// Per term (recon, pred, compact), the (mean, std) of its z-score: the
    /// training statistics, or (0, 1), the raw term, when the checkpoint has
    /// none or their spread is zero.
    fn term_scales(&self) -> [(f64, f64); 3] {
        let pick = |t: Option<&crate::model::TermStats>| match t {
            Some(t) if t.std > 0.0 => (t.mean, t.std),
            _ => (0.0, 1.0),
        };
        let s = self.stats.as_ref();
        [
            pick(s.map(|s| &s.recon)),
            pick(s.map(|s| &s.pred)),
            pick(s.map(|s| &s.compact)),
        ]
    }

    /// The weighted sum of the z-scored terms (see [`Scorer::term_scales`]
    /// and [`Scorer::score_weights`]).
    fn combine(&self, f: &FrameScore) -> f64 {
        weighted_z(self.score_weights(), self.term_scales(), f)
    }

    /// Writes `<dir>/<name>.csv` (`frame,score,recon,pred,dist`), atomically.
    pub fn write_csv(dir: &Path, name: &str, scores: &[FrameScore]) -> Result<()> {
        let path = dir.join(format!("{name}.csv"));
        crate::save::atomic_write_with(&path, |w| {
            writeln!(w, "frame,score,recon,pred,dist")?;
            for f in scores {
                writeln!(
                    w,
                    "{},{},{},{},{}",
                    f.frame, f.score, f.recon, f.pred, f.dist
                )?;
            }
            Ok(())
        })
    }

    /// Writes `<dir>/run.json`: checkpoint, config, the training statistics
    /// of each term column (for `vadscope eval --normalize zscore`) and, once
    /// frames were scored, the memories' slot usage (`memory_usage`).
    pub fn write_run_json(&self, dir: &Path, videos: &[String]) -> Result<()> {
        let stat =
            |s: &crate::model::TermStats| serde_json::json!({ "mean": s.mean, "std": s.std });
        let train_stats = self.stats.as_ref().map(|s| {
            serde_json::json!({ "recon": stat(&s.recon), "pred": stat(&s.pred), "dist": stat(&s.compact) })
        });
        let mut doc = serde_json::json!({
            "checkpoint": self.checkpoint,
            "config": self.config,
            "score": "sum of score weights (the calibration's, else the config's) x (term - train mean) / train std (raw terms without statistics)",
            "first_scored_frame": self.config.input.frames,
            "videos": videos,
            "flow_condition": self.condition,
        });
        if let Some(stats) = train_stats {
            doc["train_stats"] = stats;
        }
        if let Some(split) = self.split {
            doc["split"] = serde_json::json!(split);
        }
        if let Some(c) = &self.calibration {
            doc["calibration"] =
                serde_json::to_value(c).map_err(|e| Error::invalid(e.to_string()))?;
        }
        if self.usage.frames() > 0 {
            doc["memory_usage"] = serde_json::to_value(self.usage.summary())
                .map_err(|e| Error::invalid(e.to_string()))?;
        }
        let bytes = serde_json::to_vec_pretty(&doc).map_err(|e| Error::invalid(e.to_string()))?;
        crate::save::atomic_write(&dir.join("run.json"), &bytes)
    }
}

/// Σ weight · (term − mean) / std over (recon, pred, compact): the `score`
/// column, and what [`calibrate`] rates for other weights.
fn weighted_z(w: [f64; 3], scales: [(f64, f64); 3], f: &FrameScore) -> f64 {
    let z = |v: f64, (mean, std): (f64, f64)| (v - mean) / std;
    w[0] * z(f.recon, scales[0]) + w[1] * z(f.pred, scales[1]) + w[2] * z(f.dist, scales[2])
}

/// Collects prepared frames into clips and scores them a batch at a time.
struct Batcher<'a> {
    scorer: &'a mut Scorer,
    t: usize,
    batch: usize,
    /// Frames `offset..offset + frames.len()` of the video.
    frames: Vec<Frame<f32>>,
    /// `flows[k]` goes from `frames[k]` to `frames[k + 1]`.
    flows: Vec<Flow>,
    offset: usize,
    on_scores: &'a mut dyn FnMut(&[FrameScore]),
}

impl Batcher<'_> {
    fn push(&mut self, p: Prepared) -> Result<()> {
        if let Some(flow) = p.flow {
            self.flows.push(flow);
        }
        self.frames.push(p.frame);
        if self.frames.len() >= self.t + self.batch {
            self.score(self.batch)?;
        }
        Ok(())
    }

    /// Scores the clips that start at the first `n` buffered frames, then
    /// drops those frames.
    fn score(&mut self, n: usize) -> Result<()> {
        let t = self.t;
        let windows: Vec<_> = (0..n)
            .map(|k| (&self.frames[k..k + t + 1], &self.flows[k..k + t]))
            .collect();
        let scores = self.scorer.score_clips(&windows, self.offset)?;
        (self.on_scores)(&scores);
        self.frames.drain(..n);
        self.flows.drain(..n);
        self.offset += n;
        Ok(())
    }

    /// Scores the clips left at the end of the video.
    fn finish(&mut self) -> Result<()> {
        let n = self.frames.len().saturating_sub(self.t);
        if n > 0 {
            self.score(n)?;
        }
        Ok(())
    }
}
