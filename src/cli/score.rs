//! `vadscope score RUN/checkpoint.safetensors VIDEO|DATASET -o SCORES/`.

use std::path::PathBuf;

use vadscope::dataset::{self, Split};
use vadscope::model::select_device;
use vadscope::save::StagedFolder;
use vadscope::score::events::{self, EventRule};
use vadscope::score::{Scorer, SCORE_FOLDER};

/// Arguments of `vadscope score`.
#[derive(clap::Args)]
pub struct ScoreArgs {
    /// A checkpoint written by `vadscope train` (or its run folder).
    pub checkpoint: PathBuf,
    /// A video, a frame folder, or a dataset root (its test split is scored,
    /// or the one --split names).
    pub input: PathBuf,
    /// The split of a dataset root to score: test, or train (normal footage
    /// only: for the memories' slot usage and the score terms' statistics on
    /// training frames; `vadscope eval` refuses these scores).
    #[arg(long, value_enum, default_value_t = SplitArg::Test)]
    pub split: SplitArg,
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
    /// Also write each video's alert events (from its `score` column) to
    /// FILE: `.json` (the rule and, per video, start / peak / end) or `.csv`
    /// (`video,start,peak,end,peak_score`). Needs --event-threshold.
    #[arg(long, requires = "event_threshold")]
    pub events: Option<PathBuf>,
    /// The event rule.
    #[command(flatten)]
    pub event: super::args::EventFlags,
}

/// `--split`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum SplitArg {
    /// The test split (footage with anomalies).
    Test,
    /// The training split (normal footage).
    Train,
}

impl From<SplitArg> for Split {
    fn from(s: SplitArg) -> Split {
        match s {
            SplitArg::Test => Split::Test,
            SplitArg::Train => Split::Train,
        }
    }
}

/// The event rule of the `--event-*` flags, and the form of the events file.
fn event_rule(args: &ScoreArgs) -> anyhow::Result<Option<(EventRule, PathBuf, bool)>> {
    let (Some(path), Some(rule)) = (&args.events, args.event.rule()) else {
        return Ok(None);
    };
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    let json = match ext.as_deref() {
        Some("json") => true,
        Some("csv") => false,
        _ => anyhow::bail!(
            "{}: the events file must end in .json or .csv",
            path.display()
        ),
    };
    Ok(Some((rule, path.clone(), json)))
}

/// Scores each video and writes the score folder.
pub fn run(args: ScoreArgs) -> anyhow::Result<()> {
    let ckpt = super::watch::resolve_checkpoint(&args.checkpoint)?;
    let events_to = event_rule(&args)?;
    let mut found: Vec<(String, Vec<events::Event>)> = Vec::new();
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
        scorer.set_split(args.split.into());
        ds.split(args.split.into())
            .map(|v| (v.name.clone(), v.path.clone()))
            .collect()
    } else {
        anyhow::ensure!(
            args.split == SplitArg::Test,
            "{}: --split names a split of a dataset root, not of one video",
            args.input.display()
        );
        let name = args
            .input
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "video".into());
        vec![(name, args.input.clone())]
    };
    anyhow::ensure!(
        !videos.is_empty(),
        "{}: no videos to score (split {:?})",
        args.input.display(),
        args.split
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
    let bar = super::progress::frames(frames, "");
    for (name, path) in &videos {
        bar.set_message(name.clone());
        let scores = scorer.score_video(path, &|| bar.inc(1))?;
        Scorer::write_csv(&dir, name, &scores)?;
        if let Some((rule, ..)) = &events_to {
            let first = scores.first().map_or(0, |s| s.frame);
            let curve = scores.iter().map(|s| s.score);
            found.push((name.clone(), events::detect(curve, first, *rule)));
        }
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
    if let Some((rule, path, json)) = &events_to {
        let text = if *json {
            events::to_json(rule, &found)
        } else {
            events::to_csv(&found)
        };
        vadscope::save::atomic_write(path, text.as_bytes())?;
        let n: usize = found.iter().map(|(_, e)| e.len()).sum();
        println!(
            "{n} events (score >= {}, hysteresis {}, at least {} frames, cooldown {}) written to {}",
            rule.threshold,
            rule.hysteresis,
            rule.min_frames,
            rule.cooldown_frames,
            path.display()
        );
    }
    let usage = scorer.usage_summary();
    if !usage.is_empty() {
        println!("{}", vadscope::score::usage::describe(&usage));
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
