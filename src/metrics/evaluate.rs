//! Frame-level evaluation of scored videos against ground truth under a [`Protocol`].

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::protocol::Protocol;
use super::roc::{ap_from_groups, auc_from_groups, eer_from_roc, roc_from_groups, Groups, Roc};
use crate::error::{Error, Result};
use crate::truth::GroundTruth;

/// Per-frame scores of one video: named columns (`score`, and term columns such
/// as `recon`, `pred`, `dist`), all starting at frame `first_frame`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct VideoScores {
    /// The video's name, as the ground truth names it.
    pub name: String,
    /// The frame the first value belongs to (earlier frames were not scored).
    pub first_frame: usize,
    /// Columns by name, all of one length.
    pub columns: BTreeMap<String, Vec<f64>>,
    /// The file the scores came from, for messages.
    pub source: Option<PathBuf>,
}

impl VideoScores {
    /// A video with a single `score` column starting at frame 0.
    pub fn single(name: impl Into<String>, score: Vec<f64>) -> Self {
        VideoScores {
            name: name.into(),
            first_frame: 0,
            columns: BTreeMap::from([("score".to_owned(), score)]),
            source: None,
        }
    }

    /// Number of scored frames.
    pub fn len(&self) -> usize {
        self.columns.values().next().map_or(0, Vec::len)
    }

    /// `video "NAME"`, with its file when known (the start of error messages).
    pub fn describe(&self) -> String {
        match &self.source {
            Some(p) => format!("video {:?} ({})", self.name, p.display()),
            None => format!("video {:?}", self.name),
        }
    }

    /// Whether no frame is scored.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Metrics of one set of frames (a video, or all of them).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Metrics {
    /// Frames evaluated.
    pub frames: usize,
    /// Of which anomalous.
    pub anomalous: usize,
    /// ROC AUC (none with a single class).
    pub auc: Option<f64>,
    /// Equal error rate (none with a single class).
    pub eer: Option<f64>,
    /// The threshold at the equal error rate, on the evaluated score scale.
    pub eer_threshold: Option<f64>,
    /// Average precision of the anomalous class (none without anomalous frames).
    pub ap: Option<f64>,
    /// Δs: mean score of anomalous frames minus mean score of normal frames.
    pub delta_s: Option<f64>,
}

/// One video's row of a report.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct VideoRow {
    /// The video.
    pub name: String,
    /// Frames dropped by `exclude_first`.
    pub excluded: usize,
    /// Frames past the exclusion that have no score (scores started later).
    pub unscored: usize,
    /// Its metrics.
    #[serde(flatten)]
    pub metrics: Metrics,
    /// Its ROC curve (not serialised; for plots).
    #[serde(skip)]
    pub roc: Option<Roc>,
}

/// A video left out of the macro average, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Skipped {
    /// The video.
    pub video: String,
    /// Why (e.g. all frames anomalous).
    pub reason: String,
}

/// The result of [`evaluate`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// The protocol the numbers were computed under.
    pub protocol: Protocol,
    /// Micro metrics: all evaluated frames of all videos concatenated.
    pub micro: Metrics,
    /// Macro AUC: mean of per-video AUCs over videos with both classes.
    pub macro_auc: Option<f64>,
    /// Number of videos in the macro average.
    pub macro_videos: usize,
    /// Videos without a per-video AUC.
    pub skipped: Vec<Skipped>,
    /// Per-video rows, in ground-truth order.
    pub videos: Vec<VideoRow>,
    /// The micro ROC curve (fpr, tpr).
    pub roc: Roc,
}

/// Mean score of anomalous frames minus mean of normal frames; none with a single class.
pub fn delta_s(scores: &[f64], labels: &[bool]) -> Option<f64> {
    let (mut sa, mut na, mut sn, mut nn) = (0.0, 0usize, 0.0, 0usize);
    for (&s, &l) in scores.iter().zip(labels) {
        if l {
            sa += s;
            na += 1;
        } else {
            sn += s;
            nn += 1;
        }
    }
    (na > 0 && nn > 0).then(|| sa / na as f64 - sn / nn as f64)
}

/// All metrics of one set of frames, and its ROC when both classes are present.
fn metrics_of(scores: &[f64], labels: &[bool]) -> Result<(Metrics, Option<Roc>)> {
    let g = Groups::new(scores, labels)?;
    let mut m = Metrics {
        frames: scores.len(),
        anomalous: g.pos as usize,
        ap: ap_from_groups(&g).ok(),
        delta_s: delta_s(scores, labels),
        ..Metrics::default()
    };
    if g.pos == 0 || g.neg == 0 {
        return Ok((m, None));
    }
    let roc = roc_from_groups(&g);
    let e = eer_from_roc(&roc);
    m.auc = Some(auc_from_groups(&g));
    m.eer = Some(e.rate);
    m.eer_threshold = Some(e.threshold);
    Ok((m, Some(roc)))
}

/// One video's evaluated scores: protocol applied, frames aligned with labels.
fn prepare(v: &VideoScores, n: usize, protocol: &Protocol) -> Result<Vec<f64>> {
    let start = protocol.exclude_first.max(v.first_frame).min(n);
    let skip = start - v.first_frame.min(start);
    let mut combined = vec![0.0; n - start];
    for (term, w) in protocol.terms() {
        let col = v.columns.get(&term).ok_or_else(|| {
            let have: Vec<&str> = v.columns.keys().map(String::as_str).collect();
            Error::invalid(format!(
                "{}: no {term:?} column (it has: {})",
                v.describe(),
                have.join(", ")
            ))
        })?;
        let mut x = col[skip.min(col.len())..].to_vec();
        if let Some(k) = x.iter().position(|v| v.is_nan()) {
            return Err(Error::invalid(format!(
                "{}: frame {} has no {term:?} score (NaN: e.g. dropped while scoring live); \
                 score the video offline (vadscope score) to evaluate it",
                v.describe(),
                start + k
            )));
        }
        if protocol.smooth_first {
            x = protocol.smooth.apply(&x)?;
        }
        let x = protocol
            .normalize
            .apply(&x, protocol.train_stats.get(&term).copied())?;
        for (c, xi) in combined.iter_mut().zip(x) {
            *c += w * xi;
        }
    }
    if protocol.smooth_first {
        Ok(combined)
    } else {
        protocol.smooth.apply(&combined)
    }
}

/// Evaluates `scores` (one entry per video of `truth`, any order) against
/// `truth` under `protocol`. Every video of the ground truth needs scores, and
/// every scored video must be in the ground truth; scores must reach each
/// video's last frame (its frame count, when the ground truth knows it).
pub fn evaluate(
    scores: &[VideoScores],
    truth: &GroundTruth,
    protocol: &Protocol,
) -> Result<Report> {
    protocol.validate()?;
    let by_name: BTreeMap<&str, &VideoScores> =
        scores.iter().map(|v| (v.name.as_str(), v)).collect();
    if by_name.len() != scores.len() {
        return Err(Error::invalid("two score entries have the same video name"));
    }
    let unknown: Vec<String> = scores
        .iter()
        .filter(|v| truth.video(&v.name).is_none())
        .map(VideoScores::describe)
        .collect();
    if !unknown.is_empty() {
        return Err(Error::invalid(format!(
            "scores for videos the ground truth does not have: {}",
            unknown.join(", ")
        )));
    }
    let (mut all_s, mut all_l) = (Vec::new(), Vec::new());
    let (mut rows, mut skipped) = (Vec::new(), Vec::new());
    for vt in &truth.videos {
        let v = by_name
            .get(vt.name.as_str())
            .ok_or_else(|| Error::invalid(format!("no scores for video {:?}", vt.name)))?;
        if let Some((k, c)) = v.columns.iter().find(|(_, c)| c.len() != v.len()) {
            return Err(Error::invalid(format!(
                "{}: column {k:?} has {} values, others {}",
                v.describe(),
                c.len(),
                v.len()
            )));
        }
        let end = v.first_frame + v.len();
        let n = vt.num_frames.unwrap_or(end);
        if end != n {
            return Err(Error::invalid(format!(
                "{}: scores cover frames {}..{} (0-based, end exclusive) but the ground truth has {n} frames",
                v.describe(), v.first_frame, end
            )));
        }
        let s = prepare(v, n, protocol)?;
        let start = n - s.len();
        let labels = vt.labels(n)[start..].to_vec();
        let (metrics, roc) = if s.is_empty() {
            (Metrics::default(), None)
        } else {
            metrics_of(&s, &labels).map_err(|e| Error::invalid(format!("{}: {e}", v.describe())))?
        };
        if metrics.auc.is_none() {
            let reason = match (metrics.frames, metrics.anomalous) {
                (0, _) => "no frames left after exclusion".to_owned(),
                (f, a) if a == f => format!("all {f} frames anomalous"),
                (f, _) => format!("all {f} frames normal"),
            };
            skipped.push(Skipped {
                video: v.name.clone(),
                reason,
            });
        }
        rows.push(VideoRow {
            name: v.name.clone(),
            excluded: protocol.exclude_first.min(n),
            unscored: v.first_frame.min(n).saturating_sub(protocol.exclude_first),
            metrics,
            roc,
        });
        all_s.extend(s);
        all_l.extend(labels);
    }
    let (micro, roc) = metrics_of(&all_s, &all_l)?;
    let roc = roc.ok_or_else(|| {
        Error::invalid(format!(
            "the evaluated frames hold a single class ({} of {} anomalous): ROC AUC is undefined",
            micro.anomalous, micro.frames
        ))
    })?;
    let aucs: Vec<f64> = rows.iter().filter_map(|r| r.metrics.auc).collect();
    Ok(Report {
        protocol: protocol.clone(),
        micro,
        macro_auc: (!aucs.is_empty()).then(|| aucs.iter().sum::<f64>() / aucs.len() as f64),
        macro_videos: aucs.len(),
        skipped,
        videos: rows,
        roc,
    })
}
