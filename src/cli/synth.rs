//! `vadscope synth OUT`: procedural scenes as frame folders, videos or datasets.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context};
use indicatif::{ProgressBar, ProgressStyle};
use vadscope::synth::{self, AnomalyKind, DatasetConfig, Scene, SceneConfig};
use vadscope::truth::{GroundTruth, Masks};
use vadscope::video::encode::{EncodeOptions, Quality};
use vadscope::PixelFormat;

/// Arguments of `vadscope synth`.
#[derive(clap::Args)]
pub struct SynthArgs {
    /// Output: a frame folder (default), a video file (.mp4/.mov/.mkv/.avi,
    /// with --video) or a dataset root (with --dataset). Folders must not exist
    /// or be empty; a video is replaced. For a folder or a video, the ground
    /// truth goes beside it: OUT.truth.json and OUT.masks/ (without the video's
    /// extension).
    pub out: PathBuf,
    /// Seed: the same seed gives the same frames.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Frames per video [default: 150].
    #[arg(long, value_parser = super::args::int(1usize, vadscope::synth::MAX_SCENE_FRAMES))]
    pub frames: Option<usize>,
    /// Frame size WxH [default: 240x160].
    #[arg(long, value_parser = parse_size)]
    pub size: Option<(usize, usize)>,
    /// Frames per second [default: 10].
    #[arg(long, value_parser = super::args::real(0.0f64, 1000.0, true))]
    pub fps: Option<f64>,
    /// Average number of pedestrians in view [default: 8].
    #[arg(long, value_parser = super::args::real(0.0f32, 500.0, false))]
    pub pedestrians: Option<f32>,
    /// Anomalies: a count (kinds chosen by the seed), `none`, or a comma list of
    /// runner, vehicle, cyclist, skateboarder, thrown-object, against-flow.
    /// With --dataset: the count per testing video.
    #[arg(long, default_value = "2", value_parser = super::args::anomalies)]
    pub anomalies: String,
    /// Sensor noise in gray levels [default: 2].
    #[arg(long, value_parser = super::args::real(0.0f32, 100.0, false))]
    pub noise: Option<f32>,
    /// RGB frames instead of gray.
    #[arg(long)]
    pub rgb: bool,
    /// Write an encoded video instead of a frame folder.
    #[arg(long)]
    pub video: bool,
    /// Write a dataset in the MNAD layout with truth.json.
    #[arg(long, conflicts_with = "video")]
    pub dataset: bool,
    /// Training videos in the dataset [default: 4].
    #[arg(long, value_parser = super::args::int(1usize, 1000))]
    pub train: Option<usize>,
    /// Testing videos in the dataset [default: 4].
    #[arg(long, value_parser = super::args::int(1usize, 1000))]
    pub test: Option<usize>,
    /// Video encoder (FFmpeg name) [default: libx264, else mpeg4].
    #[arg(long)]
    pub codec: Option<String>,
    /// Video quality on the CRF scale, 0 (best) to 51 [default: 20].
    #[arg(long, value_parser = super::args::real(0.0f32, 51.0, false))]
    pub crf: Option<f32>,
    /// Lossless (or nearly) video.
    #[arg(long)]
    pub lossless: bool,
}

fn parse_size(s: &str) -> Result<(usize, usize), String> {
    let (w, h) = s
        .split_once(['x', 'X'])
        .ok_or_else(|| format!("{s:?}: expected WxH, e.g. 360x240"))?;
    let parse = |v: &str| {
        v.trim()
            .parse::<usize>()
            .map_err(|_| format!("{s:?}: expected WxH, e.g. 360x240"))
    };
    Ok((parse(w)?, parse(h)?))
}

/// The anomalies of a single scene from the `--anomalies` argument.
fn parse_anomalies(arg: &str, seed: u64) -> anyhow::Result<Vec<AnomalyKind>> {
    let arg = arg.trim();
    if arg.eq_ignore_ascii_case("none") {
        return Ok(Vec::new());
    }
    if let Ok(n) = arg.parse::<usize>() {
        // Kinds rotate with the seed so that different seeds show different kinds.
        let all = AnomalyKind::ALL;
        return Ok((0..n)
            .map(|m| all[(seed as usize % all.len() + m) % all.len()])
            .collect());
    }
    arg.split(',')
        .map(|s| s.parse::<AnomalyKind>().map_err(anyhow::Error::from))
        .collect()
}

/// `OUT` without a video extension, plus `suffix`.
fn beside(out: &Path, video: bool, suffix: &str) -> PathBuf {
    let base = if video {
        out.with_extension("")
    } else {
        out.to_path_buf()
    };
    let mut name = base.file_name().unwrap_or_default().to_os_string();
    name.push(suffix);
    base.with_file_name(name)
}

fn progress_bar(total: usize, what: &str) -> ProgressBar {
    let bar = ProgressBar::new(total as u64);
    bar.set_style(
        ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} frames, {per_sec}, eta {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.set_message(what.to_string());
    bar
}

/// Generates what the arguments ask for.
pub fn run(args: SynthArgs) -> anyhow::Result<()> {
    let mut scene = SceneConfig {
        seed: args.seed,
        format: if args.rgb {
            PixelFormat::Rgb
        } else {
            PixelFormat::Gray
        },
        ..SceneConfig::default()
    };
    if let Some((w, h)) = args.size {
        (scene.width, scene.height) = (w, h);
    }
    if let Some(v) = args.frames {
        scene.frames = v;
    }
    if let Some(v) = args.fps {
        scene.fps = v;
    }
    if let Some(v) = args.pedestrians {
        scene.pedestrians = v;
    }
    if let Some(v) = args.noise {
        scene.noise = v;
    }
    let start = Instant::now();
    if args.dataset {
        let per_video = args.anomalies.trim().parse::<usize>().with_context(|| {
            format!(
                "--anomalies {:?}: with --dataset, give the number per testing video",
                args.anomalies
            )
        })?;
        let cfg = DatasetConfig {
            scene,
            train: args.train.unwrap_or(4),
            test: args.test.unwrap_or(4),
            seed: args.seed,
            anomalies_per_video: per_video,
        };
        let bar = progress_bar(cfg.total_frames(), "dataset");
        let truth = synth::write_dataset(&args.out, &cfg, &|| bar.inc(1))?;
        bar.finish_and_clear();
        println!(
            "wrote {} training and {} testing videos of {} frames ({}x{}) to {} in {:.1} s; \
             {} anomalous frames",
            cfg.train,
            cfg.test,
            cfg.scene.frames,
            cfg.scene.width,
            cfg.scene.height,
            args.out.display(),
            start.elapsed().as_secs_f64(),
            truth.anomalous_frames()
        );
        return Ok(());
    }
    if args.train.is_some() || args.test.is_some() {
        bail!("--train and --test need --dataset");
    }
    scene.anomalies = parse_anomalies(&args.anomalies, args.seed)?;
    let scene = Scene::new(&scene)?;
    // Refuse before the long part, not after it.
    let masks_dir = beside(&args.out, args.video, ".masks");
    let mut fresh = vec![&masks_dir];
    if !args.video {
        fresh.push(&args.out);
    }
    for dir in fresh {
        if dir.read_dir().is_ok_and(|mut d| d.next().is_some()) {
            bail!(
                "{}: already exists and is not empty; refusing to overwrite it",
                dir.display()
            );
        }
    }
    let bar = progress_bar(
        scene.len(),
        if args.video { "encoding" } else { "rendering" },
    );
    if args.video {
        let mut opts = EncodeOptions {
            codec: args.codec.clone(),
            lossless: args.lossless,
            ..EncodeOptions::default()
        };
        if let Some(c) = args.crf {
            opts.quality = Quality::Crf(c);
        }
        synth::write_video(&args.out, &scene, &opts, &|| bar.inc(1))?;
    } else {
        if args.codec.is_some() || args.crf.is_some() || args.lossless {
            bail!("--codec, --crf and --lossless need --video");
        }
        synth::write_frames(&args.out, &scene, &|| bar.inc(1))?;
    }
    bar.finish_and_clear();
    let name = if args.video {
        args.out.file_stem()
    } else {
        args.out.file_name()
    }
    .map(|s| s.to_string_lossy().into_owned())
    .unwrap_or_else(|| "scene".into());
    let mut video = scene.truth(&name);
    if scene.config().anomalies.is_empty() {
        video.masks = None;
    } else {
        synth::write_masks(&masks_dir, &video)?;
        let rel = masks_dir.file_name().map(PathBuf::from).unwrap_or_default();
        video.masks = Some(Masks::Folder { path: rel });
    }
    let truth_path = beside(&args.out, args.video, ".truth.json");
    let truth = GroundTruth {
        videos: vec![video],
        provenance: Some(format!("vadscope synth, seed {}", args.seed)),
    };
    synth::write_truth_json(&truth_path, &truth)?;
    let cfg = scene.config();
    println!(
        "wrote {} frames ({}x{}, {} fps) to {} in {:.1} s; truth: {}",
        cfg.frames,
        cfg.width,
        cfg.height,
        cfg.fps,
        args.out.display(),
        start.elapsed().as_secs_f64(),
        truth_path.display()
    );
    for (j, kind) in cfg.anomalies.iter().enumerate() {
        let frames: Vec<usize> = truth.videos[0]
            .regions
            .iter()
            .filter(|r| r.track == Some(j as u32))
            .map(|r| r.frame)
            .collect();
        match (frames.first(), frames.last()) {
            (Some(a), Some(b)) => println!("  track {j}: {kind}, frames {a}..={b}"),
            _ => println!("  track {j}: {kind}, not visible within the video"),
        }
    }
    Ok(())
}
