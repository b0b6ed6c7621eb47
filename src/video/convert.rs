//! Decoded FFmpeg frames to our [`Frame`]s: pixel format and size through a
//! swscale context that is kept while the input and output stay the same.
//! Files ([`super::file`]) and live sources ([`super::live`]) both convert here.

use std::path::Path;

use ffmpeg::format::Pixel;
use ffmpeg::software::scaling;
use ffmpeg_next as ffmpeg;

use super::OutputSpec;
use crate::error::{Error, Result};
use crate::frame::{Frame, PixelFormat};

/// Source format and size, target format and size of a scaler.
type ScalerKey = (Pixel, u32, u32, Pixel, u32, u32);

/// A swscale context. It holds no thread-bound state, so moving it to another
/// thread (the prefetch worker) is sound; it is never shared.
struct Scaler(scaling::Context);

// SAFETY: an SwsContext is plain heap state used by one thread at a time.
unsafe impl Send for Scaler {}

/// Converts decoded frames, reusing its scaler and output buffer.
pub(crate) struct Converter {
    scaler: Option<(Scaler, ScalerKey)>,
    scaled: ffmpeg::frame::Video,
}

impl Converter {
    pub fn new() -> Self {
        Converter {
            scaler: None,
            scaled: ffmpeg::frame::Video::empty(),
        }
    }

    /// Converts `frame` (from `source`, named in errors) to `spec`'s format
    /// and size (its own size when `spec` has none) into `out`.
    pub fn convert(
        &mut self,
        source: &Path,
        frame: &ffmpeg::frame::Video,
        spec: &OutputSpec,
        out: &mut Frame<u8>,
    ) -> Result<()> {
        let (ow, oh) = spec
            .size
            .unwrap_or((frame.width() as usize, frame.height() as usize));
        let dst = match spec.format {
            PixelFormat::Gray => Pixel::GRAY8,
            PixelFormat::Rgb => Pixel::RGB24,
        };
        let key = (
            frame.format(),
            frame.width(),
            frame.height(),
            dst,
            ow as u32,
            oh as u32,
        );
        if self.scaler.as_ref().map(|(_, k)| *k) != Some(key) {
            let flags = if (ow, oh) == (frame.width() as usize, frame.height() as usize) {
                scaling::Flags::POINT
            } else {
                scaling::Flags::BILINEAR
            };
            let ctx = scaling::Context::get(key.0, key.1, key.2, dst, key.4, key.5, flags)
                .map_err(|e| {
                    Error::decode(source, format!("cannot convert {:?} frames ({e})", key.0))
                })?;
            self.scaler = Some((Scaler(ctx), key));
        }
        let (scaler, _) = self.scaler.as_mut().expect("scaler set above");
        scaler
            .0
            .run(frame, &mut self.scaled)
            .map_err(|e| Error::decode(source, format!("scaling failed ({e})")))?;
        let ch = spec.format.channels();
        out.resize(ow, oh, ch);
        let stride = self.scaled.stride(0);
        let row = ow * ch;
        let src = self.scaled.data(0);
        for (y, dst_row) in out.data.chunks_exact_mut(row).enumerate() {
            dst_row.copy_from_slice(&src[y * stride..y * stride + row]);
        }
        Ok(())
    }
}
