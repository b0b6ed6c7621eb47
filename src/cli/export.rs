//! `vadscope export VIDEO -o out.mp4`: a video of the detector at work.

use std::path::{Path, PathBuf};

use anyhow::Context;
use vadscope::export::{self, colormap::Colormap, ExportInputs, ExportOptions, View};
use vadscope::model::select_device;
use vadscope::score::maps_path;
use vadscope::video::encode::{EncodeOptions, Quality};

/// The only overlay there is today: the pixel score map.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Overlay {
    /// The pixel score map (what `score --maps` writes).
    Error,
}

/// Options of `vadscope export`.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Example: vadscope export testing/frames/04 -o 04.mp4 --model RUN \
    --views frame,error --overlay error --curve"
)]
pub struct ExportArgs {
    /// A video file or a frame folder (of a dataset, whose ground truth is
    /// used unless --truth is given).
    pub video: PathBuf,
    /// The MP4 (or .mov, .mkv, .avi) to write. It appears when the export
    /// has finished: an interrupted export leaves nothing.
    #[arg(short, long)]
    pub output: PathBuf,
    /// Replace an existing output file.
    #[arg(long)]
    pub overwrite: bool,
    /// Scores to draw: a `vadscope score` folder (with `--maps` for the error
    /// view and overlay), or any form `vadscope eval` reads.
    #[arg(long, conflicts_with = "model")]
    pub scores: Option<PathBuf>,
    /// Score the video first with this checkpoint (or run folder): the curve,
    /// the error view and the overlay come from it.
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Use a GPU for --model when built with CUDA and one is available.
    #[arg(long)]
    pub gpu: bool,
    /// Ground truth to outline (any format `vadscope truth` reads); default:
    /// the dataset's, when the video belongs to one.
    #[arg(long)]
    pub truth: Option<PathBuf>,
    /// Frames to export: A..B (0-based, B excluded), A.. or ..B; default all.
    #[arg(long, value_parser = export::parse_range)]
    pub range: Option<(Option<usize>, Option<usize>)>,
    /// Panels side by side, left to right: frame, error (the pixel score
    /// map), flow (optical flow from the previous frame).
    #[arg(long, value_delimiter = ',', default_value = "frame")]
    pub views: Vec<View>,
    /// Blend a map over the frame panels; each pixel's weight is the opacity
    /// times its value on the colour scale (the median map value is clear).
    #[arg(long, value_enum)]
    pub overlay: Option<Overlay>,
    /// Opacity of the overlay at the top of the colour scale.
    #[arg(long, default_value_t = 0.5, value_parser = super::args::real(0.0f32, 1.0, false))]
    pub opacity: f32,
    /// Draw the score curve under the panels: ground-truth frames shaded,
    /// the threshold dashed, a playhead on the frame shown.
    #[arg(long)]
    pub curve: bool,
    /// The curve's threshold in score units; default halfway between the
    /// video's lowest and highest score (as the app starts).
    #[arg(long)]
    pub threshold: Option<f64>,
    /// Colour map of the score map: inferno, viridis or turbo.
    #[arg(long, default_value = "inferno")]
    pub colormap: Colormap,
    /// Constant quality on x264's CRF scale, 0 (best) to 51.
    #[arg(long, default_value_t = 20.0, value_parser = super::args::real(0.0f32, 51.0, false))]
    pub crf: f32,
}

/// What the video's dataset knows of it.
struct Identity {
    /// Its name in the dataset (what score folders and truth files call it).
    name: String,
    /// The dataset's ground truth of it, with the dataset's mask images when
    /// the truth file has none.
    truth: Option<vadscope::truth::VideoTruth>,
    /// The dataset's frame rate.
    fps: Option<f64>,
}

fn identify(video: &Path) -> anyhow::Result<Identity> {
    let stem = video
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "video".into());
    let Some((ds, entry)) = vadscope::dataset::containing(video) else {
        return Ok(Identity {
            name: stem,
            truth: None,
            fps: None,
        });
    };
    let counts = ds.frame_counts(vadscope::dataset::Split::Test)?;
    let mut truth = match ds.load_first_truth(&counts) {
        Ok(Some((gt, _, _))) => gt.video(&entry.name).cloned(),
        Ok(None) => None,
        Err(e) => {
            eprintln!("note: the dataset's ground truth is not drawn: {e}");
            None
        }
    };
    if let (Some(t), Some(dir)) = (truth.as_mut(), entry.masks.as_ref()) {
        if t.masks.is_none() && dir.is_dir() {
            t.masks = Some(vadscope::truth::Masks::Folder { path: dir.clone() });
        }
    }
    Ok(Identity {
        name: entry.name,
        truth,
        fps: ds.fps,
    })
}

/// Scores the video with `model` and keeps its pixel score maps.
fn score_with(
    model: &Path,
    video: &Path,
    name: &str,
    frames: usize,
    gpu: bool,
) -> anyhow::Result<ExportInputs> {
    let (device, note) = select_device(gpu);
    if let Some(note) = note {
        eprintln!("{note}");
    }
    let b = super::progress::frames(frames, "scoring");
    let inputs = ExportInputs::from_model(model, video, name, &device, &|| b.inc(1))?;
    b.finish_and_clear();
    Ok(inputs)
}

/// Writes the export.
pub fn run(args: ExportArgs) -> anyhow::Result<()> {
    for p in [
        Some(&args.video),
        args.scores.as_ref(),
        args.model.as_ref(),
        args.truth.as_ref(),
    ]
    .into_iter()
    .flatten()
    {
        anyhow::ensure!(p.exists(), "{}: no such file or folder", p.display());
    }
    anyhow::ensure!(
        args.overwrite || !args.output.exists(),
        "{}: exists; pass --overwrite to replace it",
        args.output.display()
    );
    vadscope::save::interrupt::install().context("cannot install the Ctrl-C handler")?;
    let frames = vadscope::dataset::frame_count(&args.video)?;
    let Identity {
        name,
        truth: dataset_truth,
        fps,
    } = identify(&args.video)?;
    let mut inputs = match (&args.model, &args.scores) {
        (Some(m), _) => score_with(m, &args.video, &name, frames, args.gpu)?,
        (None, Some(dir)) => {
            let scores = vadscope::metrics::read_video_scores(dir, &name, frames)?;
            let mp = maps_path(dir, &name);
            let maps = if mp.is_file() {
                Some(vadscope::score::ScoreMaps::read(&mp)?)
            } else {
                None
            };
            ExportInputs {
                scores: Some(scores),
                maps,
                truth: None,
            }
        }
        (None, None) => ExportInputs::default(),
    };
    inputs.truth = match &args.truth {
        Some(t) => Some(vadscope::truth::read_video(t, &name, frames)?),
        None => dataset_truth,
    };
    let range = args
        .range
        .map(|r| export::clamp_range(r, frames, &args.video))
        .transpose()?;
    let n = range.as_ref().map_or(frames, |r| r.len());
    let opts = ExportOptions {
        range,
        views: args.views.clone(),
        overlay: args.overlay.map(|_| args.opacity),
        curve: args.curve,
        threshold: args.threshold,
        colormap: args.colormap,
        encode: EncodeOptions {
            quality: Quality::Crf(args.crf),
            ..EncodeOptions::default()
        },
        fps,
    };
    let b = super::progress::frames(n, "exporting");
    let never = std::sync::atomic::AtomicBool::new(false);
    let summary = export::export(
        &args.video,
        &args.output,
        &inputs,
        &opts,
        &|k| b.set_position(k as u64),
        &never,
    )?;
    b.finish_and_clear();
    println!(
        "wrote {} frames of {}x{} at {} fps ({}) to {}",
        summary.frames,
        summary.size.0,
        summary.size.1,
        summary.fps,
        summary.codec,
        args.output.display()
    );
    Ok(())
}
