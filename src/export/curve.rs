//! The score-curve strip of an exported frame: the frame scores of the
//! exported range as a line, the ground truth's anomalous frames shaded, the
//! threshold as a dashed line, and the playhead. The strip is drawn once; each
//! output frame copies it and adds its playhead.

use super::canvas::{Area, Canvas};
use crate::truth::Interval;

/// Background of the strip.
pub const BACKGROUND: [u8; 3] = [22, 24, 29];
/// Columns of frames the ground truth marks anomalous.
pub const TRUTH_SHADE: [u8; 3] = [96, 34, 38];
/// The score line.
pub const LINE: [u8; 3] = [236, 236, 236];
/// The threshold.
pub const THRESHOLD: [u8; 3] = [240, 140, 40];
/// The playhead.
pub const PLAYHEAD: [u8; 3] = [255, 214, 10];

/// The strip without its playhead, for frames `range` of a video.
#[derive(Debug, Clone)]
pub struct CurveStrip {
    strip: Canvas,
    range: std::ops::Range<usize>,
}

impl CurveStrip {
    /// Draws `scores` (one per video frame, `None` where unscored) over
    /// `range`, `width` x `height` pixels, with the frames of `truth` shaded
    /// and the line at `threshold` (in score units). The vertical scale runs
    /// from the range's lowest to its highest score (the threshold included).
    pub fn new(
        scores: &[Option<f64>],
        truth: &[Interval],
        threshold: Option<f64>,
        range: std::ops::Range<usize>,
        (width, height): (usize, usize),
    ) -> CurveStrip {
        let mut strip = Canvas::new(width, height, BACKGROUND);
        let n = range.len().max(1);
        let x_of = |f: usize| ((f - range.start) * width / n) as i64;
        for iv in truth {
            let (a, b) = (iv.start.max(range.start), iv.end.min(range.end));
            if a < b {
                let (x0, x1) = (x_of(a) as usize, (x_of(b - 1) as usize + width / n).max(1));
                strip.fill(
                    Area {
                        x: x0,
                        y: 0,
                        w: x1.saturating_sub(x0).max(1),
                        h: height,
                    },
                    TRUTH_SHADE,
                );
            }
        }
        let shown = || {
            range
                .clone()
                .filter_map(|f| scores.get(f).copied().flatten().map(|s| (f, s)))
                .filter(|(_, s)| s.is_finite())
        };
        let (mut lo, mut hi) = shown()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), (_, s)| {
                (lo.min(s), hi.max(s))
            });
        if let Some(t) = threshold.filter(|t| t.is_finite()) {
            lo = lo.min(t);
            hi = hi.max(t);
        }
        if lo.is_finite() && hi.is_finite() {
            let span = (hi - lo).max(1e-12);
            // A margin of 3 pixels keeps the line off the strip's edges.
            let inner = height.saturating_sub(6).max(1) as f64;
            let y_of = |s: f64| 3 + ((hi - s) / span * inner).round() as i64;
            if let Some(t) = threshold.filter(|t| t.is_finite()) {
                let y = y_of(t);
                for x in (0..width as i64).step_by(6) {
                    strip.line(x, y, (x + 3).min(width as i64 - 1), y, THRESHOLD);
                }
            }
            let half = (width / n / 2) as i64;
            let mut last: Option<(i64, i64)> = None;
            for (f, s) in shown() {
                let p = (x_of(f) + half, y_of(s));
                match last {
                    // A gap of unscored frames breaks the line.
                    Some(q) if p.0 - q.0 <= (width / n).max(1) as i64 + 1 => {
                        strip.line(q.0, q.1, p.0, p.1, LINE)
                    }
                    _ => strip.put(p.0, p.1, LINE),
                }
                last = Some(p);
            }
        }
        CurveStrip { strip, range }
    }

    /// The strip with the playhead at `frame`, drawn into `canvas` at `(x, y)`.
    pub fn draw(&self, canvas: &mut Canvas, x: usize, y: usize, frame: usize) {
        let (w, h) = (self.strip.width, self.strip.height);
        for row in 0..h.min(canvas.height.saturating_sub(y)) {
            let cols = w.min(canvas.width.saturating_sub(x));
            let src = &self.strip.data[row * w * 3..(row * w + cols) * 3];
            let at = ((y + row) * canvas.width + x) * 3;
            canvas.data[at..at + cols * 3].copy_from_slice(src);
        }
        if self.range.contains(&frame) {
            let n = self.range.len().max(1);
            let px = (x + (frame - self.range.start) * w / n + w / n / 2) as i64;
            for dx in 0..2 {
                canvas.line(px + dx, y as i64, px + dx, (y + h) as i64 - 1, PLAYHEAD);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_strip_shades_truth_and_moves_its_playhead() {
        let scores: Vec<Option<f64>> = (0..20)
            .map(|f| (f >= 2).then_some(if (10..15).contains(&f) { 1.0 } else { 0.0 }))
            .collect();
        let truth = [Interval { start: 10, end: 15 }];
        let strip = CurveStrip::new(&scores, &truth, Some(0.5), 0..20, (200, 40));
        let mut c = Canvas::new(200, 40, [0, 0, 0]);
        strip.draw(&mut c, 0, 0, 5);
        // Frame 12 is shaded (away from the line), frame 5 is not.
        assert_eq!(c.pixel(125, 25), TRUTH_SHADE);
        assert_eq!(c.pixel(30, 25), BACKGROUND);
        // The playhead of frame 5 sits in frame 5's column.
        assert_eq!(c.pixel(55, 10), PLAYHEAD);
        // The line runs low on normal frames and high on frames 10..15.
        assert_eq!(
            c.pixel(35, 37),
            LINE,
            "a normal frame's score at the bottom"
        );
        assert_eq!(
            c.pixel(125, 3),
            LINE,
            "an anomalous frame's score at the top"
        );
        // The threshold crosses the middle, dashed.
        let row = 3 + 17;
        assert!((0..200).any(|x| c.pixel(x, row) == THRESHOLD));
        let mut later = Canvas::new(200, 40, [0, 0, 0]);
        strip.draw(&mut later, 0, 0, 18);
        assert_eq!(later.pixel(55, 10), BACKGROUND);
        assert_eq!(later.pixel(185, 10), PLAYHEAD);
    }
}
