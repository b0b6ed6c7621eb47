//! Scoring on a background thread: the app (or any caller that must not block)
//! asks for a video to be scored and polls for events as the scores arrive.
//!
//! Events go through a bounded queue, so a caller that stops polling slows the
//! worker down instead of filling memory; dropping the [`ScoreWorker`] cancels
//! the run. A panic inside the worker arrives as [`ScoreEvent::Failed`].

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TryRecvError};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Instant;

use super::{FrameScore, Scorer, StageTimes};
use crate::model::select_device;

/// Events a caller can fall behind on before the worker waits.
const QUEUE: usize = 256;

/// What to score.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScoreRequest {
    /// A checkpoint written by `vadscope train`.
    pub checkpoint: PathBuf,
    /// A video file or a frame folder.
    pub video: PathBuf,
    /// Use a GPU when the build has CUDA and one answers (else the CPU).
    pub gpu: bool,
}

/// What the worker reports, in order: `Started`, any number of `Scored`, then
/// exactly one of `Finished`, `Cancelled` or `Failed`.
#[derive(Debug, Clone, PartialEq)]
pub enum ScoreEvent {
    /// The model is loaded and the video open.
    Started {
        /// Frames in the video.
        frames: usize,
        /// The first frame with a score (t: earlier frames lack history).
        first_scored: usize,
        /// Where the model runs, e.g. `CPU` or `CUDA 0`.
        device: String,
        /// Why the CPU was used when a GPU was asked for.
        note: Option<String>,
    },
    /// Scores of consecutive frames, in order.
    Scored(Vec<FrameScore>),
    /// Every frame is scored.
    Finished {
        /// Wall-clock seconds from the request to the last score.
        secs: f64,
        /// Busy time of each pipeline stage.
        times: StageTimes,
    },
    /// Stopped by [`ScoreWorker::cancel`].
    Cancelled,
    /// Stopped by an error or a panic; the message names the file.
    Failed(String),
}

/// A scoring run on its own thread.
pub struct ScoreWorker {
    events: Receiver<ScoreEvent>,
    cancel: Arc<AtomicBool>,
    handle: Option<JoinHandle<()>>,
    finished: bool,
}

impl ScoreWorker {
    /// Starts scoring `req` on a new thread.
    pub fn spawn(req: ScoreRequest) -> ScoreWorker {
        let (tx, rx) = sync_channel(QUEUE);
        let cancel = Arc::new(AtomicBool::new(false));
        let flag = cancel.clone();
        let handle = std::thread::Builder::new()
            .name("vadscope-score".into())
            .spawn(move || {
                let failed = tx.clone();
                let run = catch_unwind(AssertUnwindSafe(|| work(&req, &flag, &tx)));
                let last = match run {
                    Ok(Ok(true)) => return,
                    Ok(Ok(false)) => ScoreEvent::Cancelled,
                    Ok(Err(msg)) => ScoreEvent::Failed(msg),
                    Err(panic) => ScoreEvent::Failed(format!(
                        "the scoring worker panicked: {}",
                        panic_message(&panic)
                    )),
                };
                let _ = failed.send(last);
            });
        match handle {
            Ok(handle) => ScoreWorker {
                events: rx,
                cancel,
                handle: Some(handle),
                finished: false,
            },
            Err(e) => {
                // No thread: report the failure through the same channel.
                let (tx, rx) = sync_channel(1);
                let _ = tx.send(ScoreEvent::Failed(format!(
                    "cannot start the scoring thread: {e}"
                )));
                ScoreWorker {
                    events: rx,
                    cancel,
                    handle: None,
                    finished: false,
                }
            }
        }
    }

    /// The events that arrived since the last call; never blocks.
    pub fn poll(&mut self) -> Vec<ScoreEvent> {
        let mut out = Vec::new();
        loop {
            match self.events.try_recv() {
                Ok(e) => {
                    if matches!(
                        e,
                        ScoreEvent::Finished { .. } | ScoreEvent::Cancelled | ScoreEvent::Failed(_)
                    ) {
                        self.finished = true;
                    }
                    out.push(e);
                }
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => {
                    self.finished = true;
                    break;
                }
            }
        }
        out
    }

    /// Asks the worker to stop at the next frame; a `Cancelled` event follows.
    pub fn cancel(&self) {
        self.cancel.store(true, Ordering::Relaxed);
    }

    /// Whether the final event has been polled.
    pub fn is_done(&self) -> bool {
        self.finished
    }

    /// Blocks until the run ends and returns every remaining event (for
    /// command-line use and tests).
    pub fn wait(mut self) -> Vec<ScoreEvent> {
        let mut out = Vec::new();
        while !self.finished {
            match self.events.recv() {
                Ok(e) => {
                    self.finished = matches!(
                        e,
                        ScoreEvent::Finished { .. } | ScoreEvent::Cancelled | ScoreEvent::Failed(_)
                    );
                    out.push(e);
                }
                Err(_) => self.finished = true,
            }
        }
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
        out
    }
}

impl Drop for ScoreWorker {
    fn drop(&mut self) {
        // Never block the caller (the UI thread): the worker sees the flag or
        // the closed channel and ends on its own.
        self.cancel();
    }
}

/// Scores the request; `Ok(true)` when finished, `Ok(false)` when cancelled.
fn work(
    req: &ScoreRequest,
    cancel: &AtomicBool,
    tx: &SyncSender<ScoreEvent>,
) -> Result<bool, String> {
    let started = Instant::now();
    let (device, note) = select_device(req.gpu);
    let device_name = if device.is_cuda() {
        "CUDA 0".to_string()
    } else if device.is_metal() {
        "Metal".to_string()
    } else {
        "CPU".to_string()
    };
    let mut scorer = Scorer::load(&req.checkpoint, &device).map_err(|e| e.to_string())?;
    let first_scored = scorer.config().input.frames;
    let mut note = note;
    let closed = std::cell::Cell::new(false);
    let outcome = scorer
        .score_stream(
            &req.video,
            cancel,
            &mut |frames| {
                let started = ScoreEvent::Started {
                    frames,
                    first_scored,
                    device: device_name.clone(),
                    note: note.take(),
                };
                if tx.send(started).is_err() {
                    closed.set(true);
                }
            },
            &mut |scores| {
                if tx.send(ScoreEvent::Scored(scores.to_vec())).is_err() {
                    // Nobody listens any more: stop working.
                    closed.set(true);
                    cancel.store(true, Ordering::Relaxed);
                }
            },
        )
        .map_err(|e| e.to_string())?;
    if outcome.cancelled || closed.get() {
        return Ok(false);
    }
    let finished = ScoreEvent::Finished {
        secs: started.elapsed().as_secs_f64(),
        times: outcome.times,
    };
    let _ = tx.send(finished);
    Ok(true)
}

fn panic_message(p: &Box<dyn std::any::Any + Send>) -> String {
    p.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into())
}
