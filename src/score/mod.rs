//! Scoring videos with a trained checkpoint: per frame, the score terms of the
//! paper's Eq. 12 (reconstruction error, prediction error, feature-compactness
//! distance D) and their weighted sum, written as one CSV per video plus
//! `run.json` (model, config, normalisation statistics) — the score folder that
//! `vadscope eval` reads.
//!
//! Frame `s + t` is scored by the clip `s..=s + t` (it is the frame the CVAE
//! predicts); the first `t` frames of each video have no score and no row.

use std::path::{Path, PathBuf};

use candle_core::{DType, Device};
use serde::Serialize;

use crate::error::{Error, Result};
use crate::flow::Params;
use crate::model::{Checkpoint, Hybrid, ModelConfig, ScoreStats};
use crate::train::ClipSet;

/// The score terms of one frame.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
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
}

/// A checkpoint loaded for scoring (no gradient graph is recorded).
pub struct Scorer {
    model: Hybrid,
    config: ModelConfig,
    stats: Option<ScoreStats>,
    checkpoint: PathBuf,
    device: Device,
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
            checkpoint: checkpoint.to_path_buf(),
            device: device.clone(),
        })
    }

    /// The model's configuration.
    pub fn config(&self) -> &ModelConfig {
        &self.config
    }

    /// Scores every frame of `video` that has `t` frames of history.
    pub fn score_video(&mut self, video: &Path, progress: &dyn Fn()) -> Result<Vec<FrameScore>> {
        let set = ClipSet::load(
            &[video.to_path_buf()],
            &self.config,
            &Params::default(),
            progress,
        )?;
        let t = self.config.input.frames;
        let mut out = Vec::with_capacity(set.clips().len());
        for chunk in set.clips().chunks(self.config.train.batch_size.max(1)) {
            let input = set.batch(chunk, &self.device)?;
            let o = self
                .model
                .score(&input)
                .map_err(|e| Error::invalid(format!("model: {e}")))?;
            let col = |t: &candle_core::Tensor| -> Result<Vec<f64>> {
                t.to_dtype(DType::F64)
                    .and_then(|t| t.to_vec1::<f64>())
                    .map_err(|e| Error::invalid(format!("model: {e}")))
            };
            let (r, p, d) = (
                col(&o.scores.recon)?,
                col(&o.scores.pred)?,
                col(&o.scores.compact)?,
            );
            for (k, clip) in chunk.iter().enumerate() {
                let mut f = FrameScore {
                    frame: clip.start + t,
                    score: 0.0,
                    recon: r[k],
                    pred: p[k],
                    dist: d[k],
                };
                f.score = self.combine(&f);
                out.push(f);
            }
        }
        Ok(out)
    }

    /// The weighted sum of the z-scored terms (raw terms when the checkpoint
    /// has no training statistics).
    fn combine(&self, f: &FrameScore) -> f64 {
        let w = &self.config.score;
        let z = |v: f64, s: Option<&crate::model::TermStats>| match s {
            Some(s) if s.std > 0.0 => (v - s.mean) / s.std,
            _ => v,
        };
        let s = self.stats.as_ref();
        w.recon * z(f.recon, s.map(|s| &s.recon))
            + w.pred * z(f.pred, s.map(|s| &s.pred))
            + w.compact * z(f.dist, s.map(|s| &s.compact))
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

    /// Writes `<dir>/run.json`: checkpoint, config, and the training statistics
    /// of each term column (for `vadscope eval --normalize zscore`).
    pub fn write_run_json(&self, dir: &Path, videos: &[String]) -> Result<()> {
        let stat =
            |s: &crate::model::TermStats| serde_json::json!({ "mean": s.mean, "std": s.std });
        let train_stats = self.stats.as_ref().map(|s| {
            serde_json::json!({ "recon": stat(&s.recon), "pred": stat(&s.pred), "dist": stat(&s.compact) })
        });
        let mut doc = serde_json::json!({
            "checkpoint": self.checkpoint,
            "config": self.config,
            "score": "sum of score weights x (term - train mean) / train std (raw terms without statistics)",
            "first_scored_frame": self.config.input.frames,
            "videos": videos,
        });
        if let Some(stats) = train_stats {
            doc["train_stats"] = stats;
        }
        let bytes = serde_json::to_vec_pretty(&doc).map_err(|e| Error::invalid(e.to_string()))?;
        crate::save::atomic_write(&dir.join("run.json"), &bytes)
    }
}
