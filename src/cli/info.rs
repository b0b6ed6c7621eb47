//! `vadscope info PATH`: what is at a path — a video, a frame folder or a dataset.

use std::path::PathBuf;

use vadscope::dataset::{self, Dataset, Split};
use vadscope::video;

/// Arguments of `vadscope info`.
#[derive(clap::Args)]
pub struct InfoArgs {
    /// A video file, a frame folder or a dataset root.
    pub path: PathBuf,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Prints what was found at the path.
pub fn run(args: InfoArgs) -> anyhow::Result<()> {
    let is_frame_folder = args.path.is_dir() && !video::list_images(&args.path)?.is_empty();
    if args.path.is_dir() && !is_frame_folder {
        let ds = dataset::open(&args.path)?;
        return print_dataset(&ds, args.json);
    }
    let v = video::open(&args.path)?;
    if is_frame_folder {
        // As a video file's count comes from a scan of its packets.
        video::check_frame_folder(&args.path)?;
    }
    let info = v.info();
    if args.json {
        println!("{}", serde_json::to_string_pretty(info)?);
    } else {
        print_video(info);
    }
    Ok(())
}

/// Prints one video's facts, one per line.
pub fn print_video(info: &video::VideoInfo) {
    println!("path:      {}", info.path.display());
    match &info.source {
        video::SourceKind::File { container, codec } => {
            println!("source:    video file ({container}, {codec})")
        }
        video::SourceKind::Folder => println!("source:    frame folder"),
    }
    println!("frames:    {}", info.num_frames);
    let assumed = if info.fps_known {
        ""
    } else {
        " (assumed: frame folders carry no timing)"
    };
    let vfr = if info.variable_frame_rate {
        ", variable frame rate"
    } else {
        ""
    };
    println!("fps:       {:.3}{assumed}{vfr}", info.fps);
    println!("size:      {}x{}", info.width, info.height);
    println!("duration:  {:.3} s", info.duration_secs);
    for w in &info.warnings {
        println!("warning:   {w}");
    }
}

fn print_dataset(ds: &Dataset, json: bool) -> anyhow::Result<()> {
    let train = ds.frame_counts(Split::Train)?;
    let test = ds.frame_counts(Split::Test)?;
    if json {
        let v = serde_json::json!({ "dataset": ds, "frames": { "train": train, "test": test } });
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(());
    }
    println!("dataset:   {} ({})", ds.root.display(), ds.layout.name());
    if let Some(fps) = ds.fps {
        println!("fps:       {fps} (the benchmark's)");
    }
    for (label, counts) in [("train", &train), ("test", &test)] {
        let total: usize = counts.iter().map(|(_, n)| n).sum();
        println!(
            "{label}:{:>width$}{} videos, {total} frames",
            "",
            counts.len(),
            width = 6 - label.len()
        );
        let list: Vec<String> = counts
            .iter()
            .map(|(name, n)| format!("{name}: {n}"))
            .collect();
        for chunk in list.chunks(8) {
            println!("           {}", chunk.join(", "));
        }
    }
    if ds.truth.is_empty() {
        println!("truth:     none found");
    }
    let mut first: Option<(String, Vec<Vec<bool>>)> = None;
    for t in &ds.truth {
        println!("truth:     {} ({})", t.path.display(), t.description);
        match ds.load_truth(t, &test) {
            Ok(gt) => {
                let labels: Vec<Vec<bool>> = test
                    .iter()
                    .map(|(name, n)| gt.video(name).map(|v| v.labels(*n)).unwrap_or_default())
                    .collect();
                let total: usize = labels
                    .iter()
                    .map(|l| l.iter().filter(|&&b| b).count())
                    .sum();
                let frames: usize = test.iter().map(|(_, n)| n).sum();
                let agreement = match &first {
                    None => String::new(),
                    Some((name, reference)) => {
                        let differ: usize = reference
                            .iter()
                            .zip(&labels)
                            .map(|(a, b)| a.iter().zip(b).filter(|(x, y)| x != y).count())
                            .sum();
                        format!("; {differ} frames differ from {name}")
                    }
                };
                println!(
                    "           {} videos, {total} of {frames} test frames anomalous{agreement}",
                    gt.videos.len()
                );
                if first.is_none() {
                    first = Some((file_name(&t.path), labels));
                }
            }
            Err(e) => println!("           unreadable: {e}"),
        }
    }
    Ok(())
}

fn file_name(p: &std::path::Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}
