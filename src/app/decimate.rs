//! Min/max decimation of long curves for drawing: a pyramid of per-bucket
//! minima and maxima (buckets of 2, 4, 8, … samples), so each screen column of
//! a 300,000-frame curve is summarised from a handful of buckets instead of
//! scanning the samples under it.
//!
//! NaN marks unscored frames; buckets ignore them, and a bucket with no
//! finite sample is empty.

/// Per-bucket `(min, max)` at successive power-of-two bucket sizes.
#[derive(Debug, Clone, Default)]
pub struct MinMaxPyramid {
    len: usize,
    /// `levels[k][i]`: min and max of samples `i·2^k .. (i+1)·2^k` (level 0: the samples).
    levels: Vec<Vec<(f32, f32)>>,
}

fn merge(a: (f32, f32), b: (f32, f32)) -> (f32, f32) {
    // f32::min/max return the non-NaN operand, so empty (NaN) buckets drop out.
    (a.0.min(b.0), a.1.max(b.1))
}

impl MinMaxPyramid {
    /// Builds the pyramid of `values`.
    pub fn new(values: &[f32]) -> Self {
        let mut levels = vec![values.iter().map(|&v| (v, v)).collect::<Vec<_>>()];
        while levels.last().is_some_and(|l| l.len() > 1) {
            let prev = levels.last().map(Vec::as_slice).unwrap_or_default();
            let next: Vec<(f32, f32)> = prev
                .chunks(2)
                .map(|c| c.iter().copied().fold((f32::NAN, f32::NAN), merge))
                .collect();
            levels.push(next);
        }
        MinMaxPyramid {
            len: values.len(),
            levels,
        }
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether there are no samples.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Min and max over samples `a..b` (clamped); NaNs if none is finite.
    /// Uses whole buckets of the largest size that fits, so it costs O(log n).
    pub fn range(&self, a: usize, b: usize) -> (f32, f32) {
        let (mut a, b) = (a.min(self.len), b.min(self.len));
        let mut acc = (f32::NAN, f32::NAN);
        while a < b {
            // The largest aligned bucket starting at `a` that ends by `b`.
            let mut k = (a.trailing_zeros() as usize).min(self.levels.len() - 1);
            while k > 0 && a + (1 << k) > b {
                k -= 1;
            }
            acc = merge(acc, self.levels[k][a >> k]);
            a += 1 << k;
        }
        acc
    }

    /// One `(min, max)` per column for `columns` columns spanning frames
    /// `start..end` (fractional); a column covers at least one sample.
    pub fn columns(&self, start: f64, end: f64, columns: usize) -> Vec<(f32, f32)> {
        let mut out = Vec::with_capacity(columns);
        self.columns_into(start, end, columns, &mut out);
        out
    }

    /// [`MinMaxPyramid::columns`] into a reused buffer.
    pub fn columns_into(&self, start: f64, end: f64, columns: usize, out: &mut Vec<(f32, f32)>) {
        out.clear();
        if columns == 0 {
            return;
        }
        let per = (end - start) / columns as f64;
        for c in 0..columns {
            let a = (start + c as f64 * per).floor().max(0.0) as usize;
            let b = ((start + (c + 1) as f64 * per).floor().max(0.0) as usize).max(a + 1);
            out.push(self.range(a, b));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn brute(v: &[f32], a: usize, b: usize) -> (f32, f32) {
        v[a.min(v.len())..b.min(v.len())]
            .iter()
            .fold((f32::NAN, f32::NAN), |acc, &x| merge(acc, (x, x)))
    }

    #[test]
    fn ranges_match_a_scan() {
        // A deterministic wiggly curve with unscored gaps.
        let v: Vec<f32> = (0..1000)
            .map(|i| {
                if i % 97 < 5 {
                    f32::NAN
                } else {
                    ((i * 7919) % 1000) as f32 / 1000.0
                }
            })
            .collect();
        let p = MinMaxPyramid::new(&v);
        for (a, b) in [
            (0, 1),
            (0, 1000),
            (3, 17),
            (96, 103),
            (511, 513),
            (990, 2000),
            (97, 102),
        ] {
            let (x, y) = (p.range(a, b), brute(&v, a, b));
            assert!(
                (x.0 == y.0 || x.0.is_nan() && y.0.is_nan())
                    && (x.1 == y.1 || x.1.is_nan() && y.1.is_nan()),
                "{a}..{b}: {x:?} vs {y:?}"
            );
        }
        // Frames 97..102 are all unscored.
        assert!(p.range(97, 102).0.is_nan());
    }

    #[test]
    fn columns_keep_every_peak() {
        let mut v = vec![0.0f32; 300_000];
        v[123_457] = 5.0;
        v[7] = -1.0;
        let p = MinMaxPyramid::new(&v);
        let cols = p.columns(0.0, 300_000.0, 1000);
        assert_eq!(cols.len(), 1000);
        assert_eq!(cols.iter().map(|c| c.1).fold(f32::MIN, f32::max), 5.0);
        assert_eq!(cols[0].0, -1.0);
        assert_eq!(cols[411].1, 5.0); // 123457 / 300 = 411.5
    }

    #[test]
    fn zoomed_in_columns_cover_single_samples() {
        let v: Vec<f32> = (0..50).map(|i| i as f32).collect();
        let p = MinMaxPyramid::new(&v);
        let cols = p.columns(10.0, 20.0, 40);
        assert_eq!(cols.len(), 40);
        assert_eq!(cols[0], (10.0, 10.0));
        assert_eq!(cols[39], (19.0, 19.0));
    }
}
