//! Live sources: network streams (`rtsp://`, `udp://`, `http(s)://`, …),
//! capture devices (`/dev/video*`, through FFmpeg's v4l2 input) and files,
//! read frame after frame as they arrive. Unlike [`super::open`] there is no
//! index and no seeking: a stream has no known length.
//!
//! Every blocking read is bounded: a stalled stream fails after
//! [`LiveOptions::timeout`], and setting the source's stop flag interrupts a
//! read at once (FFmpeg's interrupt callback), so Ctrl-C never waits on the
//! network. Decoding uses slice threads only: frame threading would hold
//! frames back and add their duration to the latency.

use std::ffi::{c_int, c_void, CString};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ffmpeg_next as ffmpeg;
use serde::Serialize;

use super::convert::Converter;
use super::file::{open_decoder, rate_of};
use super::{init_ffmpeg, OutputSpec};
use crate::error::{Error, Result};
use crate::frame::Frame;

/// What kind of live source a string names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LiveKind {
    /// A URL FFmpeg opens through a network protocol.
    Network,
    /// A capture device (`/dev/video*`, read through v4l2).
    Device,
    /// A file (growing, with [`LiveOptions::follow`]).
    File,
}

impl LiveKind {
    /// Classifies `source`: a `scheme://` URL other than `file://` is a
    /// network stream, `/dev/video*` a capture device, anything else a file.
    pub fn of(source: &str) -> LiveKind {
        match source.split_once("://") {
            Some((scheme, _)) if !scheme.eq_ignore_ascii_case("file") && is_scheme(scheme) => {
                LiveKind::Network
            }
            _ if source.starts_with("/dev/video") => LiveKind::Device,
            _ => LiveKind::File,
        }
    }
}

fn is_scheme(s: &str) -> bool {
    !s.is_empty()
        && s.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
}

/// Whether `source` is a stream or a device rather than a file or folder.
pub fn is_live(source: &str) -> bool {
    LiveKind::of(source) != LiveKind::File
}

/// How a live source is read.
#[derive(Debug, Clone, PartialEq)]
pub struct LiveOptions {
    /// The longest a read may block before the stream counts as dropped.
    pub timeout: Duration,
    /// Deliver a file's frames at its frame rate, as a camera would (FFmpeg's
    /// `-re`); streams and devices are paced by their sender anyway.
    pub realtime: bool,
    /// Keep reading a file that is still being written (FFmpeg's file
    /// `follow`); its end is then a read that times out.
    pub follow: bool,
}

impl Default for LiveOptions {
    fn default() -> Self {
        LiveOptions {
            timeout: Duration::from_secs(5),
            realtime: true,
            follow: false,
        }
    }
}

/// What is known about a live source once opened.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LiveInfo {
    /// The URL, device or file as given.
    pub source: String,
    /// Network, device or file.
    pub kind: LiveKind,
    /// Container or input format (FFmpeg's short name, e.g. `mpegts`, `v4l2`).
    pub container: String,
    /// Codec (FFmpeg's name).
    pub codec: String,
    /// Native width in pixels.
    pub width: usize,
    /// Native height in pixels.
    pub height: usize,
    /// The frame rate the stream announces, when it does.
    pub fps: Option<f64>,
}

impl LiveInfo {
    /// In words: `udp://… (mpegts, h264 360x240 @ 25.00 fps)`.
    pub fn describe(&self) -> String {
        format!(
            "{} ({}, {} {}x{}{})",
            self.source,
            self.container,
            self.codec,
            self.width,
            self.height,
            self.fps.map_or(String::new(), |f| format!(" @ {f:.2} fps"))
        )
    }
}

/// Timing of one frame read from a live source.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LiveFrame {
    /// Presentation time in seconds from the stream's first frame, when known.
    pub pts_secs: Option<f64>,
    /// When decoding finished (the start of the end-to-end latency).
    pub decoded_at: Instant,
}

/// An opened live source; see the module documentation.
pub struct LiveSource {
    // Declared before `stop`: the input (and its interrupt callback) is
    // closed before the flag it points to can go.
    input: ffmpeg::format::context::Input,
    decoder: ffmpeg::decoder::Video,
    stream_index: usize,
    time_base: f64,
    info: LiveInfo,
    name: PathBuf,
    converter: Converter,
    second_converter: Converter,
    frame: ffmpeg::frame::Video,
    packet: ffmpeg::Packet,
    eof_sent: bool,
    /// A read error held back until the decoder is drained.
    pending_error: Option<Error>,
    first_pts: Option<i64>,
    /// Wall-clock start of the real-time pacing of a file.
    paced_from: Option<Instant>,
    realtime: bool,
    stop: Arc<AtomicBool>,
}

/// FFmpeg's interrupt callback: non-zero aborts the blocking call.
extern "C" fn interrupted(opaque: *mut c_void) -> c_int {
    // SAFETY: `opaque` is the `AtomicBool` of an `Arc` that the owning
    // `LiveSource` (or the opening call) keeps alive while the input exists.
    let flag = unsafe { &*(opaque as *const AtomicBool) };
    c_int::from(flag.load(Ordering::Relaxed))
}

/// `avformat_open_input` with an interrupt flag and an input format (the
/// safe wrappers of ffmpeg-next offer one or the other, not both).
fn open_input(
    url: &str,
    format: Option<&str>,
    options: ffmpeg::Dictionary,
    stop: &Arc<AtomicBool>,
) -> std::result::Result<ffmpeg::format::context::Input, String> {
    let c_url = CString::new(url).map_err(|_| "the name contains a NUL byte".to_string())?;
    // SAFETY: plain FFI on a context we allocate; on failure
    // avformat_open_input frees it, and after success `Input` owns it.
    unsafe {
        let fmt = match format {
            Some(name) => {
                let c = CString::new(name).map_err(|_| "bad input format name".to_string())?;
                let f = ffmpeg::ffi::av_find_input_format(c.as_ptr());
                if f.is_null() {
                    return Err(format!(
                        "this FFmpeg has no {name} input (built without libavdevice?)"
                    ));
                }
                f
            }
            None => std::ptr::null(),
        };
        let mut ps = ffmpeg::ffi::avformat_alloc_context();
        if ps.is_null() {
            return Err("out of memory".into());
        }
        (*ps).interrupt_callback = ffmpeg::ffi::AVIOInterruptCB {
            callback: Some(interrupted),
            opaque: Arc::as_ptr(stop) as *mut c_void,
        };
        let mut opts = options.disown();
        let res = ffmpeg::ffi::avformat_open_input(&mut ps, c_url.as_ptr(), fmt as _, &mut opts);
        drop(ffmpeg::Dictionary::own(opts));
        if res < 0 {
            return Err(ffmpeg::Error::from(res).to_string());
        }
        let res = ffmpeg::ffi::avformat_find_stream_info(ps, std::ptr::null_mut());
        if res < 0 {
            ffmpeg::ffi::avformat_close_input(&mut ps);
            return Err(format!(
                "no stream information ({})",
                ffmpeg::Error::from(res)
            ));
        }
        Ok(ffmpeg::format::context::Input::wrap(ps))
    }
}

impl LiveSource {
    /// Opens `source` (see [`LiveKind::of`]); `stop` interrupts opening and
    /// every later read when set. Errors name the source and say why.
    pub fn open(source: &str, opts: &LiveOptions, stop: Arc<AtomicBool>) -> Result<LiveSource> {
        init_ffmpeg();
        let kind = LiveKind::of(source);
        let name = PathBuf::from(source);
        let fail = |why: String| Error::decode(&name, why);
        let mut dict = ffmpeg::Dictionary::new();
        let micros = opts.timeout.as_micros().max(1).to_string();
        // rw_timeout bounds every read of any protocol; rtsp and udp have their own.
        dict.set("rw_timeout", &micros);
        let format = match kind {
            LiveKind::Device => {
                static DEVICES: std::sync::Once = std::sync::Once::new();
                DEVICES.call_once(ffmpeg::device::register_all);
                if !Path::new(source).exists() {
                    return Err(fail("no such capture device".into()));
                }
                Some("v4l2")
            }
            LiveKind::Network => {
                dict.set("timeout", &micros);
                // A burst the reader is late for is lost, not fatal (udp).
                dict.set("overrun_nonfatal", "1");
                dict.set("fifo_size", "100000");
                // Probing the frame rate reads ahead, and what it read comes
                // out as one burst of late frames: the rate is the header's.
                // (Probing still waits for a keyframe when joining a stream.)
                dict.set("fpsprobesize", "0");
                None
            }
            LiveKind::File => {
                if !Path::new(source).is_file() {
                    return Err(Error::io(
                        &name,
                        std::io::Error::new(std::io::ErrorKind::NotFound, "no such file"),
                    ));
                }
                if opts.follow {
                    dict.set("follow", "1");
                }
                None
            }
        };
        let url = match (kind, opts.follow) {
            (LiveKind::File, true) => format!("file:{source}"),
            _ => source.to_string(),
        };
        let input = open_input(&url, format, dict, &stop).map_err(|why| {
            fail(if stop.load(Ordering::Relaxed) {
                "opening was interrupted".into()
            } else {
                format!("cannot open ({why})")
            })
        })?;
        let stream = input
            .streams()
            .best(ffmpeg::media::Type::Video)
            .ok_or_else(|| fail("no video stream".into()))?;
        let stream_index = stream.index();
        let tb = stream.time_base();
        let time_base = f64::from(tb.numerator()) / f64::from(tb.denominator().max(1));
        let fps = rate_of(stream.avg_frame_rate()).or_else(|| rate_of(stream.rate()));
        let decoder = open_decoder(
            &name,
            &input,
            stream_index,
            ffmpeg::codec::threading::Type::Slice,
        )?;
        let codec = decoder
            .codec()
            .map(|c| c.name().to_string())
            .unwrap_or_else(|| "unknown".into());
        let (width, height) = (decoder.width() as usize, decoder.height() as usize);
        if width == 0 || height == 0 {
            return Err(fail("the video stream has no frame size".into()));
        }
        let info = LiveInfo {
            source: source.to_string(),
            kind,
            container: input.format().name().to_string(),
            codec,
            width,
            height,
            fps,
        };
        Ok(LiveSource {
            input,
            decoder,
            stream_index,
            time_base,
            info,
            name,
            converter: Converter::new(),
            second_converter: Converter::new(),
            frame: ffmpeg::frame::Video::empty(),
            packet: ffmpeg::Packet::empty(),
            eof_sent: false,
            pending_error: None,
            first_pts: None,
            paced_from: None,
            // A growing file too: its writer flushes in blocks, and paced
            // delivery spreads each block's frames over their time.
            realtime: opts.realtime && kind == LiveKind::File,
            stop,
        })
    }

    /// What was found when opening.
    pub fn info(&self) -> &LiveInfo {
        &self.info
    }

    /// Decodes the next frame into `out` in `spec`'s format and size.
    /// `Ok(None)`: the stream ended normally. An error: it broke, stalled
    /// past the timeout, or the stop flag was set.
    pub fn next_into(
        &mut self,
        spec: &OutputSpec,
        out: &mut Frame<u8>,
    ) -> Result<Option<LiveFrame>> {
        loop {
            match self.decoder.receive_frame(&mut self.frame) {
                Ok(()) => return self.deliver(spec, out).map(Some),
                Err(ffmpeg::Error::Eof) => return self.pending_error.take().map_or(Ok(None), Err),
                Err(ffmpeg::Error::Other { errno }) if errno == ffmpeg::util::error::EAGAIN => {}
                Err(e) => return Err(self.broken(format!("decoding failed ({e})"))),
            }
            if self.eof_sent {
                return self.pending_error.take().map_or(Ok(None), Err);
            }
            match self.packet.read(&mut self.input) {
                Ok(()) => {
                    if self.packet.stream() != self.stream_index || self.packet.size() == 0 {
                        continue;
                    }
                    match self.decoder.send_packet(&self.packet) {
                        // A damaged packet (lost datagrams): skip it, as players do.
                        Ok(()) | Err(ffmpeg::Error::InvalidData) => {}
                        Err(e) => return Err(self.broken(format!("decoding failed ({e})"))),
                    }
                }
                Err(ffmpeg::Error::Eof) => {
                    let _ = self.decoder.send_eof();
                    self.eof_sent = true;
                }
                Err(e) => {
                    // Drain the frames the decoder still holds (reordering
                    // delay) before the error: they were received.
                    self.pending_error = Some(self.broken(format!(
                        "no data within the timeout, or the stream broke ({e})"
                    )));
                    let _ = self.decoder.send_eof();
                    self.eof_sent = true;
                }
            }
        }
    }

    /// Converts the frame [`LiveSource::next_into`] returned last once more,
    /// to another format or size (e.g. native RGB beside the model's gray).
    pub fn convert_last(&mut self, spec: &OutputSpec, out: &mut Frame<u8>) -> Result<()> {
        // Its own converter: alternating specs would rebuild one scaler per call.
        self.second_converter
            .convert(&self.name, &self.frame, spec, out)
    }

    fn broken(&self, why: String) -> Error {
        if self.stop.load(Ordering::Relaxed) {
            Error::decode(&self.name, "reading was interrupted")
        } else {
            Error::decode(&self.name, why)
        }
    }

    /// Converts the decoded frame and, for a real-time file, waits for its time.
    fn deliver(&mut self, spec: &OutputSpec, out: &mut Frame<u8>) -> Result<LiveFrame> {
        let pts = self.frame.timestamp().or(self.frame.pts());
        let first = *self.first_pts.get_or_insert(pts.unwrap_or(0));
        let pts_secs = pts.map(|p| (p - first) as f64 * self.time_base);
        if self.realtime {
            let start = *self.paced_from.get_or_insert_with(Instant::now);
            if let Some(at) = pts_secs.filter(|s| s.is_finite() && *s > 0.0) {
                let due = start + Duration::from_secs_f64(at);
                // Sleep in slices so that the stop flag is seen promptly.
                while Instant::now() < due && !self.stop.load(Ordering::Relaxed) {
                    let left = due.saturating_duration_since(Instant::now());
                    std::thread::sleep(left.min(Duration::from_millis(50)));
                }
            }
        }
        self.converter.convert(&self.name, &self.frame, spec, out)?;
        Ok(LiveFrame {
            pts_secs,
            decoded_at: Instant::now(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_are_classified_by_scheme_and_path() {
        for s in [
            "rtsp://cam/stream",
            "udp://127.0.0.1:5000",
            "http://x/y.mjpg",
            "srt://h:1",
        ] {
            assert_eq!(LiveKind::of(s), LiveKind::Network, "{s}");
        }
        assert_eq!(LiveKind::of("/dev/video0"), LiveKind::Device);
        for s in ["clip.mp4", "file:///tmp/a.ts", "/data/a://b", "C:\\x.mp4"] {
            assert_eq!(LiveKind::of(s), LiveKind::File, "{s}");
        }
        assert!(is_live("udp://127.0.0.1:1") && !is_live("a.mp4"));
    }

    #[test]
    fn missing_sources_are_named() {
        let stop = Arc::new(AtomicBool::new(false));
        let opts = LiveOptions::default();
        let e = LiveSource::open("/nonexistent/clip.ts", &opts, stop.clone())
            .err()
            .unwrap()
            .to_string();
        assert!(
            e.contains("/nonexistent/clip.ts") && e.contains("no such file"),
            "{e}"
        );
        let e = LiveSource::open("/dev/video987", &opts, stop)
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("/dev/video987") && e.contains("device"), "{e}");
    }
}
