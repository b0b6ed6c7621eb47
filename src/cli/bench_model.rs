//! `vadscope bench model`: training-step and inference speed of the hybrid model
//! on random inputs of a profile's shapes (compare with
//! `benches/reference/model_torch.py`, the PyTorch twin).
//!
//! A training step is what `train` does per batch: forward with sampling, the
//! loss values read back, backward, AdamW, memory update. Inference is what the
//! scorer does: the posterior-mean forward on detached weights (no graph) and
//! the score terms read back. Warm-up runs are excluded; medians are printed.

use std::collections::HashMap;
use std::time::Instant;

use anyhow::Context;
use candle_core::{DType, Device, Tensor};
use candle_nn::{AdamW, Optimizer, ParamsAdamW, VarBuilder, VarMap};
use vadscope::model::{Hybrid, Input, ModelConfig, Sampling, Variant};

fn parse_variant(s: &str) -> Result<Variant, String> {
    s.parse().map_err(|e: vadscope::Error| e.to_string())
}

/// Arguments of `vadscope bench model`.
#[derive(clap::Args)]
pub struct ModelArgs {
    /// Model profile: demo, cpu or paper.
    #[arg(long, default_value = "cpu")]
    pub profile: String,
    /// Model variant instead of the profile's: mem_ae_only, vae or cvae (the
    /// PyTorch twin is the full `cvae`).
    #[arg(long, value_parser = parse_variant)]
    pub variant: Option<Variant>,
    /// Clips per batch, 1 to 1024 (default: the profile's training batch size).
    #[arg(long, value_parser = super::args::int(1usize, 1024))]
    pub batch: Option<usize>,
    /// Timed runs of each measurement (1 to 1000); the median is reported.
    #[arg(long, default_value_t = 10, value_parser = super::args::int(1usize, 1000))]
    pub runs: usize,
    /// Untimed warm-up runs before the timed ones (0 to 1000).
    #[arg(long, default_value_t = 2, value_parser = super::args::int(0usize, 1000))]
    pub warmup: usize,
    /// Skip the training-step measurement (inference only).
    #[arg(long)]
    pub no_train: bool,
    /// Skip the inference measurement (training step only, e.g. to profile it).
    #[arg(long, conflicts_with = "no_train")]
    pub no_infer: bool,
    /// Run on CUDA device 0 (needs a build with `--features cuda`).
    #[arg(long)]
    pub gpu: bool,
}

/// Median of `v` (seconds); 0 for an empty slice.
fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    match s.len() {
        0 => 0.0,
        n if n % 2 == 1 => s[n / 2],
        n => 0.5 * (s[n / 2 - 1] + s[n / 2]),
    }
}

fn ms(s: f64) -> String {
    format!("{:.1} ms", s * 1e3)
}

/// Random model input of `cfg`'s shapes: frames and next in [-1, 1], flow ±2 px.
fn random_input(
    cfg: &ModelConfig,
    batch: usize,
    [h, w]: [usize; 2],
    device: &Device,
) -> candle_core::Result<Input> {
    let i = &cfg.input;
    Ok(Input {
        frames: Tensor::rand(-1f32, 1f32, (batch, i.channels * i.frames, h, w), device)?,
        next: Tensor::rand(-1f32, 1f32, (batch, i.channels, h, w), device)?,
        flow: Tensor::rand(-2f32, 2f32, (batch, 2 * i.frames, h, w), device)?,
    })
}

/// Synchronises the device so timings include queued GPU work (no-op on the CPU).
fn sync(device: &Device) -> anyhow::Result<()> {
    device.synchronize()?;
    Ok(())
}

/// Per-phase timings of the training step, one entry per timed run.
#[derive(Default)]
struct StepTimes {
    forward: Vec<f64>,
    backward: Vec<f64>,
    optimizer: Vec<f64>,
    update: Vec<f64>,
    total: Vec<f64>,
    memae: Vec<f64>,
    cvae: Vec<f64>,
}

fn train_bench(
    cfg: &ModelConfig,
    batch: usize,
    args: &ModelArgs,
    device: &Device,
) -> anyhow::Result<(StepTimes, HashMap<String, Tensor>, Hybrid)> {
    let vars = VarMap::new();
    let mut model = Hybrid::new(cfg, VarBuilder::from_varmap(&vars, DType::F32, device))?;
    let params = ParamsAdamW {
        lr: cfg.train.learning_rate,
        weight_decay: cfg.train.weight_decay,
        ..Default::default()
    };
    let params_count: usize = vars.all_vars().iter().map(|v| v.elem_count()).sum();
    println!("{params_count} parameters");
    let mut opt = AdamW::new(vars.all_vars(), params)?;
    // A training step sees the config's crops (whole frames without one).
    let size = cfg.train_size();
    let input = random_input(cfg, batch, size, device)?;
    let mut times = StepTimes::default();
    for run in 0..args.warmup + args.runs {
        sync(device)?;
        let t0 = Instant::now();
        let out = model.forward(&input, &Sampling::Random)?;
        // `train` reads every loss value each step (log, NaN check).
        let l = &out.losses;
        for term in [
            &l.recon,
            &l.compact,
            &l.separate,
            &l.pred,
            &l.kl,
            &l.gradient,
        ] {
            term.to_dtype(DType::F64)?.to_scalar::<f64>()?;
        }
        let total = l.total.to_dtype(DType::F64)?.to_scalar::<f64>()?;
        anyhow::ensure!(total.is_finite(), "the loss is not finite ({total})");
        let t1 = Instant::now();
        let grads = out.losses.total.backward()?;
        sync(device)?;
        let t2 = Instant::now();
        opt.step(&grads)?;
        sync(device)?;
        let t3 = Instant::now();
        model.update_memories(&out)?;
        sync(device)?;
        let t4 = Instant::now();
        drop((out, grads));
        // The parts of the forward on their own (outside the step's timing).
        let t5 = Instant::now();
        let flow = model.flow_condition(&input)?;
        let memae = model.memae_forward(&input, flow.as_ref(), true)?;
        memae
            .recon
            .sum_all()?
            .to_dtype(DType::F64)?
            .to_scalar::<f64>()?;
        let t6 = Instant::now();
        let mut cvae_time = 0.0;
        if let Some(cvae) = model.cvae() {
            let noise = cvae.noise(&memae.recon)?;
            let t7 = Instant::now();
            let condition = Hybrid::cvae_condition(&memae, flow.as_ref(), &input);
            let o = cvae.forward(&memae.recon, condition, Some(&noise))?;
            o.pred.sum_all()?.to_dtype(DType::F64)?.to_scalar::<f64>()?;
            cvae_time = t7.elapsed().as_secs_f64();
        }
        if run >= args.warmup {
            let d = |a: Instant, b: Instant| (b - a).as_secs_f64();
            times.forward.push(d(t0, t1));
            times.backward.push(d(t1, t2));
            times.optimizer.push(d(t2, t3));
            times.update.push(d(t3, t4));
            times.total.push(d(t0, t4));
            times.memae.push(d(t5, t6));
            times.cvae.push(cvae_time);
        }
    }
    let weights = vars
        .data()
        .lock()
        .map_err(|_| anyhow::anyhow!("the variable map's lock is poisoned"))?
        .iter()
        .map(|(k, v)| (k.clone(), v.as_tensor().detach()))
        .collect();
    Ok((times, weights, model))
}

/// Builds the scorer's kind of model: weights as plain (detached) tensors.
fn inference_model(
    cfg: &ModelConfig,
    weights: HashMap<String, Tensor>,
    trained: Option<&Hybrid>,
    device: &Device,
) -> anyhow::Result<Hybrid> {
    let weights = if weights.is_empty() {
        // No training run: take fresh random weights from a throwaway var map.
        let vars = VarMap::new();
        Hybrid::new(cfg, VarBuilder::from_varmap(&vars, DType::F32, device))?;
        let data = vars
            .data()
            .lock()
            .map_err(|_| anyhow::anyhow!("the variable map's lock is poisoned"))?
            .iter()
            .map(|(k, v)| (k.clone(), v.as_tensor().detach()))
            .collect();
        data
    } else {
        weights
    };
    let mut model = Hybrid::new(cfg, VarBuilder::from_tensors(weights, DType::F32, device))?;
    if let Some(trained) = trained {
        for (m, t) in model
            .memae_mut()
            .memories_mut()
            .iter_mut()
            .zip(trained.memae().memories())
        {
            m.set_items(t.items())?;
        }
    }
    Ok(model)
}

fn infer_bench(
    model: &mut Hybrid,
    cfg: &ModelConfig,
    batch: usize,
    args: &ModelArgs,
    device: &Device,
) -> anyhow::Result<Vec<f64>> {
    let input = random_input(cfg, batch, [cfg.input.height, cfg.input.width], device)?;
    let mut times = Vec::new();
    for run in 0..args.warmup + args.runs {
        sync(device)?;
        let t0 = Instant::now();
        let out = model.score(&input)?;
        // The scorer reads the three score terms of every frame.
        for t in [&out.scores.recon, &out.scores.pred, &out.scores.compact] {
            t.to_dtype(DType::F64)?.to_vec1::<f64>()?;
        }
        if run >= args.warmup {
            times.push(t0.elapsed().as_secs_f64());
        }
    }
    Ok(times)
}

/// Runs the benchmark and prints the medians. The last two lines are
/// `train: S s/step, R steps/s, F frames/s` and `infer: F frames/s`.
pub fn run(args: ModelArgs) -> anyhow::Result<()> {
    let mut cfg = ModelConfig::profile(&args.profile)?;
    if let Some(v) = args.variant {
        cfg.variant = v;
    }
    let batch = args.batch.unwrap_or(cfg.train.batch_size).max(1);
    let (device, why) = vadscope::model::select_device(args.gpu);
    if let Some(why) = why {
        eprintln!("{why}");
    }
    let i = &cfg.input;
    let crop = match cfg.train.crop {
        Some([h, w]) => format!(" (training on {h}x{w} crops)"),
        None => String::new(),
    };
    println!(
        "profile {} ({:?}): batch {batch} x {} frames x {}x{}x{}{crop}, {} threads, device {:?}, {} runs after {} warm-up",
        args.profile,
        cfg.variant,
        i.frames,
        i.channels,
        i.height,
        i.width,
        candle_core::utils::get_num_threads(),
        device,
        args.runs,
        args.warmup
    );
    let runs = args.runs.max(1);
    let args = ModelArgs { runs, ..args };
    let mut train_line = None;
    let (weights, trained) = if args.no_train {
        (HashMap::new(), None)
    } else {
        let (t, weights, model) =
            train_bench(&cfg, batch, &args, &device).context("training-step benchmark")?;
        let step = median(&t.total);
        println!(
            "train step parts (median): forward {} (MemAE alone {}, CVAE alone {}), backward {}, AdamW {}, memory update {}",
            ms(median(&t.forward)),
            ms(median(&t.memae)),
            ms(median(&t.cvae)),
            ms(median(&t.backward)),
            ms(median(&t.optimizer)),
            ms(median(&t.update))
        );
        let all: Vec<String> = t.total.iter().map(|s| format!("{:.0}", s * 1e3)).collect();
        println!("train step runs (ms): {}", all.join(" "));
        train_line = Some(format!(
            "train: {:.4} s/step, {:.3} steps/s, {:.2} frames/s",
            step,
            1.0 / step,
            batch as f64 / step
        ));
        (weights, Some(model))
    };
    if args.no_infer {
        if let Some(line) = train_line {
            println!("{line}");
        }
        return Ok(());
    }
    let mut model = inference_model(&cfg, weights, trained.as_ref(), &device)?;
    drop(trained);
    let t = infer_bench(&mut model, &cfg, batch, &args, &device).context("inference benchmark")?;
    let all: Vec<String> = t.iter().map(|s| format!("{:.0}", s * 1e3)).collect();
    println!("infer batch runs (ms): {}", all.join(" "));
    if let Some(line) = train_line {
        println!("{line}");
    }
    let m = median(&t);
    println!("infer: {:.4} s/batch, {:.2} frames/s", m, batch as f64 / m);
    Ok(())
}
