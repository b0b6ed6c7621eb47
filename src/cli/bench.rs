//! `vadscope bench …`: benchmarks that print their figures (never timed tests).

use clap::Subcommand;

use super::bench_video;

/// The benchmarks.
#[derive(Subcommand)]
pub enum BenchCommand {
    /// Decode every frame to the model input; last line `N frames, F frames/s`.
    Decode(bench_video::DecodeArgs),
    /// Random reads checked against sequential decoding; latency per read.
    Seek(bench_video::SeekArgs),
}

/// Runs a benchmark.
pub fn run(cmd: BenchCommand) -> anyhow::Result<()> {
    match cmd {
        BenchCommand::Decode(a) => bench_video::decode(a),
        BenchCommand::Seek(a) => bench_video::seek(a),
    }
}
