//! CANDLE BUG PINS (candle 0.11.1). Each test asserts that a Candle gradient bug
//! the model works around still exists. When one of these fails after a Candle
//! upgrade, the bug is fixed: delete the test and, if wanted, the stand-in in
//! `ops.rs`. The correct reference gradient comes from our checked stand-ins.

use candle_core::{Tensor, Var};

use super::{project, var};
use crate::model::ops;

fn grad_of(x: &Var, loss: &Tensor) -> Option<Vec<f64>> {
    let grads = loss.backward().unwrap();
    grads
        .get(x.as_tensor())
        .map(|g| g.flatten_all().unwrap().to_vec1::<f64>().unwrap())
}

#[test]
fn candle_bug_max_pool2d_backward_is_four_times_too_small() {
    let x = var(101, &[1, 2, 4, 4]);
    let candle = grad_of(
        &x,
        &project(&x.as_tensor().max_pool2d(2).unwrap(), 102).unwrap(),
    )
    .unwrap();
    let ours = grad_of(&x, &project(&ops::max_pool2x2(&x).unwrap(), 102).unwrap()).unwrap();
    // Forward values agree …
    let a = x.as_tensor().max_pool2d(2).unwrap();
    let b = ops::max_pool2x2(&x).unwrap();
    let diff = (a - b)
        .unwrap()
        .abs()
        .unwrap()
        .max_all()
        .unwrap()
        .to_scalar::<f64>()
        .unwrap();
    assert!(diff < 1e-12);
    // … but Candle's gradient is ours scaled by 1/(k·k) = 1/4.
    for (c, o) in candle.iter().zip(&ours) {
        assert!((c * 4.0 - o).abs() < 1e-9, "candle {c} vs correct {o}");
    }
    assert!(ours.iter().any(|g| g.abs() > 1e-3));
}

#[test]
fn candle_bug_upsample_nearest2d_backward_overwrites_gradient() {
    // y = Σ upsample(x) + Σ x: the true gradient is 4 + 1 = 5 everywhere.
    let x = var(103, &[1, 1, 3, 3]);
    let loss = (x
        .as_tensor()
        .upsample_nearest2d(6, 6)
        .unwrap()
        .sum_all()
        .unwrap()
        + x.as_tensor().sum_all().unwrap())
    .unwrap();
    let candle = grad_of(&x, &loss).unwrap();
    assert!(
        candle.iter().all(|g| (g - 5.0).abs() > 0.5),
        "upsample_nearest2d accumulates correctly now: {candle:?}"
    );
    let loss = (ops::upsample2x(&x).unwrap().sum_all().unwrap() + x.as_tensor().sum_all().unwrap())
        .unwrap();
    let ours = grad_of(&x, &loss).unwrap();
    assert!(ours.iter().all(|g| (g - 5.0).abs() < 1e-12), "{ours:?}");
}

#[test]
fn candle_bug_softmax_last_dim_has_no_gradient() {
    let x = var(104, &[3, 5]);
    let loss = project(&candle_nn::ops::softmax_last_dim(&x).unwrap(), 105).unwrap();
    let candle = grad_of(&x, &loss);
    let silent = candle.as_ref().is_none_or(|g| g.iter().all(|v| *v == 0.0));
    assert!(silent, "softmax_last_dim has a gradient now: {candle:?}");
    let ours = grad_of(&x, &project(&ops::softmax(&x, 1).unwrap(), 105).unwrap()).unwrap();
    assert!(ours.iter().any(|g| g.abs() > 1e-3));
}
