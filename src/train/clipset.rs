//! The training clips: frames and consecutive-pair flows of a set of videos,
//! read once through the clip pipeline at the model's input size and held in
//! memory, cut into clips of t + 1 frames and batched into model inputs.

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;

use candle_core::Device;

use crate::dataset::{clips, stream, Clip};
use crate::error::{Error, Result};
use crate::flow::Flow;
use crate::frame::Frame;
use crate::model::{make_input, Input, ModelConfig};

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
    /// format, computes each consecutive pair's flow once with the config's
    /// flow parameters, and cuts clips of `t + 1` frames with stride 1.
    /// `progress` is called once per frame.
    pub fn load(videos: &[PathBuf], cfg: &ModelConfig, progress: &dyn Fn()) -> Result<ClipSet> {
        let t = cfg.input.frames;
        let (mut all_frames, mut all_flows, mut counts) = (Vec::new(), Vec::new(), Vec::new());
        let never = AtomicBool::new(false);
        for path in videos {
            let (mut frames, mut flows) = (Vec::new(), Vec::new());
            stream::run(
                path,
                &cfg.input,
                &never,
                &mut |p| {
                    flows.extend(p.flow);
                    frames.push(p.frame);
                    progress();
                    Ok(())
                },
                &mut |_| {},
            )?;
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
