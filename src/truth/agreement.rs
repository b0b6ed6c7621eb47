//! Agreement between two annotations of one video, frame by frame: Cohen's
//! κ of the per-frame labels, the IoU of the anomalous frames, and where they
//! disagree. `vadscope truth compare` and the app's second-annotator lane
//! both use it.

use super::{intervals_from_labels, labels_of, Interval};

/// How two annotations of `frames` frames agree.
#[derive(Debug, Clone, PartialEq)]
pub struct Agreement {
    /// Frames compared.
    pub frames: usize,
    /// Frames both mark anomalous.
    pub both: usize,
    /// Frames only the first marks anomalous.
    pub only_a: usize,
    /// Frames only the second marks anomalous.
    pub only_b: usize,
    /// Cohen's κ of the frame labels; `None` when chance agreement is
    /// certain (both label every frame the same way).
    pub kappa: Option<f64>,
    /// Frames both mark over frames either marks; `None` when neither marks any.
    pub iou: Option<f64>,
    /// The runs of frames where they disagree, in order.
    pub runs: Vec<Interval>,
}

impl Agreement {
    /// The agreement over several videos' frames together (κ and IoU of the
    /// pooled counts; no runs, as frame numbers differ between videos).
    pub fn pooled(parts: &[Agreement]) -> Agreement {
        let sum = |f: fn(&Agreement) -> usize| parts.iter().map(f).sum::<usize>();
        let (frames, both) = (sum(|a| a.frames), sum(|a| a.both));
        let (only_a, only_b) = (sum(|a| a.only_a), sum(|a| a.only_b));
        Agreement::from_counts(frames, [both, only_a, only_b], Vec::new())
    }

    /// The agreement of a 2×2 table: frames marked by both, by A only, by B only.
    fn from_counts(frames: usize, [both, only_a, only_b]: [usize; 3], runs: Vec<Interval>) -> Self {
        let n = frames as f64;
        let kappa = (frames > 0)
            .then(|| {
                let observed = (frames - only_a - only_b) as f64 / n;
                let (pa, pb) = ((both + only_a) as f64 / n, (both + only_b) as f64 / n);
                let chance = pa * pb + (1.0 - pa) * (1.0 - pb);
                (chance < 1.0).then(|| (observed - chance) / (1.0 - chance))
            })
            .flatten();
        let union = both + only_a + only_b;
        Agreement {
            frames,
            both,
            only_a,
            only_b,
            kappa,
            iou: (union > 0).then(|| both as f64 / union as f64),
            runs,
        }
    }

    /// Frames the two label differently.
    pub fn disagreeing(&self) -> usize {
        self.only_a + self.only_b
    }
}

/// Compares interval lists `a` and `b` over frames `0..frames`.
pub fn agreement(a: &[Interval], b: &[Interval], frames: usize) -> Agreement {
    let (la, lb) = (labels_of(a, frames), labels_of(b, frames));
    let (mut both, mut only_a, mut only_b) = (0, 0, 0);
    let differ: Vec<bool> = la
        .iter()
        .zip(&lb)
        .map(|(&x, &y)| {
            match (x, y) {
                (true, true) => both += 1,
                (true, false) => only_a += 1,
                (false, true) => only_b += 1,
                _ => {}
            }
            x != y
        })
        .collect();
    Agreement::from_counts(
        frames,
        [both, only_a, only_b],
        intervals_from_labels(&differ),
    )
}

/// "0.873", or "n/a" where the measure is undefined.
pub fn measure_text(v: Option<f64>) -> String {
    v.map_or_else(|| "n/a".into(), |v| format!("{v:.3}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iv(start: usize, end: usize) -> Interval {
        Interval { start, end }
    }

    #[test]
    fn kappa_and_iou_match_hand_counts() {
        // 20 frames: A marks 0..10, B marks 5..15.
        let g = agreement(&[iv(0, 10)], &[iv(5, 15)], 20);
        assert_eq!((g.both, g.only_a, g.only_b), (5, 5, 5));
        assert_eq!(g.runs, vec![iv(0, 5), iv(10, 15)]);
        assert_eq!(g.iou, Some(5.0 / 15.0));
        // observed 10/20, chance 0.5·0.5 + 0.5·0.5 = 0.5: κ = 0.
        assert!(g.kappa.unwrap().abs() < 1e-12);
        let same = agreement(&[iv(3, 8)], &[iv(3, 8)], 20);
        assert_eq!(same.kappa, Some(1.0));
        assert_eq!(same.iou, Some(1.0));
        assert!(same.runs.is_empty());
        // Opposite labels everywhere: κ = -1.
        let opposite = agreement(&[iv(0, 10)], &[iv(10, 20)], 20);
        assert!((opposite.kappa.unwrap() + 1.0).abs() < 1e-12);
        assert_eq!(opposite.iou, Some(0.0));
    }

    #[test]
    fn undefined_measures_say_so() {
        let none = agreement(&[], &[], 10);
        assert_eq!(none.kappa, None);
        assert_eq!(none.iou, None);
        assert_eq!(measure_text(none.kappa), "n/a");
        assert_eq!(agreement(&[], &[], 0).kappa, None);
    }

    #[test]
    fn pooling_adds_the_counts() {
        let parts = [
            agreement(&[iv(0, 10)], &[iv(0, 10)], 20),
            agreement(&[iv(0, 10)], &[iv(10, 20)], 20),
        ];
        let p = Agreement::pooled(&parts);
        assert_eq!((p.frames, p.both, p.only_a, p.only_b), (40, 10, 10, 10));
        assert_eq!(p.iou, Some(10.0 / 30.0));
    }
}
