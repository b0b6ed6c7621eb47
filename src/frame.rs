//! Frames in memory: interleaved pixels, row-major, no padding.

use serde::{Deserialize, Serialize};

/// Pixel layout of a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum PixelFormat {
    /// One luma channel.
    #[default]
    Gray,
    /// Three channels, R G B interleaved.
    Rgb,
}

impl PixelFormat {
    /// Channels per pixel.
    pub fn channels(self) -> usize {
        match self {
            PixelFormat::Gray => 1,
            PixelFormat::Rgb => 3,
        }
    }
}

/// An image of `width` x `height` pixels with `channels` interleaved values each.
/// `T` is `u8` for decoded frames and `f32` (in `[0, 1]`) for model input.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Frame<T = u8> {
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
    /// Values per pixel (1 = gray, 3 = RGB).
    pub channels: usize,
    /// `width * height * channels` values, row-major, channels interleaved.
    pub data: Vec<T>,
}

impl<T: Copy + Default> Frame<T> {
    /// A frame filled with `T::default()`.
    pub fn new(width: usize, height: usize, channels: usize) -> Self {
        Frame {
            width,
            height,
            channels,
            data: vec![T::default(); width * height * channels],
        }
    }

    /// Wraps `data`; `None` when its length does not match the shape.
    pub fn from_vec(width: usize, height: usize, channels: usize, data: Vec<T>) -> Option<Self> {
        (data.len() == width * height * channels).then_some(Frame {
            width,
            height,
            channels,
            data,
        })
    }

    /// Reshapes in place, reusing the allocation when it is large enough.
    pub fn resize(&mut self, width: usize, height: usize, channels: usize) {
        self.width = width;
        self.height = height;
        self.channels = channels;
        self.data.resize(width * height * channels, T::default());
    }

    /// The value at pixel (x, y), channel c.
    #[inline]
    pub fn get(&self, x: usize, y: usize, c: usize) -> T {
        self.data[(y * self.width + x) * self.channels + c]
    }

    /// Size of the pixel data in bytes.
    pub fn size_bytes(&self) -> usize {
        self.data.len() * std::mem::size_of::<T>()
    }

    /// The pixel format implied by the channel count, if it is one we know.
    pub fn pixel_format(&self) -> Option<PixelFormat> {
        match self.channels {
            1 => Some(PixelFormat::Gray),
            3 => Some(PixelFormat::Rgb),
            _ => None,
        }
    }
}

impl Frame<u8> {
    /// Converts to `f32` in `[0, 1]`, writing into `out` (reused).
    pub fn to_f32_into(&self, out: &mut Frame<f32>) {
        out.resize(self.width, self.height, self.channels);
        for (o, &v) in out.data.iter_mut().zip(&self.data) {
            *o = v as f32 * (1.0 / 255.0);
        }
    }

    /// Converts to `f32` in `[0, 1]`.
    pub fn to_f32(&self) -> Frame<f32> {
        let mut out = Frame::default();
        self.to_f32_into(&mut out);
        out
    }

    /// The frame encoded as PNG (gray or RGB; other channel counts are an
    /// unsupported-format error).
    pub fn to_png(&self) -> std::result::Result<Vec<u8>, image::ImageError> {
        let color = match self.channels {
            1 => image::ExtendedColorType::L8,
            3 => image::ExtendedColorType::Rgb8,
            c => {
                return Err(image::ImageError::Unsupported(
                    image::error::UnsupportedError::from_format_and_kind(
                        image::ImageFormat::Png.into(),
                        image::error::UnsupportedErrorKind::GenericFeature(format!("{c} channels")),
                    ),
                ))
            }
        };
        let mut bytes = std::io::Cursor::new(Vec::new());
        image::write_buffer_with_format(
            &mut bytes,
            &self.data,
            self.width as u32,
            self.height as u32,
            color,
            image::ImageFormat::Png,
        )?;
        Ok(bytes.into_inner())
    }
}

impl Frame<f32> {
    /// A gray copy in `out` (reused): Rec. 601 luma for RGB, a plain copy otherwise.
    pub fn to_gray_into(&self, out: &mut Frame<f32>) {
        if self.channels == 3 {
            out.resize(self.width, self.height, 1);
            for (o, p) in out.data.iter_mut().zip(self.data.chunks_exact(3)) {
                *o = 0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2];
            }
        } else {
            out.clone_from(self);
        }
    }

    /// Converts to `u8`, clamping to `[0, 1]` and rounding.
    pub fn to_u8(&self) -> Frame<u8> {
        Frame {
            width: self.width,
            height: self.height,
            channels: self.channels,
            data: self
                .data
                .iter()
                .map(|&v| (v.clamp(0.0, 1.0) * 255.0).round() as u8)
                .collect(),
        }
    }
}

/// Bilinear taps for resampling `src` samples to `dst` along one axis, pixel
/// centres onto pixel centres (clamped at the edges): per output index, the two
/// source indices and the weight of the second.
pub(crate) fn bilinear_taps(dst: usize, src: usize) -> Vec<(usize, usize, f32)> {
    let scale = src as f32 / dst as f32;
    (0..dst)
        .map(|i| {
            let f = ((i as f32 + 0.5) * scale - 0.5).clamp(0.0, (src - 1) as f32);
            let i0 = f as usize;
            (i0, (i0 + 1).min(src - 1), f - i0 as f32)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversions_round_trip() {
        let f = Frame::from_vec(2, 1, 1, vec![0u8, 255]).unwrap();
        let g = f.to_f32();
        assert_eq!(g.data, vec![0.0, 1.0]);
        assert_eq!(g.to_u8(), f);
        assert!(Frame::<u8>::from_vec(2, 2, 1, vec![0; 3]).is_none());
        let rgb = Frame::from_vec(2, 1, 3, vec![1.0f32, 1.0, 1.0, 1.0, 0.0, 0.0]).unwrap();
        let mut gray = Frame::default();
        rgb.to_gray_into(&mut gray);
        assert_eq!((gray.channels, gray.data.len()), (1, 2));
        assert!((gray.data[0] - 1.0).abs() < 1e-6 && (gray.data[1] - 0.299).abs() < 1e-6);
    }
}
