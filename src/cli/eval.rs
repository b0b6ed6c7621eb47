//! `vadscope eval SCORES --truth DATASET_OR_FILE`: frame-level metrics of scores
//! (ours or another tool's) under a stated protocol; table, JSON and ROC plot.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use serde::Serialize;

use super::eval_maps::{self, MapReports};
use vadscope::dataset::{self, Split};
use vadscope::metrics::{
    self, Curve, Normalize, PixelReport, Protocol, RegionReport, Report, Smooth, Stats,
};
use vadscope::truth::{self, GroundTruth, ReadOptions};

/// Arguments of `vadscope eval`.
#[derive(clap::Args)]
pub struct EvalArgs {
    /// Scores: a folder of <video>.csv (frame,score,…) or <video>.npy, one .npy or
    /// .csv of all videos concatenated, or a CSV with a video column. Several
    /// (e.g. runs with different seeds) are evaluated as one ensemble: each
    /// member's terms are normalised per video, combined, and averaged over members.
    #[arg(required = true, num_args = 1..)]
    pub scores: Vec<PathBuf>,
    /// Ground truth: a dataset root (its ground-truth files are found), or a
    /// ground-truth file or folder in any supported format.
    #[arg(long, value_name = "DATASET_OR_FILE")]
    pub truth: PathBuf,
    /// Per-video frame folders (e.g. testing/frames) naming the videos and their
    /// frame counts, for ground-truth formats that need them (.m, .mat, .npy).
    #[arg(long, value_name = "DIR")]
    pub frames: Option<PathBuf>,
    /// Frames excluded at the start of each video (the history a predictor
    /// needs), 0 to 10000000.
    #[arg(long, default_value_t = 0, value_name = "N",
          value_parser = super::args::int(0usize, vadscope::truth::MAX_FRAMES))]
    pub exclude_first: usize,
    /// Score normalisation: minmax (per video; needs the whole video),
    /// zscore alias train-stats (training statistics: the live protocol of
    /// `vadscope watch`), or none. Also spelled --normalise.
    #[arg(long, alias = "normalise", default_value = "minmax", value_parser = parse::<Normalize>)]
    pub normalize: Normalize,
    /// Training statistics MEAN,STD of the score column, for --normalize zscore
    /// (otherwise taken from the scores' run.json).
    #[arg(long, value_name = "MEAN,STD", value_parser = parse::<Stats>)]
    pub train_stats: Option<Stats>,
    /// Temporal smoothing: none, gaussian:SIGMA (SIGMA above 0 and at most 1000
    /// frames) or median:K (K odd, 1 to 1001 frames), with ,nearest appended
    /// for edge repetition instead of reflection; or the causal filters of
    /// `vadscope watch`, causal:ema:ALPHA (0 < ALPHA <= 1) or causal:mean:K
    /// (1 to 1001 frames), which use only past frames.
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
    /// Skip the pixel-level AUC and RBDC/TBDC (computed when the score folder
    /// holds `<video>.maps.npy`, from `score --maps`, and the ground truth has
    /// masks or regions).
    #[arg(long)]
    pub no_pixel: bool,
    /// RBDC/TBDC: the level (0 to 1, of each video's box-filtered maps, min-max
    /// normalised over the video) a pixel must reach to be part of a detected
    /// region; each region is scored by its peak.
    #[arg(long, default_value_t = 0.3, value_name = "L",
          value_parser = super::args::real(0.0f32, 1.0, false))]
    pub region_level: f32,
    /// RBDC/TBDC: radius in map pixels of the box filter applied to each map
    /// before thresholding (0 = none), 0 to 1024.
    #[arg(long, default_value_t = 4, value_name = "PX",
          value_parser = super::args::int(0usize, 1024))]
    pub region_blur: usize,
    /// RBDC/TBDC with region ground truth but no masks: the videos' frame size,
    /// the pixels the regions are given in; each side 1 to 16384.
    #[arg(long, value_name = "WxH", value_parser = parse_size)]
    pub frame_size: Option<[usize; 2]>,
}

fn parse<T: std::str::FromStr<Err = vadscope::Error>>(s: &str) -> Result<T, String> {
    s.parse().map_err(|e: vadscope::Error| e.to_string())
}

/// The JSON written by `--json`: where the inputs came from, and the report.
#[derive(Serialize)]
struct Output<'a> {
    scores: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    members: Vec<String>,
    scores_form: &'a str,
    truth: &'a str,
    #[serde(flatten)]
    report: &'a Report,
    #[serde(skip_serializing_if = "Option::is_none")]
    pixel: Option<&'a PixelReport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    regions: Option<&'a RegionReport>,
}

/// Evaluates, prints the table and writes the requested files.
pub fn run(args: EvalArgs) -> anyhow::Result<()> {
    let (mut gt, truth_desc) = load_truth(&args.truth, args.frames.as_deref())?;
    let counts: Option<Vec<(String, usize)>> = gt
        .videos
        .iter()
        .map(|v| v.num_frames.map(|n| (v.name.clone(), n)))
        .collect();
    let mut members = Vec::with_capacity(args.scores.len());
    for path in &args.scores {
        let set = metrics::read_scores(path, counts.as_deref()).with_context(|| {
            if counts.is_none() {
                "the ground truth lacks frame counts: give --frames DIR (or a dataset root as --truth)"
            } else {
                "reading scores"
            }
        })?;
        members.push((path.clone(), set));
    }
    let ensemble = members.len() > 1;
    if ensemble && args.train_stats.is_some() {
        bail!("--train-stats applies to one score set; an ensemble's members bring their own run.json");
    }
    let set = if ensemble {
        metrics::merge_members(&members)?
    } else {
        members.remove(0).1
    };
    if let Some(note) = match_by_position(&mut gt, &set.videos) {
        eprintln!("note: {note}");
    }
    let scores_desc = args
        .scores
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(" + ");
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
        members: args.scores.len(),
    };
    if protocol.normalize == Normalize::ZScore {
        protocol.train_stats = set.train_stats.clone();
        if let Some(st) = args.train_stats {
            protocol.train_stats.insert("score".into(), st);
        }
        let ours = ["recon", "pred", "dist"]
            .iter()
            .all(|t| set.train_stats.contains_key(*t));
        if ours && !ensemble && !protocol.train_stats.contains_key("score") {
            // `vadscope score` writes the score column already as the weighted
            // sum of training-set z-scores: it is taken as it is.
            protocol.train_stats.insert(
                "score".into(),
                Stats {
                    mean: 0.0,
                    std: 1.0,
                },
            );
            if protocol.weights.is_none() {
                eprintln!("note: the score column is already in training-set z-scores; it is used as it is");
            }
        }
    }
    let report = metrics::evaluate(&set.videos, &gt, &protocol)
        .with_context(|| format!("evaluating {scores_desc}"))?;
    print_report(
        &report,
        &scores_desc,
        &set.form,
        &truth_desc,
        args.per_video,
    );
    let maps = if args.no_pixel || !metrics::has_maps(&args.scores[0], &gt) {
        MapReports::default()
    } else if ensemble {
        println!("pixel:    not computed for an ensemble (evaluate each member's maps alone)");
        MapReports::default()
    } else {
        eval_maps::run(&args, &args.scores[0], &gt)?
    };
    if let Some(path) = &args.json {
        let out = Output {
            scores: scores_desc.clone(),
            members: if ensemble {
                args.scores
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect()
            } else {
                Vec::new()
            },
            scores_form: &set.form,
            truth: &truth_desc,
            report: &report,
            pixel: maps.pixel.as_ref(),
            regions: maps.regions.as_ref(),
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

/// When no scored video's name is in the ground truth but both have as many
/// videos (a one-video `.npy` is named by its file, the scores by the video),
/// the ground truth's videos take the scores' names, in natural order of both.
/// Returns the note that says so.
fn match_by_position(gt: &mut GroundTruth, scores: &[metrics::VideoScores]) -> Option<String> {
    let disjoint = scores.iter().all(|s| gt.video(&s.name).is_none());
    if !disjoint || scores.len() != gt.videos.len() || scores.is_empty() {
        return None;
    }
    let mut names: Vec<&str> = scores.iter().map(|s| s.name.as_str()).collect();
    names.sort_by(|a, b| vadscope::video::natural_cmp(a, b));
    let mut order: Vec<usize> = (0..gt.videos.len()).collect();
    order.sort_by(|&a, &b| vadscope::video::natural_cmp(&gt.videos[a].name, &gt.videos[b].name));
    let mut pairs = Vec::new();
    for (&i, name) in order.iter().zip(names) {
        pairs.push(format!("{} = {name}", gt.videos[i].name));
        gt.videos[i].name = name.to_string();
    }
    Some(format!(
        "no scored video is named as in the ground truth; matched by position: {} \
         (give --frames DIR or a dataset root as --truth to match by name)",
        pairs.join(", ")
    ))
}

/// Ground truth from a dataset root (first readable source, frame counts from
/// its test split) or from a ground-truth file or folder.
fn load_truth(path: &Path, frames: Option<&Path>) -> anyhow::Result<(GroundTruth, String)> {
    if path.is_dir() && frames.is_none() {
        if let Ok(ds) = dataset::open(path) {
            if !ds.truth.is_empty() {
                let counts = ds.frame_counts(Split::Test)?;
                if let Some((gt, src, skipped)) = ds.load_first_truth(&counts)? {
                    for e in &skipped {
                        eprintln!(
                            "warning: {e}\n  (skipped; using {} instead)",
                            src.path.display()
                        );
                    }
                    return Ok((gt, format!("{} ({})", src.path.display(), src.description)));
                }
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

/// `--frame-size WxH`, each side 1 to 16384.
fn parse_size(s: &str) -> Result<[usize; 2], String> {
    let (w, h) = super::args::size(1, vadscope::video::OutputSpec::MAX_SIDE)(s)?;
    Ok([w, h])
}

pub(super) fn opt(v: Option<f64>, digits: usize) -> String {
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

fn print_report(r: &Report, scores: &str, form: &str, truth: &str, per_video: bool) {
    println!("scores:   {scores} ({form}), {} videos", r.videos.len());
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
