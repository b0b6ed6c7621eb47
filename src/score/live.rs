//! Live scoring: the frames of a stream, a device or a file scored as they
//! arrive, by the causal protocol (DESIGN.md: "live source -> same pipeline,
//! causal").
//!
//! A reader thread decodes the source at its own pace and keeps the newest
//! `t + 1` consecutive frames at the model's size. The caller's thread scores:
//! each time it is free it takes the newest complete window, so when the model
//! is slower than the stream the frames in between are **dropped (keep the
//! newest)** and counted, and the latency stays bounded instead of growing
//! with a queue. Scores are the checkpoint's combined score (each term
//! z-scored by the training statistics: no per-video min-max, which would need
//! the future), then a causal smoother, then the event detector.
//!
//! When a stream drops (an error, a stall past the timeout, or its end), the
//! reader reconnects with exponential back-off; frame numbers go on counting,
//! the history window and the smoother start again, and an open event ends.

use std::collections::VecDeque;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::SyncSender;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use serde::Serialize;

use super::events::{EventDetector, EventRule, EventUpdate};
use super::{FrameScore, Scorer};
use crate::dataset::FlowStage;
use crate::error::{Error, Result};
use crate::flow::Flow;
use crate::frame::{Frame, PixelFormat};
use crate::metrics::{CausalSmoother, Smooth};
use crate::model::frame_spec;
use crate::video::live::{LiveInfo, LiveKind, LiveOptions, LiveSource};
use crate::video::OutputSpec;

/// The first reconnect waits this long; each failed attempt doubles it.
pub const FIRST_BACKOFF: Duration = Duration::from_millis(500);
/// The longest wait between two reconnect attempts.
pub const MAX_BACKOFF: Duration = Duration::from_secs(8);

/// How [`watch`] reads, scores and reports.
#[derive(Debug, Clone)]
pub struct WatchOptions {
    /// How the source is read (timeout, real-time files, growing files).
    pub live: LiveOptions,
    /// A causal smoother applied to the combined score before the events.
    pub smooth: Smooth,
    /// The event rule; `None`: no events.
    pub rule: Option<EventRule>,
    /// Reconnect attempts in a row before giving up (`None`: forever).
    pub retries: Option<usize>,
    /// Stop after this long.
    pub duration: Option<Duration>,
}

impl Default for WatchOptions {
    fn default() -> Self {
        WatchOptions {
            live: LiveOptions::default(),
            smooth: Smooth::None,
            rule: None,
            retries: Some(10),
            duration: None,
        }
    }
}

/// One frame scored live.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LiveScore {
    /// The frame's terms and combined score (frame numbers count every frame
    /// received since the start, across reconnects).
    #[serde(flatten)]
    pub score: FrameScore,
    /// The combined score after the causal smoother (what events see).
    pub smoothed: f64,
    /// From the frame decoded to its score available, in milliseconds.
    pub latency_ms: f64,
    /// Frames dropped so far in this watch (keep the newest).
    #[serde(skip)]
    pub dropped: usize,
}

/// What [`watch`] reports while it runs.
#[derive(Debug, Clone)]
pub enum WatchMessage {
    /// The source is open (again, after a reconnect).
    Connected(LiveInfo),
    /// A frame was scored.
    Scored(LiveScore),
    /// An event started or ended.
    Event(EventUpdate),
    /// The stream dropped; the next attempt is in `retry_in`.
    Dropped {
        /// Why, naming the source.
        error: String,
        /// The wait before the next attempt.
        retry_in: Duration,
        /// The attempt that comes next (1 = first reconnect).
        attempt: usize,
    },
}

/// Why a watch ended.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case", tag = "reason", content = "error")]
pub enum WatchEnd {
    /// The source ended (a file read to its end).
    Finished,
    /// Stopped by the caller (Ctrl-C, the app, `duration`).
    Stopped,
    /// The source could not be (re)opened within the retries.
    Failed(String),
}

/// Counts and timings of a watch.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct WatchStats {
    /// Frames decoded from the source.
    pub received: usize,
    /// Frames scored.
    pub scored: usize,
    /// Frames that had their history but were not scored because a newer
    /// one was ready when the model was free (keep the newest).
    pub dropped: usize,
    /// Successful reconnects.
    pub reconnects: usize,
    /// Wall time, in seconds.
    pub seconds: f64,
    /// End-to-end latency of every scored frame, in milliseconds.
    #[serde(skip)]
    pub latencies_ms: Vec<f64>,
}

impl WatchStats {
    /// Share of the frames with history that were dropped.
    pub fn drop_rate(&self) -> f64 {
        let n = self.scored + self.dropped;
        if n == 0 {
            0.0
        } else {
            self.dropped as f64 / n as f64
        }
    }

    /// Frames received per second of wall time.
    pub fn received_fps(&self) -> f64 {
        per_second(self.received, self.seconds)
    }

    /// Frames scored per second of wall time.
    pub fn scored_fps(&self) -> f64 {
        per_second(self.scored, self.seconds)
    }

    /// The `q`-quantile (0 to 1, nearest rank) of the latency, in ms.
    pub fn latency_ms(&self, q: f64) -> Option<f64> {
        let mut v = self.latencies_ms.clone();
        if v.is_empty() {
            return None;
        }
        v.sort_by(f64::total_cmp);
        let i = ((q.clamp(0.0, 1.0) * v.len() as f64).ceil() as usize).clamp(1, v.len()) - 1;
        Some(v[i])
    }
}

fn per_second(n: usize, secs: f64) -> f64 {
    if secs > 0.0 {
        n as f64 / secs
    } else {
        0.0
    }
}

/// How a watch went.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WatchSummary {
    /// Why it ended.
    pub end: WatchEnd,
    /// Its counts and timings.
    pub stats: WatchStats,
}

/// A frame as received, for recording or display.
#[derive(Debug, Clone)]
pub struct NativeFrame {
    /// Its frame number (as in [`LiveScore`]).
    pub index: usize,
    /// RGB at the source's size.
    pub frame: Frame<u8>,
    /// The source's announced frame rate.
    pub fps: Option<f64>,
}

/// A decoded frame at the model's size.
struct Timed {
    index: usize,
    frame: Frame<f32>,
    decoded_at: Instant,
}

/// What the reader shares with the scorer.
#[derive(Default)]
struct Slot {
    /// The newest consecutive frames of the current connection, at most t + 1.
    window: VecDeque<Arc<Timed>>,
    /// Bumped on every (re)connection: windows never span two.
    epoch: u64,
    /// The index of the first frame of the current connection.
    epoch_first: usize,
    received: usize,
    reconnects: usize,
    messages: Vec<WatchMessage>,
    end: Option<WatchEnd>,
}

type Shared = Arc<(Mutex<Slot>, Condvar)>;

impl Slot {
    /// Whether it holds a complete window that the scorer, last in `epoch`
    /// at frame `last`, has not scored.
    fn fresh(&self, t: usize, epoch: u64, last: Option<usize>) -> bool {
        self.window.len() == t + 1
            && (self.epoch != epoch || self.window.back().map(|f| f.index) > last)
    }
}

fn lock(shared: &Shared) -> std::sync::MutexGuard<'_, Slot> {
    shared.0.lock().unwrap_or_else(|p| p.into_inner())
}

/// Scores `source` live with `scorer` until it ends, fails past its retries,
/// `stop` is set, or `opts.duration` passes; `on` gets every message on the
/// calling thread. `native`, when given, receives every frame received (not
/// only the scored ones) in RGB at the source's size, for recording or
/// display; a full channel loses frames for it, never for scoring.
pub fn watch(
    source: &str,
    scorer: &mut Scorer,
    opts: &WatchOptions,
    stop: Arc<AtomicBool>,
    native: Option<SyncSender<NativeFrame>>,
    on: &mut dyn FnMut(WatchMessage),
) -> Result<WatchSummary> {
    let mut smoother = CausalSmoother::new(opts.smooth)?;
    let input = scorer.config().input.clone();
    let uses_flow = scorer.config().variant.uses_flow();
    let t = input.frames;
    let spec = frame_spec(&input);
    let started = Instant::now();
    let shared: Shared = Arc::default();
    let reader = {
        let (shared, stop, source) = (shared.clone(), stop.clone(), source.to_string());
        let live = opts.live.clone();
        let retries = opts.retries;
        std::thread::Builder::new()
            .name("live-reader".into())
            .spawn(move || read_loop(&source, &live, retries, t, spec, &shared, &stop, native))
            .map_err(|e| Error::invalid(format!("cannot start the reader thread ({e})")))?
    };
    let mut stats = WatchStats::default();
    let mut flow = FlowStage::for_model(&input)?;
    let mut detector = opts.rule.map(EventDetector::new);
    // Flows of the current epoch by the index of their first frame.
    let mut flows: VecDeque<(usize, Flow)> = VecDeque::new();
    let mut epoch = u64::MAX;
    let mut last: Option<usize> = None;
    let mut first_of_epoch = 0usize;
    let result = (|| -> Result<WatchEnd> {
        loop {
            if opts.duration.is_some_and(|d| started.elapsed() >= d) {
                stop.store(true, Ordering::Relaxed);
            }
            let (messages, window, end, slot_epoch, slot_first) = {
                let mut slot = lock(&shared);
                loop {
                    let ready = slot.fresh(t, epoch, last)
                        || slot.end.is_some()
                        || !slot.messages.is_empty();
                    if ready || stop.load(Ordering::Relaxed) {
                        break;
                    }
                    slot = shared
                        .1
                        .wait_timeout(slot, Duration::from_millis(50))
                        .map(|(g, _)| g)
                        .unwrap_or_else(|p| p.into_inner().0);
                    if opts.duration.is_some_and(|d| started.elapsed() >= d) {
                        stop.store(true, Ordering::Relaxed);
                    }
                }
                stats.received = slot.received;
                stats.reconnects = slot.reconnects;
                let window: Option<Vec<Arc<Timed>>> = slot
                    .fresh(t, epoch, last)
                    .then(|| slot.window.iter().cloned().collect());
                (
                    std::mem::take(&mut slot.messages),
                    window,
                    slot.end.clone(),
                    slot.epoch,
                    slot.epoch_first,
                )
            };
            for m in messages {
                if matches!(m, WatchMessage::Connected(_)) {
                    // A new connection: its history, smoother and events start afresh.
                    if let Some(ev) = detector.as_mut().and_then(EventDetector::finish) {
                        on(WatchMessage::Event(EventUpdate::Ended(ev)));
                    }
                    detector = opts.rule.map(EventDetector::new);
                    smoother.reset();
                    flows.clear();
                    last = None;
                }
                on(m);
            }
            let Some(window) = window else {
                if let Some(end) = end {
                    return Ok(end);
                }
                if stop.load(Ordering::Relaxed) {
                    return Ok(WatchEnd::Stopped);
                }
                continue;
            };
            let newest = window[t].index;
            // (The connection's Connected message, taken with this window,
            // has already reset the history.)
            if slot_epoch != epoch {
                epoch = slot_epoch;
                first_of_epoch = slot_first;
            }
            // Frames with full history that were never scored: the keep-newest drops.
            stats.dropped += match last {
                Some(prev) => newest - prev - 1,
                None => newest - (first_of_epoch + t),
            };
            let frames: Vec<Frame<f32>> = window.iter().map(|f| f.frame.clone()).collect();
            let pair_flows = window_flows(&window, &mut flows, &mut flow, uses_flow)?;
            let mut scored = scorer.score_clips(&[(&frames, &pair_flows)], newest - t)?;
            let score = scored
                .pop()
                .ok_or_else(|| Error::invalid("the model returned no score"))?;
            let latency_ms = window[t].decoded_at.elapsed().as_secs_f64() * 1e3;
            let smoothed = smoother.push(score.score);
            last = Some(newest);
            stats.scored += 1;
            stats.latencies_ms.push(latency_ms);
            on(WatchMessage::Scored(LiveScore {
                score,
                smoothed,
                latency_ms,
                dropped: stats.dropped,
            }));
            if let Some(update) = detector.as_mut().and_then(|d| d.push(newest, smoothed)) {
                on(WatchMessage::Event(update));
            }
        }
    })();
    // Whatever ended the loop, the reader stops too.
    stop.store(true, Ordering::Relaxed);
    shared.1.notify_all();
    reader
        .join()
        .map_err(|_| Error::invalid("the live reader panicked"))?;
    if let Some(ev) = detector.as_mut().and_then(EventDetector::finish) {
        on(WatchMessage::Event(EventUpdate::Ended(ev)));
    }
    let slot = lock(&shared);
    stats.received = slot.received;
    stats.reconnects = slot.reconnects;
    stats.seconds = started.elapsed().as_secs_f64();
    Ok(WatchSummary {
        end: result?,
        stats,
    })
}

/// The t flows of `window`, reusing those computed for earlier windows of
/// the same connection; zero flows for a model that reads none.
fn window_flows(
    window: &[Arc<Timed>],
    cache: &mut VecDeque<(usize, Flow)>,
    stage: &mut FlowStage,
    uses_flow: bool,
) -> Result<Vec<Flow>> {
    let t = window.len() - 1;
    let (w, h) = (window[0].frame.width, window[0].frame.height);
    if !uses_flow {
        return Ok(vec![Flow::zeros(w, h); t]);
    }
    cache.retain(|(i, _)| *i >= window[0].index);
    let mut out = Vec::with_capacity(t);
    let mut fed: Option<usize> = None;
    for k in 0..t {
        let from = window[k].index;
        if let Some((_, f)) = cache.iter().find(|(i, _)| *i == from) {
            out.push(f.clone());
            continue;
        }
        // Consecutive frames: the flow stage needs the first of the pair once.
        if fed != Some(k) {
            stage.restart();
            stage.push(&window[k].frame)?;
        }
        let f = stage
            .push(&window[k + 1].frame)?
            .ok_or_else(|| Error::invalid("the flow stage returned no flow"))?;
        fed = Some(k + 1);
        cache.push_back((from, f.clone()));
        out.push(f);
    }
    Ok(out)
}

/// The reader thread: opens, reads and reconnects; why it stopped goes
/// into the slot's `end`.
#[allow(clippy::too_many_arguments)]
fn read_loop(
    source: &str,
    opts: &LiveOptions,
    retries: Option<usize>,
    t: usize,
    spec: OutputSpec,
    shared: &Shared,
    stop: &Arc<AtomicBool>,
    native: Option<SyncSender<NativeFrame>>,
) {
    let kind = LiveKind::of(source);
    let native_spec = OutputSpec {
        format: PixelFormat::Rgb,
        size: None,
    };
    let mut index = 0usize;
    let mut attempt = 0usize;
    let mut connected_before = false;
    let (mut bytes, mut native_frame) = (Frame::default(), Frame::default());
    let finish = |end: WatchEnd| {
        lock(shared).end = Some(end);
        shared.1.notify_all();
    };
    loop {
        if stop.load(Ordering::Relaxed) {
            return finish(WatchEnd::Stopped);
        }
        let error = match LiveSource::open(source, opts, stop.clone()) {
            Ok(mut src) => {
                {
                    let mut slot = lock(shared);
                    slot.epoch += 1;
                    slot.epoch_first = index;
                    slot.window.clear();
                    if connected_before {
                        slot.reconnects += 1;
                    }
                    slot.messages
                        .push(WatchMessage::Connected(src.info().clone()));
                    shared.1.notify_all();
                }
                connected_before = true;
                let outcome = loop {
                    match src.next_into(&spec, &mut bytes) {
                        Ok(Some(timing)) => {
                            attempt = 0;
                            let mut frame = Frame::default();
                            bytes.to_f32_into(&mut frame);
                            if let Some(tx) = &native {
                                if src.convert_last(&native_spec, &mut native_frame).is_ok() {
                                    let _ = tx.try_send(NativeFrame {
                                        index,
                                        frame: std::mem::take(&mut native_frame),
                                        fps: src.info().fps,
                                    });
                                }
                            }
                            let mut slot = lock(shared);
                            slot.window.push_back(Arc::new(Timed {
                                index,
                                frame,
                                decoded_at: timing.decoded_at,
                            }));
                            while slot.window.len() > t + 1 {
                                slot.window.pop_front();
                            }
                            slot.received += 1;
                            index += 1;
                            shared.1.notify_all();
                        }
                        Ok(None) => break Ok(()),
                        Err(e) => break Err(e),
                    }
                };
                if stop.load(Ordering::Relaxed) {
                    return finish(WatchEnd::Stopped);
                }
                match (kind, outcome) {
                    // A file ends; with `follow`, its end is the read that timed out.
                    (LiveKind::File, Ok(())) => return finish(WatchEnd::Finished),
                    (LiveKind::File, Err(_)) if opts.follow => return finish(WatchEnd::Finished),
                    (LiveKind::File, Err(e)) => return finish(WatchEnd::Failed(e.to_string())),
                    (_, Ok(())) => format!("{source}: the stream ended"),
                    (_, Err(e)) => e.to_string(),
                }
            }
            // A file that cannot be opened will not appear by waiting, nor
            // (before it ever worked) a device that does not exist.
            Err(e) if kind == LiveKind::File => return finish(WatchEnd::Failed(e.to_string())),
            Err(e)
                if kind == LiveKind::Device && !connected_before && !Path::new(source).exists() =>
            {
                return finish(WatchEnd::Failed(e.to_string()))
            }
            Err(e) => e.to_string(),
        };
        if stop.load(Ordering::Relaxed) {
            return finish(WatchEnd::Stopped);
        }
        attempt += 1;
        if retries.is_some_and(|r| attempt > r) {
            let tries = retries.unwrap_or(0);
            return finish(WatchEnd::Failed(format!(
                "{error} (gave up after {tries} reconnect attempt{})",
                if tries == 1 { "" } else { "s" }
            )));
        }
        let retry_in = backoff(attempt);
        {
            let mut slot = lock(shared);
            slot.window.clear();
            slot.messages.push(WatchMessage::Dropped {
                error,
                retry_in,
                attempt,
            });
            shared.1.notify_all();
        }
        let until = Instant::now() + retry_in;
        while Instant::now() < until && !stop.load(Ordering::Relaxed) {
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// The wait before reconnect attempt `attempt` (1-based).
pub fn backoff(attempt: usize) -> Duration {
    let doublings = attempt.saturating_sub(1).min(16) as u32;
    (FIRST_BACKOFF * 2u32.pow(doublings)).min(MAX_BACKOFF)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_its_cap() {
        let secs: Vec<f64> = (1..=7).map(|a| backoff(a).as_secs_f64()).collect();
        assert_eq!(secs, [0.5, 1.0, 2.0, 4.0, 8.0, 8.0, 8.0]);
        assert_eq!(backoff(1000), MAX_BACKOFF);
    }

    #[test]
    fn stats_quantiles_and_rates() {
        let s = WatchStats {
            received: 100,
            scored: 30,
            dropped: 10,
            seconds: 2.0,
            latencies_ms: vec![5.0, 1.0, 3.0, 2.0, 4.0],
            ..Default::default()
        };
        assert_eq!(s.latency_ms(0.5), Some(3.0));
        assert_eq!(s.latency_ms(0.95), Some(5.0));
        assert_eq!(s.drop_rate(), 0.25);
        assert_eq!((s.received_fps(), s.scored_fps()), (50.0, 15.0));
        assert_eq!(WatchStats::default().latency_ms(0.5), None);
    }
}
