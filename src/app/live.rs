//! A live source in the app (`vadscope open udp://…`, a camera): the engine's
//! [`crate::score::live::watch`] runs on a background thread, scoring frames
//! as they arrive; the frames received are kept in a byte-bounded ring for
//! the views, and the scores reach the timeline as a scoring job's updates.
//!
//! The document of a live source has a fixed length, the session's capacity
//! (`LIVE_MINUTES` at the stream's frame rate); the playhead follows the
//! newest frame while playing, and pausing lets the user scrub back through
//! the frames still kept.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::curves::Sample;
use super::scoring::ScoreUpdate;
use crate::model::select_device;
use crate::score::live::{self, WatchEnd, WatchMessage, WatchOptions};
use crate::score::Scorer;
use crate::video::live::LiveInfo;
use crate::Frame;

/// How long a live session in the app can grow, in minutes of the stream.
pub const LIVE_MINUTES: f64 = 60.0;
/// Frames received are kept up to this many bytes (the newest).
const KEEP_BYTES: usize = 512 << 20;

/// What the status bar shows about the live source.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LiveStatus {
    /// Whether frames are arriving.
    pub connected: bool,
    /// The last thing that happened, in words (connected, dropped, reconnecting).
    pub message: String,
    /// Frames received.
    pub received: usize,
    /// Frames scored.
    pub scored: usize,
    /// Frames dropped because the model was busy (keep the newest).
    pub dropped: usize,
    /// The latency of the last scored frame, in ms.
    pub latency_ms: Option<f64>,
}

type Wake = Box<dyn Fn() + Send>;

#[derive(Default)]
struct FeedState {
    frames: VecDeque<(usize, Arc<Frame<u8>>)>,
    bytes: usize,
    status: LiveStatus,
    wake: Option<Wake>,
}

/// The shared side of a live source: frames kept, status, and the scores.
#[derive(Clone)]
pub struct LiveFeed {
    state: Arc<Mutex<FeedState>>,
    updates: Arc<Mutex<Option<Receiver<ScoreUpdate>>>>,
    stop: Arc<AtomicBool>,
    /// The URL or device.
    pub source: String,
    /// Frames the session can hold (its document's length).
    pub capacity: usize,
}

impl std::fmt::Debug for LiveFeed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveFeed")
            .field("source", &self.source)
            .field("capacity", &self.capacity)
            .finish()
    }
}

impl LiveFeed {
    /// Connects to `source` and starts scoring it with `checkpoint`; returns
    /// once the first connection is made (with what it found), or fails with
    /// why the source cannot be opened. Later drops reconnect by themselves.
    pub fn open(source: &str, checkpoint: PathBuf) -> anyhow::Result<(LiveFeed, LiveInfo)> {
        let state: Arc<Mutex<FeedState>> = Arc::default();
        let stop = Arc::new(AtomicBool::new(false));
        let (first_tx, first_rx) = mpsc::sync_channel::<Result<LiveInfo, String>>(1);
        let (up_tx, up_rx) = mpsc::channel::<ScoreUpdate>();
        let (native_tx, native_rx) = mpsc::sync_channel::<live::NativeFrame>(32);
        {
            let state = state.clone();
            std::thread::Builder::new()
                .name("vadscope-live-frames".into())
                .spawn(move || keep_frames(&state, native_rx))?;
        }
        let opts = WatchOptions {
            retries: None,
            ..WatchOptions::default()
        };
        let wait = opts.live.timeout + Duration::from_secs(20);
        {
            let (state, stop, source) = (state.clone(), stop.clone(), source.to_string());
            std::thread::Builder::new()
                .name("vadscope-live".into())
                .spawn(move || {
                    run(
                        &source,
                        &checkpoint,
                        &opts,
                        &state,
                        stop,
                        native_tx,
                        first_tx,
                        up_tx,
                    )
                })?;
        }
        let info = match first_rx.recv_timeout(wait) {
            Ok(Ok(info)) => info,
            Ok(Err(e)) => {
                stop.store(true, Ordering::Relaxed);
                anyhow::bail!("{e}");
            }
            Err(_) => {
                stop.store(true, Ordering::Relaxed);
                anyhow::bail!("{source}: no connection within {} s", wait.as_secs());
            }
        };
        let fps = info
            .fps
            .filter(|f| f.is_finite() && *f > 0.0)
            .unwrap_or(25.0);
        let feed = LiveFeed {
            state,
            updates: Arc::new(Mutex::new(Some(up_rx))),
            stop,
            source: source.to_string(),
            capacity: (fps * 60.0 * LIVE_MINUTES).ceil() as usize,
        };
        Ok((feed, info))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, FeedState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Frame `i` if it was received and is still kept.
    pub fn frame(&self, i: usize) -> Option<Arc<Frame<u8>>> {
        let st = self.lock();
        let first = st.frames.front()?.0;
        let k = i.checked_sub(first)?;
        st.frames
            .get(k)
            .filter(|(j, _)| *j == i)
            .map(|(_, f)| f.clone())
    }

    /// The status bar's figures.
    pub fn status(&self) -> LiveStatus {
        self.lock().status.clone()
    }

    /// The newest frame received, if any.
    pub fn newest(&self) -> Option<usize> {
        self.lock().frames.back().map(|(i, _)| *i)
    }

    /// The scoring updates (once: the app's job takes them), waking the UI
    /// with `wake` from now on.
    pub fn take_updates(&self, wake: impl Fn() + Send + 'static) -> Option<Receiver<ScoreUpdate>> {
        self.lock().wake = Some(Box::new(wake));
        self.updates.lock().ok()?.take()
    }

    /// The flag that stops the session.
    pub fn stop_flag(&self) -> Arc<AtomicBool> {
        self.stop.clone()
    }

    /// Stops reading and scoring.
    pub fn stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

fn wake(state: &Mutex<FeedState>) {
    if let Some(w) = state.lock().ok().as_ref().and_then(|s| s.wake.as_ref()) {
        w();
    }
}

/// Keeps the newest frames received, within [`KEEP_BYTES`].
fn keep_frames(state: &Mutex<FeedState>, rx: Receiver<live::NativeFrame>) {
    for nf in rx {
        if let Ok(mut st) = state.lock() {
            st.bytes += nf.frame.data.len();
            st.frames.push_back((nf.index, Arc::new(nf.frame)));
            st.status.received = nf.index + 1;
            while st.bytes > KEEP_BYTES && st.frames.len() > 1 {
                if let Some((_, f)) = st.frames.pop_front() {
                    st.bytes -= f.data.len();
                }
            }
        }
        wake(state);
    }
}

/// The scoring thread: loads the model, watches, relays.
#[allow(clippy::too_many_arguments)]
fn run(
    source: &str,
    checkpoint: &std::path::Path,
    opts: &WatchOptions,
    state: &Mutex<FeedState>,
    stop: Arc<AtomicBool>,
    native: mpsc::SyncSender<live::NativeFrame>,
    first: mpsc::SyncSender<Result<LiveInfo, String>>,
    up: Sender<ScoreUpdate>,
) {
    let (device, _) = select_device(cfg!(feature = "cuda"));
    let mut scorer = match Scorer::load(checkpoint, &device) {
        Ok(s) => s,
        Err(e) => {
            let _ = first.send(Err(e.to_string()));
            return;
        }
    };
    // A run folder's checkpoint is named by its folder, any other by its file.
    let model = checkpoint
        .file_name()
        .filter(|n| *n != "checkpoint.safetensors")
        .or_else(|| checkpoint.parent().and_then(|p| p.file_name()))
        .map_or_else(
            || checkpoint.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
    let where_ = if device.is_cuda() { "CUDA" } else { "CPU" };
    let mut first = Some(first);
    let set = |f: &mut dyn FnMut(&mut LiveStatus)| {
        if let Ok(mut st) = state.lock() {
            f(&mut st.status);
        }
        wake(state);
    };
    let result = live::watch(
        source,
        &mut scorer,
        opts,
        stop,
        Some(native),
        &mut |m| match m {
            WatchMessage::Connected(info) => {
                let text = format!("live: {} {}x{}", info.codec, info.width, info.height);
                if let Some(tx) = first.take() {
                    let _ = up.send(ScoreUpdate::Started {
                        frames: 0,
                        device: format!("{model} on {where_}, live"),
                    });
                    let _ = tx.send(Ok(info));
                }
                set(&mut |s| {
                    s.connected = true;
                    s.message = text.clone();
                });
            }
            WatchMessage::Dropped {
                error, retry_in, ..
            } => {
                if let Some(tx) = first.take() {
                    // Never connected: the app says why and keeps what it had.
                    let _ = tx.send(Err(error));
                    return;
                }
                set(&mut |s| {
                    s.connected = false;
                    s.message = format!("{error}; reconnecting in {:.1} s", retry_in.as_secs_f64());
                });
            }
            WatchMessage::Scored(s) => {
                let f = &s.score;
                let _ = up.send(ScoreUpdate::Scored(vec![Sample {
                    frame: f.frame,
                    score: f.score as f32,
                    recon: f.recon as f32,
                    pred: f.pred as f32,
                    dist: f.dist as f32,
                }]));
                let _ = up.send(ScoreUpdate::Usage(vec![(f.frame, f.usage.clone())]));
                set(&mut |st| {
                    st.scored += 1;
                    st.latency_ms = Some(s.latency_ms);
                    st.dropped = s.dropped;
                });
            }
            WatchMessage::Event(_) => {}
        },
    );
    let end = match result {
        Ok(summary) => {
            set(&mut |s| s.dropped = summary.stats.dropped);
            summary.end
        }
        Err(e) => WatchEnd::Failed(e.to_string()),
    };
    if let Some(tx) = first.take() {
        let _ = tx.send(Err(match &end {
            WatchEnd::Failed(e) => e.clone(),
            _ => format!("{source}: the source ended before a frame arrived"),
        }));
    }
    let _ = up.send(match end {
        WatchEnd::Failed(e) => ScoreUpdate::Failed(e),
        WatchEnd::Stopped => ScoreUpdate::Cancelled,
        WatchEnd::Finished => ScoreUpdate::Finished { secs: 0.0 },
    });
    set(&mut |s| {
        s.connected = false;
        s.message = "live: ended".into();
    });
}
