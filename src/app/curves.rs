//! Per-frame score curves as they fill in, with their decimation pyramids,
//! threshold events and confusion counts.

use super::decimate::MinMaxPyramid;
use crate::truth::Interval;

/// A score lane.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Lane {
    /// The combined anomaly score.
    Score,
    /// Reconstruction term.
    Recon,
    /// Prediction term.
    Pred,
    /// Feature-distance term D.
    Dist,
}

impl Lane {
    /// All lanes, score first.
    pub const ALL: [Lane; 4] = [Lane::Score, Lane::Recon, Lane::Pred, Lane::Dist];

    /// The lane's label.
    pub fn label(self) -> &'static str {
        match self {
            Lane::Score => "score",
            Lane::Recon => "recon",
            Lane::Pred => "pred",
            Lane::Dist => "dist",
        }
    }
}

/// One frame's values (any term may be missing: NaN).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    /// Frame index.
    pub frame: usize,
    /// Combined score.
    pub score: f32,
    /// Reconstruction term.
    pub recon: f32,
    /// Prediction term.
    pub pred: f32,
    /// Distance term.
    pub dist: f32,
}

/// Curves over all frames; NaN where a frame is not scored (yet).
#[derive(Debug, Clone)]
pub struct Curves {
    values: [Vec<f32>; 4],
    /// Rebuilt by every setter, so views read the curves through `&`.
    pyramids: [MinMaxPyramid; 4],
    /// Bumped on every change (callers cache derived data by it).
    pub version: u64,
    /// Scored frames.
    pub scored: usize,
}

/// Runs of consecutive scored frames at or above a threshold.
#[derive(Debug, Clone, PartialEq)]
pub struct Events {
    /// Each run: `(start, end, peak frame, peak score)`, `start..end` half-open, in order.
    pub runs: Vec<(usize, usize, usize, f32)>,
}

impl Events {
    /// The start of the first run starting after `frame`.
    pub fn next_start(&self, frame: usize) -> Option<usize> {
        self.runs.iter().map(|r| r.0).find(|&s| s > frame)
    }

    /// The start of the last run starting before `frame`.
    pub fn prev_start(&self, frame: usize) -> Option<usize> {
        self.runs.iter().rev().map(|r| r.0).find(|&s| s < frame)
    }

    /// The `k` runs with the highest peaks, highest first.
    pub fn top(&self, k: usize) -> Vec<(usize, usize, usize, f32)> {
        let mut r = self.runs.clone();
        r.sort_by(|a, b| b.3.total_cmp(&a.3).then(a.0.cmp(&b.0)));
        r.truncate(k);
        r
    }
}

impl Curves {
    /// Empty curves for `frames` frames.
    pub fn new(frames: usize) -> Self {
        let values: [Vec<f32>; 4] = std::array::from_fn(|_| vec![f32::NAN; frames]);
        Curves {
            pyramids: std::array::from_fn(|i| MinMaxPyramid::new(&values[i])),
            values,
            version: 0,
            scored: 0,
        }
    }

    /// Number of frames.
    pub fn len(&self) -> usize {
        self.values[0].len()
    }

    /// Whether there are no frames.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Values of a lane.
    pub fn lane(&self, lane: Lane) -> &[f32] {
        &self.values[lane as usize]
    }

    /// Whether a lane has any finite value.
    pub fn has(&self, lane: Lane) -> bool {
        self.values[lane as usize].iter().any(|v| v.is_finite())
    }

    /// Sets samples (frames outside the video are ignored).
    pub fn set(&mut self, samples: &[Sample]) {
        for s in samples {
            if s.frame >= self.len() {
                continue;
            }
            if !self.values[0][s.frame].is_finite() && s.score.is_finite() {
                self.scored += 1;
            }
            for (lane, v) in [s.score, s.recon, s.pred, s.dist].into_iter().enumerate() {
                self.values[lane][s.frame] = v;
            }
        }
        if !samples.is_empty() {
            for (p, v) in self.pyramids.iter_mut().zip(&self.values) {
                *p = MinMaxPyramid::new(v);
            }
            self.version += 1;
        }
    }

    /// Replaces a whole lane (`values` shorter than the video leaves the rest unscored).
    pub fn set_lane(&mut self, lane: Lane, values: &[f32]) {
        let n = self.len();
        let dst = &mut self.values[lane as usize];
        dst.fill(f32::NAN);
        let k = values.len().min(n);
        dst[..k].copy_from_slice(&values[..k]);
        self.pyramids[lane as usize] = MinMaxPyramid::new(dst);
        self.scored = self.values[0].iter().filter(|v| v.is_finite()).count();
        self.version += 1;
    }

    /// The decimation pyramid of a lane.
    pub fn pyramid(&self, lane: Lane) -> &MinMaxPyramid {
        &self.pyramids[lane as usize]
    }

    /// Finite min and max of a lane, if any.
    pub fn extent(&self, lane: Lane) -> Option<(f32, f32)> {
        let n = self.len();
        let (lo, hi) = self.pyramid(lane).range(0, n);
        (lo.is_finite() && hi.is_finite()).then_some((lo, hi))
    }

    /// The events of the score by `rule` (see [`crate::score::events`]).
    pub fn events(&self, rule: crate::score::events::EventRule) -> Events {
        let values = self.values[0].iter().map(|&v| v as f64);
        let runs = crate::score::events::detect(values, 0, rule)
            .into_iter()
            .map(|e| (e.start, e.end, e.peak, e.peak_score as f32))
            .collect();
        Events { runs }
    }

    /// `(true positives, false positives, anomalous scored frames)` of the
    /// score at `threshold` against the ground-truth intervals.
    pub fn confusion(&self, threshold: f64, truth: &[Interval]) -> (usize, usize, usize) {
        let t = threshold as f32;
        let (mut tp, mut fp, mut pos) = (0, 0, 0);
        let mut iv = truth.iter().peekable();
        for (i, &v) in self.values[0].iter().enumerate() {
            while iv.peek().is_some_and(|r| r.end <= i) {
                iv.next();
            }
            if !v.is_finite() {
                continue;
            }
            let anomalous = iv.peek().is_some_and(|r| r.contains(i));
            pos += anomalous as usize;
            if v >= t {
                if anomalous {
                    tp += 1;
                } else {
                    fp += 1;
                }
            }
        }
        (tp, fp, pos)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn curves(scores: &[f32]) -> Curves {
        let mut c = Curves::new(scores.len());
        c.set_lane(Lane::Score, scores);
        c
    }

    #[test]
    fn events_are_runs_with_peaks() {
        let c = curves(&[0.0, 0.6, 0.9, 0.7, 0.1, f32::NAN, 0.8, 0.8]);
        // Plain runs: no hysteresis, no minimum, no cooldown.
        let e = c.events(crate::score::events::EventRule {
            threshold: 0.5,
            hysteresis: 0.0,
            min_frames: 1,
            cooldown_frames: 0,
        });
        assert_eq!(e.runs, vec![(1, 4, 2, 0.9), (6, 8, 6, 0.8)]);
        assert_eq!(e.next_start(1), Some(6));
        assert_eq!(e.next_start(6), None);
        assert_eq!(e.prev_start(6), Some(1));
        assert_eq!(e.prev_start(1), None);
        assert_eq!(e.top(1), vec![(1, 4, 2, 0.9)]);
    }

    #[test]
    fn confusion_counts_scored_frames_only() {
        let c = curves(&[0.9, 0.9, 0.1, f32::NAN, 0.9, 0.1]);
        let truth = [Interval::new(1, 4).unwrap()];
        // Frame 1 TP, frames 0 and 4 FP, frame 3 unscored; anomalous scored: 1, 2.
        assert_eq!(c.confusion(0.5, &truth), (1, 2, 2));
    }

    #[test]
    fn samples_fill_in_and_bump_the_version() {
        let mut c = Curves::new(4);
        assert!(!c.has(Lane::Score));
        let v = c.version;
        c.set(&[Sample {
            frame: 2,
            score: 1.0,
            recon: 0.5,
            pred: f32::NAN,
            dist: 0.1,
        }]);
        assert!(c.version > v);
        assert_eq!(c.scored, 1);
        assert!(c.has(Lane::Recon) && !c.has(Lane::Pred));
        assert_eq!(c.extent(Lane::Score), Some((1.0, 1.0)));
    }
}
