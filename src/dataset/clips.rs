//! Clips: windows of `t + 1` consecutive frames of one video (t inputs and the
//! frame to predict), read resized and normalised for the model.

use std::collections::VecDeque;
use std::path::PathBuf;

use crate::error::{Error, Result};
use crate::frame::Frame;
use crate::video::{self, OutputSpec, Video};

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

/// Reads clips as `f32` frames in `[0, 1]` at the output spec's size. Keeps the
/// frames of the current window, so consecutive overlapping clips (stride 1, as
/// in scoring) decode each frame once.
pub struct ClipReader {
    paths: Vec<PathBuf>,
    spec: OutputSpec,
    current: Option<(usize, Video)>,
    window: VecDeque<(usize, Frame<f32>)>,
    scratch: Frame<u8>,
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
        }
    }

    /// Reads `clip` into `out` (one frame per element, reused).
    pub fn read(&mut self, clip: &Clip, out: &mut Vec<Frame<f32>>) -> Result<()> {
        let path = self.paths.get(clip.video).ok_or_else(|| {
            Error::invalid(format!(
                "clip refers to video {} of {}",
                clip.video,
                self.paths.len()
            ))
        })?;
        if self.current.as_ref().map(|(i, _)| *i) != Some(clip.video) {
            self.current = Some((clip.video, video::open_with(path, self.spec)?));
            self.window.clear();
        }
        let (_, video) = self.current.as_mut().expect("opened above");
        if clip.start + clip.len > video.len() {
            return Err(Error::invalid(format!(
                "{}: clip {}..{} past the last frame ({})",
                path.display(),
                clip.start,
                clip.start + clip.len,
                video.len()
            )));
        }
        // Keep the frames this clip shares with the previous one.
        while self.window.front().is_some_and(|(i, _)| *i < clip.start) {
            self.window.pop_front();
        }
        if self.window.front().is_some_and(|(i, _)| *i != clip.start) {
            self.window.clear();
        }
        let mut next = self.window.back().map_or(clip.start, |(i, _)| i + 1);
        while next < clip.start + clip.len {
            let mut f = Frame::default();
            video.read_f32_into(next, &mut self.scratch, &mut f)?;
            self.window.push_back((next, f));
            next += 1;
        }
        out.clear();
        out.extend(self.window.iter().take(clip.len).map(|(_, f)| f.clone()));
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
