//! `vadscope bench live SOURCE --model CKPT`: live scoring speed on a real
//! source, through the same engine as `vadscope watch`: frames/s scored,
//! end-to-end latency (frame decoded to score available) p50/p95, drop rate.

use std::path::PathBuf;
use std::time::Duration;

use serde_json::json;
use vadscope::model::select_device;
use vadscope::score::live::{self, WatchEnd, WatchOptions};
use vadscope::score::Scorer;
use vadscope::video::live::LiveOptions;

/// Arguments of `vadscope bench live`.
#[derive(clap::Args)]
pub struct LiveArgs {
    /// A stream URL, a capture device, or a video file (read at its frame
    /// rate unless --fast), as `vadscope watch` takes.
    pub source: String,
    /// A checkpoint written by `vadscope train`, or its run folder.
    #[arg(long)]
    pub model: PathBuf,
    /// Stop after this many seconds (default: when the source ends).
    #[arg(long, value_name = "SECS", value_parser = super::args::real(0.0f64, 1e9, false))]
    pub duration: Option<f64>,
    /// Read a file as fast as it decodes: measures the model's throughput
    /// with the keep-newest drops that follow.
    #[arg(long)]
    pub fast: bool,
    /// Seconds a read may block before the stream counts as dropped.
    #[arg(long, default_value_t = 5.0, value_parser = super::args::real(0.1f64, 3600.0, false))]
    pub timeout: f64,
    /// Also write the figures as JSON here.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Use a GPU when built with CUDA and one is available.
    #[arg(long)]
    pub gpu: bool,
}

/// Runs the benchmark; the last line is the summary of `vadscope watch`.
pub fn run(args: LiveArgs) -> anyhow::Result<()> {
    let ckpt = super::watch::resolve_checkpoint(&args.model)?;
    let (device, note) = select_device(args.gpu);
    if let Some(note) = note {
        eprintln!("{note}");
    }
    let mut scorer = Scorer::load(&ckpt, &device)?;
    let opts = WatchOptions {
        live: LiveOptions {
            timeout: Duration::from_secs_f64(args.timeout),
            realtime: !args.fast,
            follow: false,
        },
        retries: Some(0),
        duration: args.duration.map(Duration::from_secs_f64),
        ..WatchOptions::default()
    };
    let stop = super::watch::ctrl_c_flag();
    let mut source_fps = None;
    let summary = live::watch(&args.source, &mut scorer, &opts, stop, None, &mut |m| {
        if let live::WatchMessage::Connected(info) = m {
            source_fps = info.fps;
        }
    })?;
    if let WatchEnd::Failed(e) = &summary.end {
        // A stream that ends is a failure to `watch` without retries; the
        // figures up to there still stand.
        eprintln!("note: {e}");
    }
    let s = &summary.stats;
    let cfg = scorer.config();
    println!(
        "model: {} ({}, input {}x{}, t = {}), source fps {}",
        ckpt.display(),
        serde_json::to_value(cfg.variant)?.as_str().unwrap_or("?"),
        cfg.input.width,
        cfg.input.height,
        cfg.input.frames,
        source_fps.map_or("unknown".to_string(), |f| format!("{f:.2}"))
    );
    let q = |p| s.latency_ms(p);
    if let Some(path) = &args.json {
        let doc = json!({
            "source": args.source,
            "model": ckpt,
            "source_fps": source_fps,
            "received": s.received,
            "scored": s.scored,
            "dropped": s.dropped,
            "drop_rate": s.drop_rate(),
            "received_fps": s.received_fps(),
            "scored_fps": s.scored_fps(),
            "latency_ms": {"p50": q(0.5), "p95": q(0.95), "p99": q(0.99), "max": q(1.0)},
            "seconds": s.seconds,
            "cpus": cpus(),
        });
        vadscope::save::atomic_write(path, serde_json::to_string_pretty(&doc)?.as_bytes())?;
    }
    println!("{}", super::watch::stats_line(s));
    Ok(())
}

/// The CPUs this process may use (the model and flow threads).
fn cpus() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}
