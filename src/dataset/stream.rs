//! The clip pipeline as a stream: decode → flow → consumer in three stages
//! that overlap, for reading a whole video in order (scoring, training).
//!
//! Decoding and flow run on their own threads, connected to the consumer
//! (the caller's thread, usually the model) by bounded queues, so a video is
//! never held in memory whole and each stage works while the others do. Every
//! stage stops at the next frame when `cancel` is set; an error in any stage
//! ends the run with that error.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::time::{Duration, Instant};

use super::clips::{open_for_model, FlowStage};
use crate::error::{Error, Result};
use crate::flow::Flow;
use crate::frame::Frame;
use crate::model::config::InputConfig;
use crate::video;

/// Frames queued between two stages: enough to absorb jitter, small in memory.
const QUEUE: usize = 16;

/// A decoded frame at the model's size and the flow from its predecessor.
pub struct Prepared {
    /// The frame, in `[0, 1]`.
    pub frame: Frame<f32>,
    /// The flow from the frame before (none for the first frame).
    pub flow: Option<Flow>,
}

/// Busy time of each stage and the run's wall time.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct StageTimes {
    /// Frames that went through the pipeline.
    pub frames: usize,
    /// Time spent decoding and resizing.
    pub decode: Duration,
    /// Time spent computing optical flow.
    pub flow: Duration,
    /// Time spent in the model (batching, forward, reading scores back).
    pub model: Duration,
    /// Wall-clock time of the whole run.
    pub wall: Duration,
}

/// How a pipeline run ended.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Outcome {
    /// Stopped early because `cancel` was set.
    pub cancelled: bool,
    /// Where the time went.
    pub times: StageTimes,
}

/// Runs the pipeline over `video` for a model with input `input`:
/// `model_stage` receives every prepared frame in order and does the
/// model's work; `on_frames` gets the frame count first.
pub fn run(
    video: &Path,
    input: &InputConfig,
    cancel: &AtomicBool,
    model_stage: &mut dyn FnMut(Prepared) -> Result<()>,
    on_frames: &mut dyn FnMut(usize),
) -> Result<Outcome> {
    let started = Instant::now();
    let mut v = open_for_model(video, input)?;
    let total = v.len();
    on_frames(total);
    let mut flow = FlowStage::for_model(input)?;
    let (decoded_tx, decoded_rx) = sync_channel::<Result<Frame<f32>>>(QUEUE);
    let (prepared_tx, prepared_rx) = sync_channel::<Result<Prepared>>(QUEUE);
    let mut times = StageTimes::default();
    let mut cancelled = false;
    let (decode_time, flow_time, model_result) = std::thread::scope(|s| {
        let decoder = s.spawn(move || decode_stage(&mut v, cancel, decoded_tx));
        let flower = s.spawn(move || flow_stage(&mut flow, decoded_rx, prepared_tx, cancel));
        let mut model_time = Duration::ZERO;
        let mut result = Ok(());
        for item in prepared_rx.iter() {
            if cancel.load(Ordering::Relaxed) {
                cancelled = true;
                break;
            }
            let t0 = Instant::now();
            result = item.and_then(&mut *model_stage);
            model_time += t0.elapsed();
            if result.is_err() {
                break;
            }
            times.frames += 1;
        }
        // Dropping the receiver unblocks the other stages if we stopped early.
        drop(prepared_rx);
        let join = |h: std::thread::ScopedJoinHandle<'_, Duration>| {
            h.join()
                .map_err(|_| Error::invalid("a pipeline stage panicked"))
        };
        (join(decoder), join(flower), result.map(|()| model_time))
    });
    times.model = model_result?;
    times.decode = decode_time?;
    times.flow = flow_time?;
    times.wall = started.elapsed();
    cancelled |= cancel.load(Ordering::Relaxed) && times.frames < total;
    Ok(Outcome { cancelled, times })
}

fn decode_stage(
    v: &mut video::Video,
    cancel: &AtomicBool,
    out: SyncSender<Result<Frame<f32>>>,
) -> Duration {
    let mut busy = Duration::ZERO;
    let mut scratch = Frame::default();
    for i in 0..v.len() {
        if cancel.load(Ordering::Relaxed) {
            break;
        }
        let t0 = Instant::now();
        let mut f = Frame::default();
        let r = v.read_f32_into(i, &mut scratch, &mut f).map(|()| f);
        busy += t0.elapsed();
        let failed = r.is_err();
        if out.send(r).is_err() || failed {
            break;
        }
    }
    busy
}

fn flow_stage(
    stage: &mut FlowStage,
    input: Receiver<Result<Frame<f32>>>,
    out: SyncSender<Result<Prepared>>,
    cancel: &AtomicBool,
) -> Duration {
    let mut busy = Duration::ZERO;
    for item in input.iter() {
        if cancel.load(Ordering::Relaxed) {
            break;
        }
        let t0 = Instant::now();
        let prepared = item.and_then(|frame| {
            let flow = stage.push(&frame)?;
            Ok(Prepared { frame, flow })
        });
        busy += t0.elapsed();
        let failed = prepared.is_err();
        if out.send(prepared).is_err() || failed {
            break;
        }
    }
    busy
}
