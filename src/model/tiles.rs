//! Scoring in tiles of the training crop: a model trained on random crops
//! (`train.crop`) sees at test time, frame by frame, inputs of exactly the size
//! and padding it was trained on.
//!
//! Why: the group norms normalise over the whole spatial extent of a sample, so
//! their statistics on a whole frame differ from those on the crops the model
//! was trained on, and how much that matters varies from seed to seed. On Ped2
//! (`cpu` profile, crops 64×64 of 128×192 frames) the prediction error of whole
//! training frames was 1.0–3.6× the crops' training loss depending on the seed,
//! and scoring in tiles raised the worst seed's prediction-term AUC from 0.41 to 0.88.
//!
//! The frame is covered by a grid of crop-sized tiles (the last row and column
//! aligned to the frame's edge, overlapping the one before when the size does
//! not divide); each pixel is taken from the first tile that covers it.

use candle_core::{Result, Tensor};

use super::ops;

/// Start offsets of tiles of length `tile` covering `0..size`: multiples of
/// `tile`, the last one `size - tile`.
pub fn starts(size: usize, tile: usize) -> Vec<usize> {
    if tile == 0 || tile >= size {
        return vec![0];
    }
    let mut s: Vec<usize> = (0..size - tile).step_by(tile).collect();
    s.push(size - tile);
    s
}

/// A tiling of (H, W) frames into (th, tw) tiles.
#[derive(Debug, Clone, PartialEq)]
pub struct Tiling {
    ys: Vec<usize>,
    xs: Vec<usize>,
    tile: [usize; 2],
    size: [usize; 2],
}

impl Tiling {
    /// The tiling of `size` = [H, W] by `tile` = [th, tw]; `None` when one tile
    /// covers the frame (nothing to do).
    pub fn new(size: [usize; 2], tile: [usize; 2]) -> Option<Tiling> {
        let [h, w] = size;
        let [th, tw] = [tile[0].min(h), tile[1].min(w)];
        if th == h && tw == w {
            return None;
        }
        Some(Tiling {
            ys: starts(h, th),
            xs: starts(w, tw),
            tile: [th, tw],
            size,
        })
    }

    /// Number of tiles per frame.
    pub fn len(&self) -> usize {
        self.ys.len() * self.xs.len()
    }

    /// Whether there are no tiles (never: a tiling has at least one).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// (B, C, H, W) → (T·B, C, th, tw), tile-major (all frames of tile 0, then
    /// tile 1, …; tiles row by row).
    pub fn split(&self, x: &Tensor) -> Result<Tensor> {
        let mut parts = Vec::with_capacity(self.len());
        for &y in &self.ys {
            for &x0 in &self.xs {
                parts.push(x.narrow(2, y, self.tile[0])?.narrow(3, x0, self.tile[1])?);
            }
        }
        Tensor::cat(&parts, 0)
    }

    /// The inverse of [`Tiling::split`] for a per-tile tensor at any resolution
    /// (T·B, C, th/s, tw/s) → (B, C, H/s, W/s); overlaps are taken from the
    /// earlier tile.
    pub fn stitch(&self, t: &Tensor) -> Result<Tensor> {
        let (tb, _, h, _) = t.dims4()?;
        let b = tb / self.len();
        if b * self.len() != tb || h == 0 {
            candle_core::bail!("stitch: {tb} samples for {} tiles", self.len());
        }
        let s = self.tile[0] / h;
        let ys = spans(&self.ys, self.tile[0], self.size[0], s);
        let xs = spans(&self.xs, self.tile[1], self.size[1], s);
        // Without a graph to record, one parallel copy: the two levels of `cat`
        // below ran on one thread and were 3% of a 2-thread inference.
        if let Some(out) = ops::stitch_copy(t, b, &ys, &xs)? {
            return Ok(out);
        }
        let mut rows = Vec::with_capacity(ys.len());
        for (r, &(oy, ly)) in ys.iter().enumerate() {
            let mut cols = Vec::with_capacity(xs.len());
            for (c, &(ox, lx)) in xs.iter().enumerate() {
                let k = r * xs.len() + c;
                let tile = t.narrow(0, k * b, b)?;
                cols.push(tile.narrow(2, oy, ly)?.narrow(3, ox, lx)?);
            }
            rows.push(Tensor::cat(&cols, 3)?);
        }
        Tensor::cat(&rows, 2)
    }
}

/// (offset in the tile, length) of the pixels each tile contributes along one
/// axis, at 1/`s` of the full resolution.
fn spans(starts: &[usize], tile: usize, size: usize, s: usize) -> Vec<(usize, usize)> {
    starts
        .iter()
        .enumerate()
        .map(|(i, &p)| {
            let from = if i == 0 { 0 } else { starts[i - 1] + tile };
            let to = starts.get(i + 1).map_or(size, |_| p + tile);
            ((from - p) / s, (to.min(size) - from) / s)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{DType, Device};

    #[test]
    fn starts_cover_the_axis() {
        assert_eq!(starts(192, 64), [0, 64, 128]);
        assert_eq!(starts(128, 64), [0, 64]);
        assert_eq!(starts(80, 32), [0, 32, 48]);
        assert_eq!(starts(64, 64), [0]);
    }

    #[test]
    fn stitch_inverts_split_at_every_scale() {
        let dev = Device::Cpu;
        // 16x24 frames in 8x16 tiles: rows exact, columns overlapping (0, 8).
        let x = Tensor::arange(0f32, (2 * 3 * 16 * 24) as f32, &dev)
            .unwrap()
            .reshape((2, 3, 16, 24))
            .unwrap();
        let t = Tiling::new([16, 24], [8, 16]).unwrap();
        assert_eq!(t.len(), 4);
        let tiles = t.split(&x).unwrap();
        assert_eq!(tiles.dims(), [8, 3, 8, 16]);
        let back = t.stitch(&tiles).unwrap();
        let diff = (back - &x).unwrap().abs().unwrap().sum_all().unwrap();
        assert_eq!(diff.to_scalar::<f32>().unwrap(), 0.0);
        // At half resolution (as a memory layer's maps are): the same frame,
        // downsampled by taking every other pixel.
        let half = |a: &Tensor| {
            let (n, c, h, w) = a.dims4().unwrap();
            let idx = |k: usize| Tensor::arange_step(0u32, k as u32, 2, &dev).unwrap();
            let _ = (n, c);
            a.index_select(&idx(h), 2)
                .unwrap()
                .index_select(&idx(w), 3)
                .unwrap()
        };
        let back = t.stitch(&half(&tiles)).unwrap();
        let diff = (back - half(&x)).unwrap().abs().unwrap().sum_all().unwrap();
        assert_eq!(diff.to_scalar::<f32>().unwrap(), 0.0);
        assert!(Tiling::new([16, 24], [16, 24]).is_none());
        let _ = DType::F32;
    }

    /// The parallel copy (no graph) and the `cat` path (a tensor that records
    /// one) give the same stitch, at full and half resolution.
    #[test]
    fn stitch_copy_matches_the_graph() {
        let dev = Device::Cpu;
        let t = Tiling::new([80, 56], [32, 24]).unwrap();
        for (h, w) in [(32, 24), (16, 12)] {
            let n = t.len() * 2;
            let tiles = Tensor::randn(0f32, 1f32, (n, 3, h, w), &dev).unwrap();
            let var = candle_core::Var::from_tensor(&tiles).unwrap();
            let graph = t.stitch(var.as_tensor()).unwrap();
            assert!(graph.track_op());
            let copy = t.stitch(&tiles).unwrap();
            assert!(!copy.track_op());
            assert_eq!(copy.dims(), graph.dims());
            let diff = (copy - graph.detach()).unwrap().abs().unwrap();
            let diff = diff.sum_all().unwrap().to_scalar::<f32>().unwrap();
            assert_eq!(diff, 0.0, "tiles {h}x{w}");
        }
    }
}
