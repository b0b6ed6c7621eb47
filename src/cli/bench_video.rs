//! `vadscope bench decode` and `vadscope bench seek`: decoding throughput and
//! frame-accurate random access.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use vadscope::video::{self, OutputSpec};
use vadscope::{Frame, PixelFormat};

/// Arguments of `vadscope bench decode`.
#[derive(clap::Args)]
pub struct DecodeArgs {
    /// A video file or frame folder.
    pub path: PathBuf,
    /// Output size WxH (the model input), e.g. 256x256, each side 1 to 16384;
    /// native size when absent.
    #[arg(long, value_parser = super::args::size(1, vadscope::video::OutputSpec::MAX_SIDE))]
    pub size: Option<(usize, usize)>,
    /// Decode to gray (default: RGB unless --gray).
    #[arg(long)]
    pub gray: bool,
    /// Number of timed runs over the whole video (1 to 1000); the median is reported.
    #[arg(long, default_value_t = 3, value_parser = super::args::int(1usize, 1000))]
    pub runs: usize,
}

/// Decodes every frame `runs` times; prints per-run and median throughput.
/// The last line is `N frames, F frames/s` (median run).
pub fn decode(args: DecodeArgs) -> anyhow::Result<()> {
    let spec = output_spec(args.size, args.gray);
    let mut rates = Vec::new();
    let mut n = 0;
    for run in 0..args.runs {
        // Opening (the packet scan) is part of the work a user waits for.
        let start = Instant::now();
        let mut v = video::open_with(&args.path, spec)?;
        n = v.len();
        let mut frame = Frame::default();
        let mut checksum = 0u64;
        for i in 0..n {
            v.read_into(i, &mut frame)
                .with_context(|| format!("frame {i}"))?;
            checksum = checksum.wrapping_add(frame.data[frame.data.len() / 2] as u64);
        }
        let secs = start.elapsed().as_secs_f64();
        let rate = n as f64 / secs;
        eprintln!(
            "run {}: {n} frames in {secs:.3} s, {rate:.1} frames/s (checksum {checksum})",
            run + 1
        );
        rates.push(rate);
    }
    rates.sort_by(f64::total_cmp);
    println!("{n} frames, {:.1} frames/s", rates[rates.len() / 2]);
    Ok(())
}

/// Arguments of `vadscope bench seek`.
#[derive(clap::Args)]
pub struct SeekArgs {
    /// A video file or frame folder.
    pub path: PathBuf,
    /// Number of random reads (1 to 1000000).
    #[arg(long, default_value_t = 100, value_parser = super::args::int(1usize, 1_000_000))]
    pub reads: usize,
    /// Seed of the random frame order (any 64-bit number).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

/// Decodes the video sequentially, then reads frames in random order and checks
/// that each equals its sequential decode. Prints mismatches and latency; fails
/// on any mismatch.
pub fn seek(args: SeekArgs) -> anyhow::Result<()> {
    let mut v = video::open_with(&args.path, OutputSpec::gray())?;
    let n = v.len();
    anyhow::ensure!(n > 0, "{}: no frames to read", args.path.display());
    let mut reference = Vec::with_capacity(n);
    for i in 0..n {
        reference.push(v.read(i).with_context(|| format!("frame {i}"))?.data);
    }
    let mut state = args.seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut latencies = Vec::with_capacity(args.reads);
    let mut mismatches = 0;
    let mut frame = Frame::default();
    for _ in 0..args.reads {
        // xorshift64: a reproducible random order without a dependency.
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let i = (state % n as u64) as usize;
        let t = Instant::now();
        v.read_into(i, &mut frame)
            .with_context(|| format!("frame {i}"))?;
        latencies.push(t.elapsed().as_secs_f64() * 1e3);
        if frame.data != reference[i] {
            mismatches += 1;
            eprintln!("frame {i}: random read differs from sequential decode");
        }
    }
    latencies.sort_by(f64::total_cmp);
    let median = latencies[latencies.len() / 2];
    let p95 = latencies[(latencies.len() * 95 / 100).min(latencies.len() - 1)];
    println!("{} random reads of {n} frames: {mismatches} mismatches, median {median:.2} ms, p95 {p95:.2} ms", args.reads);
    anyhow::ensure!(
        mismatches == 0,
        "{mismatches} frames differ between random and sequential reads"
    );
    Ok(())
}

/// The output spec from `--size` and `--gray`.
pub fn output_spec(size: Option<(usize, usize)>, gray: bool) -> OutputSpec {
    let format = if gray {
        PixelFormat::Gray
    } else {
        PixelFormat::Rgb
    };
    OutputSpec { format, size }
}
