//! The motion baseline: a score that needs no model. Per frame, the mean
//! length of its fastest 1% of flow vectors (from the frame before), with the
//! `fast` flow preset at the frame's own size. The app shows it until a model
//! is loaded, and `vadscope demo --text` reports its AUC.

use crate::dataset::FlowStage;
use crate::error::Result;
use crate::flow::{Params, Preset};
use crate::frame::Frame;

/// The fraction of fastest vectors a frame's score averages.
pub const FASTEST_FRACTION: f64 = 0.01;

/// Scores frames one after the other.
pub struct MotionBaseline {
    flow: FlowStage,
}

impl MotionBaseline {
    /// A baseline over a new sequence of frames.
    pub fn new() -> Result<Self> {
        Ok(MotionBaseline {
            flow: FlowStage::new(Params::preset(Preset::Fast))?,
        })
    }

    /// The score of `gray` (a gray frame in `[0, 1]`), the frame after the one
    /// pushed before; `None` for the first frame, which has no motion into it.
    pub fn push(&mut self, gray: &Frame<f32>) -> Result<Option<f32>> {
        Ok(self
            .flow
            .push(gray)?
            .map(|f| fastest_motion(&f.data, FASTEST_FRACTION)))
    }
}

/// Mean length of the fastest `fraction` of the `(u, v)` vectors in `uv`
/// (at least one vector; 0 for an empty field).
pub fn fastest_motion(uv: &[f32], fraction: f64) -> f32 {
    let mut mags: Vec<f32> = uv
        .chunks_exact(2)
        .map(|p| (p[0] * p[0] + p[1] * p[1]).sqrt())
        .collect();
    if mags.is_empty() {
        return 0.0;
    }
    let k = ((mags.len() as f64 * fraction).ceil() as usize).clamp(1, mags.len());
    let split = mags.len() - k;
    mags.select_nth_unstable_by(split, f32::total_cmp);
    mags[split..].iter().sum::<f32>() / k as f32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fastest_motion_takes_the_top_fraction() {
        let mut uv = vec![0.0f32; 200];
        uv[0] = 3.0;
        uv[1] = 4.0; // one vector of length 5 among 100
        assert_eq!(fastest_motion(&uv, 0.01), 5.0);
        assert_eq!(fastest_motion(&[], 0.01), 0.0);
    }

    #[test]
    fn a_moving_square_scores_its_speed_and_the_first_frame_nothing() {
        let frame = |x0: usize| {
            let mut f = Frame {
                width: 64,
                height: 48,
                channels: 1,
                data: vec![0.1f32; 64 * 48],
            };
            for y in 16..32 {
                for x in x0..x0 + 12 {
                    f.data[y * 64 + x] = 0.3 + 0.05 * ((x * 7 + y * 3) % 5) as f32;
                }
            }
            f
        };
        let mut b = MotionBaseline::new().unwrap();
        assert_eq!(b.push(&frame(10)).unwrap(), None);
        let s = b.push(&frame(13)).unwrap().unwrap();
        assert!((s - 3.0).abs() < 1.0, "{s}");
    }
}
