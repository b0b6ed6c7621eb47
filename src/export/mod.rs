//! Exported videos of a detector at work: the chosen views of each frame
//! side by side (the frame, its pixel score map, its optical flow), the score
//! map blended over the frame, the ground truth's masks and boxes outlined,
//! and the score curve with its threshold and a playhead underneath; one
//! output frame per input frame, at the video's rate, encoded by
//! [`crate::video::encode`]. Engine code: the CLI exports without the GUI.
//!
//! Colours of the score map are fixed for the whole export: the map values of
//! the exported frames are mapped from their median (transparent, the colour
//! map's start) to their 99.9th percentile (opaque, its end), so that the same
//! error looks the same on every frame and a typical background stays clear.

pub mod canvas;
pub mod colormap;
pub mod curve;

use std::ops::Range;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use canvas::{Area, Canvas};
use colormap::Colormap;
use curve::CurveStrip;

use crate::error::{Error, Result};
use crate::flow::{self, Flow};
use crate::frame::Frame;
use crate::metrics::VideoScores;
use crate::score::ScoreMaps;
use crate::truth::VideoTruth;
use crate::video::encode::{EncodeOptions, VideoWriter};
use crate::video::OutputSpec;

/// Ground-truth outlines and boxes.
pub const TRUTH_COLOR: [u8; 3] = [64, 224, 96];
/// Widest output the exporter writes; wider layouts are scaled down.
pub const MAX_WIDTH: usize = 3840;

/// One panel of the exported frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    /// The video frame, with the overlay and the ground truth on it.
    Frame,
    /// The pixel score map in the colour map.
    Error,
    /// The optical flow from the previous frame, colour-coded (Middlebury wheel).
    Flow,
}

impl View {
    /// Every view, in the order `--views` lists them.
    pub const ALL: [View; 3] = [View::Frame, View::Error, View::Flow];

    /// The view's name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            View::Frame => "frame",
            View::Error => "error",
            View::Flow => "flow",
        }
    }
}

impl std::str::FromStr for View {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<View, String> {
        View::ALL
            .into_iter()
            .find(|v| v.name() == s.trim())
            .ok_or_else(|| format!("{s:?} is not a view (frame, error or flow)"))
    }
}

/// What an export shows.
#[derive(Debug, Clone)]
pub struct ExportOptions {
    /// Frames to export (`None`: the whole video); half-open.
    pub range: Option<Range<usize>>,
    /// Panels, left to right.
    pub views: Vec<View>,
    /// Blend the score map over the frame views with this opacity (0 to 1).
    pub overlay: Option<f32>,
    /// Draw the score curve under the panels.
    pub curve: bool,
    /// The threshold line of the curve, in score units; `None`: halfway
    /// between the video's lowest and highest score (the app's default).
    pub threshold: Option<f64>,
    /// Colours of the score map.
    pub colormap: Colormap,
    /// Encoder settings.
    pub encode: EncodeOptions,
    /// The output's frame rate; `None`: the video's (give a dataset's rate
    /// for its frame folders, which have none of their own).
    pub fps: Option<f64>,
}

impl Default for ExportOptions {
    fn default() -> Self {
        ExportOptions {
            range: None,
            views: vec![View::Frame],
            overlay: None,
            curve: false,
            threshold: None,
            colormap: Colormap::Inferno,
            encode: EncodeOptions::default(),
            fps: None,
        }
    }
}

/// What is drawn besides the video: all optional, but a view or an overlay
/// that needs one that is missing is an error before anything is written.
#[derive(Debug, Clone, Default)]
pub struct ExportInputs {
    /// Frame scores (the `score` column draws the curve).
    pub scores: Option<VideoScores>,
    /// Pixel score maps of the scored frames (`vadscope score --maps`): row
    /// `k` is frame `n - rows + k` of an `n`-frame video.
    pub maps: Option<ScoreMaps>,
    /// Ground truth: masks and boxes outlined, anomalous frames shaded.
    pub truth: Option<VideoTruth>,
}

/// What an export wrote.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportSummary {
    /// Frames written.
    pub frames: usize,
    /// Output width and height in pixels.
    pub size: (usize, usize),
    /// Frames per second (the video's).
    pub fps: f64,
    /// The encoder used.
    pub codec: String,
    /// Stopped by the caller's flag: nothing was written.
    pub cancelled: bool,
}

impl ExportInputs {
    /// Scores `video` (named `name`) with the checkpoint `checkpoint` (a
    /// file, or a run folder holding `checkpoint.safetensors`) and keeps its
    /// pixel score maps: the curve, the error view and the overlay of an
    /// export. `progress` is called once per decoded frame.
    pub fn from_model(
        checkpoint: &Path,
        video: &Path,
        name: &str,
        device: &candle_core::Device,
        progress: &dyn Fn(),
    ) -> Result<ExportInputs> {
        let ckpt = if checkpoint.is_dir() {
            crate::train::checkpoint_path(checkpoint)
        } else {
            checkpoint.to_path_buf()
        };
        if !ckpt.is_file() {
            return Err(Error::invalid(format!(
                "{}: no checkpoint here (`vadscope train -o RUN` writes RUN/checkpoint.safetensors)",
                checkpoint.display()
            )));
        }
        let mut scorer = crate::score::Scorer::load(&ckpt, device)?;
        scorer.keep_score_maps(true);
        let scores = scorer.score_video(video, progress)?;
        let mut s = VideoScores::single(name, scores.iter().map(|s| s.score).collect());
        s.first_frame = scores.first().map_or(0, |s| s.frame);
        Ok(ExportInputs {
            scores: Some(s),
            maps: scorer.take_score_maps(),
            truth: None,
        })
    }
}

/// Parses `A..B` (frames A to B−1), `A..` or `..B`.
pub fn parse_range(s: &str) -> std::result::Result<(Option<usize>, Option<usize>), String> {
    let (a, b) = s
        .split_once("..")
        .ok_or_else(|| format!("{s:?}: expected a frame range A..B (B excluded), A.. or ..B"))?;
    let num = |t: &str| -> std::result::Result<Option<usize>, String> {
        let t = t.trim();
        if t.is_empty() {
            return Ok(None);
        }
        t.parse()
            .map(Some)
            .map_err(|_| format!("{t:?} in {s:?} is not a frame number"))
    };
    Ok((num(a)?, num(b)?))
}

/// The frames `start..end` of an `n`-frame video, checked.
pub fn clamp_range(
    (start, end): (Option<usize>, Option<usize>),
    n: usize,
    video: &Path,
) -> Result<Range<usize>> {
    let (a, b) = (start.unwrap_or(0), end.unwrap_or(n));
    if a >= b || b > n {
        return Err(Error::invalid(format!(
            "{}: the range {a}..{b} is not inside the video's {n} frames (0..{n})",
            video.display()
        )));
    }
    Ok(a..b)
}

/// The frame scores as one value per video frame (`None` where unscored).
fn per_frame(scores: &VideoScores, n: usize) -> Vec<Option<f64>> {
    let mut out = vec![None; n];
    if let Some(col) = scores
        .columns
        .get("score")
        .or(scores.columns.values().next())
    {
        for (k, &v) in col.iter().enumerate() {
            if let Some(slot) = out.get_mut(scores.first_frame + k) {
                *slot = v.is_finite().then_some(v);
            }
        }
    }
    out
}

/// The map value range that the colours span: the median and the 99.9th
/// percentile of the maps of `range` (sampled: at most ~1M values).
fn map_span(maps: &ScoreMaps, first: usize, range: &Range<usize>) -> (f32, f32) {
    let rows: Vec<usize> = range
        .clone()
        .filter_map(|f| f.checked_sub(first))
        .filter(|&k| k < maps.frames())
        .collect();
    let per_row = maps.width * maps.height;
    let step = (rows.len() * per_row / 1_000_000).max(1);
    let mut v: Vec<f32> = Vec::new();
    for &k in &rows {
        v.extend(maps.frame(k).iter().step_by(step).filter(|x| x.is_finite()));
    }
    if v.is_empty() {
        return (0.0, 1.0);
    }
    v.sort_by(f32::total_cmp);
    let q = |p: f64| v[((v.len() - 1) as f64 * p).round() as usize];
    let (lo, hi) = (q(0.5), q(0.999));
    (lo, if hi > lo { hi } else { lo + 1e-6 })
}

/// The layout: one `w` x `h` panel per view, the curve strip under them;
/// sides even (4:2:0 video needs them so).
struct Layout {
    panel: (usize, usize),
    strip_h: usize,
    size: (usize, usize),
}

impl Layout {
    fn new(frame: (usize, usize), views: usize, curve: bool) -> Layout {
        let views = views.max(1);
        let scale = (MAX_WIDTH as f64 / (frame.0 * views) as f64).min(1.0);
        let panel = (
            ((frame.0 as f64 * scale) as usize).max(2),
            ((frame.1 as f64 * scale) as usize).max(2),
        );
        let strip_h = if curve { (panel.1 / 4).max(48) } else { 0 };
        let even = |v: usize| v + v % 2;
        Layout {
            panel,
            strip_h,
            size: (even(panel.0 * views), even(panel.1 + strip_h)),
        }
    }

    fn area(&self, i: usize) -> Area {
        Area {
            x: i * self.panel.0,
            y: 0,
            w: self.panel.0,
            h: self.panel.1,
        }
    }
}

/// Keeps the flow's colour scale steady: vectors of the largest length seen
/// so far (at least one pixel) are fully saturated.
struct FlowPanel {
    estimator: flow::FlowEstimator,
    prev: Option<Frame<f32>>,
    scratch: Frame<f32>,
    radius: f32,
}

impl FlowPanel {
    fn next(&mut self, rgb: &Frame<u8>) -> Result<Frame<u8>> {
        rgb.to_f32_into(&mut self.scratch);
        let mut gray = Frame::new(rgb.width, rgb.height, 1);
        self.scratch.to_gray_into(&mut gray);
        let f = match &self.prev {
            Some(prev) => self.estimator.estimate(prev, &gray)?,
            None => Flow::zeros(rgb.width, rgb.height),
        };
        self.prev = Some(gray);
        let mut lengths: Vec<f32> = f
            .data
            .chunks_exact(2)
            .map(|p| (p[0] * p[0] + p[1] * p[1]).sqrt())
            .filter(|l| l.is_finite())
            .collect();
        if !lengths.is_empty() {
            let k = (lengths.len() - 1) * 99 / 100;
            let (_, p99, _) = lengths.select_nth_unstable_by(k, f32::total_cmp);
            self.radius = self.radius.max(*p99);
        }
        Ok(flow::flow_to_rgb_with_max(&f, self.radius.max(1.0)))
    }
}

/// Exports frames of `video` to `out` (see the module documentation).
/// `progress` is called with the number of frames written so far; setting
/// `stop` ends the export early, leaving no file behind (`cancelled`).
pub fn export(
    video: &Path,
    out: &Path,
    inputs: &ExportInputs,
    opts: &ExportOptions,
    progress: &dyn Fn(usize),
    stop: &AtomicBool,
) -> Result<ExportSummary> {
    let mut reader = crate::video::open_with(video, OutputSpec::rgb())?;
    let n = reader.len();
    let fps = opts.fps.unwrap_or(reader.info().fps);
    let range = match &opts.range {
        Some(r) => clamp_range((Some(r.start), Some(r.end)), n, video)?,
        None => clamp_range((None, None), n, video)?,
    };
    let wants_map = opts.overlay.is_some() || opts.views.contains(&View::Error);
    let maps = match (&inputs.maps, wants_map) {
        (Some(m), true) => {
            if m.frames() > n {
                return Err(Error::invalid(format!(
                    "{}: the score maps have {} frames, the video {n}",
                    video.display(),
                    m.frames()
                )));
            }
            Some((m, n - m.frames()))
        }
        (None, true) => {
            return Err(Error::invalid(format!(
                "{}: the error view and overlay need pixel score maps: score with \
                 `vadscope score --maps` and pass that folder, or export with --model",
                video.display()
            )))
        }
        (_, false) => None,
    };
    let scores = inputs.scores.as_ref().map(|s| per_frame(s, n));
    if opts.curve && scores.is_none() {
        return Err(Error::invalid(format!(
            "{}: the score curve needs scores (--scores or --model)",
            video.display()
        )));
    }
    let span = maps.map(|(m, first)| map_span(m, first, &range));
    let frame_size = reader.output_size();
    let layout = Layout::new(frame_size, opts.views.len(), opts.curve);
    let truth = inputs.truth.as_ref();
    let mask_frames = truth
        .and_then(|t| t.masks.as_ref())
        .map(|m| m.frames())
        .transpose()?;
    let strip = scores.as_ref().filter(|_| opts.curve).map(|s| {
        let threshold = opts.threshold.or_else(|| {
            let (lo, hi) = s
                .iter()
                .flatten()
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| {
                    (a.min(v), b.max(v))
                });
            (lo <= hi).then_some(lo + 0.5 * (hi - lo))
        });
        let truth_ivs = truth.map(|t| t.anomalous.clone()).unwrap_or_default();
        CurveStrip::new(
            s,
            &truth_ivs,
            threshold,
            range.clone(),
            (layout.size.0, layout.strip_h),
        )
    });
    let mut flow_panel = if opts.views.contains(&View::Flow) {
        Some(FlowPanel {
            estimator: flow::FlowEstimator::new(flow::Params::default())?,
            prev: None,
            scratch: Frame::default(),
            radius: 0.0,
        })
    } else {
        None
    };
    let mut writer = VideoWriter::create(out, layout.size.0, layout.size.1, fps, &opts.encode)?;
    let mut rgb = Frame::new(0, 0, 3);
    if let (Some(fp), true) = (flow_panel.as_mut(), range.start > 0) {
        // The first exported frame's flow comes from the frame before it.
        reader.read_into(range.start - 1, &mut rgb)?;
        fp.next(&rgb)?;
    }
    for (done, f) in range.clone().enumerate() {
        if stop.load(Ordering::Relaxed) {
            drop(writer);
            return Ok(ExportSummary {
                frames: done,
                size: layout.size,
                fps,
                codec: String::new(),
                cancelled: true,
            });
        }
        reader.read_into(f, &mut rgb)?;
        let map = match (maps, span) {
            (Some((m, first)), Some((lo, hi))) => {
                f.checked_sub(first).filter(|&k| k < m.frames()).map(|k| {
                    let (w, h) = layout.panel;
                    let t: Vec<f32> = m
                        .resized(k, w, h)
                        .into_iter()
                        .map(|v| colormap::normalize(v, lo, hi, 1.0))
                        .collect();
                    t
                })
            }
            _ => None,
        };
        let mut canvas = Canvas::new(layout.size.0, layout.size.1, curve::BACKGROUND);
        for (i, view) in opts.views.iter().enumerate() {
            let area = layout.area(i);
            match view {
                View::Frame => {
                    canvas.blit(&rgb, area);
                    if let (Some(opacity), Some(t)) = (opts.overlay, &map) {
                        canvas.heat(t, layout.panel, area, opts.colormap, opacity, false);
                    }
                    if let Some(t) = truth {
                        let mask = match &mask_frames {
                            Some(mf) if f < mf.len() => mf.get(f)?,
                            _ => None,
                        };
                        draw_truth(&mut canvas, t, mask.as_ref(), f, area, frame_size);
                    }
                }
                View::Error => match &map {
                    Some(t) => canvas.heat(t, layout.panel, area, opts.colormap, 1.0, true),
                    None => canvas.fill(area, [0, 0, 0]),
                },
                View::Flow => {
                    if let Some(fp) = flow_panel.as_mut() {
                        let img = fp.next(&rgb)?;
                        canvas.blit(&img, area);
                    }
                }
            }
        }
        if let Some(s) = &strip {
            s.draw(&mut canvas, 0, layout.panel.1, f);
        }
        writer.write(&canvas.into_frame())?;
        progress(done + 1);
    }
    let codec = writer.codec_name().to_owned();
    let frames = writer.frames_written();
    writer.finish()?;
    Ok(ExportSummary {
        frames,
        size: layout.size,
        fps,
        codec,
        cancelled: false,
    })
}

/// The ground truth of frame `f` on a frame panel: the mask's outline, the
/// boxes, and a border round the panel when the frame is anomalous.
fn draw_truth(
    canvas: &mut Canvas,
    truth: &VideoTruth,
    mask: Option<&crate::truth::pixels::PixelMask>,
    f: usize,
    area: Area,
    frame_size: (usize, usize),
) {
    if let Some(m) = mask {
        canvas.outline(m, area, TRUTH_COLOR);
    }
    let (sx, sy) = (
        area.w as f32 / frame_size.0.max(1) as f32,
        area.h as f32 / frame_size.1.max(1) as f32,
    );
    for r in truth.regions.iter().filter(|r| r.frame == f) {
        let (x0, y0) = (area.x as f32 + r.x * sx, area.y as f32 + r.y * sy);
        let (x1, y1) = (x0 + r.w * sx, y0 + r.h * sy);
        canvas.rect(
            x0.round() as i64,
            y0.round() as i64,
            x1.round() as i64,
            y1.round() as i64,
            2,
            TRUTH_COLOR,
        );
    }
    if truth.is_anomalous(f) {
        let (x, y) = (area.x as i64, area.y as i64);
        canvas.rect(x, y, x + area.w as i64, y + area.h as i64, 3, TRUTH_COLOR);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_parse_and_are_checked_against_the_video() {
        assert_eq!(parse_range("10..20"), Ok((Some(10), Some(20))));
        assert_eq!(parse_range("5.."), Ok((Some(5), None)));
        assert_eq!(parse_range("..7"), Ok((None, Some(7))));
        assert!(parse_range("5-9").unwrap_err().contains("A..B"));
        assert!(parse_range("a..9")
            .unwrap_err()
            .contains("not a frame number"));
        let v = Path::new("v.mp4");
        assert_eq!(clamp_range((Some(3), None), 10, v).unwrap(), 3..10);
        let e = clamp_range((Some(3), Some(30)), 10, v)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("3..30") && e.contains("10 frames") && e.contains("v.mp4"),
            "{e}"
        );
        assert!(clamp_range((Some(4), Some(4)), 10, v).is_err());
    }

    #[test]
    fn layouts_are_even_and_capped() {
        let l = Layout::new((361, 241), 3, true);
        assert_eq!(l.panel, (361, 241));
        assert_eq!(l.size, (1084, 241 + 60 + 1));
        assert_eq!(l.size.0 % 2 + l.size.1 % 2, 0);
        let wide = Layout::new((1920, 1080), 3, false);
        assert!(wide.size.0 <= MAX_WIDTH && wide.size.0 >= MAX_WIDTH - 4);
    }

    #[test]
    fn the_map_span_runs_from_the_median_to_the_top() {
        let mut maps = ScoreMaps::default();
        for k in 0..4 {
            let v: Vec<f32> = (0..100).map(|i| (i + k) as f32).collect();
            maps.push(10, 10, &v).unwrap();
        }
        // Rows 0..4 are frames 6..10 of a 10-frame video; frames 0..8 export rows 0 and 1.
        let (lo, hi) = map_span(&maps, 6, &(0..8));
        assert!((49.0..=51.0).contains(&lo), "{lo}");
        assert!((99.0..=101.0).contains(&hi), "{hi}");
    }
}
