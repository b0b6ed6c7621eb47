//! File → Export video…: the engine's exporter ([`crate::export`]) on the
//! open video, on its own thread, with progress in the status bar and a
//! cancel. It exports what the app shows: the loop selection (else the whole
//! video), the edited ground truth, the score curve at the app's threshold,
//! and with a model (or a score folder with maps) the error panel and the
//! overlay at the app's opacity and colour map.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver};
use std::sync::Arc;

use anyhow::Context;

use crate::app::curves::Lane;
use crate::app::VadApp;
use crate::export::{self, ExportInputs, ExportOptions, ExportSummary, View};
use crate::metrics::VideoScores;
use crate::score::ScoreMaps;

/// An export running in the background.
pub struct ExportJob {
    /// The file being written.
    pub path: PathBuf,
    /// Frames to write.
    pub total: usize,
    done: Arc<AtomicUsize>,
    scoring: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
    rx: Receiver<anyhow::Result<ExportSummary>>,
}

impl ExportJob {
    /// Frames written so far, and whether it is still scoring first.
    pub fn progress(&self) -> (usize, bool) {
        (
            self.done.load(Ordering::Relaxed),
            self.scoring.load(Ordering::Relaxed),
        )
    }

    /// Asks the export to stop; it leaves no file.
    pub fn cancel(&self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

impl VadApp {
    /// Starts exporting to `path` (see the module documentation).
    pub(crate) fn start_export(&mut self, path: PathBuf) {
        if self.exporting.is_some() {
            self.state
                .errors
                .push("an export is running: wait for it or cancel it first".into());
            return;
        }
        if self.doc.live().is_some() {
            self.state.errors.push(
                "a live source keeps only its newest frames: record it (vadscope watch --record DIR) and export the recording"
                    .into(),
            );
            return;
        }
        let range = self.state.selection.map(|(a, b)| a..b);
        let n = self.doc.len;
        let total = range.as_ref().map_or(n, |r| r.len());
        let scores: Vec<f64> = self
            .store
            .curves
            .lane(Lane::Score)
            .iter()
            .map(|&v| v as f64)
            .collect();
        let has_scores = scores.iter().any(|v| v.is_finite());
        let target = crate::app::model_target(&self.doc);
        let video = match &self.doc.frames {
            crate::app::source::Frames::Video(v) => Some(crate::app::video_path(&self.doc, v)),
            crate::app::source::Frames::Synthetic(_) | crate::app::source::Frames::Live(_) => None,
        };
        let maps_file = self
            .doc
            .scores
            .as_ref()
            .and_then(|s| s.source.as_deref()?.parent().map(|d| d.to_path_buf()))
            .map(|dir| crate::score::maps_path(&dir, &self.doc.name))
            .filter(|p| p.is_file());
        let name = self.doc.name.clone();
        let truth = self.store.truth.present.then(|| self.store.truth.video());
        let settings = &self.state.settings;
        let opacity = settings.overlay_opacity;
        let colormap = settings.colormap;
        let threshold = self.state.threshold;
        let fps = self.doc.fps;
        let done = Arc::new(AtomicUsize::new(0));
        let scoring = Arc::new(AtomicBool::new(false));
        let stop = Arc::new(AtomicBool::new(false));
        let (tx, rx) = mpsc::channel();
        let ctx = self.ctx.clone();
        let (d, sc, st, out) = (done.clone(), scoring.clone(), stop.clone(), path.clone());
        let spawned = std::thread::Builder::new()
            .name("vadscope-export".into())
            .spawn(move || {
                let run = || -> anyhow::Result<ExportSummary> {
                    // The demo's frames and weights are files only once written.
                    let (video, checkpoint) = match (&target, video) {
                        (Some(t), v) => {
                            let (c, frames) = t.resolve()?;
                            (v.unwrap_or(frames), Some(c))
                        }
                        (None, Some(v)) => (v, None),
                        (None, None) => anyhow::bail!("nothing to export"),
                    };
                    let mut inputs = match (&checkpoint, &maps_file) {
                        (Some(c), _) => {
                            sc.store(true, Ordering::Relaxed);
                            let device = candle_core::Device::Cpu;
                            let i = ExportInputs::from_model(c, &video, &name, &device, &|| {})
                                .with_context(|| {
                                    format!("scoring {} for the export", video.display())
                                })?;
                            sc.store(false, Ordering::Relaxed);
                            i
                        }
                        (None, Some(m)) => ExportInputs {
                            scores: None,
                            maps: Some(ScoreMaps::read(m)?),
                            truth: None,
                        },
                        (None, None) => ExportInputs::default(),
                    };
                    if inputs.scores.is_none() && has_scores {
                        inputs.scores = Some(VideoScores::single(&name, scores));
                    }
                    inputs.truth = truth;
                    let with_maps = inputs.maps.is_some();
                    let opts = ExportOptions {
                        range,
                        views: if with_maps {
                            vec![View::Frame, View::Error]
                        } else {
                            vec![View::Frame]
                        },
                        overlay: (with_maps && opacity > 0.0).then_some(opacity),
                        curve: inputs.scores.is_some(),
                        threshold: Some(threshold),
                        colormap,
                        encode: Default::default(),
                        fps: Some(fps),
                    };
                    let progress = |k: usize| {
                        d.store(k, Ordering::Relaxed);
                        ctx.request_repaint();
                    };
                    Ok(export::export(
                        &video, &out, &inputs, &opts, &progress, &st,
                    )?)
                };
                let _ = tx.send(run());
                ctx.request_repaint();
            });
        match spawned {
            Ok(_) => {
                self.exporting = Some(ExportJob {
                    path,
                    total,
                    done,
                    scoring,
                    stop,
                    rx,
                })
            }
            Err(e) => self
                .state
                .errors
                .push(format!("cannot start the export thread: {e}")),
        }
    }

    /// Collects a finished export: its message, or its error naming the file.
    pub(crate) fn poll_export(&mut self) {
        let Some(job) = &self.exporting else { return };
        let Ok(result) = job.rx.try_recv() else {
            return;
        };
        let job = self.exporting.take().expect("checked above");
        match result {
            Ok(s) if s.cancelled => {
                self.annotator.message = Some("export cancelled: nothing was written".into())
            }
            Ok(s) => {
                self.annotator.message = Some(format!(
                    "exported {} frames ({}x{}) to {}",
                    s.frames,
                    s.size.0,
                    s.size.1,
                    job.path.display()
                ))
            }
            Err(e) => self
                .state
                .errors
                .push(format!("export to {} failed: {e:#}", job.path.display())),
        }
    }
}
