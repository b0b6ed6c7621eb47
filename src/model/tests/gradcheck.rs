//! Gradient checks: backprop against central differences in f64 on the CPU, for
//! every op and block the model uses. Each prints its max relative error.

use candle_core::{Module, Tensor};
use candle_nn::Conv2dConfig;

use super::{builder, f64_vars, gradcheck, project, randn, seed_vars, tiny_config, var};
use crate::model::config::Variant;
use crate::model::hybrid::{Hybrid, Input, Sampling};
use crate::model::memory::{Memory, MemorySettings};
use crate::model::{cvae::Cvae, losses, memae::MemAe, ops};

const OP_TOL: f64 = 1e-4;
const BLOCK_TOL: f64 = 1e-3;

fn report(name: &str, err: f64, tol: f64) {
    eprintln!("gradcheck {name}: max relative error {err:.2e}");
    assert!(
        err < tol,
        "{name}: max relative error {err:.2e} >= {tol:.0e}"
    );
}

#[test]
fn max_pool2x2_gradient() {
    let x = var(1, &[2, 3, 4, 6]);
    // The input is also used directly, so accumulation into its gradient is checked.
    let err = gradcheck(std::slice::from_ref(&x), 48, || {
        project(&ops::max_pool2x2(&x)?, 2)? + project(x.as_tensor(), 3)?
    });
    report("max_pool2x2", err, OP_TOL);
}

#[test]
fn upsample2x_gradient() {
    let x = var(4, &[2, 3, 3, 5]);
    let err = gradcheck(std::slice::from_ref(&x), 90, || {
        project(&ops::upsample2x(&x)?, 5)? + project(x.as_tensor(), 6)?
    });
    report("upsample2x", err, OP_TOL);
}

#[test]
fn softmax_and_normalize_gradients() {
    let x = var(7, &[3, 5, 4]);
    let err = gradcheck(std::slice::from_ref(&x), 60, || {
        project(&ops::softmax(&x, 1)?, 8)
    });
    report("softmax(dim 1)", err, OP_TOL);
    let err = gradcheck(std::slice::from_ref(&x), 60, || {
        project(&ops::l2_normalize(&x, 2)?, 9)
    });
    report("l2_normalize", err, OP_TOL);
}

#[test]
fn rows_round_trip_gradient() {
    let x = var(10, &[2, 3, 2, 4]);
    let err = gradcheck(std::slice::from_ref(&x), 48, || {
        let rows = ops::to_rows(&x)?;
        let back = ops::from_rows(&(&rows * 2.0)?.sqr()?, 2, 2, 4)?;
        project(&rows, 11)? + project(&back, 12)?
    });
    report("to_rows/from_rows", err, OP_TOL);
}

#[test]
fn conv_and_group_norm_gradients() {
    let x = var(13, &[2, 3, 6, 6]);
    let w = var(14, &[4, 3, 3, 3]);
    let b = var(15, &[4]);
    let err = gradcheck(&[x.clone(), w.clone(), b.clone()], 30, || {
        let cfg = Conv2dConfig {
            padding: 1,
            ..Default::default()
        };
        let conv = candle_nn::Conv2d::new(w.as_tensor().clone(), Some(b.as_tensor().clone()), cfg);
        project(&conv.forward(&x)?, 16)
    });
    report("conv2d", err, OP_TOL);
    let g = var(17, &[4]);
    let beta = var(18, &[4]);
    let y = var(19, &[2, 4, 3, 3]);
    let err = gradcheck(&[y.clone(), g.clone(), beta.clone()], 40, || {
        let norm =
            candle_nn::GroupNorm::new(g.as_tensor().clone(), beta.as_tensor().clone(), 4, 2, 1e-5)?;
        project(&norm.forward(&y)?, 20)
    });
    report("group_norm", err, OP_TOL);
}

#[test]
fn conv_block_gradient() {
    let (vars, dtype) = f64_vars();
    let block = ops::ConvBlock::new(3, 4, builder(&vars, dtype)).unwrap();
    seed_vars(&vars, 1);
    let x = var(21, &[2, 3, 6, 6]);
    let mut all = vars.all_vars();
    all.push(x.clone());
    let err = gradcheck(&all, 12, || project(&block.forward(&x)?.relu()?, 22));
    report("ConvBlock", err, BLOCK_TOL);
}

#[test]
fn losses_gradients() {
    let a = var(23, &[2, 1, 5, 6]);
    let b = var(24, &[2, 1, 5, 6]);
    let err = gradcheck(&[a.clone(), b.clone()], 60, || {
        losses::mse(&a, &b)? + losses::gradient_loss(&a, &b)?
    });
    report("mse + gradient_loss", err, OP_TOL);
    let mq = var(25, &[2, 3, 2, 2]);
    let lq = var(26, &[2, 3, 2, 2]);
    let mp = var(27, &[2, 3, 2, 2]);
    let lp = var(28, &[2, 3, 2, 2]);
    let err = gradcheck(
        &[mq.clone(), lq.clone(), mp.clone(), lp.clone()],
        24,
        || losses::kl_gaussians(&mq, &lq, &mp, &lp)? + losses::kl_standard(&mq, &lq)?,
    );
    report("kl_gaussians + kl_standard", err, OP_TOL);
}

#[test]
fn memory_read_gradient() {
    let settings = MemorySettings {
        temperature: 0.5,
        shrink: 0.5,
        update_radius: 1.0,
        margin: 1.0,
    };
    let memory = Memory::new(
        6,
        4,
        settings,
        3,
        candle_core::DType::F64,
        &candle_core::Device::Cpu,
    )
    .unwrap();
    let x = var(29, &[2, 4, 3, 2]);
    let err = gradcheck(std::slice::from_ref(&x), 48, || {
        let r = memory.read(&x)?;
        let t = (project(&r.read, 30)? + project(&r.attention, 31)?)?;
        ((t + r.compactness)? + r.separation)? + project(&r.distance, 32)?
    });
    report("memory read + losses", err, OP_TOL);
}

#[test]
fn memae_gradient() {
    let cfg = tiny_config(Variant::MemAeOnly);
    let (vars, dtype) = f64_vars();
    let model = MemAe::new(&cfg, builder(&vars, dtype)).unwrap();
    seed_vars(&vars, 2);
    let x = var(33, &[1, 2, 16, 16]);
    let mut all = vars.all_vars();
    all.push(x.clone());
    let err = gradcheck(&all, 3, || {
        let out = model.forward(&x)?;
        project(&out.recon, 34)? + out.reads[0].compactness.clone()
    });
    report("MemAe", err, BLOCK_TOL);
}

#[test]
fn cvae_gradient() {
    let cfg = tiny_config(Variant::Cvae);
    let (vars, dtype) = f64_vars();
    let model = Cvae::new(&cfg, builder(&vars, dtype)).unwrap();
    seed_vars(&vars, 3);
    let x = var(35, &[1, 2, 16, 16]);
    let y = var(36, &[1, 4, 16, 16]);
    let eps = randn(37, &[1, 2, 2, 2]);
    let mut all = vars.all_vars();
    all.push(x.clone());
    all.push(y.clone());
    let err = gradcheck(&all, 3, || {
        let out = model.forward(&x, &y, Some(&eps))?;
        let (mp, lp) = out.prior.clone().expect("cvae has a prior");
        project(&out.pred, 38)? + losses::kl_gaussians(&out.mu_q, &out.logvar_q, &mp, &lp)?
    });
    report("Cvae", err, BLOCK_TOL);
}

#[test]
fn hybrid_total_loss_gradient() {
    for variant in [Variant::Cvae, Variant::Vae] {
        let cfg = tiny_config(variant);
        let (vars, dtype) = f64_vars();
        let model = Hybrid::new(&cfg, builder(&vars, dtype)).unwrap();
        seed_vars(&vars, 4);
        let input = Input {
            frames: randn(39, &[2, 2, 16, 16]),
            next: randn(40, &[2, 1, 16, 16]),
            flow: randn(41, &[2, 4, 16, 16]),
        };
        let eps = Sampling::Given(randn(42, &[2, 2, 2, 2]));
        let err = gradcheck(&vars.all_vars(), 2, || {
            Ok(model.forward(&input, &eps)?.losses.total)
        });
        report(&format!("Hybrid {variant:?} total loss"), err, BLOCK_TOL);
    }
}

#[test]
fn gradcheck_catches_a_wrong_gradient() {
    // The checker itself: a custom op with a deliberately wrong backward must fail.
    let x = var(43, &[5]);
    let wrong = || -> candle_core::Result<Tensor> {
        // Σ x·detach(x): backprop gives x, the true derivative is 2x.
        (x.as_tensor() * x.as_tensor().detach())?.sum_all()
    };
    let err = gradcheck(std::slice::from_ref(&x), 5, wrong);
    assert!(err > 0.4, "a halved gradient went unnoticed: {err}");
}

#[test]
fn im2col_conv_matches_candle_and_has_exact_gradient() {
    for k in [1, 3] {
        let (vars, dtype) = f64_vars();
        let conv = ops::Conv::new(3, 4, k, builder(&vars, dtype)).unwrap();
        seed_vars(&vars, 44);
        let x = var(45, &[2, 3, 5, 6]);
        // Same output as Candle's conv2d with the same weights.
        let data = vars.data().lock().unwrap();
        let reference = candle_nn::Conv2d::new(
            data["weight"].as_tensor().clone(),
            Some(data["bias"].as_tensor().clone()),
            Conv2dConfig {
                padding: k / 2,
                ..Default::default()
            },
        );
        drop(data);
        let diff = (conv.forward(&x).unwrap() - reference.forward(&x).unwrap())
            .unwrap()
            .abs()
            .unwrap()
            .max_all()
            .unwrap()
            .to_scalar::<f64>()
            .unwrap();
        assert!(diff < 1e-12, "k={k}: differs from conv2d by {diff}");
        let mut all = vars.all_vars();
        all.push(x.clone());
        let err = gradcheck(&all, 40, || project(&conv.forward(&x)?, 46));
        report(&format!("Conv (im2col) {k}x{k}"), err, OP_TOL);
    }
}
