//! `vadscope flow A B -o out.flo` and `vadscope bench flow VIDEO`.
//!
//! Benchmark frames come through `vadscope::video` (any video file or frame
//! folder), resized to the model's input size like the clip pipeline does.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Context};
use vadscope::flow::{self, Flow, FlowEstimator, Preset};
use vadscope::video::{self, OutputSpec};
use vadscope::Frame;

/// Arguments of `vadscope flow`.
#[derive(clap::Args)]
pub struct FlowArgs {
    /// The first image.
    pub a: PathBuf,
    /// The second image (same size as the first).
    pub b: PathBuf,
    /// Where to write the flow (Middlebury `.flo`).
    #[arg(short, long)]
    pub output: PathBuf,
    /// Also write the colour-coded flow as a PNG.
    #[arg(long)]
    pub png: Option<PathBuf>,
    /// Speed/accuracy preset: fast, balanced or accurate.
    #[arg(long, default_value = "balanced")]
    pub preset: Preset,
    /// Estimator parameters as JSON (the fields of `input.flow` in a model
    /// config); overrides --preset.
    #[arg(long)]
    pub params: Option<PathBuf>,
}

/// Arguments of `vadscope bench flow`.
#[derive(clap::Args)]
pub struct BenchFlowArgs {
    /// A frame folder (images, sorted naturally) or a video file.
    pub video: PathBuf,
    /// Size the frames are resized to before estimating flow, WxH, each side
    /// 8 to 8192.
    #[arg(long, default_value = "256x256", value_parser = super::args::size(8, 8192))]
    pub size: (usize, usize),
    /// Number of consecutive pairs to time (1 to 1000000).
    #[arg(long, default_value_t = 100, value_parser = super::args::int(1usize, 1_000_000))]
    pub pairs: usize,
    /// Speed/accuracy preset: fast, balanced or accurate.
    #[arg(long, default_value = "balanced")]
    pub preset: Preset,
    /// Estimator parameters as JSON (the fields of `input.flow` in a model
    /// config); overrides --preset.
    #[arg(long)]
    pub params: Option<PathBuf>,
    /// Worker threads, 1 to 1024 (default: all cores).
    #[arg(long, value_parser = super::args::int(1usize, 1024))]
    pub threads: Option<usize>,
}

/// Builds rayon's global pool with `threads` workers (if given).
pub(super) fn init_threads(threads: Option<usize>) -> anyhow::Result<()> {
    if let Some(n) = threads {
        if n == 0 {
            bail!("--threads must be at least 1");
        }
        rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build_global()
            .context("cannot build the thread pool")?;
    }
    Ok(())
}

/// `vadscope flow A B -o out.flo [--png out.png] [--preset P | --params F]`.
pub fn run_flow(args: FlowArgs) -> anyhow::Result<()> {
    // Both outputs are checked before the work, so that one is not written
    // while the other cannot be.
    for out in std::iter::once(&args.output).chain(&args.png) {
        let parent = match out.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => std::path::Path::new("."),
        };
        if !parent.is_dir() {
            bail!(
                "{}: the folder {} does not exist",
                out.display(),
                parent.display()
            );
        }
        if out.is_dir() {
            bail!(
                "{} is a folder; give the name of a file to write",
                out.display()
            );
        }
    }
    let (params, _) = super::bench_flow::params_or_preset(args.params.as_deref(), args.preset)?;
    let a = video::read_gray(&args.a)?;
    let b = video::read_gray(&args.b)?;
    let started = Instant::now();
    let flow = flow::dense(&a, &b, &params)
        .with_context(|| format!("{} -> {}", args.a.display(), args.b.display()))?;
    let ms = started.elapsed().as_secs_f64() * 1e3;
    let png = match &args.png {
        Some(path) => {
            let bytes = flow::flow_to_rgb(&flow)
                .to_png()
                .with_context(|| format!("{}: cannot encode the PNG", path.display()))?;
            Some((path, bytes))
        }
        None => None,
    };
    let flo_existed = args.output.exists();
    flow::write_flo(&args.output, &flow)?;
    if let Some((path, bytes)) = png {
        if let Err(e) = vadscope::save::atomic_write(path, &bytes) {
            if !flo_existed {
                let _ = std::fs::remove_file(&args.output);
            }
            return Err(e.into());
        }
    }
    let max = flow
        .data
        .chunks_exact(2)
        .map(|p| p[0].hypot(p[1]))
        .fold(0.0f32, f32::max);
    println!(
        "{}x{} flow in {ms:.1} ms, max {max:.2} px -> {}",
        flow.width,
        flow.height,
        args.output.display()
    );
    Ok(())
}

/// `vadscope bench flow VIDEO --size WxH --pairs P`.
pub fn run_bench(args: BenchFlowArgs) -> anyhow::Result<()> {
    init_threads(args.threads)?;
    // The parameters are checked before any frame is decoded.
    let (params, method) =
        super::bench_flow::params_or_preset(args.params.as_deref(), args.preset)?;
    let mut est = FlowEstimator::new(params)?;
    let (w, h) = args.size;
    let mut v = video::open_with(&args.video, OutputSpec::gray().with_size(w, h))?;
    if v.len() < 2 {
        bail!("{}: fewer than two frames", args.video.display());
    }
    // Decoding is not what is timed: all frames are decoded first.
    let n = (args.pairs + 1).min(v.len());
    let mut scratch = Frame::default();
    let mut frames = Vec::with_capacity(n);
    for i in 0..n {
        let mut f = Frame::default();
        v.read_f32_into(i, &mut scratch, &mut f)
            .with_context(|| format!("frame {i}"))?;
        frames.push(f);
    }
    let mut out = Flow::default();
    // One untimed pair allocates the buffers.
    est.estimate_into(&frames[0], &frames[1], &mut out)?;
    let started = Instant::now();
    let mut pairs = 0;
    while pairs < args.pairs {
        for w in frames.windows(2) {
            if pairs == args.pairs {
                break;
            }
            est.estimate_into(&w[0], &w[1], &mut out)?;
            pairs += 1;
        }
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{} {}x{} frames from {}, {method}, {} threads",
        n,
        args.size.0,
        args.size.1,
        args.video.display(),
        rayon::current_num_threads()
    );
    println!("{pairs} pairs, {:.1} pairs/s", pairs as f64 / secs);
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn sizes() {
        let parse_size = super::super::args::size(8, 8192);
        assert_eq!(parse_size("256x128"), Ok((256, 128)));
        assert!(parse_size("256").is_err());
        assert!(parse_size("0x5").unwrap_err().contains("8 to 8192"));
    }
}
