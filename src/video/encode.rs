//! Encoding frames into a video file with FFmpeg (exports, synthetic test
//! videos).
//!
//! The container follows the file's extension (`mp4`, `m4v`, `mov`, `mkv`,
//! `avi`); the codec is H.264 (libx264) when FFmpeg has it, else MPEG-4 part 2.
//! Frame `i` gets presentation time `i` in a `1/fps` time base, there are no
//! B-frames, and packets carry their durations, so a decoder finds exactly the
//! frames written, at the rate given. The file is written beside its final
//! name and renamed into place by [`VideoWriter::finish`]: a failed or
//! abandoned export never leaves a truncated video under the final name.

use std::fs;
use std::path::{Path, PathBuf};

use ffmpeg_next as ffmpeg;

use ffmpeg::format::Pixel;
use ffmpeg::software::scaling;
use ffmpeg::{codec, encoder, format, frame, Dictionary, Packet, Rational};

use crate::error::{Error, Result};
use crate::frame::Frame;

/// `FF_QP2LAMBDA`: converts a quantiser to FFmpeg's lambda units.
const QP2LAMBDA: i32 = 118;

/// Rate control.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Quality {
    /// Constant quality on x264's CRF scale: 0 (best) to 51. Codecs without a
    /// CRF mode get a fixed quantiser mapped from it (MPEG-4: 1 to 31).
    Crf(f32),
    /// Target bitrate in bits per second.
    Bitrate(usize),
}

/// How to encode. `Default`: the default codec at CRF 20 with the `medium`
/// preset, yuv420p, a keyframe every 2 seconds.
#[derive(Debug, Clone, PartialEq)]
pub struct EncodeOptions {
    /// FFmpeg encoder name (`libx264`, `mpeg4`, `mjpeg`, `ffv1`, ...);
    /// `None` = libx264 if available, else mpeg4.
    pub codec: Option<String>,
    /// Rate control (ignored when `lossless`).
    pub quality: Quality,
    /// Lossless or nearly so: x264 with QP 0 in full-range 4:4:4 (gray frames
    /// come back exactly; RGB loses only the colour conversion's rounding),
    /// FFV1 as is, other codecs at their finest quantiser.
    pub lossless: bool,
    /// x264 speed preset (`ultrafast` ... `veryslow`); `None` = `medium`.
    pub preset: Option<String>,
    /// Pixel format to encode in (`yuv420p`, `yuv444p`, `gray`, ...);
    /// `None` = yuv420p (lossless: yuvj444p) or the codec's first format.
    pub pixel_format: Option<String>,
    /// Frames between keyframes; `None` = 2 seconds' worth (quick seeking).
    pub keyframe_interval: Option<u32>,
}

impl Default for EncodeOptions {
    fn default() -> Self {
        EncodeOptions {
            codec: None,
            quality: Quality::Crf(20.0),
            lossless: false,
            preset: None,
            pixel_format: None,
            keyframe_interval: None,
        }
    }
}

impl EncodeOptions {
    /// Lossless settings (see [`EncodeOptions::lossless`]).
    pub fn lossless() -> Self {
        EncodeOptions {
            lossless: true,
            ..EncodeOptions::default()
        }
    }
}

/// The FFmpeg muxer for a file extension.
fn muxer_for(path: &Path) -> Result<&'static str> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    Ok(match ext.as_str() {
        "mp4" | "m4v" => "mp4",
        "mov" => "mov",
        "mkv" => "matroska",
        "avi" => "avi",
        _ => {
            return Err(Error::invalid(format!(
                "{}: unsupported video extension {ext:?}; use .mp4, .mov, .mkv or .avi",
                path.display()
            )))
        }
    })
}

/// An error while encoding `path`.
fn fail(path: &Path, what: &str, e: impl std::fmt::Display) -> Error {
    Error::io(path, std::io::Error::other(format!("{what}: {e}")))
}

/// Writes frames to a video file; see the module documentation.
pub struct VideoWriter {
    path: PathBuf,
    tmp: PathBuf,
    output: Option<format::context::Output>,
    encoder: encoder::Video,
    /// Converter from the input layout (gray or RGB) to the encoder's format.
    scaler: Option<(Pixel, scaling::Context)>,
    enc_format: Pixel,
    width: usize,
    height: usize,
    time_base: Rational,
    stream_time_base: Rational,
    frames: i64,
    codec_name: String,
}

impl VideoWriter {
    /// Creates `path` (replacing it when [`VideoWriter::finish`] succeeds) for
    /// `width` x `height` frames at `fps` frames per second.
    pub fn create(
        path: &Path,
        width: usize,
        height: usize,
        fps: f64,
        opts: &EncodeOptions,
    ) -> Result<VideoWriter> {
        let muxer = muxer_for(path)?;
        if width == 0 || height == 0 || width > 16384 || height > 16384 {
            return Err(Error::invalid(format!(
                "{}: cannot encode {width}x{height} frames",
                path.display()
            )));
        }
        if !(fps.is_finite() && fps > 0.0 && fps <= 1000.0) {
            return Err(Error::invalid(format!(
                "{}: frame rate {fps} must be above 0 and at most 1000",
                path.display()
            )));
        }
        super::init_ffmpeg();
        let codec = match &opts.codec {
            Some(name) => encoder::find_by_name(name).ok_or_else(|| {
                Error::invalid(format!(
                    "{}: FFmpeg has no encoder named {name:?} (see `ffmpeg -encoders`)",
                    path.display()
                ))
            })?,
            None => encoder::find_by_name("libx264")
                .or_else(|| encoder::find(codec::Id::MPEG4))
                .ok_or_else(|| fail(path, "no video encoder", "neither libx264 nor mpeg4"))?,
        };
        let codec_name = codec.name().to_string();
        let is_x264 = codec_name.starts_with("libx264");
        let enc_format = choose_format(path, &codec, opts)?;
        let subsampled = matches!(enc_format, Pixel::YUV420P | Pixel::YUVJ420P | Pixel::NV12);
        if subsampled && (width % 2 == 1 || height % 2 == 1) {
            return Err(Error::invalid(format!(
                "{}: {} needs an even width and height, the frames are {width}x{height} \
                 (use an even size, or a 4:4:4 pixel format such as yuv444p)",
                path.display(),
                enc_format.descriptor().map_or("4:2:0", |d| d.name()),
            )));
        }

        let rate = Rational::from(fps).reduce();
        let time_base = rate.invert();
        let tmp = crate::save::temp_path(path);
        crate::save::interrupt::register(&tmp);
        let mut output = format::output_as(&tmp, muxer)
            .map_err(|e| fail(path, "cannot create the output", e))?;
        let global_header = output
            .format()
            .flags()
            .contains(format::Flags::GLOBAL_HEADER);

        let mut enc = codec::context::Context::new_with_codec(codec)
            .encoder()
            .video()
            .map_err(|e| fail(path, "cannot set up the encoder", e))?;
        enc.set_width(width as u32);
        enc.set_height(height as u32);
        enc.set_format(enc_format);
        enc.set_time_base(time_base);
        enc.set_frame_rate(Some(rate));
        enc.set_max_b_frames(0);
        let gop = opts
            .keyframe_interval
            .unwrap_or_else(|| (2.0 * fps).round().max(1.0) as u32);
        enc.set_gop(gop);
        let mut flags = codec::Flags::empty();
        if global_header {
            flags |= codec::Flags::GLOBAL_HEADER;
        }
        let mut dict = Dictionary::new();
        if is_x264 {
            dict.set("preset", opts.preset.as_deref().unwrap_or("medium"));
        }
        if opts.lossless {
            if is_x264 {
                dict.set("qp", "0");
            } else if codec_name != "ffv1" {
                flags |= codec::Flags::QSCALE;
                enc.set_global_quality(QP2LAMBDA);
            }
        } else {
            match opts.quality {
                Quality::Bitrate(b) => enc.set_bit_rate(b),
                Quality::Crf(c) if is_x264 => {
                    dict.set("crf", &format!("{:.2}", c.clamp(0.0, 51.0)))
                }
                Quality::Crf(c) => {
                    let q = (1.0 + c.clamp(0.0, 51.0) * 30.0 / 51.0).round() as i32;
                    flags |= codec::Flags::QSCALE;
                    enc.set_global_quality(q * QP2LAMBDA);
                }
            }
        }
        enc.set_flags(flags);
        let encoder = enc
            .open_as_with(codec, dict)
            .map_err(|e| fail(path, &format!("cannot open encoder {codec_name}"), e))?;
        {
            let mut stream = output
                .add_stream(codec)
                .map_err(|e| fail(path, "cannot add a video stream", e))?;
            stream.set_parameters(&encoder);
            stream.set_time_base(time_base);
            stream.set_avg_frame_rate(rate);
            stream.set_rate(rate);
        }
        // From here on, `Drop` removes the temporary file if anything fails.
        let mut writer = VideoWriter {
            path: path.to_path_buf(),
            tmp,
            output: Some(output),
            encoder,
            scaler: None,
            enc_format,
            width,
            height,
            time_base,
            stream_time_base: time_base,
            frames: 0,
            codec_name,
        };
        let out = writer.output.as_mut().expect("output is open until finish");
        out.write_header()
            .map_err(|e| fail(path, &format!("cannot write a {muxer} header"), e))?;
        writer.stream_time_base = out.stream(0).map_or(time_base, |s| s.time_base());
        Ok(writer)
    }

    /// The encoder in use (e.g. `libx264`).
    pub fn codec_name(&self) -> &str {
        &self.codec_name
    }

    /// Frames written so far.
    pub fn frames_written(&self) -> usize {
        self.frames as usize
    }

    /// Encodes one frame (gray or RGB, the writer's size).
    pub fn write(&mut self, frame: &Frame<u8>) -> Result<()> {
        let src_format = match frame.channels {
            1 => Pixel::GRAY8,
            3 => Pixel::RGB24,
            c => {
                return Err(Error::invalid(format!(
                    "{}: cannot encode frames with {c} channels (1 or 3)",
                    self.path.display()
                )))
            }
        };
        if frame.width != self.width
            || frame.height != self.height
            || frame.data.len() != frame.width * frame.height * frame.channels
        {
            return Err(Error::invalid(format!(
                "{}: frame {} is {}x{}, the video is {}x{}",
                self.path.display(),
                self.frames,
                frame.width,
                frame.height,
                self.width,
                self.height
            )));
        }
        let (w, h) = (self.width as u32, self.height as u32);
        let mut src = frame::Video::new(src_format, w, h);
        let row = self.width * frame.channels;
        let stride = src.stride(0);
        let plane = src.data_mut(0);
        for (y, line) in frame.data.chunks_exact(row).enumerate() {
            plane[y * stride..y * stride + row].copy_from_slice(line);
        }
        let mut out = if src_format == self.enc_format {
            src
        } else {
            if self.scaler.as_ref().is_none_or(|(f, _)| *f != src_format) {
                let ctx = scaling::Context::get(
                    src_format,
                    w,
                    h,
                    self.enc_format,
                    w,
                    h,
                    scaling::Flags::BICUBIC
                        | scaling::Flags::ACCURATE_RND
                        | scaling::Flags::FULL_CHR_H_INT,
                )
                .map_err(|e| fail(&self.path, "cannot convert pixels", e))?;
                self.scaler = Some((src_format, ctx));
            }
            let (_, scaler) = self.scaler.as_mut().expect("scaler was just set");
            let mut dst = frame::Video::new(self.enc_format, w, h);
            scaler
                .run(&src, &mut dst)
                .map_err(|e| fail(&self.path, "cannot convert pixels", e))?;
            dst
        };
        out.set_pts(Some(self.frames));
        self.encoder.send_frame(&out).map_err(|e| {
            fail(
                &self.path,
                &format!("cannot encode frame {}", self.frames),
                e,
            )
        })?;
        self.frames += 1;
        self.drain()
    }

    /// Moves the encoder's finished packets into the file.
    fn drain(&mut self) -> Result<()> {
        let output = self.output.as_mut().expect("output is open until finish");
        let mut packet = Packet::empty();
        loop {
            match self.encoder.receive_packet(&mut packet) {
                Ok(()) => {}
                Err(ffmpeg::Error::Eof) => return Ok(()),
                Err(ffmpeg::Error::Other { errno }) if errno == ffmpeg::error::EAGAIN => {
                    return Ok(())
                }
                Err(e) => return Err(fail(&self.path, "encoder failed", e)),
            }
            if packet.duration() <= 0 {
                packet.set_duration(1);
            }
            packet.set_stream(0);
            packet.rescale_ts(self.time_base, self.stream_time_base);
            packet
                .write_interleaved(output)
                .map_err(|e| fail(&self.path, "cannot write a packet", e))?;
        }
    }

    /// Flushes the encoder, writes the trailer and moves the file into place.
    pub fn finish(mut self) -> Result<()> {
        self.encoder
            .send_eof()
            .map_err(|e| fail(&self.path, "cannot flush the encoder", e))?;
        self.drain()?;
        let mut output = self.output.take().expect("output is open until finish");
        output
            .write_trailer()
            .map_err(|e| fail(&self.path, "cannot write the trailer", e))?;
        // Dropping the context closes the file before it is renamed.
        drop(output);
        if self.path.exists() {
            // The video it replaces stays as NAME.bak, as with every save.
            let backup = crate::save::backup_path(&self.path);
            fs::copy(&self.path, &backup).map_err(|e| Error::io(&backup, e))?;
        }
        fs::rename(&self.tmp, &self.path).map_err(|e| Error::io(&self.path, e))?;
        crate::save::interrupt::unregister(&self.tmp);
        Ok(())
    }
}

impl Drop for VideoWriter {
    fn drop(&mut self) {
        // Not finished (an error, or abandoned): close and remove the partial file.
        if let Some(output) = self.output.take() {
            drop(output);
            let _ = fs::remove_file(&self.tmp);
        }
        crate::save::interrupt::unregister(&self.tmp);
    }
}

/// The pixel format to encode in: the one asked for, else the usual one the
/// codec supports.
fn choose_format(path: &Path, codec: &ffmpeg::Codec, opts: &EncodeOptions) -> Result<Pixel> {
    let supported: Vec<Pixel> = codec
        .video()
        .ok()
        .and_then(|v| v.formats())
        .map(|f| f.collect())
        .unwrap_or_default();
    let ok = |p: Pixel| supported.is_empty() || supported.contains(&p);
    if let Some(name) = &opts.pixel_format {
        let p: Pixel = name.parse().map_err(|_| {
            Error::invalid(format!("{}: unknown pixel format {name:?}", path.display()))
        })?;
        if !ok(p) {
            return Err(Error::invalid(format!(
                "{}: encoder {} cannot encode pixel format {name}",
                path.display(),
                codec.name()
            )));
        }
        return Ok(p);
    }
    let preferred: &[Pixel] = if opts.lossless {
        // Full-range 4:4:4: gray survives exactly, colour nearly.
        &[Pixel::YUVJ444P, Pixel::YUV444P, Pixel::YUV420P]
    } else if codec.name() == "mjpeg" {
        // FFmpeg's MJPEG encoder lists limited-range formats but refuses them
        // unless told to be non-compliant; JPEG is full range.
        &[Pixel::YUVJ420P, Pixel::YUVJ444P]
    } else {
        &[Pixel::YUV420P, Pixel::YUVJ420P]
    };
    preferred
        .iter()
        .copied()
        .find(|&p| ok(p))
        .or_else(|| supported.first().copied())
        .ok_or_else(|| fail(path, "no pixel format", codec.name()))
}

#[cfg(test)]
mod tests;
