//! Value noise for procedural textures: a hashed lattice with smooth interpolation.

use super::rng::hash2;

/// 2-D value noise with its own seed.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ValueNoise {
    seed: u64,
}

impl ValueNoise {
    /// Noise field number `seed`.
    pub(crate) fn new(seed: u64) -> Self {
        ValueNoise { seed }
    }

    /// Random value in `[0, 1)` attached to lattice point (ix, iy).
    fn lattice(&self, ix: i32, iy: i32) -> f32 {
        let key = ((ix as u32 as u64) << 32) | iy as u32 as u64;
        (hash2(self.seed, key) >> 40) as f32 * (1.0 / (1u64 << 24) as f32)
    }

    /// Smoothly interpolated noise in `[0, 1)` at (x, y), one lattice cell per unit.
    pub(crate) fn at(&self, x: f32, y: f32) -> f32 {
        let (fx, fy) = (x.floor(), y.floor());
        let (ix, iy) = (fx as i32, fy as i32);
        let (tx, ty) = (x - fx, y - fy);
        // Smoothstep weights hide the lattice's grid structure.
        let (sx, sy) = (tx * tx * (3.0 - 2.0 * tx), ty * ty * (3.0 - 2.0 * ty));
        let a = self.lattice(ix, iy);
        let b = self.lattice(ix + 1, iy);
        let c = self.lattice(ix, iy + 1);
        let d = self.lattice(ix + 1, iy + 1);
        let top = a + (b - a) * sx;
        let bottom = c + (d - c) * sx;
        top + (bottom - top) * sy
    }

    /// Fractal sum of `octaves` octaves (each twice the frequency, half the
    /// amplitude), normalised to `[0, 1)`.
    pub(crate) fn fbm(&self, x: f32, y: f32, octaves: u32) -> f32 {
        let (mut sum, mut amp, mut norm, mut freq) = (0.0, 1.0, 0.0, 1.0);
        for o in 0..octaves {
            // Offsetting each octave avoids the shared lattice origin showing up.
            let off = o as f32 * 17.31;
            sum += amp * self.at(x * freq + off, y * freq - off);
            norm += amp;
            amp *= 0.5;
            freq *= 2.0;
        }
        sum / norm
    }
}

/// A per-pixel random value in `[0, 1)` (grain that does not interpolate).
pub(crate) fn grain(seed: u64, x: usize, y: usize) -> f32 {
    (hash2(seed, ((x as u64) << 32) | y as u64) >> 40) as f32 * (1.0 / (1u64 << 24) as f32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn continuous_and_bounded() {
        let n = ValueNoise::new(3);
        for i in 0..200 {
            let x = i as f32 * 0.37 - 20.0;
            let v = n.fbm(x, 1.5 * x, 4);
            assert!((0.0..1.0).contains(&v));
            // Small steps give small changes: the field is smooth.
            assert!((n.at(x, 2.0) - n.at(x + 0.001, 2.0)).abs() < 0.01);
        }
        assert_ne!(n.at(0.5, 0.5), ValueNoise::new(4).at(0.5, 0.5));
    }
}
