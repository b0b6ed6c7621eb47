//! `vadscope` without a subcommand: the built-in demo.
//!
//! With the `gui` feature it opens the inspection app on the demo scene.
//! `vadscope demo --text` (and builds without `gui`) run the engine end to end
//! on a synthetic surveillance scene instead, for headless use: it generates the scene with labelled
//! anomalies, encodes it, decodes it back, computes dense optical flow between
//! consecutive frames, scores each frame by its fastest motion (a simple
//! baseline, not the model) and prints the score timeline beside the ground
//! truth with the frame-level AUC.

use std::path::PathBuf;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use vadscope::score::baseline::MotionBaseline;
use vadscope::synth::{self, Scene, SceneConfig};
use vadscope::video::{self, encode::EncodeOptions};
use vadscope::{metrics, Frame};

/// Where the demo keeps its generated video: the user's cache folder.
fn demo_dir() -> PathBuf {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(std::env::temp_dir);
    base.join("vadscope").join("demo-v1")
}

/// Options of `vadscope demo`.
#[derive(clap::Args, Debug, Default)]
pub struct DemoArgs {
    /// Print a text summary instead of opening the app (no display needed).
    #[arg(long)]
    pub text: bool,
}

/// Runs the demo: the app, or the text summary.
pub fn run_with(args: DemoArgs) -> anyhow::Result<()> {
    #[cfg(feature = "gui")]
    if !args.text {
        return vadscope::app::run(vadscope::app::OpenRequest::default());
    }
    let _ = args;
    run()
}

/// Runs the text demo.
pub fn run() -> anyhow::Result<()> {
    let dir = demo_dir();
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let video_path = dir.join("street.mp4");
    let cfg = SceneConfig::demo();
    let scene = Scene::new(&cfg)?;
    let truth = scene.truth("street");
    if !video_path.exists() {
        eprintln!("generating the demo scene: {}", video_path.display());
        let bar = progress(cfg.frames as u64, "encode");
        synth::write_video(&video_path, &scene, &EncodeOptions::default(), &|| {
            bar.inc(1)
        })?;
        bar.finish_and_clear();
    }

    let mut v = video::open(&video_path)?;
    let info = v.info().clone();
    println!(
        "vadscope demo: a synthetic street scene with {} staged anomalies",
        cfg.anomalies.len()
    );
    println!(
        "  video  {} ({} frames, {:.0} fps, {}x{})",
        info.path.display(),
        info.num_frames,
        info.fps,
        info.width,
        info.height
    );
    println!(
        "  truth  {} anomalous frames in {} intervals ({})",
        truth.anomalous_frames(),
        truth.anomalous.len(),
        truth.notes
    );

    // Motion baseline: per frame, the mean of the fastest 1% of flow vectors.
    let mut baseline = MotionBaseline::new()?;
    let (mut frame, mut scratch) = (Frame::<f32>::default(), Frame::default());
    let n = v.len();
    let mut scores = vec![0.0f64; n];
    let bar = progress(n as u64, "flow");
    for (i, score) in scores.iter_mut().enumerate() {
        v.read_f32_into(i, &mut scratch, &mut frame)?;
        *score = baseline.push(&frame)?.map_or(0.0, f64::from);
        bar.inc(1);
    }
    bar.finish_and_clear();
    scores[0] = scores.get(1).copied().unwrap_or(0.0);

    let labels = truth.labels(n);
    print_timeline(&scores, &labels, 96);
    match metrics::roc_auc(&scores[1..], &labels[1..]) {
        Ok(auc) => println!(
            "frame-level AUC of the motion baseline: {:.3} (frame 0 excluded, no smoothing)",
            auc
        ),
        Err(e) => println!("AUC not defined: {e}"),
    }
    println!("`vadscope` without arguments opens the same scene in the inspection app");
    Ok(())
}

/// Prints the score as a sparkline over `columns` buckets (max per bucket) and
/// the ground truth beneath it.
fn print_timeline(scores: &[f64], labels: &[bool], columns: usize) {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let n = scores.len();
    let cols = columns.min(n).max(1);
    let max = scores.iter().cloned().fold(f64::MIN, f64::max).max(1e-9);
    let (mut line, mut gt) = (String::new(), String::new());
    for c in 0..cols {
        let (a, b) = (c * n / cols, ((c + 1) * n / cols).max(c * n / cols + 1));
        let peak = scores[a..b].iter().cloned().fold(0.0, f64::max);
        line.push(BARS[((peak / max) * 7.0).round().clamp(0.0, 7.0) as usize]);
        gt.push(if labels[a..b].iter().any(|&l| l) {
            '█'
        } else {
            '·'
        });
    }
    println!("  motion {line}");
    println!("  truth  {gt}");
    println!("         frame 0{:>width$}", n - 1, width = cols - 1);
}

fn progress(len: u64, what: &str) -> ProgressBar {
    let bar = ProgressBar::new(len);
    let style = ProgressStyle::with_template("{msg:>8} [{bar:40}] {pos}/{len} {per_sec} eta {eta}")
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ");
    bar.set_style(style);
    bar.set_message(what.to_string());
    bar
}
