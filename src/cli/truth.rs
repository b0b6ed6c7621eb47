//! `vadscope truth convert | compare | show`: ground-truth files in every format.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use vadscope::truth::agreement::{agreement, measure_text, Agreement};
use vadscope::truth::{self, Format, GroundTruth, Masks, ReadOptions};

/// Arguments of `vadscope truth`.
#[derive(clap::Args)]
pub struct TruthArgs {
    #[command(subcommand)]
    command: TruthCommand,
}

#[derive(clap::Subcommand)]
enum TruthCommand {
    /// Convert ground truth between formats (m, mat, npy, npy-dir, masks, json, csv).
    Convert {
        /// The source file or folder (format detected).
        input: PathBuf,
        /// The output file or folder; saved atomically, the old one kept as NAME.bak.
        output: PathBuf,
        /// Output format; by default from OUTPUT's extension (.m .mat .npy .json .csv).
        #[arg(long, value_parser = parse_format)]
        to: Option<Format>,
        /// Input format, when detection is not enough.
        #[arg(long, value_parser = parse_format)]
        from: Option<Format>,
        #[command(flatten)]
        videos: VideoArgs,
    },
    /// Load several ground-truth sources and count, per video, the frames on which
    /// each disagrees with the first. Exits with failure if any frame disagrees.
    Compare {
        /// Two or more sources (files or folders).
        #[arg(required = true, num_args = 2..)]
        sources: Vec<PathBuf>,
        #[command(flatten)]
        videos: VideoArgs,
    },
    /// Print per-video intervals and counts of a ground-truth source.
    Show {
        /// A file or folder.
        file: PathBuf,
        #[command(flatten)]
        videos: VideoArgs,
    },
}

/// Where video names and frame counts come from (to split a consolidated .npy
/// and to name the entries of .m/.mat files).
#[derive(clap::Args)]
struct VideoArgs {
    /// A folder of per-video frame folders (e.g. testing/frames).
    #[arg(long, value_name = "DIR", conflicts_with = "videos_from")]
    frames: Option<PathBuf>,
    /// A dataset root (its testing/frames), a frames folder, or a text file of
    /// `NAME COUNT` lines.
    #[arg(long, value_name = "DATASET_OR_LIST")]
    videos_from: Option<PathBuf>,
}

fn parse_format(s: &str) -> Result<Format, String> {
    Format::from_name(s).ok_or_else(|| {
        let names: Vec<_> = Format::ALL.iter().map(|f| f.name()).collect();
        format!("unknown format {s:?} (one of {})", names.join(", "))
    })
}

impl VideoArgs {
    fn options(&self) -> anyhow::Result<ReadOptions> {
        let videos = match (&self.frames, &self.videos_from) {
            (Some(dir), _) => Some(truth::video_list_from_frames(dir)?),
            (None, Some(p)) if p.is_dir() => {
                let frames = p.join("testing").join("frames");
                let dir = if frames.is_dir() { frames } else { p.clone() };
                Some(truth::video_list_from_frames(&dir)?)
            }
            (None, Some(p)) => Some(truth::video_list_from_file(p)?),
            (None, None) => None,
        };
        Ok(ReadOptions {
            videos,
            ..Default::default()
        })
    }
}

/// Runs `vadscope truth`.
pub fn run(args: TruthArgs) -> anyhow::Result<()> {
    match args.command {
        TruthCommand::Convert {
            input,
            output,
            to,
            from,
            videos,
        } => convert(&input, &output, to, from, &videos.options()?),
        TruthCommand::Compare { sources, videos } => compare(&sources, &videos.options()?),
        TruthCommand::Show { file, videos } => show(&file, &videos.options()?),
    }
}

fn load(
    path: &Path,
    format: Option<Format>,
    opts: &ReadOptions,
) -> anyhow::Result<(GroundTruth, Format)> {
    let format = match format {
        Some(f) => f,
        None => Format::detect(path)?,
    };
    Ok((truth::read_as(path, format, opts)?, format))
}

fn convert(
    input: &Path,
    output: &Path,
    to: Option<Format>,
    from: Option<Format>,
    opts: &ReadOptions,
) -> anyhow::Result<()> {
    let to = match to.or_else(|| Format::from_extension(output)) {
        Some(f) => f,
        None => bail!(
            "{}: cannot tell the output format from the name; give --to (m, mat, npy, npy-dir, masks, json, csv)",
            output.display()
        ),
    };
    let (gt, from) = load(input, from, opts)?;
    let dense = gt
        .videos
        .iter()
        .filter(|v| matches!(v.masks, Some(Masks::Dense { .. })))
        .count();
    if dense > 0 && to != Format::MaskFolder {
        eprintln!("note: pixel masks of {dense} videos are not kept in the {to} format (write them with --to masks)");
    }
    truth::write(&gt, output, to).with_context(|| format!("writing {}", output.display()))?;
    println!(
        "{} ({from}) -> {} ({to}): {} videos, {} anomalous frames",
        input.display(),
        output.display(),
        gt.videos.len(),
        gt.anomalous_frames()
    );
    Ok(())
}

fn show(path: &Path, opts: &ReadOptions) -> anyhow::Result<()> {
    let (gt, format) = load(path, None, opts)?;
    println!("{} ({format}): {} videos", path.display(), gt.videos.len());
    if let Some(p) = &gt.provenance {
        println!("source: {p}");
    }
    println!("intervals are 0-based, end exclusive");
    let mut total = Some(0);
    for v in &gt.videos {
        let frames = v.num_frames.map_or("?".to_owned(), |n| n.to_string());
        let ivs: Vec<String> = v
            .anomalous
            .iter()
            .map(|iv| format!("[{}, {})", iv.start, iv.end))
            .collect();
        let masks = match &v.masks {
            Some(Masks::Folder { path }) => format!("  masks: {}", path.display()),
            Some(Masks::Dense { width, height, .. }) => {
                format!("  masks: {width}x{height} in memory")
            }
            None => String::new(),
        };
        println!(
            "{:<12} {:>6} frames {:>6} anomalous  {}{masks}",
            v.name,
            frames,
            v.anomalous_frames(),
            if ivs.is_empty() {
                "-".to_owned()
            } else {
                ivs.join(" ")
            }
        );
        total = total.zip(v.num_frames).map(|(t, n)| t + n);
    }
    let total = total.map_or("?".to_owned(), |t| t.to_string());
    println!("total: {total} frames, {} anomalous", gt.anomalous_frames());
    Ok(())
}

fn compare(sources: &[PathBuf], opts: &ReadOptions) -> anyhow::Result<()> {
    let mut loaded = Vec::new();
    for (k, p) in sources.iter().enumerate() {
        let (gt, format) = load(p, None, opts)?;
        println!(
            "[{}] {} ({format}): {} videos, {} anomalous frames",
            letter(k),
            p.display(),
            gt.videos.len(),
            gt.anomalous_frames()
        );
        loaded.push(gt);
    }
    let first = &loaded[0];
    let names: Vec<&str> = first.videos.iter().map(|v| v.name.as_str()).collect();
    let by_name = loaded
        .iter()
        .all(|g| g.videos.len() == names.len() && names.iter().all(|n| g.video(n).is_some()));
    if !by_name {
        if let Some((k, g)) = loaded
            .iter()
            .enumerate()
            .find(|(_, g)| g.videos.len() != names.len())
        {
            // The hint only where it can help: a video list names and splits them.
            let hint = if opts.videos.is_some() {
                ""
            } else {
                "; give --frames or --videos-from to name them"
            };
            bail!(
                "the sources hold different numbers of videos ({} holds {}, {} holds {}){hint}",
                sources[0].display(),
                names.len(),
                sources[k].display(),
                g.videos.len()
            );
        }
        println!("video names differ between sources: matching videos by position");
    }
    let letters: Vec<String> = (1..loaded.len()).map(letter).collect();
    println!(
        "{:<12} {:>7}  anomalous frames per source ({})  frames disagreeing with A, kappa, IoU ({})",
        "video",
        "frames",
        (0..loaded.len()).map(letter).collect::<Vec<_>>().join(" "),
        letters.join(" ")
    );
    let mut per_source: Vec<Vec<Agreement>> = vec![Vec::new(); loaded.len() - 1];
    let mut frames_total = 0;
    let mut count_mismatch = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let vs: Vec<_> = loaded
            .iter()
            .map(|g| {
                if by_name {
                    g.video(name)
                } else {
                    g.videos.get(i)
                }
            })
            .collect::<Option<Vec<_>>>()
            .context("video missing")?;
        let counts: Vec<usize> = vs.iter().filter_map(|v| v.num_frames).collect();
        if counts.windows(2).any(|w| w[0] != w[1]) {
            count_mismatch.push(format!("{name}: {counts:?}"));
        }
        let ends = vs
            .iter()
            .filter_map(|v| v.anomalous.last().map(|iv| iv.end));
        let n = counts.iter().copied().chain(ends).max().unwrap_or(0);
        frames_total += n;
        let against: Vec<Agreement> = vs[1..]
            .iter()
            .map(|v| agreement(&vs[0].anomalous, &v.anomalous, n))
            .collect();
        let anom: Vec<String> = vs
            .iter()
            .map(|v| v.anomalous_frames().to_string())
            .collect();
        println!(
            "{name:<12} {n:>7}  {:<40}  {}",
            anom.join(" "),
            agreement_text(&against)
        );
        for (all, a) in per_source.iter_mut().zip(against) {
            all.push(a);
        }
    }
    let anom: Vec<String> = loaded
        .iter()
        .map(|g| g.anomalous_frames().to_string())
        .collect();
    let pooled: Vec<Agreement> = per_source.iter().map(|p| Agreement::pooled(p)).collect();
    println!(
        "{:<12} {frames_total:>7}  {:<40}  {}",
        "total",
        anom.join(" "),
        agreement_text(&pooled)
    );
    if !count_mismatch.is_empty() {
        bail!(
            "frame counts differ between sources: {}",
            count_mismatch.join("; ")
        );
    }
    let disagree: usize = pooled.iter().map(Agreement::disagreeing).sum();
    if disagree > 0 {
        bail!("{disagree} frame labels disagree (summed over sources B.. vs A)");
    }
    println!(
        "all {} sources agree on all {frames_total} frames of {} videos",
        loaded.len(),
        names.len()
    );
    Ok(())
}

/// "3 0.912 0.870" per source against A: frames disagreeing, κ, IoU.
fn agreement_text(against: &[Agreement]) -> String {
    against
        .iter()
        .map(|a| {
            format!(
                "{} {} {}",
                a.disagreeing(),
                measure_text(a.kappa),
                measure_text(a.iou)
            )
        })
        .collect::<Vec<_>>()
        .join("   ")
}

/// `A`, `B`, ... for source k.
fn letter(k: usize) -> String {
    if k < 26 {
        char::from(b'A' + k as u8).to_string()
    } else {
        format!("S{}", k + 1)
    }
}
