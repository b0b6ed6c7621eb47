//! `vadscope calibrate RUN DATASET`: the score weights from training footage.

use std::path::PathBuf;

use vadscope::dataset::{self, Split};
use vadscope::model::{checkpoint, select_device};
use vadscope::save::OutputLock;
use vadscope::score::{calibrate, CalibrateOptions, Calibration, Scorer};

/// Arguments of `vadscope calibrate`.
#[derive(clap::Args)]
pub struct CalibrateArgs {
    /// A checkpoint written by `vadscope train` (or its run folder). The weights
    /// are stored in it (the file it replaces is kept as
    /// checkpoint.safetensors.bak); `vadscope score`, `watch` and the app then
    /// use them for the `score` column.
    pub checkpoint: PathBuf,
    /// The dataset root whose training split (normal footage) the
    /// pseudo-anomalies are made from. Not needed with --clear.
    #[arg(required_unless_present = "clear")]
    pub dataset: Option<PathBuf>,
    /// Print the weights and the objectives without storing anything.
    #[arg(long)]
    pub dry_run: bool,
    /// Remove stored weights: the `score` column goes back to the config's.
    #[arg(long, conflicts_with_all = ["dry_run", "dataset"])]
    pub clear: bool,
    /// Frames read from the start of each training video, 11 to 100000 (at
    /// least 2t + 3 for a model of t input frames).
    #[arg(long, default_value_t = CalibrateOptions::default().max_frames,
          value_parser = super::args::int(11usize, 100_000))]
    pub max_frames: usize,
    /// Training videos used (the first N of the split; 0 = all), 0 to 1000000.
    #[arg(long, default_value_t = 0, value_parser = super::args::int(0usize, 1_000_000))]
    pub videos: usize,
    /// Grid step of the weights (each 0 to 1, summing to 1): above 0, at most 0.5.
    #[arg(long, default_value_t = CalibrateOptions::default().step,
          value_parser = super::args::real(0.0f64, 0.5, true))]
    pub step: f64,
    /// Seed of the pasted patches (source, place, direction), any whole number.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Also write the calibration (weights, objectives) as JSON to FILE.
    #[arg(long)]
    pub report: Option<PathBuf>,
    /// Use a GPU when built with CUDA and one is available.
    #[arg(long)]
    pub gpu: bool,
}

/// Chooses the weights, prints them, and stores them unless --dry-run.
pub fn run(args: CalibrateArgs) -> anyhow::Result<()> {
    let ckpt = super::watch::resolve_checkpoint(&args.checkpoint)?;
    let folder = ckpt
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    let _lock = (!args.dry_run)
        .then(|| OutputLock::acquire(folder))
        .transpose()?;
    if args.clear {
        checkpoint::write_calibration(&ckpt, None)?;
        println!(
            "{}: calibration removed; the score column uses the config's weights",
            ckpt.display()
        );
        return Ok(());
    }
    let Some(root) = &args.dataset else {
        anyhow::bail!("give the dataset whose training split to calibrate on");
    };
    let ds = dataset::open(root)?;
    let mut videos: Vec<PathBuf> = ds.split(Split::Train).map(|v| v.path.clone()).collect();
    if args.videos > 0 {
        videos.truncate(args.videos);
    }
    anyhow::ensure!(
        !videos.is_empty(),
        "{}: the training split has no videos",
        root.display()
    );
    let (device, note) = select_device(args.gpu);
    if let Some(note) = note {
        eprintln!("{note}");
    }
    let options = CalibrateOptions {
        max_frames: args.max_frames,
        step: args.step,
        seed: args.seed,
    };
    let (c, text) = choose(&ckpt, &videos, &options, &device)?;
    println!("{text}");
    if let Some(path) = &args.report {
        let json = serde_json::to_vec_pretty(&c)?;
        vadscope::save::atomic_write(path, &json)?;
    }
    if args.dry_run {
        println!("dry run: nothing stored");
    } else {
        checkpoint::write_calibration(&ckpt, Some(&c))?;
        println!(
            "stored in {} (the previous file is {})",
            ckpt.display(),
            vadscope::save::backup_path(&ckpt).display()
        );
    }
    Ok(())
}

/// Calibrates the checkpoint at `ckpt` on `videos` (a progress bar on the
/// terminal) and returns the weights with their report; stores nothing.
pub fn choose(
    ckpt: &std::path::Path,
    videos: &[PathBuf],
    options: &CalibrateOptions,
    device: &candle_core::Device,
) -> anyhow::Result<(Calibration, String)> {
    let mut scorer = Scorer::load(ckpt, device)?;
    let bar = super::progress::counted(videos.len(), "videos", "calibrate");
    let c = calibrate::calibrate(&mut scorer, videos, options, &|| bar.inc(1))?;
    bar.finish_and_clear();
    let text = describe(&c, &scorer);
    Ok((c, text))
}

/// The report: each term's objective alone, the config's and the chosen weights.
fn describe(c: &Calibration, scorer: &Scorer) -> String {
    let w = &scorer.config().score;
    let kinds: Vec<String> = c
        .per_kind
        .iter()
        .map(|(k, a)| format!("{} {a:.4}", k.name()))
        .collect();
    format!(
        "objective: mean within-video AUC, normal training frames against pseudo-anomalies \
         (every 2nd frame; a moving pasted patch), over {} videos\n\
         recon alone        {:.4}\n\
         pred alone         {:.4}\n\
         D alone            {:.4}\n\
         config weights     {:.4}  (recon {}, pred {}, compact {})\n\
         chosen weights     {:.4}  (recon {:.2}, pred {:.2}, compact {:.2}; grid step {:.3}; {})",
        c.videos,
        c.terms.recon,
        c.terms.pred,
        c.terms.compact,
        c.config_objective,
        w.recon,
        w.pred,
        w.compact,
        c.objective,
        c.recon,
        c.pred,
        c.compact,
        c.step,
        kinds.join(", ")
    )
}
