//! The CPU custom ops (conv, group norm + ReLU, pooling, upsampling) against the
//! Candle graphs they replace: same values, same gradients, for single ops and
//! for the whole model, in f64 and f32; plus gradient checks of each op.

use candle_core::{DType, Module, Result, Tensor, Var};

use super::{builder, f64_vars, gradcheck, project, randn, seed_vars, tiny_config, var};
use crate::model::config::Variant;
use crate::model::cpu::kernels::FORCE_GRAPH;
use crate::model::cpu::norm_op::GroupNormRelu;
use crate::model::hybrid::{Hybrid, Input, Sampling};
use crate::model::ops;

/// Runs `f` with the Candle-graph versions of the ops (this thread only).
fn on_graph<R>(f: impl FnOnce() -> R) -> R {
    FORCE_GRAPH.with(|g| g.set(true));
    let r = f();
    FORCE_GRAPH.with(|g| g.set(false));
    r
}

fn max_diff(a: &Tensor, b: &Tensor) -> f64 {
    (a - b)
        .unwrap()
        .abs()
        .unwrap()
        .flatten_all()
        .unwrap()
        .max(0)
        .unwrap()
        .to_dtype(DType::F64)
        .unwrap()
        .to_scalar::<f64>()
        .unwrap()
}

/// The value of `f` and the gradients of `vars`, custom path and graph path.
fn both_paths(vars: &[Var], f: impl Fn() -> Result<Tensor>) -> [(Tensor, Vec<Tensor>); 2] {
    let run = || {
        let y = f().unwrap();
        let grads = y.sum_all().unwrap().backward().unwrap();
        let g = vars
            .iter()
            .map(|v| grads.get(v.as_tensor()).expect("a gradient").clone())
            .collect();
        (y, g)
    };
    [run(), on_graph(run)]
}

fn assert_same(name: &str, vars: &[Var], tol: f64, f: impl Fn() -> Result<Tensor>) {
    let [(y1, g1), (y2, g2)] = both_paths(vars, f);
    let scale = |t: &Tensor| max_diff(t, &t.zeros_like().unwrap()).max(1.0);
    let d = max_diff(&y1, &y2) / scale(&y2);
    assert!(d < tol, "{name}: values differ by {d:e}");
    for (i, (a, b)) in g1.iter().zip(&g2).enumerate() {
        let d = max_diff(a, b) / scale(b);
        assert!(d < tol, "{name}: gradient {i} differs by {d:e}");
    }
}

#[test]
fn group_norm_relu_matches_candle_and_has_exact_gradient() {
    let (vars, dtype) = f64_vars();
    let norm = GroupNormRelu::new(2, 4, 1e-5, builder(&vars, dtype)).unwrap();
    seed_vars(&vars, 50);
    // Non-trivial γ and β (the builder initialises them to 1 and 0).
    for (name, seed) in [("weight", 51), ("bias", 52)] {
        let v = &vars.data().lock().unwrap()[name];
        v.set(&randn(seed, &[4])).unwrap();
    }
    let x = var(53, &[3, 4, 3, 5]);
    let mut all = vars.all_vars();
    all.push(x.clone());
    assert_same("group norm + relu", &all, 1e-12, || {
        project(&norm.forward(&x)?, 54)
    });
    let err = gradcheck(&all, 40, || project(&norm.forward(&x)?, 55));
    assert!(
        err < 1e-4,
        "group norm + relu: max relative error {err:.2e}"
    );
}

#[test]
fn pool_and_upsample_ops_match_the_graphs() {
    let x = var(56, &[2, 3, 4, 6]);
    assert_same("max_pool2x2", std::slice::from_ref(&x), 1e-15, || {
        project(&ops::max_pool2x2(&x)?, 57)
    });
    assert_same("upsample2x", std::slice::from_ref(&x), 1e-15, || {
        project(&ops::upsample2x(&x)?, 58)
    });
    // The graph versions (used off the CPU) keep their own gradient checks.
    let err = on_graph(|| {
        gradcheck(std::slice::from_ref(&x), 48, || {
            project(&ops::max_pool2x2(&x)?, 59)? + project(&ops::upsample2x(&x)?, 60)?
        })
    });
    assert!(err < 1e-4, "graph pool/upsample: {err:.2e}");
}

#[test]
fn pool_gradient_goes_to_the_first_maximum_of_a_tie() {
    let x = Var::from_tensor(
        &Tensor::from_vec(
            vec![1.0f64, 1.0, 0.5, 1.0],
            (1, 1, 2, 2),
            &candle_core::Device::Cpu,
        )
        .unwrap(),
    )
    .unwrap();
    let grads = ops::max_pool2x2(&x)
        .unwrap()
        .sum_all()
        .unwrap()
        .backward()
        .unwrap();
    let g = grads.get(x.as_tensor()).unwrap().flatten_all().unwrap();
    assert_eq!(g.to_vec1::<f64>().unwrap(), vec![1.0, 0.0, 0.0, 0.0]);
}

#[test]
fn conv_op_matches_candle_for_every_batch_split() {
    // Batch 1 lets gemm split over threads; batch 3 splits images over threads.
    for (b, k) in [(1, 3), (3, 3), (3, 1), (1, 1)] {
        let (vars, dtype) = f64_vars();
        let conv = ops::Conv::new(3, 5, k, builder(&vars, dtype)).unwrap();
        seed_vars(&vars, 61);
        let x = var(62, &[b, 3, 7, 4]);
        let mut all = vars.all_vars();
        all.push(x.clone());
        assert_same(&format!("conv b={b} k={k}"), &all, 1e-12, || {
            project(&conv.forward(&x)?, 63)
        });
        // A non-contiguous input (a transposed view) is handled too.
        let xt = var(64, &[b, 3, 4, 7]);
        all.pop();
        all.push(xt.clone());
        assert_same(&format!("conv b={b} k={k} strided"), &all, 1e-12, || {
            project(&conv.forward(&xt.transpose(2, 3)?)?, 65)
        });
    }
}

#[test]
fn fused_upsample_and_concat_convs_match_the_graphs() {
    // f32 only (the fused ops run on the direct f32 kernel; elsewhere the
    // graph runs and this compares it with itself). Widths with a partial
    // vector, batch 1 (channels split over threads) and 3 (images split).
    if !crate::model::cpu::direct_conv::available() {
        eprintln!("no AVX-512: the fused convolutions do not run on this CPU");
    }
    let f32var = |seed, shape: &[usize]| {
        Var::from_tensor(&randn(seed, shape).to_dtype(DType::F32).unwrap()).unwrap()
    };
    for b in [1, 3] {
        let vars = candle_nn::VarMap::new();
        let up = ops::Conv::new(5, 6, 3, builder(&vars, DType::F32)).unwrap();
        let cat = ops::Conv::new(6 + 3, 4, 3, builder(&vars, DType::F32).pp("cat")).unwrap();
        seed_vars(&vars, 81);
        let x = f32var(82, &[b, 5, 3, 11]);
        let skip = f32var(83, &[b, 3, 6, 22]);
        let mut all = vars.all_vars();
        all.extend([x.clone(), skip.clone()]);
        assert_same(
            &format!("conv of upsampled and concatenated b={b}"),
            &all,
            1e-4,
            || {
                let y = cat.forward_cat(&up.forward_up(&x)?, &skip)?;
                (y.clone() * randn(84, y.dims()).to_dtype(DType::F32)?)?.sum_all()
            },
        );
    }
}

fn model_input(dtype: DType) -> Input {
    let t = |seed, shape: &[usize]| randn(seed, shape).to_dtype(dtype).unwrap();
    Input {
        frames: t(66, &[2, 2, 16, 16]),
        next: t(67, &[2, 1, 16, 16]),
        flow: t(68, &[2, 4, 16, 16]),
    }
}

#[test]
fn whole_model_is_unchanged_by_the_custom_ops() {
    // f64: equal to rounding; f32: to float noise (the path a training run takes).
    for (dtype, tol) in [(DType::F64, 1e-9), (DType::F32, 2e-4)] {
        let mut cfg = tiny_config(Variant::Cvae);
        cfg.memae.channels = [4, 8, 8, 8];
        let vars = candle_nn::VarMap::new();
        let model = Hybrid::new(&cfg, builder(&vars, dtype)).unwrap();
        seed_vars(&vars, 69);
        let input = model_input(dtype);
        let eps = Sampling::Given(randn(70, &[2, 2, 2, 2]).to_dtype(dtype).unwrap());
        let all = vars.all_vars();
        assert_same(&format!("hybrid {dtype:?}"), &all, tol, || {
            let l = model.forward(&input, &eps)?.losses;
            Tensor::stack(
                &[
                    &l.recon,
                    &l.compact,
                    &l.separate,
                    &l.pred,
                    &l.kl,
                    &l.gradient,
                ],
                0,
            )
        });
    }
}

#[test]
fn memory_addressing_op_matches_the_graph() {
    use crate::model::memory::{Memory, MemorySettings};
    // A sharp softmax with shrinkage on (some weights cut) and a flat one.
    for (temperature, shrink) in [(0.1, 1.0), (0.5, 0.5), (1.0, 0.0)] {
        let settings = MemorySettings {
            temperature,
            shrink,
            update_radius: 1.0,
            margin: 1.0,
        };
        let memory = Memory::new(7, 4, settings, 5, DType::F64, &candle_core::Device::Cpu).unwrap();
        let x = var(71, &[2, 4, 3, 5]);
        let f = || {
            let r = memory.read(&x)?;
            let t = (project(&r.read, 72)? + project(&r.attention, 73)?)?;
            (t + r.compactness)? + r.separation
        };
        assert_same(
            &format!("memory read T={temperature} shrink={shrink}"),
            std::slice::from_ref(&x),
            1e-10,
            f,
        );
        let err = gradcheck(std::slice::from_ref(&x), 60, f);
        assert!(err < 1e-4, "memory read T={temperature}: {err:.2e}");
    }
}
