//! Pixel-level ROC AUC of error maps against pixel masks, streamed frame by frame.
//!
//! Holding every pixel of a test split is out of the question (Ped2 alone has
//! 174 M), so pixels are counted in a histogram of `bins` equal bins over
//! `[lo, hi]` (values outside are clamped into the end bins and counted). The AUC
//! is then exact for the scores quantised to bins: pixels sharing a bin count as
//! ties. With the default 65 536 bins over maps normalised to [0, 1] the
//! difference from the exact AUC is below the fraction of positive–negative pairs
//! that share a bin (a few 1e-5 for smooth score distributions).

use crate::error::{Error, Result};

/// A streaming pixel-level AUC accumulator.
#[derive(Debug, Clone)]
pub struct PixelAuc {
    lo: f64,
    scale: f64,
    pos: Vec<u64>,
    neg: Vec<u64>,
    clamped: u64,
}

impl PixelAuc {
    /// The default number of bins.
    pub const DEFAULT_BINS: usize = 1 << 16;

    /// An accumulator over `[lo, hi]` with `bins` bins (>= 2).
    pub fn new(lo: f64, hi: f64, bins: usize) -> Result<Self> {
        if !(lo.is_finite() && hi.is_finite() && hi > lo) || bins < 2 {
            return Err(Error::invalid(format!(
                "pixel AUC needs a finite range lo < hi and at least 2 bins, got [{lo}, {hi}] with {bins}"
            )));
        }
        Ok(PixelAuc {
            lo,
            scale: bins as f64 / (hi - lo),
            pos: vec![0; bins],
            neg: vec![0; bins],
            clamped: 0,
        })
    }

    /// Adds one frame: its error map and its mask (`true` = anomalous pixel), same length.
    pub fn add(&mut self, map: &[f32], mask: &[bool]) -> Result<()> {
        if map.len() != mask.len() {
            return Err(Error::invalid(format!(
                "error map has {} pixels, mask {}",
                map.len(),
                mask.len()
            )));
        }
        self.add_pixels(map.iter().copied().zip(mask.iter().copied()))
    }

    /// Adds `(score, anomalous)` pixels.
    pub fn add_pixels(&mut self, pixels: impl IntoIterator<Item = (f32, bool)>) -> Result<()> {
        let last = self.pos.len() - 1;
        for (s, m) in pixels {
            if s.is_nan() {
                return Err(Error::invalid("error map holds NaN"));
            }
            let b = ((f64::from(s) - self.lo) * self.scale).floor();
            let i = if b < 0.0 {
                self.clamped += 1;
                0
            } else if b > last as f64 {
                // A score exactly at `hi` belongs to the last bin.
                if (f64::from(s) - self.lo) * self.scale > self.pos.len() as f64 {
                    self.clamped += 1;
                }
                last
            } else {
                b as usize
            };
            if m {
                self.pos[i] += 1;
            } else {
                self.neg[i] += 1;
            }
        }
        Ok(())
    }

    /// Pixels whose score fell outside the range (clamped into the end bins).
    /// (A score exactly at `hi` lands in the last bin and is not counted.)
    pub fn clamped(&self) -> u64 {
        self.clamped
    }

    /// Pixels added so far: (anomalous, normal).
    pub fn counts(&self) -> (u64, u64) {
        (self.pos.iter().sum(), self.neg.iter().sum())
    }

    /// The AUC over all pixels added; errors when a class is missing.
    pub fn auc(&self) -> Result<f64> {
        let p: u64 = self.pos.iter().sum();
        let n: u64 = self.neg.iter().sum();
        if p == 0 || n == 0 {
            return Err(Error::invalid(
                "pixel AUC: only one class present among the pixels",
            ));
        }
        let (mut tp, mut twice) = (0u64, 0u128);
        for (&bp, &bn) in self.pos.iter().zip(&self.neg).rev() {
            twice += u128::from(bn) * u128::from(2 * tp + bp);
            tp += bp;
        }
        Ok(twice as f64 / (2.0 * p as f64 * n as f64))
    }
}
