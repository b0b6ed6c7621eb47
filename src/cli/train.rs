//! `vadscope train DATASET --profile demo|cpu|paper -o RUN/`.

use indicatif::{ProgressBar, ProgressStyle};
use std::path::PathBuf;
use vadscope::dataset::{self, Split};
use vadscope::model::{select_device, Checkpoint, ModelConfig};
use vadscope::save::interrupt;
use vadscope::train::{self, ClipSet, TrainEvent, TrainOptions};

/// Arguments of `vadscope train`.
#[derive(clap::Args)]
pub struct TrainArgs {
    /// A dataset root (its training split is used) or a single video / frame folder.
    pub dataset: PathBuf,
    /// Built-in configuration: demo (seconds on a synthetic scene), cpu (Ped2 on 2 cores), paper (GPU).
    #[arg(long, default_value = "cpu")]
    pub profile: String,
    /// A config file (JSON, as written to RUN/config.json) instead of a profile.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Stop when the run reaches this many optimiser steps (default: the config's epochs).
    #[arg(long, value_parser = super::args::int(1usize, 1_000_000_000))]
    pub max_steps: Option<usize>,
    /// Continue a run from its checkpoint (RUN/checkpoint.safetensors, with
    /// optimizer.safetensors beside it); the checkpoint's config is used.
    #[arg(long, conflicts_with = "config")]
    pub resume: Option<PathBuf>,
    /// Train for this many epochs in all (overrides the config; with --resume, extends a run).
    #[arg(long, value_parser = super::args::int(1usize, vadscope::model::config::limits::MAX_EPOCHS))]
    pub epochs: Option<usize>,
    /// Seed of the initialisation, clip order, crops and noise (overrides the
    /// config's `train.seed`; not with --resume, which keeps the run's). Runs
    /// on Ped2 differ by seed: compare settings over several.
    #[arg(long, conflicts_with = "resume")]
    pub seed: Option<u64>,
    /// Optical flow preset of the model's input: fast, balanced or accurate
    /// (overrides the config's `input.flow`; not with --resume). It is stored
    /// in the checkpoint, and scoring computes the same flow.
    #[arg(long, conflicts_with = "resume")]
    pub flow_preset: Option<vadscope::flow::Preset>,
    /// Use a GPU when built with CUDA and one is available.
    #[arg(long)]
    pub gpu: bool,
    /// Output folder: checkpoint.safetensors, optimizer.safetensors, loss.csv,
    /// config.json. A folder that holds a run is continued only with --resume
    /// from its checkpoint, replaced only with --overwrite; one process at a time.
    #[arg(short, long)]
    pub output: PathBuf,
    /// Replace the run in the output folder; the old run is kept as OUTPUT.bak
    /// (replacing an older OUTPUT.bak).
    #[arg(long)]
    pub overwrite: bool,
    /// Do not choose the score's weights at the end (`vadscope calibrate`, on
    /// the training videos; a few minutes on Ped2): the `score` column then
    /// uses the config's weights.
    #[arg(long)]
    pub no_calibrate: bool,
}

/// Trains and reports progress; Ctrl-C stops after saving a checkpoint.
pub fn run(args: TrainArgs) -> anyhow::Result<()> {
    let mut cfg = match (&args.resume, &args.config) {
        (Some(ckpt), _) => {
            let ck = Checkpoint::read(ckpt, &candle_core::Device::Cpu)?;
            if args.profile != "cpu" && args.profile != ck.config.profile {
                eprintln!(
                    "note: --profile {} ignored; resuming with the checkpoint's config (profile {})",
                    args.profile, ck.config.profile
                );
            }
            ck.config
        }
        (None, Some(path)) => ModelConfig::load(path)?,
        (None, None) => ModelConfig::profile(&args.profile)?,
    };
    if let Some(epochs) = args.epochs {
        cfg.train.epochs = epochs;
    }
    if let Some(seed) = args.seed {
        cfg.train.seed = seed;
    }
    if let Some(preset) = args.flow_preset {
        cfg.input.flow = vadscope::flow::Params::preset(preset);
    }
    // Before the minutes of decoding and flow, not after them.
    train::run_folder::check(&args.output, args.resume.as_deref(), args.overwrite)?;
    let videos: Vec<PathBuf> = match dataset::open(&args.dataset) {
        Ok(ds) => ds.split(Split::Train).map(|v| v.path.clone()).collect(),
        Err(_) if args.dataset.exists() => vec![args.dataset.clone()],
        Err(e) => return Err(e.into()),
    };
    anyhow::ensure!(
        !videos.is_empty(),
        "{}: no training videos",
        args.dataset.display()
    );
    let (device, note) = select_device(args.gpu);
    if let Some(note) = note {
        eprintln!("{note}");
    }

    let frames: usize = videos
        .iter()
        .map(|v| dataset::frame_count(v))
        .sum::<Result<usize, _>>()?;
    let bar = progress_bar(
        frames as u64,
        "{msg:>9} [{bar:30}] {pos}/{len} frames, eta {eta}",
    );
    bar.set_message("decode+flow");
    let set = ClipSet::load(&videos, &cfg, &|| bar.inc(1))?;
    bar.finish_and_clear();
    eprintln!(
        "{} training videos, {} clips of {} frames at {}x{}, profile {}",
        videos.len(),
        set.clips().len(),
        cfg.input.frames + 1,
        cfg.input.width,
        cfg.input.height,
        cfg.profile
    );

    // Ctrl-C saves a checkpoint and stops; a second one exits at once.
    interrupt::stop_gracefully();
    let stop = interrupt::stop_flag();

    let steps = progress_bar(0, "{msg} [{bar:30}] {pos}/{len} steps, eta {eta}");
    let opts = TrainOptions {
        out_dir: args.output.clone(),
        max_steps: args.max_steps,
        resume: args.resume.clone(),
        overwrite: args.overwrite,
    };
    let summary = train::train(&set, &cfg, &opts, &device, stop, &mut |e| match e {
        TrainEvent::Step {
            epoch,
            step,
            total_steps,
            losses,
            clips_per_sec,
        } => {
            steps.set_length(*total_steps as u64);
            steps.set_position(*step as u64 + 1);
            steps.set_message(format!(
                "epoch {epoch} loss {:.4} (recon {:.4} pred {:.4}) {clips_per_sec:.1} clips/s",
                losses.total, losses.recon, losses.pred
            ));
        }
        TrainEvent::Checkpoint(p) => steps.println(format!("checkpoint {}", p.display())),
        // Printed even when the bar is hidden (no terminal).
        TrainEvent::Note(n) => steps.suspend(|| eprintln!("note: {n}")),
        TrainEvent::Statistics { done, total } => {
            steps.set_length(*total as u64);
            steps.set_position(*done as u64);
            steps.set_message(format!(
                "training-set score statistics: {done}/{total} clips"
            ));
        }
    })?;
    steps.finish_and_clear();
    let how = if summary.interrupted {
        "stopped by Ctrl-C"
    } else {
        "finished"
    };
    let resumed = match summary.resumed_from {
        0 => String::new(),
        s => format!(" (resumed at step {s})"),
    };
    println!(
        "{how} after {} steps{resumed}; checkpoint {}",
        summary.steps,
        summary.checkpoint.display()
    );
    if !summary.interrupted && !args.no_calibrate {
        calibrate_run(&summary.checkpoint, &videos, &device);
    }
    if summary.interrupted {
        println!(
            "continue with: vadscope train {} --resume {} -o {}",
            args.dataset.display(),
            summary.checkpoint.display(),
            args.output.display()
        );
    }
    Ok(())
}

/// `vadscope calibrate` on the finished run. A failure (e.g. videos too short
/// for its pseudo-anomalies) leaves the checkpoint as trained, with a note.
fn calibrate_run(ckpt: &std::path::Path, videos: &[PathBuf], device: &candle_core::Device) {
    let options = vadscope::score::CalibrateOptions::default();
    let stored = super::calibrate::choose(ckpt, videos, &options, device).and_then(|(c, text)| {
        vadscope::model::checkpoint::write_calibration(ckpt, Some(&c))?;
        Ok(text)
    });
    match stored {
        Ok(text) => {
            println!("score weights chosen on the training videos (vadscope calibrate):\n{text}")
        }
        Err(e) => eprintln!(
            "note: the score's weights were not calibrated ({}); the score column uses the \
             config's. Run `vadscope calibrate` to retry.",
            vadscope::error::report(e.as_ref())
        ),
    }
}

fn progress_bar(len: u64, template: &str) -> ProgressBar {
    let b = ProgressBar::new(len);
    b.set_style(
        ProgressStyle::with_template(template)
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    b
}
