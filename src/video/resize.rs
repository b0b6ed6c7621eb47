//! Image resampling for frame folders (videos are scaled by swscale instead).

use fast_image_resize::{
    images::Image, images::ImageRef, FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer,
};

use crate::error::{Error, Result};
use crate::frame::Frame;

/// A reusable resampler: a convolution with a Catmull-Rom kernel whose support
/// grows with the scale factor, so downscaling is antialiased (no moiré on
/// pavement textures, unlike point or plain bilinear sampling).
#[derive(Default)]
pub(crate) struct FrameResizer {
    resizer: Resizer,
}

impl FrameResizer {
    /// Resizes `src` (u8, 1 or 3 channels) to `width` x `height` into `out`.
    pub fn resize(
        &mut self,
        src: &Frame<u8>,
        width: usize,
        height: usize,
        out: &mut Frame<u8>,
    ) -> Result<()> {
        let pixel_type = match src.channels {
            1 => PixelType::U8,
            3 => PixelType::U8x3,
            c => {
                return Err(Error::invalid(format!(
                    "cannot resize a frame with {c} channels"
                )))
            }
        };
        out.resize(width, height, src.channels);
        if src.width == width && src.height == height {
            out.data.copy_from_slice(&src.data);
            return Ok(());
        }
        let src_img = ImageRef::new(src.width as u32, src.height as u32, &src.data, pixel_type)
            .map_err(|e| Error::invalid(format!("resize source: {e}")))?;
        let mut dst_img =
            Image::from_slice_u8(width as u32, height as u32, &mut out.data, pixel_type)
                .map_err(|e| Error::invalid(format!("resize target: {e}")))?;
        let options =
            ResizeOptions::new().resize_alg(ResizeAlg::Convolution(FilterType::CatmullRom));
        self.resizer
            .resize(&src_img, &mut dst_img, &options)
            .map_err(|e| Error::invalid(format!("resize: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_image_stays_constant_and_ramps_stay_monotone() {
        let mut r = FrameResizer::default();
        let src = Frame::from_vec(8, 4, 1, vec![77u8; 32]).unwrap();
        let mut out = Frame::default();
        r.resize(&src, 3, 5, &mut out).unwrap();
        assert_eq!((out.width, out.height, out.data.len()), (3, 5, 15));
        assert!(out.data.iter().all(|&v| v == 77));

        let ramp: Vec<u8> = (0..64).map(|i| (i % 16 * 16) as u8).collect();
        let src = Frame::from_vec(16, 4, 1, ramp).unwrap();
        r.resize(&src, 8, 2, &mut out).unwrap();
        let row = &out.data[..8];
        assert!(row.windows(2).all(|w| w[0] <= w[1]), "{row:?}");
    }
}
