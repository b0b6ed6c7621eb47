//! `vadscope flow A B -o out.flo`, `vadscope bench flow VIDEO` and
//! `vadscope bench flow-epe DIR`.
//!
//! Frames are loaded with the `image` crate from image files or frame folders
//! (sorted naturally); video files will go through `vadscope::video` once the
//! decoder lands.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context};
use fast_image_resize::images::Image;
use fast_image_resize::{FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};
use vadscope::flow::{self, Flow, FlowEstimator, Params, Preset};
use vadscope::Frame;

/// Arguments of `vadscope flow`.
#[derive(clap::Args)]
pub struct FlowArgs {
    /// The first image.
    pub a: PathBuf,
    /// The second image (same size as the first).
    pub b: PathBuf,
    /// Where to write the flow (Middlebury `.flo`).
    #[arg(short, long)]
    pub output: PathBuf,
    /// Also write the colour-coded flow as a PNG.
    #[arg(long)]
    pub png: Option<PathBuf>,
    /// Speed/accuracy preset: fast, balanced or accurate.
    #[arg(long, default_value = "balanced")]
    pub preset: Preset,
}

/// Arguments of `vadscope bench flow`.
#[derive(clap::Args)]
pub struct BenchFlowArgs {
    /// A frame folder (images, sorted naturally) or a video file.
    pub video: PathBuf,
    /// Size the frames are resized to before estimating flow, WxH.
    #[arg(long, default_value = "256x256", value_parser = parse_size)]
    pub size: (usize, usize),
    /// Number of consecutive pairs to time.
    #[arg(long, default_value_t = 100)]
    pub pairs: usize,
    /// Speed/accuracy preset: fast, balanced or accurate.
    #[arg(long, default_value = "balanced")]
    pub preset: Preset,
    /// Worker threads (default: all cores).
    #[arg(long)]
    pub threads: Option<usize>,
}

/// Arguments of `vadscope bench flow-epe`.
#[derive(clap::Args)]
pub struct BenchFlowEpeArgs {
    /// Folder of pairs made by `benches/reference/flow_opencv.py make`:
    /// NNN_prev.png, NNN_next.png, NNN_flow.flo, NNN_mask.png.
    pub dir: PathBuf,
    /// Speed/accuracy preset: fast, balanced or accurate.
    #[arg(long, default_value = "balanced")]
    pub preset: Preset,
    /// Worker threads (default: all cores).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Timed runs over all pairs; the median rate is reported.
    #[arg(long, default_value_t = 5)]
    pub runs: usize,
}

/// Parses `WxH`.
fn parse_size(s: &str) -> Result<(usize, usize), String> {
    let (w, h) = s
        .split_once(['x', 'X'])
        .ok_or_else(|| format!("{s:?} is not WxH"))?;
    let w: usize = w
        .trim()
        .parse()
        .map_err(|_| format!("bad width in {s:?}"))?;
    let h: usize = h
        .trim()
        .parse()
        .map_err(|_| format!("bad height in {s:?}"))?;
    if w == 0 || h == 0 {
        return Err(format!("{s:?}: sides must be positive"));
    }
    Ok((w, h))
}

/// Builds rayon's global pool with `threads` workers (if given).
fn init_threads(threads: Option<usize>) -> anyhow::Result<()> {
    if let Some(n) = threads {
        if n == 0 {
            bail!("--threads must be at least 1");
        }
        rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build_global()
            .context("cannot build the thread pool")?;
    }
    Ok(())
}

/// Loads an image as gray `f32`, resized to `size` when given.
fn load_gray(path: &Path, size: Option<(usize, usize)>) -> anyhow::Result<Frame<f32>> {
    let img = image::open(path)
        .with_context(|| format!("{}: cannot read the image", path.display()))?
        .into_luma8();
    let (w, h) = (img.width() as usize, img.height() as usize);
    let mut frame = Frame::from_vec(w, h, 1, img.into_raw()).context("image size mismatch")?;
    if let Some((tw, th)) = size.filter(|&s| s != (w, h)) {
        frame = resize_gray(&frame, tw, th)
            .with_context(|| format!("{}: cannot resize", path.display()))?;
    }
    Ok(frame.to_f32())
}

/// Resizes a gray frame (bilinear convolution, which averages when shrinking).
fn resize_gray(f: &Frame<u8>, w: usize, h: usize) -> anyhow::Result<Frame<u8>> {
    let src = Image::from_vec_u8(
        f.width as u32,
        f.height as u32,
        f.data.clone(),
        PixelType::U8,
    )?;
    let mut dst = Image::new(w as u32, h as u32, PixelType::U8);
    let opts = ResizeOptions::new().resize_alg(ResizeAlg::Convolution(FilterType::Bilinear));
    Resizer::new().resize(&src, &mut dst, &opts)?;
    Frame::from_vec(w, h, 1, dst.into_vec()).context("resized size mismatch")
}

/// Image files in `dir`, sorted naturally (`2.jpg` before `10.jpg`).
fn frame_files(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    const EXT: [&str; 6] = ["jpg", "jpeg", "png", "tif", "tiff", "bmp"];
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("{}: cannot list the folder", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| EXT.contains(&e.to_ascii_lowercase().as_str()))
        })
        .collect();
    files.sort_by(|a, b| natural_cmp(&a.to_string_lossy(), &b.to_string_lossy()));
    Ok(files)
}

/// Compares strings with digit runs ordered by value.
fn natural_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    fn chunks(s: &str) -> Vec<(bool, &str)> {
        let mut out = Vec::new();
        let mut start = 0;
        let bytes = s.as_bytes();
        for i in 1..=bytes.len() {
            if i == bytes.len() || bytes[i].is_ascii_digit() != bytes[start].is_ascii_digit() {
                out.push((bytes[start].is_ascii_digit(), &s[start..i]));
                start = i;
            }
        }
        out
    }
    let (ca, cb) = (chunks(a), chunks(b));
    for (x, y) in ca.iter().zip(&cb) {
        let ord = match (x, y) {
            ((true, x), (true, y)) => {
                let (x, y) = (x.trim_start_matches('0'), y.trim_start_matches('0'));
                x.len().cmp(&y.len()).then(x.cmp(y))
            }
            ((_, x), (_, y)) => x.cmp(y),
        };
        if ord.is_ne() {
            return ord;
        }
    }
    ca.len().cmp(&cb.len())
}

/// `vadscope flow A B -o out.flo [--png out.png]`.
pub fn run_flow(args: FlowArgs) -> anyhow::Result<()> {
    let a = load_gray(&args.a, None)?;
    let b = load_gray(&args.b, None)?;
    let started = Instant::now();
    let flow = flow::dense(&a, &b, &Params::preset(args.preset))
        .with_context(|| format!("{} -> {}", args.a.display(), args.b.display()))?;
    let ms = started.elapsed().as_secs_f64() * 1e3;
    flow::write_flo(&args.output, &flow)?;
    if let Some(png) = &args.png {
        let rgb = flow::flow_to_rgb(&flow);
        image::save_buffer(
            png,
            &rgb.data,
            rgb.width as u32,
            rgb.height as u32,
            image::ExtendedColorType::Rgb8,
        )
        .with_context(|| format!("{}: cannot write the PNG", png.display()))?;
    }
    let max = flow
        .data
        .chunks_exact(2)
        .map(|p| p[0].hypot(p[1]))
        .fold(0.0f32, f32::max);
    println!(
        "{}x{} flow in {ms:.1} ms, max {max:.2} px -> {}",
        flow.width,
        flow.height,
        args.output.display()
    );
    Ok(())
}

/// `vadscope bench flow VIDEO --size WxH --pairs P`.
pub fn run_bench(args: BenchFlowArgs) -> anyhow::Result<()> {
    init_threads(args.threads)?;
    if !args.video.exists() {
        bail!("{}: no such file or folder", args.video.display());
    }
    if !args.video.is_dir() {
        bail!(
            "{}: video files need the FFmpeg decoder, which is not wired into bench yet; \
             pass a frame folder",
            args.video.display()
        );
    }
    let files = frame_files(&args.video)?;
    if files.len() < 2 {
        bail!("{}: fewer than two frames", args.video.display());
    }
    let n = (args.pairs + 1).min(files.len());
    let frames = files[..n]
        .iter()
        .map(|p| load_gray(p, Some(args.size)))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let mut est = FlowEstimator::new(Params::preset(args.preset))?;
    let mut out = Flow::default();
    // One untimed pair allocates the buffers.
    est.estimate_into(&frames[0], &frames[1], &mut out)?;
    let started = Instant::now();
    let mut pairs = 0;
    while pairs < args.pairs {
        for w in frames.windows(2) {
            if pairs == args.pairs {
                break;
            }
            est.estimate_into(&w[0], &w[1], &mut out)?;
            pairs += 1;
        }
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{} {}x{} frames from {}, preset {:?}, {} threads",
        n,
        args.size.0,
        args.size.1,
        args.video.display(),
        args.preset,
        rayon::current_num_threads()
    );
    println!("{pairs} pairs, {:.1} pairs/s", pairs as f64 / secs);
    Ok(())
}

/// `vadscope bench flow-epe DIR`: EPE and speed on pairs with known flow.
pub fn run_bench_epe(args: BenchFlowEpeArgs) -> anyhow::Result<()> {
    init_threads(args.threads)?;
    let mut prevs: Vec<PathBuf> = std::fs::read_dir(&args.dir)
        .with_context(|| format!("{}: cannot list the folder", args.dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.to_string_lossy().ends_with("_prev.png"))
        .collect();
    prevs.sort_by(|a, b| natural_cmp(&a.to_string_lossy(), &b.to_string_lossy()));
    if prevs.is_empty() {
        bail!(
            "{}: no *_prev.png pairs (make them with benches/reference/flow_opencv.py make)",
            args.dir.display()
        );
    }
    let mut pairs = Vec::new();
    for p in &prevs {
        let s = p.to_string_lossy();
        let base = &s[..s.len() - "_prev.png".len()];
        let prev = load_gray(p, None)?;
        let next = load_gray(Path::new(&format!("{base}_next.png")), None)?;
        let truth = flow::read_flo(format!("{base}_flow.flo"))?;
        let mask = load_gray(Path::new(&format!("{base}_mask.png")), None)?;
        let mask: Vec<bool> = mask.data.iter().map(|&m| m > 0.5).collect();
        pairs.push((prev, next, truth, mask));
    }
    let params = Params::preset(args.preset);
    let mut est = FlowEstimator::new(params)?;
    let mut out = Flow::default();
    let mut epe = 0.0;
    for (prev, next, truth, mask) in &pairs {
        est.estimate_into(prev, next, &mut out)?;
        epe += out.epe(truth, Some(mask))?;
    }
    epe /= pairs.len() as f64;
    let mut rates = Vec::new();
    for _ in 0..args.runs.max(1) {
        let started = Instant::now();
        for (prev, next, _, _) in &pairs {
            est.estimate_into(prev, next, &mut out)?;
        }
        rates.push(pairs.len() as f64 / started.elapsed().as_secs_f64());
    }
    rates.sort_by(f64::total_cmp);
    println!(
        "vadscope-{}: EPE {epe:.4} px, {:.1} pairs/s ({} pairs, median of {} runs, {} threads)",
        format!("{:?}", args.preset).to_lowercase(),
        rates[rates.len() / 2],
        pairs.len(),
        rates.len(),
        rayon::current_num_threads()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_natural_order() {
        assert_eq!(parse_size("256x128"), Ok((256, 128)));
        assert!(parse_size("256").is_err());
        assert!(parse_size("0x5").is_err());
        let mut v = vec!["f10.png", "f2.png", "f1.png", "e.png"];
        v.sort_by(|a, b| natural_cmp(a, b));
        assert_eq!(v, ["e.png", "f1.png", "f2.png", "f10.png"]);
    }
}
