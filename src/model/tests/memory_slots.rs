//! Memories that keep several normal patterns apart (issue #18): queries from
//! five nearby patterns, as an untrained encoder gives them, against the
//! paper's update alone and with the training aids (seeding, restarts).

use candle_core::{DType, Device, Tensor};

use super::randn;
use crate::model::memory::{Memory, MemorySettings};
use crate::model::ops;

const DIM: usize = 16;
const PATTERNS: usize = 5;
const SLOTS: usize = 10;

fn settings() -> MemorySettings {
    MemorySettings {
        temperature: 0.1,
        shrink: 1.0,
        update_radius: 1.0,
        margin: 1.0,
    }
}

/// Unit rows.
fn unit(t: &Tensor) -> Tensor {
    ops::l2_normalize(t, 1).unwrap()
}

/// Pattern centres: a shared direction plus a smaller own one (pairwise
/// cosine about 0.9, as the first queries of a fresh encoder are alike).
fn centres() -> Tensor {
    let base = randn(1, &[1, DIM]).broadcast_as((PATTERNS, DIM)).unwrap();
    let own = (randn(2, &[PATTERNS, DIM]) * 0.35).unwrap();
    unit(&(base + own).unwrap())
}

/// `per` noisy queries of every pattern, as (PATTERNS·per, DIM) unit rows.
fn queries(centres: &Tensor, per: usize, seed: u64) -> Tensor {
    let rows = centres
        .unsqueeze(1)
        .unwrap()
        .broadcast_as((PATTERNS, per, DIM))
        .unwrap()
        .reshape((PATTERNS * per, DIM))
        .unwrap();
    let noise = (randn(seed, &[PATTERNS * per, DIM]) * 0.03).unwrap();
    unit(&(rows + noise).unwrap())
}

/// How many different items are the nearest of the pattern centres.
fn distinct_nearest(memory: &Memory, centres: &Tensor) -> usize {
    let sim = centres
        .to_dtype(DType::F64)
        .unwrap()
        .matmul(&memory.items().to_dtype(DType::F64).unwrap().t().unwrap())
        .unwrap()
        .to_vec2::<f64>()
        .unwrap();
    let mut picks: Vec<usize> = sim
        .iter()
        .map(|row| {
            (0..row.len())
                .max_by(|&a, &b| row[a].total_cmp(&row[b]))
                .unwrap()
        })
        .collect();
    picks.sort_unstable();
    picks.dedup();
    picks.len()
}

/// The memory after `steps` updates with fresh noisy queries of every pattern.
fn trained(seed_from_queries: bool, restart_after: usize, steps: u64) -> (Memory, Tensor) {
    let c = centres();
    let mut memory = Memory::new(SLOTS, DIM, settings(), 3, DType::F64, &Device::Cpu).unwrap();
    memory.set_training_aids(seed_from_queries, restart_after);
    for step in 0..steps {
        memory.update(&queries(&c, 12, 100 + step)).unwrap();
    }
    (memory, c)
}

#[test]
fn the_paper_update_from_random_items_leaves_patterns_on_few_slots() {
    // The failure the aids exist for: random items are all far (beyond τ)
    // from alike queries, so at most the one nearest item ever moves.
    let (memory, c) = trained(false, 0, 30);
    assert!(
        distinct_nearest(&memory, &c) < PATTERNS,
        "random items already separate the patterns: the test no longer shows the failure"
    );
}

#[test]
fn seeding_from_queries_gives_every_pattern_its_own_slot() {
    let (memory, c) = trained(true, 0, 30);
    assert_eq!(distinct_nearest(&memory, &c), PATTERNS);
    let items = memory.items().to_dtype(DType::F64).unwrap();
    let norms = items
        .sqr()
        .unwrap()
        .sum(1)
        .unwrap()
        .to_vec1::<f64>()
        .unwrap();
    assert!(norms.iter().all(|n| (n - 1.0).abs() < 1e-9), "{norms:?}");
}

#[test]
fn restarts_revive_idle_slots_onto_unserved_patterns() {
    let (memory, c) = trained(false, 2, 30);
    assert_eq!(distinct_nearest(&memory, &c), PATTERNS);
}

#[test]
fn loaded_items_cancel_the_seeding() {
    let c = centres();
    let q = queries(&c, 12, 7);
    let mut plain = Memory::new(SLOTS, DIM, settings(), 3, DType::F64, &Device::Cpu).unwrap();
    let mut loaded = plain.clone();
    loaded.set_training_aids(true, 0);
    loaded.set_items(&plain.items().clone()).unwrap();
    plain.update(&q).unwrap();
    loaded.update(&q).unwrap();
    let diff = (loaded.items() - plain.items())
        .unwrap()
        .abs()
        .unwrap()
        .max_all()
        .unwrap()
        .to_scalar::<f64>()
        .unwrap();
    assert_eq!(diff, 0.0, "a loaded memory was re-seeded");
}
