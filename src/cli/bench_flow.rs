//! `vadscope bench flow-pairs OUT` (make the flow benchmark) and
//! `vadscope bench flow-epe DIR` (score the estimator on it).

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Context};
use vadscope::flow::benchmark::{self, MakeOptions, Split};
use vadscope::flow::{Flow, FlowEstimator, Params, Preset};

/// Arguments of `vadscope bench flow-pairs`.
#[derive(clap::Args)]
pub struct PairsArgs {
    /// Folder to write the benchmark into: missing or empty, or an earlier
    /// benchmark with --overwrite.
    pub out: PathBuf,
    /// Images or folders of images (searched recursively) for the tune split.
    #[arg(long, required = true, num_args = 1..)]
    pub tune: Vec<PathBuf>,
    /// Images or folders of images for the held-out split (other footage).
    #[arg(long = "held-out", required = true, num_args = 1..)]
    pub held_out: Vec<PathBuf>,
    /// Pairs per set and split (1 to 1000).
    #[arg(long, default_value_t = 40, value_parser = super::args::int(1usize, 1000))]
    pub pairs: usize,
    /// Frame size of the pairs, WxH, each side 64 to 4096.
    #[arg(long, default_value = "256x256", value_parser = super::args::size(64, 4096))]
    pub size: (usize, usize),
    /// Seed: the same sources, size and seed give the same pairs.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Replace an earlier benchmark in OUT (the old folder is kept as OUT.bak).
    #[arg(long)]
    pub overwrite: bool,
}

/// `vadscope bench flow-pairs OUT --tune SRC… --held-out SRC…`.
pub fn pairs(args: PairsArgs) -> anyhow::Result<()> {
    let opts = MakeOptions {
        width: args.size.0,
        height: args.size.1,
        pairs: args.pairs,
        seed: args.seed,
        tune_sources: args.tune,
        held_out_sources: args.held_out,
    };
    let total = 2 * benchmark::Set::ALL.len() * opts.pairs;
    let bar = super::progress::frames(total, "pairs");
    let m = benchmark::make(&args.out, &opts, args.overwrite, &|done, _| {
        bar.set_position(done as u64)
    })?;
    bar.finish_and_clear();
    println!(
        "{} pairs of {}x{} in {} ({} sets x 2 splits; manifest {})",
        m.pairs.len(),
        m.width,
        m.height,
        args.out.display(),
        benchmark::Set::ALL.len(),
        benchmark::MANIFEST
    );
    Ok(())
}

/// Arguments of `vadscope bench flow-epe`.
#[derive(clap::Args)]
pub struct EpeArgs {
    /// A folder made by `vadscope bench flow-pairs`, or a flat folder of
    /// NNN_prev.png, NNN_next.png, NNN_flow.flo, NNN_mask.png pairs.
    pub dir: PathBuf,
    /// Speed/accuracy preset: fast, balanced or accurate.
    #[arg(long, default_value = "balanced")]
    pub preset: Preset,
    /// Estimator parameters as JSON (the fields of `input.flow` in a model
    /// config); overrides --preset.
    #[arg(long)]
    pub params: Option<PathBuf>,
    /// Score one split only: tune or held-out (default: both).
    #[arg(long)]
    pub split: Option<Split>,
    /// Worker threads, 1 to 1024 (default: all cores).
    #[arg(long, value_parser = super::args::int(1usize, 1024))]
    pub threads: Option<usize>,
    /// Timed runs over all pairs (0 to 1000; 0 = EPE only); the median rate is reported.
    #[arg(long, default_value_t = 5, value_parser = super::args::int(0usize, 1000))]
    pub runs: usize,
    /// Also write the figures as JSON (benches/reference/flow_table.py reads it).
    #[arg(long)]
    pub json: Option<PathBuf>,
}

/// The estimator parameters of a `--params` JSON file (checked) if given,
/// else of the preset, and the method's name (`vadscope-` and the file stem or preset).
pub(super) fn params_or_preset(
    path: Option<&std::path::Path>,
    preset: Preset,
) -> anyhow::Result<(Params, String)> {
    Ok(match path {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("{}: cannot read the parameters", path.display()))?;
            let p: Params = serde_json::from_str(&text)
                .with_context(|| format!("{}: not flow parameters", path.display()))?;
            p.validate()
                .with_context(|| format!("{}: flow parameters out of range", path.display()))?;
            let name = path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            (p, format!("vadscope-{name}"))
        }
        None => (
            Params::preset(preset),
            format!("vadscope-{}", format!("{preset:?}").to_lowercase()),
        ),
    })
}

/// `vadscope bench flow-epe DIR`: EPE per set and split, and speed.
pub fn epe(args: EpeArgs) -> anyhow::Result<()> {
    super::flow::init_threads(args.threads)?;
    let (params, method) = params_or_preset(args.params.as_deref(), args.preset)?;
    let mut est = FlowEstimator::new(params.clone())
        .with_context(|| "the flow parameters are not valid".to_string())?;
    let pairs = benchmark::load(&args.dir, args.split)?;
    if pairs.is_empty() {
        bail!("{}: no pairs in that split", args.dir.display());
    }
    let mut out = Flow::default();
    let mut epes = Vec::with_capacity(pairs.len());
    for p in &pairs {
        est.estimate_into(&p.prev, &p.next, &mut out)?;
        epes.push(benchmark::pair_epe(&out, p)?);
    }
    let rows = benchmark::summarize(&pairs, &epes);
    let mut rates = Vec::new();
    for _ in 0..args.runs {
        let started = Instant::now();
        for p in &pairs {
            est.estimate_into(&p.prev, &p.next, &mut out)?;
        }
        rates.push(pairs.len() as f64 / started.elapsed().as_secs_f64());
    }
    rates.sort_by(f64::total_cmp);
    let rate = rates.get(rates.len() / 2).copied();
    let threads = rayon::current_num_threads();
    println!("{method} ({threads} threads)");
    println!(
        "{:<9} {:<13} {:>5} {:>9} {:>9}",
        "split", "set", "pairs", "EPE all", "EPE noc"
    );
    for r in &rows {
        println!(
            "{:<9} {:<13} {:>5} {:>9.4} {:>9.4}",
            r.split, r.set, r.pairs, r.epe_all, r.epe_noc
        );
    }
    if let Some(rate) = rate {
        println!(
            "{method}: {rate:.1} pairs/s ({} pairs, median of {} runs, {threads} threads)",
            pairs.len(),
            rates.len()
        );
    }
    if let Some(path) = &args.json {
        let doc = serde_json::json!({
            "method": method,
            "threads": threads,
            "pairs_per_s": rate,
            "runs": rates.len(),
            "pairs": pairs.len(),
            "params": params,
            "rows": rows,
        });
        vadscope::save::atomic_write(path, serde_json::to_string_pretty(&doc)?.as_bytes())?;
    }
    Ok(())
}
