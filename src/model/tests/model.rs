//! Behaviour tests: memory reads on rendered scenes, the update rule, the model's
//! outputs, checkpoints and training steps.

use candle_core::{DType, Device, Tensor};
use candle_nn::{Optimizer, VarMap};

use super::{builder, randn, seed_vars};
use crate::model::checkpoint::{self, Checkpoint, ScoreStats, TermStats};
use crate::model::config::{ModelConfig, Variant};
use crate::model::hybrid::{Hybrid, Input, Sampling};
use crate::model::memory::{Memory, MemorySettings};
use crate::model::ops;
use crate::synth::{Scene, SceneConfig};

/// `n` consecutive frames of a synthetic scene as (1, 1, size, size) tensors in [-1, 1].
fn scene_frames(size: usize, n: usize, seed: u64) -> Vec<Tensor> {
    let scene = Scene::new(&SceneConfig {
        width: size,
        height: size,
        frames: n,
        seed,
        pedestrians: 4.0,
        ..Default::default()
    })
    .unwrap();
    (0..n)
        .map(|i| {
            let f = scene.render(i);
            let data: Vec<f32> = f.data.iter().map(|&v| v as f32 / 127.5 - 1.0).collect();
            Tensor::from_vec(data, (1, 1, size, size), &Device::Cpu).unwrap()
        })
        .collect()
}

/// A model input from a scene clip: t frames, the next one, frame differences as
/// a stand-in for flow (both flow channels).
fn scene_input(cfg: &ModelConfig, seed: u64) -> Input {
    let t = cfg.input.frames;
    let f = scene_frames(cfg.input.height, t + 1, seed);
    let frames = Tensor::cat(&f[..t], 1).unwrap();
    let diffs: Vec<Tensor> = (0..t)
        .flat_map(|i| {
            let d = (&f[i + 1] - &f[i]).unwrap();
            [d.clone(), d]
        })
        .collect();
    Input {
        frames,
        next: f[t].clone(),
        flow: Tensor::cat(&diffs, 1).unwrap(),
    }
}

fn max_abs(t: &Tensor) -> f32 {
    t.abs()
        .unwrap()
        .max_all()
        .unwrap()
        .to_scalar::<f32>()
        .unwrap()
}

#[test]
fn memory_read_is_non_degenerate_with_profile_defaults() {
    for profile in ["demo", "cpu"] {
        let cfg = ModelConfig::profile(profile).unwrap();
        let vars = VarMap::new();
        let model = Hybrid::new(&cfg, builder(&vars, DType::F32)).unwrap();
        seed_vars(&vars, 5);
        let out = model
            .forward(&scene_input(&cfg, 5), &Sampling::Mean)
            .unwrap();
        assert_eq!(out.memae.reads.len(), 3);
        for (i, read) in out.memae.reads.iter().enumerate() {
            let (b, n, h, w) = read.attention.dims4().unwrap();
            assert_eq!((b, n), (1, cfg.memory.slots[i]));
            // Every position's weights sum to 1 (nothing shrunk to all-zero) …
            let sums = read
                .attention
                .sum(1)
                .unwrap()
                .flatten_all()
                .unwrap()
                .to_vec1::<f32>()
                .unwrap();
            assert_eq!(sums.len(), h * w);
            assert!(
                sums.iter().all(|s| (s - 1.0).abs() < 1e-4),
                "{profile} layer {i}: {sums:?}"
            );
            // … and the read is far from zero: each row is a convex mix of unit items.
            let norms = ops::to_rows(&read.read)
                .unwrap()
                .sqr()
                .unwrap()
                .sum(1)
                .unwrap()
                .sqrt()
                .unwrap();
            let min_norm = norms.min_all().unwrap().to_scalar::<f32>().unwrap();
            assert!(min_norm > 0.05, "{profile} layer {i}: read norm {min_norm}");
            // Shrinkage did something: not every item is used at every position.
            let zeros = read
                .attention
                .eq(0f32)
                .unwrap()
                .to_dtype(DType::F32)
                .unwrap()
                .mean_all()
                .unwrap();
            assert!(
                zeros.to_scalar::<f32>().unwrap() > 0.0,
                "{profile} layer {i}: no weight shrunk"
            );
        }
        assert!(max_abs(&out.memae.recon) > 0.0);
    }
}

#[test]
fn known_failure_plain_softmax_with_large_lambda_reads_zero() {
    // Cosine + T = 1 over 2000 items is nearly uniform (≈ 1/2000 = 0.0005 each), so
    // λ = 0.0025 (MemAE's usual value, here shrink = 5) removes every weight.
    let settings = MemorySettings {
        temperature: 1.0,
        shrink: 5.0,
        update_radius: 1.0,
        margin: 1.0,
    };
    let memory = Memory::new(2000, 16, settings, 1, DType::F32, &Device::Cpu).unwrap();
    let x = randn(7, &[1, 16, 4, 4]).to_dtype(DType::F32).unwrap();
    let read = memory.read(&x).unwrap();
    assert_eq!(max_abs(&read.attention), 0.0);
    assert_eq!(max_abs(&read.read), 0.0);
}

fn unit_rows(t: &Tensor) -> Vec<Vec<f64>> {
    t.to_dtype(DType::F64).unwrap().to_vec2::<f64>().unwrap()
}

#[test]
fn memory_update_invariants() {
    let settings = MemorySettings {
        temperature: 0.1,
        shrink: 1.0,
        update_radius: 1.0,
        margin: 1.0,
    };
    let mut memory = Memory::new(8, 6, settings, 2, DType::F64, &Device::Cpu).unwrap();
    let before = unit_rows(memory.items());
    // Two queries close to item 3 (distance < τ): only item 3 may move.
    let near = |k: f64| -> Vec<f64> {
        before[3]
            .iter()
            .enumerate()
            .map(|(i, v)| v + k * (i as f64 - 2.5) * 0.05)
            .collect()
    };
    let q = Tensor::from_vec([near(1.0), near(-0.5)].concat(), (2, 6), &Device::Cpu).unwrap();
    let q = ops::l2_normalize(&q, 1).unwrap();
    let qrows = unit_rows(&q);
    memory.update(&q).unwrap();
    let after = unit_rows(memory.items());
    for (j, (a, b)) in after.iter().zip(&before).enumerate() {
        let norm: f64 = a.iter().map(|v| v * v).sum::<f64>().sqrt();
        assert!((norm - 1.0).abs() < 1e-9, "item {j} norm {norm}");
        let moved = a.iter().zip(b).any(|(x, y)| (x - y).abs() > 1e-12);
        assert_eq!(moved, j == 3, "item {j} moved: {moved}");
    }
    // Item 3 moved toward the queries.
    let cos = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f64>();
    assert!(cos(&after[3], &qrows[0]) > cos(&before[3], &qrows[0]));

    // τ = 0: no query is close enough, nothing moves.
    let mut frozen = Memory::new(
        8,
        6,
        MemorySettings {
            update_radius: 0.0,
            ..settings
        },
        2,
        DType::F64,
        &Device::Cpu,
    )
    .unwrap();
    frozen.update(&q).unwrap();
    assert_eq!(unit_rows(frozen.items()), before);

    // A query far from every item (distance ≥ τ = 0.3) leaves all items alone.
    let mut strict = Memory::new(
        8,
        6,
        MemorySettings {
            update_radius: 0.3,
            ..settings
        },
        2,
        DType::F64,
        &Device::Cpu,
    )
    .unwrap();
    let far: Vec<f64> = before[0]
        .iter()
        .zip(&before[1])
        .map(|(a, b)| a - b)
        .collect();
    let far = ops::l2_normalize(&Tensor::from_vec(far, (1, 6), &Device::Cpu).unwrap(), 1).unwrap();
    let sims = far
        .matmul(&strict.items().t().unwrap())
        .unwrap()
        .max_all()
        .unwrap()
        .to_scalar::<f64>()
        .unwrap();
    assert!(
        (2.0 - 2.0 * sims).sqrt() >= 0.3,
        "test query is too close: {sims}"
    );
    strict.update(&far).unwrap();
    assert_eq!(unit_rows(strict.items()), before);
}

#[test]
fn hybrid_outputs_have_expected_shapes_for_every_variant() {
    for variant in [Variant::MemAeOnly, Variant::Vae, Variant::Cvae] {
        for skips in [false, true] {
            let mut cfg = super::tiny_config(variant);
            cfg.memae.skips = skips;
            cfg.cvae.skips = skips;
            cfg.memae.memory_layers = if skips {
                crate::model::config::MemoryLayers::Multi
            } else {
                crate::model::config::MemoryLayers::Single
            };
            let vars = VarMap::new();
            let model = Hybrid::new(&cfg, builder(&vars, DType::F32)).unwrap();
            let input = scene_input(&cfg, 1);
            let out = model.forward(&input, &Sampling::Random).unwrap();
            assert_eq!(out.memae.recon.dims(), &[1, 2, 16, 16]);
            assert_eq!(out.memae.reads.len(), if skips { 3 } else { 1 });
            assert_eq!(out.attention(0).unwrap().dims(), &[1, 5, 2, 2]);
            assert_eq!(out.cvae.is_some(), variant != Variant::MemAeOnly);
            if let Some(cvae) = &out.cvae {
                assert_eq!(cvae.pred.dims(), &[1, 1, 16, 16]);
                assert_eq!(cvae.prior.is_some(), variant == Variant::Cvae);
            }
            assert_eq!(out.scores.recon.dims(), &[1]);
            assert_eq!(out.scores.compact.dims(), &[1]);
            let total = out.losses.total.to_scalar::<f32>().unwrap();
            assert!(total.is_finite() && total > 0.0, "{variant:?}: {total}");
        }
    }
}

/// With `future_flow` off the prediction ignores y_t (the flow into the
/// predicted frame) and still follows the earlier flows; on, y_t matters.
#[test]
fn future_flow_off_hides_the_flow_into_the_predicted_frame() {
    let mut cfg = super::tiny_config(Variant::Cvae);
    let vars = VarMap::new();
    let model = Hybrid::new(&cfg, builder(&vars, DType::F32)).unwrap();
    let input = scene_input(&cfg, 2);
    let c = input.flow.dims()[1];
    let changed = |from: usize, len: usize| Input {
        flow: Tensor::cat(
            &[
                input.flow.narrow(1, 0, from).unwrap(),
                (input.flow.narrow(1, from, len).unwrap() + 3.0).unwrap(),
                input.flow.narrow(1, from + len, c - from - len).unwrap(),
            ],
            1,
        )
        .unwrap(),
        ..input.clone()
    };
    let pred = |m: &Hybrid, i: &Input| m.forward(i, &Sampling::Mean).unwrap().cvae.unwrap().pred;
    let diff = |a: &Tensor, b: &Tensor| max_abs(&(a - b).unwrap());
    let base = pred(&model, &input);
    assert!(
        diff(&base, &pred(&model, &changed(c - 2, 2))) > 1e-4,
        "on: y_t is used"
    );
    cfg.cvae.future_flow = false;
    let model = Hybrid::new(&cfg, builder(&vars, DType::F32)).unwrap();
    let base = pred(&model, &input);
    assert_eq!(
        diff(&base, &pred(&model, &changed(c - 2, 2))),
        0.0,
        "off: y_t is ignored"
    );
    assert!(
        diff(&base, &pred(&model, &changed(0, 2))) > 1e-4,
        "off: y_1 still counts"
    );
}

/// With `skip_source: frames` the decoder's skips come from their own
/// encoder of x̂ (its weights exist and get gradients), and the flow still
/// reaches the prediction through z and the prior.
#[test]
fn frames_skip_source_has_its_own_encoder_and_still_uses_the_flow() {
    use crate::model::config::SkipSource;
    let mut cfg = super::tiny_config(Variant::Cvae);
    cfg.cvae.skip_source = SkipSource::Frames;
    let vars = VarMap::new();
    let model = Hybrid::new(&cfg, builder(&vars, DType::F32)).unwrap();
    let names: Vec<String> = vars.data().lock().unwrap().keys().cloned().collect();
    assert!(
        names.iter().any(|n| n.contains("skip_encoder")),
        "{names:?}"
    );
    let input = scene_input(&cfg, 3);
    let moved = Input {
        flow: (&input.flow + 2.0).unwrap(),
        ..input.clone()
    };
    let pred = |i: &Input| {
        model
            .forward(i, &Sampling::Mean)
            .unwrap()
            .cvae
            .unwrap()
            .pred
    };
    assert!(max_abs(&(pred(&input) - pred(&moved)).unwrap()) > 1e-5);
    let out = model.forward(&input, &Sampling::Mean).unwrap();
    let grads = out.losses.total.backward().unwrap();
    let data = vars.data().lock().unwrap();
    let with_grad = data
        .iter()
        .filter(|(n, _)| n.contains("skip_encoder"))
        .filter(|(_, v)| grads.get(v.as_tensor()).is_some_and(|g| max_abs(g) > 0.0))
        .count();
    assert!(with_grad > 0, "the skip encoder gets no gradient");
    // The posterior-skip model has no such encoder.
    cfg.cvae.skip_source = SkipSource::Posterior;
    let vars = VarMap::new();
    Hybrid::new(&cfg, builder(&vars, DType::F32)).unwrap();
    assert!(!vars
        .data()
        .lock()
        .unwrap()
        .keys()
        .any(|n| n.contains("skip_encoder")));
}

/// With `condition: memory` the MemAE takes and reconstructs the flows, and
/// the CVAE is conditioned on that reconstruction, not on the raw flows; the
/// recon loss sees the flows too, and tiled scoring stitches them.
#[test]
fn memory_condition_feeds_the_reconstructed_flows_to_the_cvae() {
    use crate::model::config::ConditionSource;
    let mut cfg = super::tiny_config(Variant::Cvae);
    cfg.cvae.condition = ConditionSource::Memory;
    let t = cfg.input.frames;
    assert_eq!(cfg.memae_flow_channels(), 2 * t);
    let vars = VarMap::new();
    let model = Hybrid::new(&cfg, builder(&vars, DType::F32)).unwrap();
    assert_eq!(model.memae().flow_channels(), 2 * t);
    let input = scene_input(&cfg, 5);
    let out = model.forward(&input, &Sampling::Mean).unwrap();
    let flow_recon = out.memae.flow_recon.clone().expect("flows reconstructed");
    let (b, _, h, w) = input.frames.dims4().unwrap();
    assert_eq!(flow_recon.dims(), &[b, 2 * t, h, w]);
    assert_eq!(out.memae.recon.dims(), input.frames.dims());
    let cvae = model.cvae().unwrap();
    let pred = out.cvae.as_ref().unwrap().pred.clone();
    let from_recon = cvae.forward(&out.memae.recon, &flow_recon, None).unwrap();
    let from_raw = cvae.forward(&out.memae.recon, &input.flow, None).unwrap();
    assert!(max_abs(&(&pred - &from_recon.pred).unwrap()) < 1e-6);
    assert!(max_abs(&(&pred - &from_raw.pred).unwrap()) > 1e-5);
    // The flows are part of what the MemAE must reconstruct.
    let moved = Input {
        flow: (&input.flow + 3.0).unwrap(),
        ..input.clone()
    };
    let moved_out = model.forward(&moved, &Sampling::Mean).unwrap();
    let recon_loss =
        |o: &crate::model::hybrid::HybridOutput| o.losses.recon.to_scalar::<f32>().unwrap();
    assert!(recon_loss(&moved_out) > recon_loss(&out) + 1.0);
    // The frame-only models are unchanged: no flow channels.
    let plain = super::tiny_config(Variant::Vae);
    let mut vae = plain.clone();
    vae.cvae.condition = ConditionSource::Memory;
    assert_eq!(vae.memae_flow_channels(), 0, "the VAE has no flows");
    assert_eq!(plain.memae_flow_channels(), 0);
    // Tiled scoring carries the flow reconstruction through the stitching.
    let mut tiled_cfg = cfg.clone();
    tiled_cfg.train.crop = Some([h / 2, w / 2]);
    let tiled = Hybrid::new(&tiled_cfg, builder(&vars, DType::F32)).unwrap();
    let scored = tiled.score_forward(&input).unwrap();
    assert_eq!(
        scored.memae.flow_recon.expect("stitched").dims(),
        &[b, 2 * t, h, w]
    );
}

fn sample_stats() -> ScoreStats {
    let t = TermStats {
        mean: 0.5,
        std: 0.1,
        min: 0.2,
        max: 0.9,
    };
    ScoreStats {
        recon: t,
        pred: t,
        compact: t,
        samples: 12,
    }
}

#[test]
fn checkpoint_round_trip_and_inference_model() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model.safetensors");
    let cfg = ModelConfig::profile("demo").unwrap();
    let vars = VarMap::new();
    let mut model = Hybrid::new(&cfg, builder(&vars, DType::F32)).unwrap();
    let input = scene_input(&cfg, 3);
    // Move the memories away from their initial values so they must be saved.
    let out = model.forward(&input, &Sampling::Mean).unwrap();
    model.update_memories(&out).unwrap();
    let reference = model.forward(&input, &Sampling::Mean).unwrap();
    checkpoint::save(&path, &model, &vars, Some(&sample_stats()), Some(7)).unwrap();

    let ckpt = Checkpoint::read(&path, &Device::Cpu).unwrap();
    assert_eq!(ckpt.config, cfg);
    assert_eq!(ckpt.stats, Some(sample_stats()));
    assert_eq!(ckpt.step, Some(7));
    // Resume: a fresh model (different random weights) loads the checkpoint.
    let vars2 = VarMap::new();
    let mut model2 = Hybrid::new(&cfg, builder(&vars2, DType::F32)).unwrap();
    ckpt.load_into(&path, &mut model2, &vars2).unwrap();
    let again = model2.forward(&input, &Sampling::Mean).unwrap();
    let inference = ckpt
        .inference_model(&path, DType::F32, &Device::Cpu)
        .unwrap();
    let plain = inference.forward(&input, &Sampling::Mean).unwrap();
    for other in [&again, &plain] {
        let d = max_abs(&(&other.memae.recon - &reference.memae.recon).unwrap());
        let scale = max_abs(&reference.memae.recon).max(1.0);
        assert!(d < 1e-5 * scale, "reconstruction differs by {d}");
        let p = |o: &crate::model::HybridOutput| o.cvae.as_ref().unwrap().pred.clone();
        let d = max_abs(&(p(other) - p(&reference)).unwrap());
        let scale = max_abs(&p(&reference)).max(1.0);
        assert!(d < 1e-5 * scale, "prediction differs by {d} (max {scale})");
    }
    // The inference model's weights are plain tensors: its output records no graph.
    assert!(!plain.losses.total.track_op());
    assert!(reference.losses.total.track_op());
}

#[test]
fn checkpoint_mismatch_names_the_field_or_tensor() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model.safetensors");
    let cfg = super::tiny_config(Variant::Cvae);
    let vars = VarMap::new();
    let model = Hybrid::new(&cfg, builder(&vars, DType::F32)).unwrap();
    checkpoint::save(&path, &model, &vars, None, None).unwrap();
    let ckpt = Checkpoint::read(&path, &Device::Cpu).unwrap();
    assert_eq!(ckpt.stats, None);

    // A model with another config: the differing field is named.
    let mut other_cfg = cfg.clone();
    other_cfg.memae.channels = [4, 4, 4, 8];
    let other_vars = VarMap::new();
    let mut other = Hybrid::new(&other_cfg, builder(&other_vars, DType::F32)).unwrap();
    let msg = ckpt
        .load_into(&path, &mut other, &other_vars)
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("memae.channels") && msg.contains("model.safetensors"),
        "{msg}"
    );

    // A tensor with the wrong shape: the tensor is named.
    let mut broken = ckpt.clone();
    let name = "memae.enc4.conv2.weight";
    assert!(broken.tensors.contains_key(name));
    broken.tensors.insert(
        name.to_string(),
        Tensor::zeros((4, 4, 1, 1), DType::F32, &Device::Cpu).unwrap(),
    );
    let msg = broken.check(&path, &model, &vars).unwrap_err().to_string();
    assert!(msg.contains(name) && msg.contains("shape"), "{msg}");
    let msg = broken
        .inference_model(&path, DType::F32, &Device::Cpu)
        .unwrap_err()
        .to_string();
    assert!(msg.contains(name), "{msg}");

    // A missing memory and an unknown tensor are named too.
    let mut missing = ckpt.clone();
    missing.tensors.remove("memory.skip2");
    let msg = missing.check(&path, &model, &vars).unwrap_err().to_string();
    assert!(
        msg.contains("memory.skip2") && msg.contains("missing"),
        "{msg}"
    );
    let mut extra = ckpt.clone();
    extra.tensors.insert(
        "stray".into(),
        Tensor::zeros(1, DType::F32, &Device::Cpu).unwrap(),
    );
    let msg = extra.check(&path, &model, &vars).unwrap_err().to_string();
    assert!(msg.contains("stray"), "{msg}");

    // Not a checkpoint at all: the file is named.
    let junk = dir.path().join("junk.safetensors");
    std::fs::write(&junk, b"not a checkpoint").unwrap();
    let msg = Checkpoint::read(&junk, &Device::Cpu)
        .unwrap_err()
        .to_string();
    assert!(msg.contains("junk.safetensors"), "{msg}");
}

#[test]
fn adamw_steps_reduce_the_loss_on_a_synth_clip() {
    let cfg = ModelConfig::profile("demo").unwrap();
    let vars = VarMap::new();
    let mut model = Hybrid::new(&cfg, builder(&vars, DType::F32)).unwrap();
    seed_vars(&vars, 9);
    let input = scene_input(&cfg, 9);
    let eps = Sampling::Given(
        Tensor::zeros((1, cfg.cvae.latent, 4, 4), DType::F32, &Device::Cpu).unwrap(),
    );
    let params = candle_nn::ParamsAdamW {
        lr: 3e-3,
        weight_decay: cfg.train.weight_decay,
        ..Default::default()
    };
    let mut opt = candle_nn::AdamW::new(vars.all_vars(), params).unwrap();
    let loss = |m: &Hybrid| {
        m.forward(&input, &eps)
            .unwrap()
            .losses
            .total
            .to_scalar::<f32>()
            .unwrap()
    };
    let first = loss(&model);
    for _ in 0..15 {
        let out = model.forward(&input, &eps).unwrap();
        opt.backward_step(&out.losses.total).unwrap();
        model.update_memories(&out).unwrap();
    }
    let last = loss(&model);
    eprintln!("demo profile, 15 AdamW steps: total loss {first:.4} -> {last:.4}");
    assert!(last < 0.7 * first, "loss {first} -> {last}");
}

/// A model trained on crops scores a larger frame tile by tile: each region of
/// the stitched outputs is the forward of its tile alone, and the frame's terms
/// are the mean over the (equal) tiles; `whole_frames` scores the frame at once.
#[test]
fn crop_trained_model_scores_in_tiles() {
    let mut cfg = super::tiny_config(Variant::Cvae);
    cfg.input.height = 32;
    cfg.input.width = 32;
    cfg.train.crop = Some([16, 16]);
    let vars = VarMap::new();
    let model = Hybrid::new(&cfg, builder(&vars, DType::F32)).unwrap();
    let input = scene_input(&cfg, 3);
    let tiled = model.score_forward(&input).unwrap();
    assert_eq!(tiled.memae.recon.dims(), &[1, 2, 32, 32]);
    assert_eq!(tiled.attention(0).unwrap().dims(), &[1, 5, 4, 4]);
    let crop =
        |t: &Tensor, y: usize, x: usize| t.narrow(2, y, 16).unwrap().narrow(3, x, 16).unwrap();
    let mut recon_terms = Vec::new();
    for (y, x) in [(0, 0), (0, 16), (16, 0), (16, 16)] {
        let tile = Input {
            frames: crop(&input.frames, y, x),
            next: crop(&input.next, y, x),
            flow: crop(&input.flow, y, x),
        };
        let alone = model.forward(&tile, &Sampling::Mean).unwrap();
        let region = crop(&tiled.memae.recon, y, x);
        assert!(max_abs(&(region - &alone.memae.recon).unwrap()) < 1e-4);
        // The batch of tiles and the lone tile split their sums differently
        // across threads, and the memories' hard shrinkage can turn that
        // rounding into ~1e-4 here; a misplaced tile would differ by O(1).
        let pred = crop(&tiled.cvae.as_ref().unwrap().pred, y, x);
        let d = max_abs(&(pred - &alone.cvae.unwrap().pred).unwrap());
        assert!(d < 1e-3, "pred differs by {d}");
        recon_terms.push(alone.scores.recon.to_vec1::<f32>().unwrap()[0]);
    }
    let mean = recon_terms.iter().sum::<f32>() / 4.0;
    let got = tiled.scores.recon.to_vec1::<f32>().unwrap()[0];
    assert!(
        (got - mean).abs() < 1e-5 * mean.abs().max(1.0),
        "{got} vs {mean}"
    );
    // Whole frames on request: the plain forward, which differs (group norms
    // see the whole frame).
    let mut whole_cfg = cfg.clone();
    whole_cfg.score.whole_frames = true;
    let whole_model = Hybrid::new(&whole_cfg, builder(&vars, DType::F32)).unwrap();
    let whole = whole_model.score_forward(&input).unwrap();
    let plain = model.forward(&input, &Sampling::Mean).unwrap();
    assert!(max_abs(&(&whole.memae.recon - &plain.memae.recon).unwrap()) < 1e-6);
    assert!(max_abs(&(&whole.memae.recon - &tiled.memae.recon).unwrap()) > 1e-4);
}

#[test]
fn score_updates_memory_only_when_configured() {
    for update in [false, true] {
        let mut cfg = super::tiny_config(Variant::Cvae);
        cfg.memory.update_at_test = update;
        let vars = VarMap::new();
        let mut model = Hybrid::new(&cfg, builder(&vars, DType::F32)).unwrap();
        let before = model.memae().memories()[0].items().clone();
        let out = model.score(&scene_input(&cfg, 2)).unwrap();
        assert!(out.cvae.is_some());
        let after = model.memae().memories()[0].items();
        let moved = max_abs(&(after - &before).unwrap()) > 0.0;
        assert_eq!(moved, update, "update_at_test = {update}");
    }
}

#[test]
fn term_stats_summarise_and_normalise() {
    let s = TermStats::from_values(&[1.0, 3.0, f64::NAN, 2.0]);
    assert_eq!((s.min, s.max, s.mean), (1.0, 3.0, 2.0));
    assert!((s.std - (2.0f64 / 3.0).sqrt()).abs() < 1e-12);
    assert_eq!(s.min_max(2.5), 0.75);
    assert_eq!(TermStats::from_values(&[]), TermStats::default());
    assert_eq!(TermStats::from_values(&[4.0]).min_max(5.0), 0.0);
}

#[test]
fn rgb_input_and_paper_profile_build() {
    let mut cfg = super::tiny_config(Variant::Cvae);
    cfg.input.channels = 3;
    let vars = VarMap::new();
    let model = Hybrid::new(&cfg, builder(&vars, DType::F32)).unwrap();
    let input = Input {
        frames: randn(50, &[2, 6, 16, 16]).to_dtype(DType::F32).unwrap(),
        next: randn(51, &[2, 3, 16, 16]).to_dtype(DType::F32).unwrap(),
        flow: randn(52, &[2, 4, 16, 16]).to_dtype(DType::F32).unwrap(),
    };
    let out = model.forward(&input, &Sampling::Random).unwrap();
    assert_eq!(out.memae.recon.dims(), &[2, 6, 16, 16]);
    assert_eq!(out.cvae.unwrap().pred.dims(), &[2, 3, 16, 16]);

    // The paper profile only builds here (a forward at 256x256 is GPU work).
    let cfg = ModelConfig::profile("paper").unwrap();
    let vars = VarMap::new();
    let model = Hybrid::new(&cfg, builder(&vars, DType::F32)).unwrap();
    let params: usize = vars.all_vars().iter().map(|v| v.elem_count()).sum();
    eprintln!("paper profile: {params} parameters");
    assert!((1_000_000..200_000_000).contains(&params), "{params}");
    assert_eq!(model.memae().memories()[0].items().dims(), &[100, 512]);
}

#[test]
fn device_selection_falls_back_to_the_cpu() {
    let (device, note) = crate::model::select_device(false);
    assert!(device.is_cpu() && note.is_none());
    let (device, note) = crate::model::select_device(true);
    if device.is_cpu() {
        // No CUDA in this build or on this machine: the reason is given.
        assert!(note.is_some_and(|n| n.contains("CPU")));
    }
}

/// The free-bits floor: a latent channel whose KL is under the floor counts
/// as the floor and passes no gradient; one above it counts as itself; the
/// hybrid's total uses the floored KL while its logged `kl` stays the KL.
#[test]
fn free_bits_floor_stops_the_gradient_of_channels_below_it() {
    use crate::model::losses;
    // Channel 0 has mean KL 0.05, channel 1 mean 2.0 (B 2, 1x2 positions).
    let values: Vec<f32> = [0.04f32, 0.06, 1.0, 3.0, 0.05, 0.05, 2.0, 2.0].to_vec();
    let map = candle_core::Var::from_vec(values, (2, 2, 1, 2), &Device::Cpu).unwrap();
    let floored = losses::free_bits_kl(map.as_tensor(), 0.5).unwrap();
    let value = floored.to_scalar::<f32>().unwrap();
    assert!((value - (0.5 + 2.0) / 2.0).abs() < 1e-6, "{value}");
    let plain = losses::free_bits_kl(map.as_tensor(), 0.0).unwrap();
    let mean = map.as_tensor().mean_all().unwrap();
    assert!(max_abs(&(&plain - &mean).unwrap()) < 1e-6);
    let grads = floored.backward().unwrap();
    let g: Vec<f32> = grads
        .get(map.as_tensor())
        .unwrap()
        .flatten_all()
        .unwrap()
        .to_vec1()
        .unwrap();
    // Layout (b, c, 0, x): channel 0 at [0, 1, 4, 5], channel 1 at [2, 3, 6, 7].
    for i in [0, 1, 4, 5] {
        assert_eq!(g[i], 0.0, "channel under the floor has gradient at {i}");
    }
    for i in [2, 3, 6, 7] {
        assert!((g[i] - 0.5 / 4.0).abs() < 1e-6, "channel above: {}", g[i]);
    }
    // In the model: a floor above every channel's KL adds β·(floor − KL).
    // Seeded weights: Candle's unseeded initialisers can put one channel's
    // KL above any floor, which made this check fail now and then.
    let mut cfg = super::tiny_config(Variant::Cvae);
    let vars = VarMap::new();
    let model = Hybrid::new(&cfg, builder(&vars, DType::F32)).unwrap();
    seed_vars(&vars, 9);
    let input = scene_input(&cfg, 9);
    let eps = model
        .cvae()
        .unwrap()
        .noise(&input.frames)
        .unwrap()
        .zeros_like()
        .unwrap();
    let base = model
        .forward(&input, &Sampling::Given(eps.clone()))
        .unwrap();
    cfg.loss.free_bits = 50.0;
    let floored_model = Hybrid::new(&cfg, builder(&vars, DType::F32)).unwrap();
    let out = floored_model
        .forward(&input, &Sampling::Given(eps))
        .unwrap();
    let scalar = |t: &Tensor| t.to_scalar::<f32>().unwrap();
    let kl = scalar(&base.losses.kl);
    assert!(kl < 50.0);
    assert_eq!(scalar(&out.losses.kl), kl, "the logged KL is the KL");
    let expected = scalar(&base.losses.total) + (cfg.loss.kl * (50.0 - kl as f64)) as f32;
    let total = scalar(&out.losses.total);
    assert!(
        (total - expected).abs() < 1e-4 * expected.abs().max(1.0),
        "{total} vs {expected}"
    );
}
