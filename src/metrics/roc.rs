//! ROC curve, ROC AUC, average precision and equal error rate of a binary
//! scoring, with ties handled exactly.
//!
//! One sort, O(n log n): frames are sorted by descending score and grouped by
//! distinct score, each group adding its positives and negatives at once. The
//! ROC has one point per distinct score (scikit-learn's
//! `roc_curve(..., drop_intermediate=False)`, with its leading `(0, 0)` point at
//! threshold `+inf`); a group of tied scores is a straight segment, so the AUC
//! equals the trapezoid over distinct thresholds (ties count one half).

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// A ROC curve: `fpr[i]`, `tpr[i]` are the rates of the rule `score >= thresholds[i]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Roc {
    /// False positive rates, non-decreasing from 0 to 1.
    pub fpr: Vec<f64>,
    /// True positive rates, non-decreasing from 0 to 1.
    pub tpr: Vec<f64>,
    /// Thresholds, decreasing; the first is `+inf` (nothing flagged). Not
    /// serialised (JSON has no infinity); derive them from the scores if needed.
    #[serde(skip)]
    pub thresholds: Vec<f64>,
}

/// Counts of positives and negatives per distinct score, in decreasing score order.
#[derive(Debug, Clone)]
pub(crate) struct Groups {
    /// `(score, positives, negatives)` per distinct score, decreasing.
    pub groups: Vec<(f64, u64, u64)>,
    /// Total positives.
    pub pos: u64,
    /// Total negatives.
    pub neg: u64,
}

impl Groups {
    /// Groups `scores` with `labels` (`true` = anomalous = positive). Refuses NaN,
    /// mismatched lengths and empty input.
    pub fn new(scores: &[f64], labels: &[bool]) -> Result<Groups> {
        if scores.len() != labels.len() {
            return Err(Error::invalid(format!(
                "{} scores but {} labels",
                scores.len(),
                labels.len()
            )));
        }
        if scores.is_empty() {
            return Err(Error::invalid("no frames to evaluate"));
        }
        if let Some(i) = scores.iter().position(|s| s.is_nan()) {
            return Err(Error::invalid(format!("score {i} is NaN")));
        }
        let mut order: Vec<(f64, bool)> =
            scores.iter().copied().zip(labels.iter().copied()).collect();
        order.sort_unstable_by(|a, b| b.0.total_cmp(&a.0));
        let mut groups: Vec<(f64, u64, u64)> = Vec::new();
        for (s, l) in order {
            // -0.0 and 0.0 are one score (total_cmp separates them, == does not).
            match groups.last_mut() {
                Some(g) if g.0 == s => {
                    if l {
                        g.1 += 1
                    } else {
                        g.2 += 1
                    }
                }
                _ => groups.push((s, u64::from(l), u64::from(!l))),
            }
        }
        let pos = groups.iter().map(|g| g.1).sum();
        let neg = groups.iter().map(|g| g.2).sum();
        Ok(Groups { groups, pos, neg })
    }

    /// Errors unless both classes are present.
    pub fn require_both(&self) -> Result<()> {
        match (self.pos, self.neg) {
            (0, _) => Err(Error::invalid(
                "only one class present (no anomalous frames): ROC AUC is undefined",
            )),
            (_, 0) => Err(Error::invalid(
                "only one class present (no normal frames): ROC AUC is undefined",
            )),
            _ => Ok(()),
        }
    }
}

/// The ROC curve of `scores` against `labels` (`true` = anomalous). Errors on
/// NaN scores, mismatched lengths, empty input or a single class.
pub fn roc_curve(scores: &[f64], labels: &[bool]) -> Result<Roc> {
    let g = Groups::new(scores, labels)?;
    g.require_both()?;
    Ok(roc_from_groups(&g))
}

pub(crate) fn roc_from_groups(g: &Groups) -> Roc {
    let n = g.groups.len() + 1;
    let (mut fpr, mut tpr, mut thresholds) = (
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    );
    fpr.push(0.0);
    tpr.push(0.0);
    thresholds.push(f64::INFINITY);
    let (mut tp, mut fp) = (0u64, 0u64);
    for &(s, p, q) in &g.groups {
        tp += p;
        fp += q;
        fpr.push(fp as f64 / g.neg as f64);
        tpr.push(tp as f64 / g.pos as f64);
        thresholds.push(s);
    }
    Roc {
        fpr,
        tpr,
        thresholds,
    }
}

/// Area under the ROC curve (ties count one half). Errors like [`roc_curve`].
pub fn roc_auc(scores: &[f64], labels: &[bool]) -> Result<f64> {
    let g = Groups::new(scores, labels)?;
    g.require_both()?;
    Ok(auc_from_groups(&g))
}

pub(crate) fn auc_from_groups(g: &Groups) -> f64 {
    // Each group is a trapezoid: width q (its negatives) under heights tp and tp + p.
    // Counted in integers (twice the area) so the only rounding is the final division.
    let mut tp = 0u64;
    let mut twice_area: u128 = 0;
    for &(_, p, q) in &g.groups {
        twice_area += u128::from(q) * u128::from(2 * tp + p);
        tp += p;
    }
    twice_area as f64 / (2.0 * g.pos as f64 * g.neg as f64)
}

/// Average precision of the anomalous class, scikit-learn's step-wise definition:
/// `sum_k (R_k - R_{k-1}) P_k` over distinct thresholds (no interpolation).
/// Errors when there are no anomalous frames; 1 when every frame is anomalous.
pub fn average_precision(scores: &[f64], labels: &[bool]) -> Result<f64> {
    let g = Groups::new(scores, labels)?;
    ap_from_groups(&g)
}

pub(crate) fn ap_from_groups(g: &Groups) -> Result<f64> {
    if g.pos == 0 {
        return Err(Error::invalid(
            "no anomalous frames: average precision is undefined",
        ));
    }
    let (mut tp, mut fp, mut ap) = (0u64, 0u64, 0.0);
    for &(_, p, q) in &g.groups {
        tp += p;
        fp += q;
        if p > 0 {
            ap += (p as f64 / g.pos as f64) * (tp as f64 / (tp + fp) as f64);
        }
    }
    Ok(ap)
}

/// The equal error rate: where the false positive rate equals the miss rate
/// (1 - TPR), linearly interpolated between ROC points.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Eer {
    /// The rate at the crossing.
    pub rate: f64,
    /// The threshold of the ROC point nearest the crossing (flag `score >= threshold`).
    pub threshold: f64,
}

/// The equal error rate of `scores` against `labels`. Errors like [`roc_curve`].
pub fn eer(scores: &[f64], labels: &[bool]) -> Result<Eer> {
    Ok(eer_from_roc(&roc_curve(scores, labels)?))
}

/// The equal error rate read off a ROC curve (as [`roc_curve`] returns it).
pub fn eer_from_roc(roc: &Roc) -> Eer {
    // d = FPR - FNR rises from -1 at (0, 0) to +1 at (1, 1): find its first sign change.
    let d = |i: usize| roc.fpr[i] - (1.0 - roc.tpr[i]);
    let n = roc.fpr.len();
    let k = (1..n).find(|&i| d(i) >= 0.0).unwrap_or(n - 1);
    let (d0, d1) = (d(k - 1), d(k));
    let t = if d1 > d0 { -d0 / (d1 - d0) } else { 1.0 };
    let fpr = roc.fpr[k - 1] + t * (roc.fpr[k] - roc.fpr[k - 1]);
    let fnr = (1.0 - roc.tpr[k - 1]) + t * (roc.tpr[k - 1] - roc.tpr[k]);
    // The leading point's threshold is +inf; the nearest finite one is the next.
    let near = if t > 0.5 || k == 1 { k } else { k - 1 };
    Eer {
        rate: 0.5 * (fpr + fnr),
        threshold: roc.thresholds.get(near).copied().unwrap_or(f64::NAN),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn perfect_inverted_and_tied() {
        let l = [false, false, true, true];
        assert_eq!(roc_auc(&[0.1, 0.2, 0.8, 0.9], &l).unwrap(), 1.0);
        assert_eq!(roc_auc(&[0.9, 0.8, 0.2, 0.1], &l).unwrap(), 0.0);
        assert_eq!(roc_auc(&[0.5; 4], &l).unwrap(), 0.5);
        // One positive tied with one negative: 3 of 4 pairs won, 1 tied.
        assert_eq!(roc_auc(&[0.1, 0.5, 0.5, 0.9], &l).unwrap(), 0.875);
    }

    #[test]
    fn errors_are_clear() {
        let e = roc_auc(&[0.1, 0.2], &[true, true]).unwrap_err().to_string();
        assert!(e.contains("only one class"), "{e}");
        assert!(roc_auc(&[f64::NAN, 0.2], &[true, false]).is_err());
        assert!(roc_auc(&[0.2], &[true, false]).is_err());
        assert!(average_precision(&[0.1, 0.2], &[false, false]).is_err());
        assert_eq!(average_precision(&[0.1, 0.2], &[true, true]).unwrap(), 1.0);
    }

    #[test]
    fn eer_of_a_separable_and_a_symmetric_case() {
        let e = eer(&[0.1, 0.2, 0.8, 0.9], &[false, false, true, true]).unwrap();
        assert_eq!(e.rate, 0.0);
        assert_eq!(e.threshold, 0.8);
        // Scores 1..4 with labels n p n p: ROC (0,0) (0,.5) (.5,.5) (.5,1) (1,1); EER 0.5.
        let e = eer(&[4.0, 3.0, 2.0, 1.0], &[true, false, true, false]).unwrap();
        assert!((e.rate - 0.5).abs() < 1e-15, "{e:?}");
    }
}
