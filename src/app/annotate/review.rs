//! Review mode: the disagreements between the model at its threshold and the
//! ground truth, largest first, each accepted (the truth follows the model)
//! or rejected (the truth stays; the disagreement is not shown again).

use crate::truth::{labels_of, Interval};

/// Which way the model and the truth disagree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Anomalous in the truth, below the threshold.
    Missed,
    /// Above the threshold, normal in the truth.
    FalseAlarm,
}

impl Kind {
    /// For the panel.
    pub fn label(self) -> &'static str {
        match self {
            Kind::Missed => "missed anomaly",
            Kind::FalseAlarm => "false alarm",
        }
    }
}

/// A run of scored frames where the model and the truth disagree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Disagreement {
    /// The frames.
    pub frames: Interval,
    /// Which way.
    pub kind: Kind,
}

/// The disagreements of `scores` at `threshold` (scored frames only) with
/// `truth`, largest first (ties: earlier first).
pub fn disagreements(scores: &[f32], threshold: f64, truth: &[Interval]) -> Vec<Disagreement> {
    let t = threshold as f32;
    let mut out = Vec::new();
    let mut run: Option<(usize, Kind)> = None;
    let labels = labels_of(truth, scores.len());
    for (i, (&v, &anomalous)) in scores.iter().zip(&labels).enumerate() {
        let kind = if !v.is_finite() {
            None
        } else {
            match (v >= t, anomalous) {
                (false, true) => Some(Kind::Missed),
                (true, false) => Some(Kind::FalseAlarm),
                _ => None,
            }
        };
        if run.map(|(_, k)| Some(k)) != Some(kind) {
            if let Some((s, k)) = run.take() {
                out.push(Disagreement {
                    frames: Interval { start: s, end: i },
                    kind: k,
                });
            }
            run = kind.map(|k| (i, k));
        }
    }
    if let Some((s, k)) = run {
        out.push(Disagreement {
            frames: Interval {
                start: s,
                end: scores.len(),
            },
            kind: k,
        });
    }
    out.sort_by_key(|d| (std::cmp::Reverse(d.frames.len()), d.frames.start));
    out
}

/// A review in progress.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Review {
    /// What is left to decide, largest first.
    pub left: Vec<Disagreement>,
    /// Disagreements rejected so far (kept out of `left`).
    pub rejected: Vec<Disagreement>,
    /// How many were accepted.
    pub accepted: usize,
}

impl Review {
    /// Recomputes what is left after the truth or the scores changed.
    pub fn update(&mut self, scores: &[f32], threshold: f64, truth: &[Interval]) {
        let rejected = &self.rejected;
        self.left = disagreements(scores, threshold, truth)
            .into_iter()
            .filter(|d| !rejected.contains(d))
            .collect();
    }

    /// The disagreement under review.
    pub fn current(&self) -> Option<Disagreement> {
        self.left.first().copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disagreements_are_runs_largest_first() {
        // Truth 2..5; scores above 0.5 at 4..8.
        let scores = [0.1, 0.1, 0.2, 0.3, 0.9, 0.9, 0.9, 0.9, 0.1, f32::NAN];
        let truth = [Interval { start: 2, end: 5 }];
        let d = disagreements(&scores, 0.5, &truth);
        assert_eq!(
            d,
            vec![
                Disagreement {
                    frames: Interval { start: 5, end: 8 },
                    kind: Kind::FalseAlarm
                },
                Disagreement {
                    frames: Interval { start: 2, end: 4 },
                    kind: Kind::Missed
                },
            ]
        );
        let mut r = Review::default();
        r.update(&scores, 0.5, &truth);
        r.rejected.push(r.current().unwrap());
        r.update(&scores, 0.5, &truth);
        assert_eq!(r.left.len(), 1);
        assert_eq!(r.current().unwrap().kind, Kind::Missed);
    }
}
