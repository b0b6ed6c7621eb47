//! The `vadscope` command line: batch work and CI on the same engine as the app.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod cli;

/// vadscope: a workbench for video anomaly detection.
#[derive(Parser)]
#[command(name = "vadscope", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Describe a video, a frame folder or a dataset: frames, fps, size, splits, ground truth.
    Info(cli::info::InfoArgs),
    /// Dense optical flow between two images: `.flo` output, optional colour-coded PNG.
    Flow(cli::flow::FlowArgs),
    /// Benchmarks (flow speed and accuracy).
    Bench {
        /// What to measure.
        #[command(subcommand)]
        command: cli::bench::BenchCommand,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Some(Command::Info(args)) => cli::info::run(args),
        Some(Command::Flow(args)) => cli::flow::run_flow(args),
        Some(Command::Bench { command }) => cli::bench::run(command),
        None => cli::demo::run(),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
