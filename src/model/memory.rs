//! The memory module of Long et al., "Video Sequence Anomaly Detection with
//! Multi-Layer Memory-Augmented Autoencoder" (equation numbers in brackets).
//!
//! - Read [2–6]: every spatial position of a feature map is a query q; weights
//!   w = softmax(cos(q, M) / T) over the N items [2–3], hard shrinkage
//!   ŵ = max(w − λ, 0)·w / (|w − λ| + ε) [4], L1 renormalisation [5], read = ŵM [6].
//! - Update [7–9]: not by gradient. Each item m moves toward the queries whose
//!   nearest item is m and whose distance to it is below τ, each query weighted
//!   by its softmax over queries renormalised by the largest in the set; the item
//!   is then L2-normalised.
//! - Compactness [10]: squared distance from each (unit) query to its nearest
//!   item. Separation [11]: triplet loss max(d₁ − d₂ + γ, 0) between the nearest
//!   and the second-nearest item. The per-frame mean of [10] is the
//!   feature-compactness distance D [12] used for scoring.
//!
//! Items are unit vectors, queries are L2-normalised before use, so every
//! distance lies in [0, 2] and cos = 1 − d²/2.
//!
//! Two training aids the paper does not have, both off unless the config asks
//! (issue #18: with random items, the first queries all fall nearest to one
//! item, mostly beyond τ, and the others never move — the memory collapses):
//! seeding the items from the first batch's queries (k-means++), and
//! restarting an item that no query has chosen for a while on the query worst
//! represented by its own nearest item.

use candle_core::{DType, Device, Result, Tensor};

use super::ops;

/// ε of the hard shrinkage and of the L1 renormalisation.
const EPS: f64 = 1e-12;

/// Settings of one memory (copied from [`super::config::MemoryConfig`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MemorySettings {
    /// Softmax temperature T.
    pub temperature: f64,
    /// λ as a fraction of 1/N.
    pub shrink: f64,
    /// Update radius τ (Euclidean distance between unit vectors).
    pub update_radius: f64,
    /// Separation margin γ.
    pub margin: f64,
}

/// N unit-norm items of dimension C; a plain tensor (never a trainable `Var`).
#[derive(Debug, Clone)]
pub struct Memory {
    items: Tensor,
    settings: MemorySettings,
    /// Seeds k-means++ picks.
    seed: u64,
    /// The next update seeds the items from its queries instead.
    seed_pending: bool,
    /// Restart an item after this many updates as no query's nearest (0: never).
    restart_after: usize,
    /// Per item, consecutive updates in which it was no query's nearest.
    idle: Vec<usize>,
}

/// What a read returns: the read itself, the attention and the memory terms.
#[derive(Debug, Clone)]
pub struct MemoryRead {
    /// ŵM reshaped like the input: (B, C, H, W).
    pub read: Tensor,
    /// Addressing weights ŵ after shrinkage and renormalisation: (B, N, H, W),
    /// one heatmap per item.
    pub attention: Tensor,
    /// Compactness loss [10]: mean over positions of ‖q̂ − m_nearest‖².
    pub compactness: Tensor,
    /// Separation loss [11]: mean over positions of max(d₁ − d₂ + γ, 0).
    pub separation: Tensor,
    /// Feature-compactness distance D [12] per sample: (B,).
    pub distance: Tensor,
    /// D per position before averaging: (B, 1, H, W), for patch-pooled scores.
    pub distance_map: Tensor,
    /// The unit queries, detached: (B·H·W, C); input of [`Memory::update`].
    pub queries: Tensor,
}

impl Memory {
    /// `slots` random unit items of dimension `dim` (deterministic for a seed).
    pub fn new(
        slots: usize,
        dim: usize,
        settings: MemorySettings,
        seed: u64,
        dtype: DType,
        device: &Device,
    ) -> Result<Memory> {
        let mut state = seed ^ 0x9e37_79b9_7f4a_7c15;
        let mut data = Vec::with_capacity(slots * dim);
        for _ in 0..slots * dim {
            data.push(gaussian(&mut state));
        }
        let items = Tensor::from_vec(data, (slots, dim), device)?.to_dtype(dtype)?;
        Ok(Memory {
            items: ops::l2_normalize(&items, 1)?,
            settings,
            seed,
            seed_pending: false,
            restart_after: 0,
            idle: vec![0; slots],
        })
    }

    /// Training aids (see the module doc): seed the items from the next
    /// update's queries, and restart items idle for `restart_after` updates
    /// (0: never). [`Memory::set_items`] cancels a pending seeding.
    pub fn set_training_aids(&mut self, seed_from_queries: bool, restart_after: usize) {
        self.seed_pending = seed_from_queries;
        self.restart_after = restart_after;
    }

    /// The items: (N, C), unit rows.
    pub fn items(&self) -> &Tensor {
        &self.items
    }

    /// The number of items N.
    pub fn slots(&self) -> usize {
        self.items.dims()[0]
    }

    /// The settings this memory reads and updates with.
    pub fn settings(&self) -> MemorySettings {
        self.settings
    }

    /// Replaces the items (from a checkpoint, so already unit rows); the shape must
    /// match. Taken bit for bit: re-normalising could move an attention weight
    /// across λ, where hard shrinkage jumps.
    pub fn set_items(&mut self, items: &Tensor) -> Result<()> {
        if items.dims() != self.items.dims() {
            candle_core::bail!(
                "memory items have shape {:?}, expected {:?}",
                items.dims(),
                self.items.dims()
            );
        }
        let items = items
            .to_dtype(self.items.dtype())?
            .to_device(self.items.device())?;
        self.items = items.detach();
        self.seed_pending = false;
        Ok(())
    }

    /// λ of the hard shrinkage: shrink / N.
    pub fn lambda(&self) -> f64 {
        self.settings.shrink / self.slots() as f64
    }

    /// Reads the memory with the features `x` (B, C, H, W) as queries [2–6] and
    /// computes the memory losses [10–11] and the distance D [12].
    pub fn read(&self, x: &Tensor) -> Result<MemoryRead> {
        self.read_with(x, true)
    }

    /// [`Memory::read`], computing the separation loss only when `losses` is
    /// set (scoring needs D, not the losses; `separation` is then 0).
    pub fn read_with(&self, x: &Tensor, losses: bool) -> Result<MemoryRead> {
        let (b, c, h, w) = x.dims4()?;
        if c != self.items.dims()[1] {
            candle_core::bail!(
                "memory read: features have {c} channels, items {}",
                self.items.dims()[1]
            );
        }
        let n = self.slots();
        let q = ops::l2_normalize(&ops::to_rows(x)?, 1)?;
        let sim = q.matmul(&self.items.t()?)?; // (P, N) cosine [2]
                                               // [3–5]: on the CPU one node with a hand-written backward, elsewhere the graph.
        let attention = match ops::fused_addressing(&sim, self.settings.temperature, self.lambda())?
        {
            Some(a) => a,
            None => self.addressing_graph(&sim)?,
        };
        let read = attention.matmul(&self.items)?; // [6]

        // Nearest and second-nearest items, chosen on detached similarities.
        let (first, second) = ops::two_nearest(&sim.detach())?;
        let device = x.device();
        let first = Tensor::from_vec(first, q.dims()[0], device)?;
        let m1 = self.items.index_select(&first, 0)?;
        let d1_sq = (&q - &m1)?.sqr()?.sum(1)?; // (P,)
        let compactness = d1_sq.mean_all()?;
        let distance = d1_sq.reshape((b, h * w))?.mean(1)?;
        let distance_map = d1_sq.detach().reshape((b, 1, h, w))?;
        let separation = if losses && n >= 2 {
            let second = Tensor::from_vec(second, q.dims()[0], device)?;
            let m2 = self.items.index_select(&second, 0)?;
            let d1 = (&d1_sq + EPS)?.sqrt()?;
            let d2 = ((&q - &m2)?.sqr()?.sum(1)? + EPS)?.sqrt()?;
            ((d1 - d2)? + self.settings.margin)?.relu()?.mean_all()?
        } else {
            compactness.zeros_like()?
        };
        Ok(MemoryRead {
            read: ops::from_rows(&read, b, h, w)?,
            attention: ops::from_rows(&attention, b, h, w)?,
            compactness,
            separation,
            distance,
            distance_map,
            queries: q.detach(),
        })
    }

    /// The addressing [3–5] from cosine similarities (P, N) as a Candle graph
    /// (devices other than the CPU): softmax with temperature, hard shrinkage,
    /// L1 renormalisation.
    fn addressing_graph(&self, sim: &Tensor) -> Result<Tensor> {
        let weights = ops::softmax(&(sim / self.settings.temperature)?, 1)?; // [3]
        let shifted = (&weights - self.lambda())?;
        let shrunk = ((shifted.relu()? * &weights)? / (shifted.abs()? + EPS)?)?; // [4]
        let total = (shrunk.sum_keepdim(1)? + EPS)?;
        shrunk.broadcast_div(&total) // [5]
    }

    /// Moves items toward their matched queries [7–9]. `queries` are unit rows
    /// (P, C), e.g. [`MemoryRead::queries`]. An item moves only if some query has
    /// it as nearest item at a distance below τ; others stay exactly as they are,
    /// unless a training aid ([`Memory::set_training_aids`]) seeds or restarts them.
    pub fn update(&mut self, queries: &Tensor) -> Result<()> {
        let q = queries.detach().to_dtype(DType::F64)?.to_vec2::<f64>()?;
        let m = self.items.to_dtype(DType::F64)?.to_vec2::<f64>()?;
        if self.seed_pending && !q.is_empty() {
            self.seed_pending = false;
            let seeded = kmeans_pp(&q, m, self.seed);
            return self.store(seeded);
        }
        let t = self.settings.temperature;
        let radius = self.settings.update_radius;
        // For each item, the queries that choose it within τ, with their similarity.
        let mut matched: Vec<Vec<(usize, f64)>> = vec![Vec::new(); m.len()];
        let mut chosen = vec![false; m.len()];
        for (k, qk) in q.iter().enumerate() {
            let (j, s) = nearest(qk, &m);
            chosen[j] = true;
            if distance(s) < radius {
                matched[j].push((k, s));
            }
        }
        let mut out = m.clone();
        for (j, set) in matched.iter().enumerate() {
            if set.is_empty() {
                continue;
            }
            // softmax over queries [8] divided by its max over the set [9]: the
            // denominator cancels, leaving exp((s − s_max) / T).
            let smax = set
                .iter()
                .map(|&(_, s)| s)
                .fold(f64::NEG_INFINITY, f64::max);
            let mut v = m[j].clone();
            for &(k, s) in set {
                let weight = ((s - smax) / t).exp();
                for (vi, qi) in v.iter_mut().zip(&q[k]) {
                    *vi += weight * qi;
                }
            }
            out[j] = unit(v);
        }
        for (idle, &c) in self.idle.iter_mut().zip(&chosen) {
            *idle = if c { 0 } else { *idle + 1 };
        }
        if self.restart_after > 0 {
            self.restart_idle(&q, &mut out);
        }
        self.store(out)
    }

    /// Moves every item idle for `restart_after` updates onto a distinct query,
    /// the worst represented first (largest distance to its nearest item).
    fn restart_idle(&mut self, q: &[Vec<f64>], items: &mut [Vec<f64>]) {
        let dead: Vec<usize> = (0..items.len())
            .filter(|&j| self.idle[j] >= self.restart_after)
            .collect();
        if dead.is_empty() || q.is_empty() {
            return;
        }
        let mut worst: Vec<(usize, f64)> = q
            .iter()
            .enumerate()
            .map(|(k, qk)| (k, nearest(qk, items).1))
            .collect();
        worst.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
        for (&j, &(k, _)) in dead.iter().zip(&worst) {
            items[j] = q[k].clone();
            self.idle[j] = 0;
        }
    }

    /// Replaces the items with `rows` (unit rows, N × C).
    fn store(&mut self, rows: Vec<Vec<f64>>) -> Result<()> {
        let (n, dim) = (rows.len(), rows.first().map_or(0, Vec::len));
        let flat: Vec<f64> = rows.into_iter().flatten().collect();
        self.items =
            Tensor::from_vec(flat, (n, dim), self.items.device())?.to_dtype(self.items.dtype())?;
        Ok(())
    }
}

/// The item most similar to `query` and its cosine.
fn nearest(query: &[f64], items: &[Vec<f64>]) -> (usize, f64) {
    let mut best = (0, f64::NEG_INFINITY);
    for (j, mj) in items.iter().enumerate() {
        let s = dot(query, mj);
        if s > best.1 {
            best = (j, s);
        }
    }
    best
}

/// The Euclidean distance between unit vectors of cosine `s`.
fn distance(s: f64) -> f64 {
    (2.0 - 2.0 * s).max(0.0).sqrt()
}

/// `v` scaled to unit length.
fn unit(v: Vec<f64>) -> Vec<f64> {
    let norm = dot(&v, &v).sqrt().max(EPS);
    v.into_iter().map(|x| x / norm).collect()
}

/// k-means++ seeding: N distinct queries, each next one drawn with probability
/// proportional to its squared distance to the nearest pick. Items keep their
/// old value where the queries run out of distinct points.
fn kmeans_pp(q: &[Vec<f64>], mut items: Vec<Vec<f64>>, seed: u64) -> Vec<Vec<f64>> {
    let mut rng = super::init::Rng::new(seed ^ 0x6b6d_6561_6e73_2b2b);
    let first = (rng.uniform() * q.len() as f64) as usize;
    let mut d2: Vec<f64> = vec![f64::INFINITY; q.len()];
    let mut pick = first.min(q.len() - 1);
    for item in items.iter_mut() {
        *item = unit(q[pick].clone());
        for (dk, qk) in d2.iter_mut().zip(q) {
            *dk = dk.min(distance(dot(qk, item)).powi(2));
        }
        let total: f64 = d2.iter().sum();
        if total <= 1e-12 {
            break; // every query coincides with a pick
        }
        let mut r = rng.uniform() * total;
        pick = d2.len() - 1;
        for (k, &dk) in d2.iter().enumerate() {
            r -= dk;
            if r < 0.0 && dk > 0.0 {
                pick = k;
                break;
            }
        }
    }
    items
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// A standard normal sample (Box–Muller on SplitMix64), continuing `state`.
pub(crate) fn gaussian(state: &mut u64) -> f32 {
    let mut rng = super::init::Rng::from_state(*state);
    let g = rng.gaussian();
    *state = rng.state();
    g as f32
}
