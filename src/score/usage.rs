//! How much of each memory a scoring run used: per layer, the slots' mean
//! attention over every scored frame, summarised as an entropy, an effective
//! number of slots and the share of slots in use. A collapsed memory (the
//! paper's update [7–9] exists to prevent it) reads every position from one or
//! two slots: effective slots near 1.

use serde::Serialize;

use crate::model::memae::MEMORY_NAMES;

/// A slot counts as used when its mean attention is at least this fraction
/// of the uniform share 1/N (a tenth: with 50 slots, 0.2 % of the attention).
pub const USED_FRACTION_OF_UNIFORM: f64 = 0.1;

/// A memory whose effective slots fall below this is reported as collapsed.
pub const COLLAPSED_EFFECTIVE_SLOTS: f64 = 2.0;

/// Running sums of per-frame slot usage, one vector per memory layer.
#[derive(Debug, Clone, Default)]
pub struct UsageTotals {
    sums: Vec<Vec<f64>>,
    frames: usize,
}

/// One layer's summary, as written to a score folder's `run.json`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LayerUsage {
    /// The layer (`bottleneck`, `skip3`, `skip2`).
    pub layer: String,
    /// Its number of slots N.
    pub slots: usize,
    /// Frames summed over.
    pub frames: usize,
    /// Entropy of the mean attention over slots, in nats (at most ln N).
    pub entropy_nats: f64,
    /// exp(entropy): 1 when one slot takes everything, N when all are equal.
    pub effective_slots: f64,
    /// Share of slots with at least [`USED_FRACTION_OF_UNIFORM`] / N of the attention.
    pub used_share: f64,
    /// The largest single slot's share of the attention.
    pub top_slot_share: f64,
}

impl LayerUsage {
    /// Whether this memory reads (nearly) everything from one slot.
    pub fn collapsed(&self) -> bool {
        self.effective_slots < COLLAPSED_EFFECTIVE_SLOTS
    }
}

impl UsageTotals {
    /// Adds one frame's usage (per layer, each slot's mean attention).
    /// A layer whose slot count differs from earlier frames' is not added.
    pub fn add(&mut self, usage: &[Vec<f32>]) {
        if self.sums.len() < usage.len() {
            self.sums.resize(usage.len(), Vec::new());
        }
        for (sum, layer) in self.sums.iter_mut().zip(usage) {
            if sum.is_empty() {
                sum.resize(layer.len(), 0.0);
            }
            if sum.len() == layer.len() {
                for (s, &u) in sum.iter_mut().zip(layer) {
                    if u.is_finite() {
                        *s += f64::from(u);
                    }
                }
            }
        }
        self.frames += 1;
    }

    /// Frames added so far.
    pub fn frames(&self) -> usize {
        self.frames
    }

    /// The summary per layer (bottleneck first); empty before any frame.
    pub fn summary(&self) -> Vec<LayerUsage> {
        self.sums
            .iter()
            .enumerate()
            .filter(|(_, s)| !s.is_empty())
            .map(|(i, sum)| {
                let total: f64 = sum.iter().sum();
                let n = sum.len();
                let p: Vec<f64> = if total > 0.0 {
                    sum.iter().map(|s| s / total).collect()
                } else {
                    vec![0.0; n]
                };
                // abs: one slot gives −0.0, which JSON would show as such.
                let entropy = p
                    .iter()
                    .filter(|&&x| x > 0.0)
                    .map(|x| -x * x.ln())
                    .sum::<f64>()
                    .abs();
                let floor = USED_FRACTION_OF_UNIFORM / n as f64;
                LayerUsage {
                    layer: MEMORY_NAMES
                        .get(i)
                        .map_or_else(|| format!("layer{i}"), |s| s.to_string()),
                    slots: n,
                    frames: self.frames,
                    entropy_nats: entropy,
                    effective_slots: if total > 0.0 { entropy.exp() } else { 0.0 },
                    used_share: p.iter().filter(|&&x| x >= floor).count() as f64 / n as f64,
                    top_slot_share: p.iter().copied().fold(0.0, f64::max),
                }
            })
            .collect()
    }
}

/// One line per layer, for the end of a scoring run.
pub fn describe(summary: &[LayerUsage]) -> String {
    summary
        .iter()
        .map(|l| {
            format!(
                "memory {:<10} {:>3} slots: {:5.1} effective ({:3.0} % used, top slot {:3.0} %){}",
                l.layer,
                l.slots,
                l.effective_slots,
                100.0 * l.used_share,
                100.0 * l.top_slot_share,
                if l.collapsed() { "  COLLAPSED" } else { "" }
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_slot_is_collapsed_and_uniform_is_not() {
        let mut t = UsageTotals::default();
        for _ in 0..3 {
            t.add(&[vec![1.0, 0.0, 0.0, 0.0], vec![0.25; 4]]);
        }
        let s = t.summary();
        assert_eq!(s[0].layer, "bottleneck");
        assert!((s[0].effective_slots - 1.0).abs() < 1e-9);
        assert!(s[0].collapsed());
        assert_eq!(s[0].used_share, 0.25);
        assert!((s[1].effective_slots - 4.0).abs() < 1e-9);
        assert!(!s[1].collapsed());
        assert_eq!(s[1].used_share, 1.0);
        assert_eq!(s[1].frames, 3);
    }

    #[test]
    fn usage_is_pooled_over_frames() {
        // Each frame uses one slot, but different frames different slots.
        let mut t = UsageTotals::default();
        t.add(&[vec![1.0, 0.0]]);
        t.add(&[vec![0.0, 1.0]]);
        let s = t.summary();
        assert!((s[0].entropy_nats - 2f64.ln()).abs() < 1e-9);
        assert!((s[0].top_slot_share - 0.5).abs() < 1e-9);
    }
}
