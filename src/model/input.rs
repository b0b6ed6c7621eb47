//! The model's input contract: what a clip of t + 1 frames becomes before
//! the network sees it.
//!
//! - Frames are decoded at `input.width` × `input.height`, gray or RGB as
//!   `input.channels` says ([`frame_spec`]), scaled from `[0, 1]` to `[-1, 1]`.
//! - The flow y_i from x_i to x_i+1 is computed on the gray frames at that size
//!   with `input.flow`'s parameters, in pixels, divided by [`FLOW_SCALE`].
//!
//! `dataset::clips` produces the frames and flows ([`crate::dataset::FlowStage`]);
//! [`make_input`] stacks them as the paper's x_1..t, x_t+1 and y_1..t.

use candle_core::{Device, Tensor};

use super::config::InputConfig;
use super::hybrid::Input;
use crate::error::{Error, Result};
use crate::flow::Flow;
use crate::frame::{Frame, PixelFormat};
use crate::video::OutputSpec;

/// Flow vectors (pixels at the model's input size) are divided by this, so
/// that typical motions of a few pixels per frame land in roughly `[-1, 1]`.
pub const FLOW_SCALE: f32 = 4.0;

/// The pixel format and size the model reads frames at.
pub fn frame_spec(input: &InputConfig) -> OutputSpec {
    OutputSpec {
        format: if input.channels == 3 {
            PixelFormat::Rgb
        } else {
            PixelFormat::Gray
        },
        size: Some((input.width, input.height)),
    }
}

/// Model input from clips given as (t + 1 frames, their t consecutive flows):
/// x_1..t (B, t·C, H, W) and x_t+1 (B, C, H, W) scaled to `[-1, 1]`, and
/// y_1..t (B, 2t, H, W) divided by [`FLOW_SCALE`]. All frames share one size.
pub fn make_input(clips: &[(&[Frame<f32>], &[Flow])], device: &Device) -> Result<Input> {
    let Some((first, _)) = clips.first() else {
        return Err(Error::invalid("model input: no clips"));
    };
    let t = first.len().saturating_sub(1);
    let (w, h, c) = (first[0].width, first[0].height, first[0].channels);
    let (mut frames, mut next, mut flow) = (Vec::new(), Vec::new(), Vec::new());
    for (clip_frames, clip_flows) in clips {
        if clip_frames.len() != t + 1 || clip_flows.len() != t {
            return Err(Error::invalid(format!(
                "model input: a clip has {} frames and {} flows, expected {} and {t}",
                clip_frames.len(),
                clip_flows.len(),
                t + 1
            )));
        }
        for k in 0..t {
            push_planes(&clip_frames[k], &mut frames);
            push_flow(&clip_flows[k], &mut flow);
        }
        push_planes(&clip_frames[t], &mut next);
    }
    let b = clips.len();
    let tensor = |data: Vec<f32>, ch: usize| Tensor::from_vec(data, (b, ch, h, w), device);
    Ok(Input {
        frames: tensor(frames, t * c)?,
        next: tensor(next, c)?,
        flow: tensor(flow, 2 * t)?,
    })
}

/// Appends a frame as channel planes scaled to `[-1, 1]`.
fn push_planes(f: &Frame<f32>, out: &mut Vec<f32>) {
    for c in 0..f.channels {
        out.extend(
            f.data
                .iter()
                .skip(c)
                .step_by(f.channels)
                .map(|&v| v * 2.0 - 1.0),
        );
    }
}

/// Appends a flow as its u and v planes, scaled by [`FLOW_SCALE`].
fn push_flow(f: &Flow, out: &mut Vec<f32>) {
    for c in 0..2 {
        out.extend(f.data.iter().skip(c).step_by(2).map(|&v| v / FLOW_SCALE));
    }
}
