//! `vadscope bench …`: benchmarks that print their figures (never timed tests).

use clap::Subcommand;

use super::{bench_pipeline, bench_video};

/// The benchmarks.
#[derive(Subcommand)]
pub enum BenchCommand {
    /// Decode every frame to the model input; last line `N frames, F frames/s`.
    Decode(bench_video::DecodeArgs),
    /// Random reads checked against sequential decoding; latency per read.
    Seek(bench_video::SeekArgs),
    /// Dense flow speed on consecutive frames; the last line is `P pairs, F pairs/s`.
    Flow(super::flow::BenchFlowArgs),
    /// Makes the flow benchmark: pairs with exact flow and occlusion masks, per set
    /// (synth, smooth-small, smooth-large, piecewise, photometric) and split (tune, held-out).
    FlowPairs(super::bench_flow::PairsArgs),
    /// Dense flow EPE (all pixels and non-occluded) per set and split, and pairs/s,
    /// on a folder made by `bench flow-pairs` (see benches/reference/flow_compare.sh).
    FlowEpe(super::bench_flow::EpeArgs),
    /// Scoring stages alone (decode, flow, model) and overlapped; the last line
    /// is the pipeline's frames/s and its ratio to the slowest stage.
    Pipeline(bench_pipeline::PipelineArgs),
    /// Live scoring of a stream, device or file as `vadscope watch` does:
    /// frames/s scored, latency p50/p95 (decoded to scored), drop rate.
    Live(super::bench_live::LiveArgs),
    /// Model training-step and inference speed (see benches/reference/model_torch.py).
    Model(super::bench_model::ModelArgs),
    /// Timeline drawing (decimate, shapes, tessellation) of a long curve; prints the median per UI frame.
    #[cfg(feature = "gui")]
    Timeline(super::bench_app::TimelineArgs),
    /// Live metrics (frame AUC, EER, AP, Δs) recomputed after a ground-truth edit, as the app
    /// does on each keypress; prints the median per edit.
    #[cfg(feature = "gui")]
    Metrics(super::bench_app::MetricsArgs),
}

/// Runs a benchmark.
pub fn run(cmd: BenchCommand) -> anyhow::Result<()> {
    match cmd {
        BenchCommand::Decode(a) => bench_video::decode(a),
        BenchCommand::Seek(a) => bench_video::seek(a),
        BenchCommand::Flow(args) => super::flow::run_bench(args),
        BenchCommand::FlowPairs(args) => super::bench_flow::pairs(args),
        BenchCommand::FlowEpe(args) => super::bench_flow::epe(args),
        BenchCommand::Pipeline(args) => bench_pipeline::run(args),
        BenchCommand::Model(args) => super::bench_model::run(args),
        BenchCommand::Live(args) => super::bench_live::run(args),
        #[cfg(feature = "gui")]
        BenchCommand::Timeline(args) => super::bench_app::run(args),
        #[cfg(feature = "gui")]
        BenchCommand::Metrics(args) => super::bench_app::run_metrics(args),
    }
}
