//! Frame-level metrics of the loaded scores against the ground truth as it is
//! edited: AUC, EER, AP and Δs over the scored frames, recomputed in the
//! store's one update per UI frame when the scores or the truth changed
//! (`vadscope bench metrics` times a recomputation).

use super::curves::{Curves, Lane};
use crate::metrics::{average_precision, delta_s, eer, roc_auc};
use crate::truth::{labels_of, Interval};

/// The metrics of one video.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    /// Frame-level ROC AUC.
    pub auc: f64,
    /// Equal error rate.
    pub eer: f64,
    /// Average precision (anomalous = positive).
    pub ap: f64,
    /// Mean anomalous score minus mean normal score.
    pub delta_s: Option<f64>,
    /// Scored frames the metrics cover.
    pub frames: usize,
    /// Of which anomalous.
    pub anomalous: usize,
}

/// The metrics, cached by what they were computed from.
#[derive(Debug, Clone, Default)]
pub struct LiveMetrics {
    key: Option<(u64, u64)>,
    /// The metrics, or why there are none (no scores yet, one class only).
    pub value: Option<Result<Summary, String>>,
}

impl LiveMetrics {
    /// Recomputes when the curves' version or the truth's version
    /// ([`crate::truth::history::Annotation::version`]) changed; returns whether it did.
    pub fn refresh(&mut self, curves: &Curves, truth_version: u64, intervals: &[Interval]) -> bool {
        let key = (curves.version, truth_version);
        if self.key == Some(key) {
            return false;
        }
        self.key = Some(key);
        self.value = Some(compute(curves, intervals));
        true
    }
}

/// The metrics of the score lane's scored frames against `intervals`.
pub fn compute(curves: &Curves, intervals: &[Interval]) -> Result<Summary, String> {
    let score = curves.lane(Lane::Score);
    let truth = labels_of(intervals, score.len());
    let (scores, labels): (Vec<f64>, Vec<bool>) = score
        .iter()
        .zip(truth)
        .filter(|(v, _)| v.is_finite())
        .map(|(&v, l)| (v as f64, l))
        .unzip();
    if scores.is_empty() {
        return Err("no scored frames yet".into());
    }
    let anomalous = labels.iter().filter(|&&l| l).count();
    if anomalous == 0 || anomalous == labels.len() {
        return Err(format!(
            "{} scored frames, all {}: AUC needs both classes",
            labels.len(),
            if anomalous == 0 {
                "normal"
            } else {
                "anomalous"
            }
        ));
    }
    let err = |e: crate::Error| e.to_string();
    Ok(Summary {
        auc: roc_auc(&scores, &labels).map_err(err)?,
        eer: eer(&scores, &labels).map_err(err)?.rate,
        ap: average_precision(&scores, &labels).map_err(err)?,
        delta_s: delta_s(&scores, &labels),
        frames: labels.len(),
        anomalous,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_follow_the_truth() {
        let mut c = Curves::new(6);
        c.set_lane(Lane::Score, &[0.1, 0.2, 0.9, 0.8, 0.3, f32::NAN]);
        let good = [Interval { start: 2, end: 4 }];
        let s = compute(&c, &good).unwrap();
        assert_eq!((s.auc, s.frames, s.anomalous), (1.0, 5, 2));
        assert_eq!(s.eer, 0.0);
        // Truth moved onto the low scores: the AUC drops to 0.
        let bad = [Interval { start: 0, end: 2 }];
        assert_eq!(compute(&c, &bad).unwrap().auc, 0.0);
        assert!(compute(&c, &[]).unwrap_err().contains("all normal"));
    }

    #[test]
    fn refresh_recomputes_only_on_change() {
        let mut c = Curves::new(4);
        c.set_lane(Lane::Score, &[0.1, 0.9, 0.2, 0.8]);
        let truth = [Interval { start: 1, end: 2 }];
        let mut m = LiveMetrics::default();
        assert!(m.refresh(&c, 0, &truth));
        assert!(!m.refresh(&c, 0, &truth));
        assert!(m.refresh(&c, 1, &truth), "an edit recomputes");
        c.set_lane(Lane::Score, &[0.9, 0.1, 0.2, 0.8]);
        assert!(m.refresh(&c, 1, &truth), "new scores recompute");
        assert_eq!(m.value.unwrap().unwrap().auc, 0.0);
    }
}
