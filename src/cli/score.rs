//! `vadscope score RUN/checkpoint.safetensors VIDEO|DATASET -o SCORES/`.

use std::path::PathBuf;

use indicatif::{ProgressBar, ProgressStyle};
use vadscope::dataset::{self, Split};
use vadscope::model::select_device;
use vadscope::save::StagedFolder;
use vadscope::score::{Scorer, SCORE_FOLDER};

/// Arguments of `vadscope score`.
#[derive(clap::Args)]
pub struct ScoreArgs {
    /// A checkpoint written by `vadscope train` (or its run folder).
    pub checkpoint: PathBuf,
    /// A video, a frame folder, or a dataset root (its test split is scored).
    pub input: PathBuf,
    /// Output folder: one `<video>.csv` per video and `run.json`. It appears
    /// when scoring has finished (nothing is left of a failed or interrupted
    /// run); a folder of earlier scores is replaced only with --overwrite.
    #[arg(short, long)]
    pub output: PathBuf,
    /// Replace the scores in the output folder; the old folder is kept as
    /// OUTPUT.bak (replacing an older OUTPUT.bak).
    #[arg(long)]
    pub overwrite: bool,
    /// Use a GPU when built with CUDA and one is available.
    #[arg(long)]
    pub gpu: bool,
    /// Pool each term's error map over its worst N×N window (at the model's
    /// input size, stride N/2) instead of the frame mean; 0 = the mean.
    /// Default: the checkpoint's `score.patch`. Evaluate the terms with
    /// `eval --weights` (each is normalised per video) when this differs from
    /// training, whose statistics the combined score uses.
    #[arg(long, value_parser = super::args::int(0usize, vadscope::model::config::limits::MAX_SIDE))]
    pub patch: Option<usize>,
    /// Also write `<video>.maps.npy`: each scored frame's pixel score map
    /// (float16, frames x height x width at the model's input size), which
    /// `vadscope eval` turns into a pixel-level AUC against mask ground truth.
    #[arg(long)]
    pub maps: bool,
    /// Score whole frames even when the model was trained on crops
    /// (`train.crop`). By default such a model scores each frame in tiles of its
    /// crop size, the inputs it was trained on (its group norms see the same
    /// extent as in training).
    #[arg(long)]
    pub whole_frames: bool,
    /// The flow the CVAE is conditioned on: given (the model as trained),
    /// zero, or shifted (moved by half the frame: real motion in the wrong
    /// places). An ablation that measures how much the prediction uses the
    /// flow; recorded in run.json.
    #[arg(long, default_value = "given")]
    pub flow_condition: vadscope::score::FlowCondition,
}

/// Scores each video and writes the score folder.
pub fn run(args: ScoreArgs) -> anyhow::Result<()> {
    let ckpt = if args.checkpoint.is_dir() {
        let ckpt = vadscope::train::checkpoint_path(&args.checkpoint);
        anyhow::ensure!(
            ckpt.is_file(),
            "{}: not a run folder (it has no checkpoint.safetensors; `vadscope train -o RUN` writes one)",
            args.checkpoint.display()
        );
        ckpt
    } else {
        args.checkpoint.clone()
    };
    let (device, note) = select_device(args.gpu);
    if let Some(note) = note {
        eprintln!("{note}");
    }
    let mut scorer = Scorer::load(&ckpt, &device)?;
    if let Some(p) = args.patch {
        scorer.set_patch(p);
    }
    if args.whole_frames {
        scorer.set_whole_frames(true);
    }
    scorer.keep_score_maps(args.maps);
    scorer.set_flow_condition(args.flow_condition);
    let is_frame_folder =
        args.input.is_dir() && !vadscope::video::list_images(&args.input)?.is_empty();
    let videos: Vec<(String, PathBuf)> = if args.input.is_dir() && !is_frame_folder {
        let ds = dataset::open(&args.input)?;
        ds.split(Split::Test)
            .map(|v| (v.name.clone(), v.path.clone()))
            .collect()
    } else {
        let name = args
            .input
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "video".into());
        vec![(name, args.input.clone())]
    };
    anyhow::ensure!(
        !videos.is_empty(),
        "{}: no videos to score",
        args.input.display()
    );
    let staged = StagedFolder::begin(&args.output, &SCORE_FOLDER, args.overwrite)?;
    for p in staged.stale_removed() {
        eprintln!(
            "note: removed {}, left by a scoring run that was killed",
            p.display()
        );
    }
    let dir = staged.path().to_path_buf();
    let frames: usize = videos
        .iter()
        .map(|(_, p)| dataset::frame_count(p))
        .sum::<Result<usize, _>>()?;
    let bar = ProgressBar::new(frames as u64);
    bar.set_style(
        ProgressStyle::with_template(
            "{msg:>10} [{bar:30}] {pos}/{len} frames, {per_sec}, eta {eta}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    for (name, path) in &videos {
        bar.set_message(name.clone());
        let scores = scorer.score_video(path, &|| bar.inc(1))?;
        Scorer::write_csv(&dir, name, &scores)?;
        if let Some(maps) = scorer.take_score_maps() {
            maps.write(&vadscope::score::maps_path(&dir, name))?;
        }
    }
    bar.finish_and_clear();
    let names: Vec<String> = videos.iter().map(|(n, _)| n.clone()).collect();
    scorer.write_run_json(&dir, &names)?;
    if let Some(backup) = staged.commit()? {
        eprintln!(
            "note: the scores that were in {} are kept as {}",
            args.output.display(),
            backup.display()
        );
    }
    println!(
        "scored {} videos ({} frames; the first {} of each have no score) into {}",
        videos.len(),
        frames,
        scorer.config().input.frames,
        args.output.display()
    );
    Ok(())
}
