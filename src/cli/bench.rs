//! `vadscope bench ...`: throughput and accuracy benchmarks of the engine.

use clap::Subcommand;

/// What `vadscope bench` measures.
#[derive(Subcommand)]
pub enum BenchCommand {
    /// Dense flow speed on consecutive frames; the last line is `P pairs, F pairs/s`.
    Flow(super::flow::BenchFlowArgs),
    /// Dense flow EPE and speed on pairs with known flow (see benches/reference/flow_opencv.py).
    FlowEpe(super::flow::BenchFlowEpeArgs),
}

/// Runs a benchmark.
pub fn run(cmd: BenchCommand) -> anyhow::Result<()> {
    match cmd {
        BenchCommand::Flow(args) => super::flow::run_bench(args),
        BenchCommand::FlowEpe(args) => super::flow::run_bench_epe(args),
    }
}
