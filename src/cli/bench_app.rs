//! The app's benchmarks, without a window. `vadscope bench timeline`: how
//! long the timeline takes per UI frame on a long curve (min/max decimation,
//! shapes, tessellation). `vadscope bench metrics`: how long the live
//! metrics take to follow a ground-truth edit.

/// Options of `vadscope bench timeline`.
#[derive(clap::Args, Debug)]
pub struct TimelineArgs {
    /// Frames in the synthetic curve (1 to 10000000).
    #[arg(long, default_value_t = 300_000, value_parser = super::args::int(1usize, 10_000_000))]
    pub frames: usize,
    /// Timed UI frames, after 10 warm-up frames (1 to 100000).
    #[arg(long, default_value_t = 200, value_parser = super::args::int(1usize, 100_000))]
    pub iterations: usize,
    /// Timeline width in points (above 0 and at most 16384).
    #[arg(long, default_value_t = 1920.0, value_parser = super::args::real(0.0f32, 16384.0, true))]
    pub width: f32,
}

/// Runs the benchmark and prints the median, 10th and 90th percentiles.
pub fn run(args: TimelineArgs) -> anyhow::Result<()> {
    let t = vadscope::app::bench::timeline(args.frames, args.iterations, args.width);
    let [p10, median, p90] = percentiles_ms(t)?;
    println!(
        "timeline, {} frames, 4 lanes, {:.0} px wide: p10 {p10:.3} ms, median {median:.3} ms, p90 {p90:.3} ms per UI frame ({} frames timed)",
        args.frames,
        args.width,
        args.iterations
    );
    Ok(())
}

/// Options of `vadscope bench metrics`.
#[derive(clap::Args, Debug)]
pub struct MetricsArgs {
    /// Frames in the synthetic score curve (1000 to 10000000; UCSD Ped2's test set: 2010).
    #[arg(long, default_value_t = 2010, value_parser = super::args::int(1000usize, 10_000_000))]
    pub frames: usize,
    /// Timed edits, after 3 warm-up edits (1 to 100000).
    #[arg(long, default_value_t = 200, value_parser = super::args::int(1usize, 100_000))]
    pub iterations: usize,
}

/// Runs the metrics benchmark and prints the median, 10th and 90th percentiles.
pub fn run_metrics(args: MetricsArgs) -> anyhow::Result<()> {
    let t = vadscope::app::bench::live_metrics(args.frames, args.iterations);
    let [p10, median, p90] = percentiles_ms(t)?;
    println!(
        "live metrics, {} frames: p10 {p10:.3} ms, median {median:.3} ms, p90 {p90:.3} ms per edit ({} edits timed; a 60 Hz UI frame is 16.7 ms)",
        args.frames,
        args.iterations
    );
    Ok(())
}

/// The 10th, 50th and 90th percentiles of times in seconds, in milliseconds.
fn percentiles_ms(mut t: Vec<f64>) -> anyhow::Result<[f64; 3]> {
    if t.is_empty() {
        anyhow::bail!("no iterations");
    }
    t.sort_by(f64::total_cmp);
    let q = |p: f64| t[((t.len() - 1) as f64 * p).round() as usize] * 1e3;
    Ok([q(0.1), q(0.5), q(0.9)])
}
