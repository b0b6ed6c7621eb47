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
    /// Benchmarks (decode, seek, flow, …); each prints its figures.
    Bench {
        #[command(subcommand)]
        command: cli::bench::BenchCommand,
    },
    /// Ground truth: convert between formats, compare sources, show intervals.
    Truth(cli::truth::TruthArgs),
    /// Generate procedural scenes with labelled anomalies: frames, a video or a dataset.
    Synth(cli::synth::SynthArgs),
    /// Train the hybrid model on a dataset's training split (Ctrl-C saves and stops).
    Train(cli::train::TrainArgs),
    /// Score videos with a trained checkpoint: per-frame CSVs and run.json for `eval`.
    Score(cli::score::ScoreArgs),
    /// Choose the combined score's weights on training footage only (pseudo-anomalies
    /// made from the training videos) and store them in the checkpoint.
    Calibrate(cli::calibrate::CalibrateArgs),
    /// Evaluate scores against ground truth: AUC (micro/macro), EER, AP, Δs, ROC.
    Eval(cli::eval::EvalArgs),
    /// Open a video, frame folder or dataset in the inspection app.
    Open(cli::open::OpenArgs),
    /// Score a live stream, camera or file as its frames arrive; print events
    /// (and, with --frames, every score) as JSON lines.
    Watch(cli::watch::WatchArgs),
    /// Export a video of the detector at work: views side by side, the score map
    /// overlaid, ground truth outlined, the score curve burned in (H.264 MP4).
    Export(cli::export::ExportArgs),
    /// The built-in demo: the app, or a text summary with `--text`.
    Demo(cli::demo::DemoArgs),
    /// Print a shell completion script (bash, zsh, fish, …) to standard output.
    Completions(cli::completions::CompletionsArgs),
    /// Write man pages (one per subcommand) into a folder; for packages.
    #[command(hide = true)]
    Manpages(cli::completions::ManpagesArgs),
}

/// `--version` (not `-V`): the version, the enabled features and the FFmpeg linked,
/// so that a bug report says what was running.
fn version_text() -> String {
    let features: Vec<&str> = [
        ("gui", cfg!(feature = "gui")),
        ("cuda", cfg!(feature = "cuda")),
    ]
    .into_iter()
    .filter_map(|(name, on)| on.then_some(name))
    .collect();
    let features = if features.is_empty() {
        "none".to_string()
    } else {
        features.join(", ")
    };
    format!(
        "{}\nfeatures: {features}\n{}",
        env!("CARGO_PKG_VERSION"),
        vadscope::video::ffmpeg_version()
    )
}

/// The command-line definition, with the long version text.
fn clap_command() -> clap::Command {
    use clap::CommandFactory;
    // At most twice per process (parsing, man pages); clap keeps its strings for the run.
    let version: &'static str = version_text().leak();
    // `-V` and the man pages get the plain version, `--version` the long text.
    Cli::command()
        .version(env!("CARGO_PKG_VERSION"))
        .long_version(version)
}

/// Parses the command line (clap exits on `--help`, `--version` and errors).
fn parse() -> Cli {
    use clap::FromArgMatches;
    Cli::from_arg_matches(&clap_command().get_matches()).unwrap_or_else(|e| e.exit())
}

fn main() -> ExitCode {
    vadscope::model::tune_allocator();
    let cli = parse();
    // Ctrl-C removes unfinished output before exiting (training stops gracefully).
    if let Err(e) = vadscope::save::interrupt::install() {
        eprintln!("warning: cannot install the Ctrl-C handler ({e}); an interrupt may leave temporary files");
    }
    let result = match cli.command {
        Some(Command::Info(args)) => cli::info::run(args),
        Some(Command::Bench { command }) => cli::bench::run(command),
        Some(Command::Truth(args)) => cli::truth::run(args),
        Some(Command::Synth(args)) => cli::synth::run(args),
        Some(Command::Eval(args)) => cli::eval::run(args),
        Some(Command::Train(args)) => cli::train::run(args),
        Some(Command::Score(args)) => cli::score::run(args),
        Some(Command::Calibrate(args)) => cli::calibrate::run(args),
        Some(Command::Flow(args)) => cli::flow::run_flow(args),
        Some(Command::Open(args)) => cli::open::run(args),
        Some(Command::Export(args)) => cli::export::run(args),
        Some(Command::Watch(args)) => cli::watch::run(args),
        Some(Command::Demo(args)) => cli::demo::run_with(args),
        Some(Command::Completions(args)) => cli::completions::completions(args, clap_command()),
        Some(Command::Manpages(args)) => cli::completions::manpages(args, clap_command()),
        None => cli::demo::run_with(cli::demo::DemoArgs::default()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", vadscope::error::report(e.as_ref()));
            ExitCode::FAILURE
        }
    }
}
