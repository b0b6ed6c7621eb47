//! `vadscope eval SCORES --truth DATASET_OR_FILE`: frame-level metrics of scores
//! (ours or another tool's) under a stated protocol; table, JSON and ROC plot.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use serde::Serialize;
use vadscope::dataset::{self, Split};
use vadscope::metrics::{self, Curve, Normalize, PixelReport, Protocol, Report, Smooth, Stats};
use vadscope::truth::{self, GroundTruth, ReadOptions};

/// Arguments of `vadscope eval`.
#[derive(clap::Args)]
pub struct EvalArgs {
    /// Scores: a folder of <video>.csv (frame,score,…) or <video>.npy, one .npy or
    /// .csv of all videos concatenated, or a CSV with a video column.
    pub scores: PathBuf,
    /// Ground truth: a dataset root (its ground-truth files are found), or a
    /// ground-truth file or folder in any supported format.
    #[arg(long, value_name = "DATASET_OR_FILE")]
    pub truth: PathBuf,
    /// Per-video frame folders (e.g. testing/frames) naming the videos and their
    /// frame counts, for ground-truth formats that need them (.m, .mat, .npy).
    #[arg(long, value_name = "DIR")]
    pub frames: Option<PathBuf>,
    /// Frames excluded at the start of each video (the history a predictor needs).
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub exclude_first: usize,
    /// Score normalisation: minmax (per video), zscore (training statistics) or none.
    #[arg(long, default_value = "minmax", value_parser = parse::<Normalize>)]
    pub normalize: Normalize,
    /// Training statistics MEAN,STD of the score column, for --normalize zscore
    /// (otherwise taken from the scores' run.json).
    #[arg(long, value_name = "MEAN,STD", value_parser = parse::<Stats>)]
    pub train_stats: Option<Stats>,
    /// Temporal smoothing: none, gaussian:SIGMA or median:K (append ,nearest for
    /// edge repetition instead of reflection).
    #[arg(long, default_value = "none", value_parser = parse::<Smooth>)]
    pub smooth: Smooth,
    /// Smooth each term before normalising it (default: normalise, combine, then
    /// smooth). Tools differ on this order, and it moves micro AUC.
    #[arg(long)]
    pub smooth_first: bool,
    /// Combine score-term columns, e.g. recon=0.5,pred=0.3,dist=0.2 (each term
    /// normalised first); default: the score column.
    #[arg(long, value_name = "NAME=W,…")]
    pub weights: Option<String>,
    /// Write the report as JSON here.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Draw the ROC curve (per-video curves too with --per-video) to this PNG.
    #[arg(long, value_name = "FILE")]
    pub roc: Option<PathBuf>,
    /// Print one row per video.
    #[arg(long)]
    pub per_video: bool,
    /// Skip the pixel-level AUC (computed when the score folder holds
    /// `<video>.maps.npy`, from `score --maps`, and the ground truth has masks).
    #[arg(long)]
    pub no_pixel: bool,
}

fn parse<T: std::str::FromStr<Err = vadscope::Error>>(s: &str) -> Result<T, String> {
    s.parse().map_err(|e: vadscope::Error| e.to_string())
}

/// The JSON written by `--json`: where the inputs came from, and the report.
#[derive(Serialize)]
struct Output<'a> {
    scores: String,
    scores_form: &'a str,
    truth: &'a str,
    #[serde(flatten)]
    report: &'a Report,
    #[serde(skip_serializing_if = "Option::is_none")]
    pixel: Option<&'a PixelReport>,
}

/// Evaluates, prints the table and writes the requested files.
pub fn run(args: EvalArgs) -> anyhow::Result<()> {
    let (gt, truth_desc) = load_truth(&args.truth, args.frames.as_deref())?;
    let counts: Option<Vec<(String, usize)>> = gt
        .videos
        .iter()
        .map(|v| v.num_frames.map(|n| (v.name.clone(), n)))
        .collect();
    let set = metrics::read_scores(&args.scores, counts.as_deref()).with_context(|| {
        if counts.is_none() {
            "the ground truth lacks frame counts: give --frames DIR (or a dataset root as --truth)"
        } else {
            "reading scores"
        }
    })?;
    let mut protocol = Protocol {
        exclude_first: args.exclude_first,
        normalize: args.normalize,
        smooth: args.smooth,
        smooth_first: args.smooth_first,
        weights: args
            .weights
            .as_deref()
            .map(metrics::parse_weights)
            .transpose()?,
        train_stats: Default::default(),
    };
    if protocol.normalize == Normalize::ZScore {
        protocol.train_stats = set.train_stats.clone();
        if let Some(st) = args.train_stats {
            protocol.train_stats.insert("score".into(), st);
        }
    }
    let report = metrics::evaluate(&set.videos, &gt, &protocol)
        .with_context(|| format!("evaluating {}", args.scores.display()))?;
    print_report(
        &report,
        &args.scores,
        &set.form,
        &truth_desc,
        args.per_video,
    );
    let pixel = if args.no_pixel || !metrics::has_maps(&args.scores, &gt) {
        None
    } else {
        pixel_report(&args, &gt)?
    };
    if let Some(path) = &args.json {
        let out = Output {
            scores: args.scores.display().to_string(),
            scores_form: &set.form,
            truth: &truth_desc,
            report: &report,
            pixel: pixel.as_ref(),
        };
        let mut bytes = serde_json::to_vec_pretty(&out)?;
        bytes.push(b'\n');
        vadscope::save::atomic_write(path, &bytes)?;
        println!("wrote {}", path.display());
    }
    if let Some(path) = &args.roc {
        draw(&report, path, args.per_video)?;
        println!("wrote {}", path.display());
    }
    Ok(())
}

/// The pixel-level AUC of the score folder's maps, against the masks of the
/// ground truth (or, for a dataset root, of its first source that has masks).
fn pixel_report(args: &EvalArgs, gt: &GroundTruth) -> anyhow::Result<Option<PixelReport>> {
    let has_masks = |g: &GroundTruth| g.videos.iter().any(|v| v.masks.is_some());
    let mut with_masks = None;
    if !has_masks(gt) && args.truth.is_dir() {
        if let Ok(ds) = dataset::open(&args.truth) {
            let opts = ReadOptions {
                videos: Some(ds.frame_counts(Split::Test)?),
                skip_masks: false,
            };
            with_masks = ds
                .truth
                .iter()
                .filter_map(|src| truth::read(&src.path, &opts).ok())
                .find(has_masks);
        }
    }
    let Some(masks) = with_masks.as_ref().or(has_masks(gt).then_some(gt)) else {
        println!(
            "pixel:    the score folder has maps, the ground truth no pixel masks: no pixel AUC"
        );
        return Ok(None);
    };
    let normalize = match args.normalize {
        Normalize::MinMax => Normalize::MinMax,
        _ => Normalize::None,
    };
    let r = metrics::evaluate_maps(&args.scores, masks, args.exclude_first, normalize)
        .with_context(|| format!("pixel-level AUC of the maps in {}", args.scores.display()))?;
    println!(
        "pixel AUC {:.4}  ({} frames of {} videos, {} pixels of which {} anomalous; maps {}x{} \
         resized to masks {}x{}; {} normalisation, no smoothing)",
        r.auc,
        r.frames,
        r.videos,
        r.pixels,
        r.anomalous_pixels,
        r.map_size[0],
        r.map_size[1],
        r.mask_size[0],
        r.mask_size[1],
        r.normalize
    );
    if args.per_video {
        let parts: Vec<String> = r
            .per_video
            .iter()
            .map(|v| format!("{} {}", v.name, opt(v.auc, 3)))
            .collect();
        println!("pixel AUC per video: {}", parts.join(", "));
    }
    Ok(Some(r))
}

/// Ground truth from a dataset root (first readable source, frame counts from
/// its test split) or from a ground-truth file or folder.
fn load_truth(path: &Path, frames: Option<&Path>) -> anyhow::Result<(GroundTruth, String)> {
    if path.is_dir() && frames.is_none() {
        if let Ok(ds) = dataset::open(path) {
            if !ds.truth.is_empty() {
                let counts = ds.frame_counts(Split::Test)?;
                let opts = ReadOptions {
                    videos: Some(counts),
                    skip_masks: true,
                };
                let mut errors = Vec::new();
                for src in &ds.truth {
                    match truth::read(&src.path, &opts) {
                        Ok(gt) => {
                            return Ok((
                                gt,
                                format!("{} ({})", src.path.display(), src.description),
                            ))
                        }
                        Err(e) => errors.push(e.to_string()),
                    }
                }
                bail!(
                    "no readable ground truth in {}:\n  {}",
                    path.display(),
                    errors.join("\n  ")
                );
            }
        }
    }
    let videos = frames.map(truth::video_list_from_frames).transpose()?;
    let gt = truth::read(
        path,
        &ReadOptions {
            videos,
            skip_masks: true,
        },
    )?;
    Ok((gt, path.display().to_string()))
}

fn opt(v: Option<f64>, digits: usize) -> String {
    v.map_or_else(|| "-".to_owned(), |x| format!("{x:.digits$}"))
}

fn row(name: &str, m: &metrics::Metrics) -> String {
    format!(
        "{name:<16} {:>7} {:>7}  {:>6}  {:>6}  {:>6}  {:>7}",
        m.frames,
        m.anomalous,
        opt(m.auc, 4),
        opt(m.eer, 4),
        opt(m.ap, 4),
        opt(m.delta_s, 4)
    )
}

fn print_report(r: &Report, scores: &Path, form: &str, truth: &str, per_video: bool) {
    println!(
        "scores:   {} ({form}), {} videos",
        scores.display(),
        r.videos.len()
    );
    println!("truth:    {truth}");
    println!("protocol: {}", r.protocol);
    println!(
        "          AUC micro = all evaluated frames concatenated; macro = mean of per-video AUCs"
    );
    println!();
    println!(
        "{:<16} {:>7} {:>7}  {:>6}  {:>6}  {:>6}  {:>7}",
        "", "frames", "anomal", "AUC", "EER", "AP", "Δs"
    );
    if per_video {
        for v in &r.videos {
            println!("{}", row(&v.name, &v.metrics));
        }
    }
    println!("{}", row("micro (all)", &r.micro));
    println!(
        "{:<16} {:>7} {:>7}  {:>6}   over {} of {} videos",
        "macro",
        "",
        "",
        opt(r.macro_auc, 4),
        r.macro_videos,
        r.videos.len()
    );
    if let Some(t) = r.micro.eer_threshold {
        println!("EER threshold (micro, evaluated score scale): {t:.6}");
    }
    if !r.skipped.is_empty() {
        let s: Vec<String> = r
            .skipped
            .iter()
            .map(|s| format!("{} ({})", s.video, s.reason))
            .collect();
        println!("no per-video AUC for {}: {}", r.skipped.len(), s.join(", "));
    }
}

fn draw(r: &Report, path: &Path, per_video: bool) -> anyhow::Result<()> {
    let label = r.micro.auc.map(|a| format!("AUC={a:.3}"));
    let mut curves = vec![Curve {
        fpr: &r.roc.fpr,
        tpr: &r.roc.tpr,
        color: [31, 90, 180],
        width: 3.0,
        label,
    }];
    if per_video {
        curves.extend(
            r.videos
                .iter()
                .filter_map(|v| v.roc.as_ref())
                .map(|roc| Curve {
                    fpr: &roc.fpr,
                    tpr: &roc.tpr,
                    color: [245, 160, 90],
                    width: 1.2,
                    label: None,
                }),
        );
    }
    metrics::roc_png(&curves, path)?;
    Ok(())
}
