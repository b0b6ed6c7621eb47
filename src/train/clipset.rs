//! The training clips: frames and consecutive-pair flows of a set of videos,
//! decoded and computed once at the model's input size and held in memory,
//! cut into clips of t + 1 frames and batched into model inputs.

use std::path::PathBuf;

use candle_core::{Device, Tensor};

use super::{model_err, FLOW_SCALE};
use crate::dataset::{clips, Clip};
use crate::error::{Error, Result};
use crate::flow::{Flow, FlowEstimator, Params};
use crate::frame::{Frame, PixelFormat};
use crate::model::{Input, ModelConfig};
use crate::video::{self, OutputSpec};

/// The frames and consecutive-pair flows of a set of videos at the model's
/// input size, decoded and computed once.
pub struct ClipSet {
    pub(super) frames: Vec<Vec<Frame<f32>>>,
    /// `flows[v][j]` is the flow from frame `j` to `j + 1` of video `v`.
    flows: Vec<Vec<Flow>>,
    pub(super) clips: Vec<Clip>,
    t: usize,
}

impl ClipSet {
    /// Decodes `videos` (files or frame folders) at the config's size and
    /// format, computes each consecutive pair's flow once, and cuts clips of
    /// `t + 1` frames with stride 1. `progress` is called once per frame.
    pub fn load(
        videos: &[PathBuf],
        cfg: &ModelConfig,
        flow: &Params,
        progress: &dyn Fn(),
    ) -> Result<ClipSet> {
        let (w, h, t) = (cfg.input.width, cfg.input.height, cfg.input.frames);
        let format = if cfg.input.channels == 3 {
            PixelFormat::Rgb
        } else {
            PixelFormat::Gray
        };
        let spec = OutputSpec {
            format,
            size: Some((w, h)),
        };
        let mut est = FlowEstimator::new(flow.clone())?;
        let (mut all_frames, mut all_flows, mut counts) = (Vec::new(), Vec::new(), Vec::new());
        let (mut scratch, mut gray_a, mut gray_b) =
            (Frame::default(), Frame::default(), Frame::default());
        for path in videos {
            let mut v = video::open_with(path, spec)?;
            let mut frames: Vec<Frame<f32>> = Vec::with_capacity(v.len());
            let mut flows = Vec::with_capacity(v.len().saturating_sub(1));
            for i in 0..v.len() {
                let mut f = Frame::default();
                v.read_f32_into(i, &mut scratch, &mut f)?;
                if let Some(prev) = frames.last() {
                    prev.to_gray_into(&mut gray_a);
                    f.to_gray_into(&mut gray_b);
                    flows.push(est.estimate(&gray_a, &gray_b)?);
                }
                frames.push(f);
                progress();
            }
            counts.push(frames.len());
            all_frames.push(frames);
            all_flows.push(flows);
        }
        let clips = clips(&counts, t + 1, 1)?;
        if clips.is_empty() {
            return Err(Error::invalid(format!(
                "no training clips: every video is shorter than t + 1 = {} frames",
                t + 1
            )));
        }
        Ok(ClipSet {
            frames: all_frames,
            flows: all_flows,
            clips,
            t,
        })
    }

    /// The clips.
    pub fn clips(&self) -> &[Clip] {
        &self.clips
    }

    /// Model input for a batch of clips: x_1..t, x_t+1 and y_1..t.
    pub fn batch(&self, batch: &[Clip], device: &Device) -> Result<Input> {
        let t = self.t;
        let windows: Vec<_> = batch
            .iter()
            .map(|c| {
                (
                    &self.frames[c.video][c.start..c.start + t + 1],
                    &self.flows[c.video][c.start..c.start + t],
                )
            })
            .collect();
        make_input(&windows, device)
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
    let tensor = |data: Vec<f32>, ch: usize| {
        Tensor::from_vec(data, (b, ch, h, w), device).map_err(model_err)
    };
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
