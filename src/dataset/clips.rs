//! Clips: windows of `t + 1` consecutive frames of one video (t inputs and the
//! frame to predict), read resized and normalised for the model, with the
//! optical flow between consecutive frames when asked for.
//!
//! This is the one clip pipeline of the data flow: decode at the model's size
//! ([`open_for_model`]) → gray → flow ([`FlowStage`], the only place that
//! computes the flow a model sees). Training ([`crate::train::ClipSet`]),
//! scoring ([`super::stream`]), per-frame maps and the app all read through it.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::flow::{Flow, FlowEstimator, Params};
use crate::frame::Frame;
use crate::model::config::InputConfig;
use crate::model::frame_spec;
use crate::video::{self, OutputSpec, Video};

/// Opens `path` (a video file or frame folder) for a model with input `input`:
/// frames come out at its size and pixel format.
pub fn open_for_model(path: &Path, input: &InputConfig) -> Result<Video> {
    video::open_with(path, frame_spec(input))
}

/// The flow stage: given the frames of a video in order, the flow from each
/// to the next, on gray frames, with fixed parameters.
pub struct FlowStage {
    estimator: FlowEstimator,
    prev_gray: Frame<f32>,
    gray: Frame<f32>,
    has_prev: bool,
    pairs: usize,
}

impl FlowStage {
    /// A flow stage with `params`.
    pub fn new(params: Params) -> Result<Self> {
        Ok(FlowStage {
            estimator: FlowEstimator::new(params)?,
            prev_gray: Frame::default(),
            gray: Frame::default(),
            has_prev: false,
            pairs: 0,
        })
    }

    /// The flow stage of a model with input `input` (its `input.flow`).
    pub fn for_model(input: &InputConfig) -> Result<Self> {
        Self::new(input.flow.clone())
    }

    /// The flow from the frame pushed before (since the last
    /// [`FlowStage::restart`]) to `frame`; `None` for the first frame.
    pub fn push(&mut self, frame: &Frame<f32>) -> Result<Option<Flow>> {
        frame.to_gray_into(&mut self.gray);
        let flow = if self.has_prev {
            self.pairs += 1;
            Some(self.estimator.estimate(&self.prev_gray, &self.gray)?)
        } else {
            None
        };
        std::mem::swap(&mut self.prev_gray, &mut self.gray);
        self.has_prev = true;
        Ok(flow)
    }

    /// Forgets the previous frame: the next one starts a new sequence.
    pub fn restart(&mut self) {
        self.has_prev = false;
    }

    /// How many frame pairs' flow this stage has computed.
    pub fn pairs_computed(&self) -> usize {
        self.pairs
    }
}

/// A window of `len` consecutive frames of video `video`, starting at `start`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Clip {
    /// Index of the video in the list the clips were cut from.
    pub video: usize,
    /// First frame.
    pub start: usize,
    /// Number of frames (t + 1).
    pub len: usize,
}

impl Clip {
    /// The last frame (the one a predictor predicts).
    pub fn last(&self) -> usize {
        self.start + self.len - 1
    }
}

/// All windows of `len` frames with the given stride, per video, never crossing
/// a video boundary. Videos shorter than `len` give no clip.
pub fn clips(frame_counts: &[usize], len: usize, stride: usize) -> Result<Vec<Clip>> {
    if len == 0 || stride == 0 {
        return Err(Error::invalid(format!(
            "clip length ({len}) and stride ({stride}) must be at least 1"
        )));
    }
    let mut out = Vec::new();
    for (video, &n) in frame_counts.iter().enumerate() {
        let mut start = 0;
        while start + len <= n {
            out.push(Clip { video, start, len });
            start += stride;
        }
    }
    Ok(out)
}

/// One frame of the current window, with the flow from the frame before it
/// (when that frame was in the window when this one was read).
struct Slot {
    index: usize,
    frame: Frame<f32>,
    flow: Option<Flow>,
}

/// Reads clips as `f32` frames in `[0, 1]` at the output spec's size, and
/// optionally the dense flow between consecutive frames. Keeps the frames (and
/// flows) of the current window, so consecutive overlapping clips (stride 1, as
/// in scoring) decode each frame and compute each pair's flow once.
///
/// Flow vectors are in pixels of the output size (the size the model sees),
/// computed on the gray frames even when the output is RGB.
pub struct ClipReader {
    paths: Vec<PathBuf>,
    spec: OutputSpec,
    current: Option<(usize, Video)>,
    window: VecDeque<Slot>,
    scratch: Frame<u8>,
    flow: Option<FlowStage>,
}

impl ClipReader {
    /// A reader over the given videos (files or frame folders), in the order
    /// their clips refer to them.
    pub fn new(paths: Vec<PathBuf>, spec: OutputSpec) -> Self {
        ClipReader {
            paths,
            spec,
            current: None,
            window: VecDeque::new(),
            scratch: Frame::default(),
            flow: None,
        }
    }

    /// A reader that also computes flow with `params` (see [`ClipReader::read_with_flow`]).
    pub fn with_flow(paths: Vec<PathBuf>, spec: OutputSpec, params: Params) -> Result<Self> {
        let mut r = ClipReader::new(paths, spec);
        r.flow = Some(FlowStage::new(params)?);
        Ok(r)
    }

    /// A reader of what a model with input `input` sees: frames at its size
    /// and format, flow with its parameters.
    pub fn for_model(paths: Vec<PathBuf>, input: &InputConfig) -> Result<Self> {
        Self::with_flow(paths, frame_spec(input), input.flow.clone())
    }

    /// Reads `clip` into `out` (one frame per element, reused).
    pub fn read(&mut self, clip: &Clip, out: &mut Vec<Frame<f32>>) -> Result<()> {
        self.fill(clip)?;
        out.clear();
        out.extend(self.window.iter().take(clip.len).map(|s| s.frame.clone()));
        Ok(())
    }

    /// Reads `clip` into `frames` and the `clip.len - 1` flows between its
    /// consecutive frames into `flows` (flow `k` goes from frame `k` to `k + 1`).
    /// Needs a reader made with [`ClipReader::with_flow`].
    pub fn read_with_flow(
        &mut self,
        clip: &Clip,
        frames: &mut Vec<Frame<f32>>,
        flows: &mut Vec<Flow>,
    ) -> Result<()> {
        if self.flow.is_none() {
            return Err(Error::invalid(
                "this clip reader computes no flow: make it with ClipReader::with_flow",
            ));
        }
        self.read(clip, frames)?;
        flows.clear();
        for slot in self.window.iter().skip(1).take(clip.len.saturating_sub(1)) {
            let f = slot
                .flow
                .as_ref()
                .ok_or_else(|| Error::invalid("flow missing for a frame pair of the window"))?;
            flows.push(f.clone());
        }
        Ok(())
    }

    /// The number of frames of video `video` (opening it; it stays open).
    pub fn frame_count(&mut self, video: usize) -> Result<usize> {
        self.open(video)?;
        Ok(self.current.as_ref().map_or(0, |(_, v)| v.len()))
    }

    /// Makes video `video` the open one.
    fn open(&mut self, video: usize) -> Result<()> {
        let path = self.paths.get(video).ok_or_else(|| {
            Error::invalid(format!(
                "clip refers to video {video} of {}",
                self.paths.len()
            ))
        })?;
        if self.current.as_ref().map(|(i, _)| *i) != Some(video) {
            self.current = Some((video, video::open_with(path, self.spec)?));
            self.window.clear();
        }
        Ok(())
    }

    /// How many frame pairs' flow this reader has computed so far.
    pub fn pairs_computed(&self) -> usize {
        self.flow.as_ref().map_or(0, FlowStage::pairs_computed)
    }

    /// Makes the window hold exactly the frames the clip needs (and a flow for
    /// each pair), reading only what it lacks.
    fn fill(&mut self, clip: &Clip) -> Result<()> {
        self.open(clip.video)?;
        let path = &self.paths[clip.video];
        let Some((_, video)) = self.current.as_mut() else {
            return Err(Error::invalid("no video open"));
        };
        if clip.len == 0 || clip.start + clip.len > video.len() {
            return Err(Error::invalid(format!(
                "{}: clip {}..{} past the last frame ({})",
                path.display(),
                clip.start,
                clip.start + clip.len,
                video.len()
            )));
        }
        // Keep the frames this clip shares with the previous one.
        while self.window.front().is_some_and(|s| s.index < clip.start) {
            self.window.pop_front();
        }
        if self.window.front().is_some_and(|s| s.index != clip.start) {
            self.window.clear();
        }
        while self.window.len() > clip.len {
            self.window.pop_back();
        }
        // The flow stage continues from the window's last frame, if any.
        if let Some(stage) = &mut self.flow {
            match self.window.back() {
                Some(last) => {
                    stage.restart();
                    stage.push(&last.frame)?;
                }
                None => stage.restart(),
            }
        }
        let mut next = self.window.back().map_or(clip.start, |s| s.index + 1);
        while next < clip.start + clip.len {
            let mut frame = Frame::default();
            video.read_f32_into(next, &mut self.scratch, &mut frame)?;
            let flow = match &mut self.flow {
                Some(stage) => stage.push(&frame)?,
                None => None,
            };
            self.window.push_back(Slot {
                index: next,
                frame,
                flow,
            });
            next += 1;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_never_cross_videos() {
        let c = clips(&[6, 3, 5], 5, 1).unwrap();
        let got: Vec<_> = c.iter().map(|c| (c.video, c.start)).collect();
        assert_eq!(got, vec![(0, 0), (0, 1), (2, 0)]);
        assert!(c.iter().all(|c| c.len == 5));
        let c = clips(&[10], 3, 4).unwrap();
        assert_eq!(c.iter().map(|c| c.start).collect::<Vec<_>>(), vec![0, 4]);
        assert_eq!(c[1].last(), 6);
        assert!(clips(&[10], 0, 1).is_err() && clips(&[10], 2, 0).is_err());
    }
}
