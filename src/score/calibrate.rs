//! Choosing the weights of the combined score [12] on training footage only.
//!
//! The paper sums the reconstruction error, the prediction error and the
//! compactness distance D; which weights make that sum a good detector cannot
//! be read off the test set (that would be tuning on it). Here each training
//! video is turned into pseudo-anomalies that no training clip contains:
//! - [`Pseudo::Skip`]: every second frame only, so everything moves twice as
//!   fast (a speed anomaly, like a cyclist among walkers);
//! - [`Pseudo::Patch`]: a patch of another training video pasted in, moving
//!   across the frame (an appearance anomaly with its own motion).
//!
//! Every weight triple on a simplex grid is scored by how well the weighted
//! sum of the z-scored terms (training statistics, as the `score` column)
//! separates each video's own frames from its pseudo-anomalous version: the
//! AUC within each video, averaged over videos and then over the two kinds.
//! Within one video, because `vadscope eval` normalises each video on its own.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::{FrameScore, Scorer};
use crate::dataset::{open_for_model, FlowStage};
use crate::error::{Error, Result};
use crate::frame::Frame;
use crate::metrics::roc_auc;

/// A kind of pseudo-anomaly made from a normal video.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Pseudo {
    /// Every second frame: motion at twice its speed.
    Skip,
    /// A patch of another video's frame pasted in, moving across.
    Patch,
}

impl Pseudo {
    /// Both kinds, in report order.
    pub const ALL: [Pseudo; 2] = [Pseudo::Skip, Pseudo::Patch];

    /// The kind's name in reports.
    pub fn name(self) -> &'static str {
        match self {
            Pseudo::Skip => "skip",
            Pseudo::Patch => "patch",
        }
    }
}

/// How [`calibrate`] builds its pseudo-anomalies and searches the weights.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CalibrateOptions {
    /// Frames read from the start of each training video (at least 2t + 3
    /// for a model of t input frames, so that every second frame leaves a clip).
    pub max_frames: usize,
    /// Grid step of the weights (each in 0..=1, summing to 1).
    pub step: f64,
    /// Seed of the patches' sources, positions and directions.
    pub seed: u64,
}

impl Default for CalibrateOptions {
    fn default() -> Self {
        CalibrateOptions {
            max_frames: 240,
            step: 0.05,
            seed: 0,
        }
    }
}

/// Per score term, the calibration objective of that term alone.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TermObjective {
    /// The reconstruction error alone.
    pub recon: f64,
    /// The prediction error alone.
    pub pred: f64,
    /// D alone.
    pub compact: f64,
}

/// Weights chosen on training footage, kept in the checkpoint's metadata
/// (`calibration`) and used for the `score` column instead of the config's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Calibration {
    /// Weight of the z-scored reconstruction error.
    pub recon: f64,
    /// Weight of the z-scored prediction error.
    pub pred: f64,
    /// Weight of the z-scored D.
    pub compact: f64,
    /// The objective at these weights: mean over the kinds of the mean
    /// within-video AUC (normal frames against pseudo-anomalous ones).
    pub objective: f64,
    /// The objective per kind at these weights, in [`Pseudo::ALL`] order.
    pub per_kind: PerKind,
    /// The objective of each term alone.
    pub terms: TermObjective,
    /// The objective of the config's own weights.
    pub config_objective: f64,
    /// Training videos used.
    pub videos: usize,
    /// Grid step searched.
    pub step: f64,
    /// Seed of the patches.
    pub seed: u64,
}

/// The objective per pseudo-anomaly kind, in [`Pseudo::ALL`] order.
pub type PerKind = Vec<(Pseudo, f64)>;

/// One video's scores: its own frames and each pseudo-anomalous version.
struct VideoScores {
    normal: Vec<FrameScore>,
    pseudo: Vec<(Pseudo, Vec<FrameScore>)>,
}

/// Scores `videos` (normal training footage) and their pseudo-anomalies with
/// `scorer`'s model and returns the weights that separate them best;
/// `progress` is called once per video done.
pub fn calibrate(
    scorer: &mut Scorer,
    videos: &[PathBuf],
    options: &CalibrateOptions,
    progress: &dyn Fn(),
) -> Result<Calibration> {
    let t = scorer.config().input.frames;
    // Every second frame of the shortest video must still hold a clip of t + 1.
    let min_frames = 2 * t + 3;
    if options.max_frames < min_frames {
        return Err(Error::invalid(format!(
            "calibration needs at least {min_frames} frames per video (the model reads {t} + 1)"
        )));
    }
    if !(options.step > 0.0 && options.step <= 0.5) {
        return Err(Error::invalid(format!(
            "the weight grid step must be in (0, 0.5], not {}",
            options.step
        )));
    }
    let mut scored = Vec::with_capacity(videos.len());
    for (i, path) in videos.iter().enumerate() {
        let own = read_frames(scorer, path, options.max_frames)?;
        if own.len() < min_frames {
            return Err(Error::invalid(format!(
                "{}: {} frames, too short to calibrate on (at least {min_frames})",
                path.display(),
                own.len()
            )));
        }
        // The patch's source: the middle one of the next video's frames read.
        let donor = read_middle_frame(scorer, &videos[(i + 1) % videos.len()], options.max_frames)?;
        let seed = crate::synth::rng::hash2(options.seed, i as u64);
        let mut pseudo = Vec::new();
        for kind in Pseudo::ALL {
            let clip = make_pseudo(kind, &own, &donor, seed);
            pseudo.push((kind, scorer.score_frames(&clip)?));
        }
        scored.push(VideoScores {
            normal: scorer.score_frames(&own)?,
            pseudo,
        });
        progress();
    }
    let scales = scorer.term_scales();
    let config = &scorer.config().score;
    let objective = |w: [f64; 3]| objective_at(&scored, scales, w);
    let config_objective = objective([config.recon, config.pred, config.compact])?.0;
    let terms = TermObjective {
        recon: objective([1.0, 0.0, 0.0])?.0,
        pred: objective([0.0, 1.0, 0.0])?.0,
        compact: objective([0.0, 0.0, 1.0])?.0,
    };
    let n = (1.0 / options.step).round() as usize;
    let mut best: Option<([f64; 3], f64, PerKind)> = None;
    for r in 0..=n {
        for p in 0..=n - r {
            let w = [
                r as f64 / n as f64,
                p as f64 / n as f64,
                (n - r - p) as f64 / n as f64,
            ];
            let (o, per_kind) = objective(w)?;
            if best.as_ref().is_none_or(|b| o > b.1) {
                best = Some((w, o, per_kind));
            }
        }
    }
    let (w, objective, per_kind) =
        best.ok_or_else(|| Error::invalid("empty weight grid".to_string()))?;
    Ok(Calibration {
        recon: w[0],
        pred: w[1],
        compact: w[2],
        objective,
        per_kind,
        terms,
        config_objective,
        videos: videos.len(),
        step: 1.0 / n as f64,
        seed: options.seed,
    })
}

/// The first `max` frames of `video` at the model's size.
fn read_frames(scorer: &Scorer, video: &std::path::Path, max: usize) -> Result<Vec<Frame<f32>>> {
    let mut v = open_for_model(video, &scorer.config().input)?;
    let mut scratch = Frame::default();
    (0..v.len().min(max))
        .map(|i| {
            let mut f = Frame::default();
            v.read_f32_into(i, &mut scratch, &mut f).map(|()| f)
        })
        .collect()
}

/// The middle one of the first `max` frames of `video`, at the model's size
/// (only the patch's source is needed, not the whole video in memory).
fn read_middle_frame(scorer: &Scorer, video: &std::path::Path, max: usize) -> Result<Frame<f32>> {
    let mut v = open_for_model(video, &scorer.config().input)?;
    let (mut scratch, mut f) = (Frame::default(), Frame::default());
    v.read_f32_into(v.len().min(max) / 2, &mut scratch, &mut f)?;
    Ok(f)
}

/// The pseudo-anomalous version of `own`; `donor` is a frame of another
/// video (the patch's source).
fn make_pseudo(kind: Pseudo, own: &[Frame<f32>], donor: &Frame<f32>, seed: u64) -> Vec<Frame<f32>> {
    match kind {
        Pseudo::Skip => own.iter().step_by(2).cloned().collect(),
        Pseudo::Patch => paste_moving_patch(own, donor, seed),
    }
}

/// `own` with a patch of `source` (a quarter of the height, a sixth of the
/// width) pasted on every frame, moving 2 pixels a frame left or right from a
/// random place, wrapping at the edges.
fn paste_moving_patch(own: &[Frame<f32>], source: &Frame<f32>, seed: u64) -> Vec<Frame<f32>> {
    let mut rng = crate::synth::rng::Rng::new(seed);
    let (w, h, c) = (own[0].width, own[0].height, own[0].channels);
    let (pw, ph) = ((w / 6).max(1), (h / 4).max(1));
    let (sx, sy) = (rng.below(w - pw + 1), rng.below(h - ph + 1));
    let (x0, y) = (rng.below(w - pw + 1), rng.below(h - ph + 1));
    let dir: isize = if rng.chance(0.5) { 2 } else { -2 };
    let span = (w - pw + 1) as isize;
    own.iter()
        .enumerate()
        .map(|(k, frame)| {
            let mut f = frame.clone();
            let x = (x0 as isize + dir * k as isize).rem_euclid(span) as usize;
            for row in 0..ph {
                let src = ((sy + row) * source.width + sx) * c;
                let dst = ((y + row) * w + x) * c;
                f.data[dst..dst + pw * c].copy_from_slice(&source.data[src..src + pw * c]);
            }
            f
        })
        .collect()
}

/// The objective at weights `w` (recon, pred, compact) and its value per kind.
fn objective_at(
    scored: &[VideoScores],
    scales: [(f64, f64); 3],
    w: [f64; 3],
) -> Result<(f64, PerKind)> {
    let z = |f: &FrameScore| super::weighted_z(w, scales, f);
    let mut per_kind = Vec::new();
    for kind in Pseudo::ALL {
        let mut sum = 0.0;
        for v in scored {
            let Some((_, pseudo)) = v.pseudo.iter().find(|(k, _)| *k == kind) else {
                continue;
            };
            let values: Vec<f64> = v.normal.iter().chain(pseudo).map(z).collect();
            let labels: Vec<bool> = (0..values.len()).map(|i| i >= v.normal.len()).collect();
            sum += roc_auc(&values, &labels)?;
        }
        per_kind.push((kind, sum / scored.len().max(1) as f64));
    }
    let mean = per_kind.iter().map(|(_, a)| a).sum::<f64>() / per_kind.len() as f64;
    Ok((mean, per_kind))
}

impl Scorer {
    /// Scores every clip of `frames` (at the model's size, in order), with
    /// their flows computed as the clip pipeline computes them.
    pub fn score_frames(&mut self, frames: &[Frame<f32>]) -> Result<Vec<FrameScore>> {
        let t = self.config.input.frames;
        let batch = self.config.train.batch_size.max(1);
        let mut stage = FlowStage::for_model(&self.config.input)?;
        let mut flows = Vec::with_capacity(frames.len());
        for f in frames {
            if let Some(flow) = stage.push(f)? {
                flows.push(flow);
            }
        }
        let clips = frames.len().saturating_sub(t);
        let mut out = Vec::with_capacity(clips);
        for start in (0..clips).step_by(batch) {
            let windows: Vec<_> = (start..(start + batch).min(clips))
                .map(|k| (&frames[k..k + t + 1], &flows[k..k + t]))
                .collect();
            out.extend(self.score_clips(&windows, start)?);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(n: usize, w: usize, h: usize) -> Vec<Frame<f32>> {
        (0..n)
            .map(|k| Frame::from_vec(w, h, 1, vec![k as f32 / 100.0; w * h]).unwrap())
            .collect()
    }

    #[test]
    fn the_pasted_patch_is_the_source_and_moves_two_pixels_a_frame() {
        let own = frames(5, 36, 24);
        let source =
            Frame::from_vec(36, 24, 1, (0..36 * 24).map(|i| 1.0 + i as f32).collect()).unwrap();
        let out = paste_moving_patch(&own, &source, 3);
        assert_eq!(out.len(), 5);
        // Each frame: a 6 x 6 block of source values (all > 1), the rest untouched.
        let mut lefts = Vec::new();
        for (k, f) in out.iter().enumerate() {
            let pasted: Vec<usize> = (0..36 * 24).filter(|&i| f.data[i] >= 1.0).collect();
            assert_eq!(pasted.len(), 36, "frame {k}");
            let untouched = (0..36 * 24)
                .filter(|&i| f.data[i] < 1.0)
                .all(|i| f.data[i] == own[k].data[i]);
            assert!(untouched, "frame {k}");
            // The block is a contiguous piece of the source: rows keep their step.
            let first = pasted[0];
            let src0 = f.data[first] as usize - 1;
            for r in 0..6 {
                for c in 0..6 {
                    let v = f.data[first + r * 36 + c];
                    assert_eq!(v as usize - 1, src0 + r * 36 + c, "frame {k}");
                }
            }
            lefts.push((first % 36) as isize);
        }
        let span = 36 - 6 + 1;
        let step = (lefts[1] - lefts[0]).rem_euclid(span);
        assert!(step == 2 || step == span - 2, "{lefts:?}");
        for k in 1..lefts.len() {
            assert_eq!(
                (lefts[k] - lefts[k - 1]).rem_euclid(span),
                step,
                "{lefts:?}"
            );
        }
    }

    #[test]
    fn skipping_keeps_every_second_frame() {
        let own = frames(7, 4, 4);
        let out = make_pseudo(Pseudo::Skip, &own, &own[0], 0);
        let kept: Vec<f32> = out.iter().map(|f| f.data[0]).collect();
        assert_eq!(kept, vec![0.0, 0.02, 0.04, 0.06]);
    }
}
