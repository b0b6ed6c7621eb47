//! `vadscope watch SOURCE --model CKPT`: scores a live stream, a capture
//! device or a file as its frames arrive and prints events as they happen.
//!
//! Standard output (or `--jsonl FILE`) gets JSON lines: one when an event
//! starts (`"event": "new"`) and one when it ends (`"event": "end"`, with its
//! end and peak), as Frigate reports events; with `--frames` also one line per
//! scored frame. Status (connection, drops, reconnects, the summary) goes to
//! standard error.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Context;

use vadscope::metrics::Smooth;
use vadscope::model::select_device;
use vadscope::score::events::{Event, EventUpdate};
use vadscope::score::live::{self, LiveScore, WatchEnd, WatchMessage, WatchOptions, WatchStats};
use vadscope::score::record::Recorder;
use vadscope::score::Scorer;
use vadscope::video::live::LiveOptions;

/// Arguments of `vadscope watch`.
#[derive(clap::Args)]
pub struct WatchArgs {
    /// What to watch: an `rtsp://`, `udp://`, `http(s)://` (or any FFmpeg
    /// protocol) URL, a capture device (`/dev/video0`), or a video file
    /// (played at its frame rate, as a camera would deliver it).
    pub source: String,
    /// A checkpoint written by `vadscope train`, or its run folder.
    #[arg(long)]
    pub model: PathBuf,
    /// Write the JSON lines to FILE instead of standard output (flushed per
    /// line; an existing FILE is kept as FILE.bak).
    #[arg(long, value_name = "FILE")]
    pub jsonl: Option<PathBuf>,
    /// Also print one line per scored frame: frame, score, recon, pred, dist,
    /// latency_ms (and smoothed).
    #[arg(long)]
    pub frames: bool,
    /// Keep the stream for later review in the app: DIR/stream.mkv (every
    /// frame received), DIR/stream.csv (scores; rows of dropped frames are
    /// NaN), DIR/run.json and DIR/events.json. Open it with
    /// `vadscope open DIR/stream.mkv --scores DIR`.
    #[arg(long, value_name = "DIR")]
    pub record: Option<PathBuf>,
    /// The event rule (without --event-threshold no events are raised).
    #[command(flatten)]
    pub event: super::args::EventFlags,
    /// Causal smoothing of the score before events: none, causal:ema:ALPHA
    /// or causal:mean:K (`vadscope eval --smooth` takes the same).
    #[arg(long, default_value = "none", value_parser = parse_smooth)]
    pub smooth: Smooth,
    /// Seconds a read may block before the stream counts as dropped.
    #[arg(long, default_value_t = 5.0, value_name = "SECS",
          value_parser = super::args::real(0.1f64, 3600.0, false))]
    pub timeout: f64,
    /// Reconnect attempts in a row before giving up (back-off from 0.5 s,
    /// doubling to 8 s), or `forever`.
    #[arg(long, default_value = "10", value_parser = parse_retries)]
    pub retries: Retries,
    /// Keep reading a file that is still being written: from its start at
    /// its frame rate (--fast: as it comes), then its new frames; it ends when
    /// no data came for --timeout seconds, which must be longer than the
    /// writer's flushes (a muxer writes in blocks).
    #[arg(long)]
    pub follow: bool,
    /// Read a file as fast as it decodes instead of at its frame rate (the
    /// scorer then keeps the newest frame and drops the rest).
    #[arg(long)]
    pub fast: bool,
    /// Stop after this many seconds.
    #[arg(long, value_name = "SECS", value_parser = super::args::real(0.0f64, 1e9, false))]
    pub duration: Option<f64>,
    /// Use a GPU when built with CUDA and one is available.
    #[arg(long)]
    pub gpu: bool,
}

/// `--retries`: a count, or forever.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Retries(pub Option<usize>);

fn parse_retries(s: &str) -> Result<Retries, String> {
    if s.eq_ignore_ascii_case("forever") {
        return Ok(Retries(None));
    }
    s.parse::<usize>()
        .map(|n| Retries(Some(n)))
        .map_err(|_| format!("{s:?}: expected a number of attempts or `forever`"))
}

fn parse_smooth(s: &str) -> Result<Smooth, String> {
    let f: Smooth = s.parse().map_err(|e: vadscope::Error| e.to_string())?;
    if !f.is_causal() {
        return Err(format!(
            "{f} looks at later frames; live scoring takes none, causal:ema:ALPHA or causal:mean:K"
        ));
    }
    Ok(f)
}

/// A checkpoint file, or the checkpoint of a run folder.
pub fn resolve_checkpoint(path: &Path) -> anyhow::Result<PathBuf> {
    Ok(vadscope::train::resolve_checkpoint(path)?)
}

impl WatchArgs {
    /// The engine's options from the flags.
    pub fn options(&self) -> WatchOptions {
        WatchOptions {
            live: LiveOptions {
                timeout: Duration::from_secs_f64(self.timeout),
                realtime: !self.fast,
                follow: self.follow,
            },
            smooth: self.smooth,
            rule: self.event.rule(),
            retries: self.retries.0,
            duration: self.duration.map(Duration::from_secs_f64),
        }
    }
}

/// A stop flag that Ctrl-C sets (the first press stops cleanly, a second one exits).
pub fn ctrl_c_flag() -> Arc<AtomicBool> {
    vadscope::save::interrupt::stop_gracefully();
    let flag = Arc::new(AtomicBool::new(false));
    let f = flag.clone();
    // The engine's flag is an Arc (the app owns its own); mirror the process's.
    std::thread::spawn(move || loop {
        if vadscope::save::interrupt::stop_requested() {
            f.store(true, Ordering::Relaxed);
            return;
        }
        std::thread::sleep(Duration::from_millis(25));
    });
    flag
}

fn unix_time() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// A number as JSON (NaN and infinities, which JSON lacks, as null).
fn num(x: f64) -> String {
    serde_json::Value::from(x).to_string()
}

/// The JSON line of an event update: `event` (`new` or `end`), `start`,
/// `peak`, `peak_score`, with `end` and `frames` once it ended, and `time`
/// (seconds since 1970, UTC). Keys in this order, for people reading along.
pub fn event_line(update: &EventUpdate) -> String {
    let (kind, ev): (&str, &Event) = match update {
        EventUpdate::Started(ev) => ("new", ev),
        EventUpdate::Ended(ev) => ("end", ev),
    };
    let end = match update {
        EventUpdate::Ended(_) => format!(r#","end":{},"frames":{}"#, ev.end, ev.len()),
        EventUpdate::Started(_) => String::new(),
    };
    format!(
        r#"{{"event":"{kind}","start":{},"peak":{},"peak_score":{}{end},"time":{}}}"#,
        ev.start,
        ev.peak,
        num(ev.peak_score),
        num(unix_time())
    )
}

/// The JSON line of a scored frame, keys in the documented order.
pub fn frame_line(s: &LiveScore) -> String {
    let f = &s.score;
    format!(
        r#"{{"frame":{},"score":{},"recon":{},"pred":{},"dist":{},"latency_ms":{},"smoothed":{}}}"#,
        f.frame,
        num(f.score),
        num(f.recon),
        num(f.pred),
        num(f.dist),
        num(s.latency_ms),
        num(s.smoothed)
    )
}

/// One line of figures, for the end of a watch and `bench live`.
pub fn stats_line(s: &WatchStats) -> String {
    let ms = |q| {
        s.latency_ms(q)
            .map_or("-".to_string(), |v| format!("{v:.1} ms"))
    };
    format!(
        "{} frames received ({:.1}/s), {} scored ({:.1}/s), {} dropped ({:.1} %), \
         latency p50 {} p95 {}, {} reconnect{}, {:.1} s",
        s.received,
        s.received_fps(),
        s.scored,
        s.scored_fps(),
        s.dropped,
        100.0 * s.drop_rate(),
        ms(0.5),
        ms(0.95),
        s.reconnects,
        if s.reconnects == 1 { "" } else { "s" },
        s.seconds
    )
}

/// Runs `vadscope watch`.
pub fn run(args: WatchArgs) -> anyhow::Result<()> {
    let ckpt = resolve_checkpoint(&args.model)?;
    let (device, note) = select_device(args.gpu);
    if let Some(note) = note {
        eprintln!("{note}");
    }
    let mut scorer = Scorer::load(&ckpt, &device)?;
    let opts = args.options();
    let mut out: Box<dyn Write> = match &args.jsonl {
        Some(p) => {
            if p.is_file() {
                // A log written as it happens cannot be saved atomically: the
                // old one is moved aside instead of being overwritten.
                let bak = vadscope::save::backup_path(p);
                std::fs::rename(p, &bak).with_context(|| {
                    format!("{}: cannot keep it as {}", p.display(), bak.display())
                })?;
                eprintln!(
                    "note: the earlier {} is kept as {}",
                    p.display(),
                    bak.display()
                );
            }
            Box::new(
                std::fs::File::create(p)
                    .with_context(|| format!("{}: cannot create", p.display()))?,
            )
        }
        None => Box::new(std::io::stdout()),
    };
    let mut recorder = match &args.record {
        Some(dir) => Some(Recorder::start(dir, &scorer)?),
        None => None,
    };
    match &opts.rule {
        Some(r) => eprintln!(
            "events at smoothed score >= {} (hysteresis {}, at least {} frames, cooldown {}), smoothing {}",
            r.threshold, r.hysteresis, r.min_frames, r.cooldown_frames, opts.smooth
        ),
        None => eprintln!(
            "note: no --event-threshold, so no events; --frames prints every frame's score"
        ),
    }
    let stop = ctrl_c_flag();
    let native = recorder.as_ref().map(|r| r.frames_sender());
    let mut write_err: Option<std::io::Error> = None;
    let mut line = |v: String, out: &mut Box<dyn Write>| {
        if write_err.is_none() {
            if let Err(e) = writeln!(out, "{v}").and_then(|()| out.flush()) {
                write_err = Some(e);
            }
        }
    };
    let mut events: Vec<Event> = Vec::new();
    let mut record_err: Option<vadscope::Error> = None;
    let summary = live::watch(
        &args.source,
        &mut scorer,
        &opts,
        stop.clone(),
        native,
        &mut |m| match m {
            WatchMessage::Connected(info) => {
                eprintln!("watching {}; Ctrl-C stops", info.describe())
            }
            WatchMessage::Dropped {
                error,
                retry_in,
                attempt,
            } => eprintln!(
                "stream dropped: {error}; reconnecting in {:.1} s (attempt {attempt}{})",
                retry_in.as_secs_f64(),
                opts.retries.map_or(String::new(), |r| format!(" of {r}"))
            ),
            WatchMessage::Scored(s) => {
                if let Some(r) = recorder.as_mut() {
                    if let Err(e) = r.score(&s) {
                        record_err.get_or_insert(e);
                    }
                }
                if args.frames {
                    line(frame_line(&s), &mut out);
                }
            }
            WatchMessage::Event(u) => {
                if let EventUpdate::Ended(ev) = u {
                    events.push(ev);
                }
                line(event_line(&u), &mut out);
            }
        },
    )?;
    if let Some(r) = recorder {
        let dir = r.dir().to_path_buf();
        r.finish(summary.stats.received, opts.rule.as_ref(), &events)
            .with_context(|| format!("{}: finishing the recording", dir.display()))?;
        eprintln!(
            "recorded into {}: vadscope open {}/stream.mkv --scores {}",
            dir.display(),
            dir.display(),
            dir.display()
        );
    }
    if summary.stats.received > 0 {
        eprintln!("{}", stats_line(&summary.stats));
    }
    if let Some(e) = record_err {
        return Err(e).context("recording the scores");
    }
    if let Some(e) = write_err {
        return Err(e).context("writing the JSON lines");
    }
    match summary.end {
        WatchEnd::Failed(e) => anyhow::bail!("{e}"),
        WatchEnd::Finished => eprintln!("the source ended"),
        WatchEnd::Stopped => {}
    }
    Ok(())
}
