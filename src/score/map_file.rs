//! `<video>.maps.npy`: per-frame pixel score maps, written beside the score
//! CSVs by `vadscope score --maps` and read by `vadscope eval` for the
//! pixel-level AUC. A float16 array of shape (F, H, W) at the model's input
//! size, C order; row `k` is the video's frame `n − F + k` (the scored frames,
//! the CSV's rows, in order).
//!
//! Each map is the pixel analogue of the frame score (Eq. 12): the weighted sum
//! of the reconstruction error, the prediction error and the feature-compactness
//! distance (nearest-upsampled from each memory layer and averaged), each divided
//! by its training-set standard deviation. With `score.patch = 0` its mean over
//! the frame is the frame's score up to one constant per checkpoint.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// The file name suffix of a video's maps.
pub const MAPS_SUFFIX: &str = ".maps.npy";

/// The maps file of video `name` in the score folder `dir`.
pub fn maps_path(dir: &Path, name: &str) -> PathBuf {
    dir.join(format!("{name}{MAPS_SUFFIX}"))
}

/// A video's per-frame score maps.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ScoreMaps {
    /// Map width in pixels.
    pub width: usize,
    /// Map height in pixels.
    pub height: usize,
    /// `frames() * width * height` values, frame-major, row-major within a frame.
    pub data: Vec<f32>,
}

impl ScoreMaps {
    /// Number of frames.
    pub fn frames(&self) -> usize {
        self.data.len() / (self.width * self.height).max(1)
    }

    /// The map of row `k`.
    pub fn frame(&self, k: usize) -> &[f32] {
        let n = self.width * self.height;
        &self.data[k * n..(k + 1) * n]
    }

    /// Appends one frame's map (`width * height` values).
    pub fn push(&mut self, width: usize, height: usize, map: &[f32]) -> Result<()> {
        if self.data.is_empty() {
            (self.width, self.height) = (width, height);
        }
        if (width, height) != (self.width, self.height) || map.len() != width * height {
            return Err(Error::invalid(format!(
                "a {width}x{height} map of {} values does not fit maps of {}x{}",
                map.len(),
                self.width,
                self.height
            )));
        }
        self.data.extend_from_slice(map);
        Ok(())
    }

    /// Writes the maps as float16 `.npy`, atomically.
    pub fn write(&self, path: &Path) -> Result<()> {
        let bytes: Vec<u8> = self
            .data
            .iter()
            .flat_map(|&v| half::f16::from_f32(v).to_le_bytes())
            .collect();
        let shape = [self.frames(), self.height, self.width];
        crate::save::atomic_write(
            path,
            &crate::truth::npy::encode("<f2", false, &shape, &bytes),
        )
    }

    /// Reads maps written by [`ScoreMaps::write`] (any float or integer dtype
    /// of shape (F, H, W) is accepted, so other tools' maps can be evaluated).
    pub fn read(path: &Path) -> Result<ScoreMaps> {
        let arr = crate::truth::npy::read_array(path)?;
        let &[_, height, width] = arr.shape.as_slice() else {
            return Err(Error::format(
                path,
                format!(
                    "score maps need shape (frames, height, width), the file has {:?}",
                    arr.shape
                ),
            ));
        };
        // The element count already matches the file's length; the sides are
        // bounded too, so that resizing a map to them stays bounded.
        let side = crate::truth::MAX_MASK_SIDE;
        if height > side || width > side || (arr.len() > 0 && (height == 0 || width == 0)) {
            return Err(Error::format(
                path,
                format!(
                    "score maps of {width}x{height} are out of range (allowed: 1 to {side} a side)"
                ),
            ));
        }
        let data = arr.to_f32();
        if let Some(i) = data.iter().position(|v| !v.is_finite()) {
            return Err(Error::format(
                path,
                format!("value {i} is {} (maps must be finite)", data[i]),
            ));
        }
        Ok(ScoreMaps {
            width,
            height,
            data,
        })
    }

    /// The map of row `k` resampled (bilinear, pixel centres aligned) to
    /// `width` x `height`.
    pub fn resized(&self, k: usize, width: usize, height: usize) -> Vec<f32> {
        let src = self.frame(k);
        let (sw, sh) = (self.width, self.height);
        if (sw, sh) == (width, height) {
            return src.to_vec();
        }
        let cols = crate::frame::bilinear_taps(width, sw);
        let mut out = Vec::with_capacity(width * height);
        for (y0, y1, ty) in crate::frame::bilinear_taps(height, sh) {
            let (r0, r1) = (&src[y0 * sw..(y0 + 1) * sw], &src[y1 * sw..(y1 + 1) * sw]);
            for &(x0, x1, tx) in &cols {
                let top = r0[x0] + (r0[x1] - r0[x0]) * tx;
                let bottom = r1[x0] + (r1[x1] - r1[x0]) * tx;
                out.push(top + (bottom - top) * ty);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_round_trip_through_f16_npy() {
        let dir = tempfile::tempdir().unwrap();
        let mut m = ScoreMaps::default();
        m.push(3, 2, &[0.0, 0.5, 1.0, 2.0, -1.25, 100.0]).unwrap();
        m.push(3, 2, &[1.0; 6]).unwrap();
        assert!(m.push(2, 3, &[0.0; 6]).is_err());
        let p = maps_path(dir.path(), "01");
        m.write(&p).unwrap();
        let back = ScoreMaps::read(&p).unwrap();
        assert_eq!((back.width, back.height, back.frames()), (3, 2, 2));
        // All of these are exact in f16.
        assert_eq!(back, m);
    }

    #[test]
    fn wrong_shape_or_nan_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.maps.npy");
        let bytes = crate::truth::npy::encode("<f4", false, &[4], &[0u8; 16]);
        std::fs::write(&p, bytes).unwrap();
        let e = ScoreMaps::read(&p).unwrap_err().to_string();
        assert!(
            e.contains("x.maps.npy") && e.contains("(frames, height, width)"),
            "{e}"
        );
        let nan = f32::NAN.to_le_bytes();
        let bytes = crate::truth::npy::encode("<f4", false, &[1, 1, 1], &nan);
        std::fs::write(&p, bytes).unwrap();
        let e = ScoreMaps::read(&p).unwrap_err().to_string();
        assert!(e.contains("NaN"), "{e}");
        let bytes = crate::truth::npy::encode("<f2", false, &[0, 20000, 2], &[]);
        std::fs::write(&p, bytes).unwrap();
        let e = ScoreMaps::read(&p).unwrap_err().to_string();
        assert!(e.contains("x.maps.npy") && e.contains("1 to 16384"), "{e}");
        // A header claiming more maps than the file holds fails before allocating.
        let bytes = crate::truth::npy::encode("<f2", false, &[1 << 30, 4096, 4096], &[0; 8]);
        std::fs::write(&p, bytes).unwrap();
        let e = ScoreMaps::read(&p).unwrap_err().to_string();
        assert!(
            e.contains("x.maps.npy") && e.contains("the file has 8"),
            "{e}"
        );
    }

    #[test]
    fn bilinear_resize_keeps_constants_and_interpolates_ramps() {
        let mut m = ScoreMaps::default();
        // A horizontal ramp 0, 1, 2, 3 on two rows.
        m.push(4, 2, &[0.0, 1.0, 2.0, 3.0, 0.0, 1.0, 2.0, 3.0])
            .unwrap();
        let up = m.resized(0, 8, 4);
        assert_eq!(up.len(), 32);
        // Centres of the doubled grid fall at -0.25, 0.25, 0.75, …: clamped at the edges.
        let row: Vec<f32> = up[..8].to_vec();
        let want = [0.0, 0.25, 0.75, 1.25, 1.75, 2.25, 2.75, 3.0];
        for (a, b) in row.iter().zip(want) {
            assert!((a - b).abs() < 1e-6, "{row:?}");
        }
        assert!(up.chunks(8).all(|r| r == row.as_slice()));
        assert_eq!(m.resized(0, 4, 2), m.frame(0));
    }
}
