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
        })
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
    /// it as nearest item at a distance below τ; others stay exactly as they are.
    pub fn update(&mut self, queries: &Tensor) -> Result<()> {
        let q = queries.detach().to_dtype(DType::F64)?.to_vec2::<f64>()?;
        let m = self.items.to_dtype(DType::F64)?.to_vec2::<f64>()?;
        let t = self.settings.temperature;
        let radius = self.settings.update_radius;
        let dim = m.first().map_or(0, Vec::len);
        // For each item, the queries that choose it within τ, with their similarity.
        let mut matched: Vec<Vec<(usize, f64)>> = vec![Vec::new(); m.len()];
        for (k, qk) in q.iter().enumerate() {
            let mut best = (0, f64::NEG_INFINITY);
            for (j, mj) in m.iter().enumerate() {
                let s = dot(qk, mj);
                if s > best.1 {
                    best = (j, s);
                }
            }
            let dist = (2.0 - 2.0 * best.1).max(0.0).sqrt();
            if dist < radius {
                matched[best.0].push((k, best.1));
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
            let norm = dot(&v, &v).sqrt().max(EPS);
            out[j] = v.into_iter().map(|x| x / norm).collect();
        }
        let flat: Vec<f64> = out.into_iter().flatten().collect();
        self.items = Tensor::from_vec(flat, (m.len(), dim), self.items.device())?
            .to_dtype(self.items.dtype())?;
        Ok(())
    }
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
