//! Video files through FFmpeg (ffmpeg-next).
//!
//! Opening a file scans its packets once (demuxing only, no decoding) to build a
//! frame index: the exact number of frames, their presentation timestamps and the
//! keyframes. Frame `i` is the `i`-th frame in presentation order. A random read
//! seeks to the last keyframe at or before it and decodes forward to the frame
//! with the wanted timestamp; a read of the next frame just keeps decoding.

use std::path::{Path, PathBuf};

use ffmpeg_next as ffmpeg;

use super::convert::Converter;
use super::{init_ffmpeg, FrameSource, OutputSpec, SourceKind, VideoInfo};
use crate::error::{Error, Result};
use crate::frame::Frame;

/// How far ahead (in frames) decoding forward is preferred to seeking.
const FORWARD_DECODE_LIMIT: usize = 48;

/// The frame index built by the packet scan.
struct Index {
    /// Presentation timestamps, sorted: frame i has `pts[i]`.
    pts: Vec<i64>,
    /// Timestamps of keyframe packets, in decode order, with their frame index.
    keys: Vec<(i64, usize)>,
    /// Whether the timestamps are real (false: synthesised from packet order, no seeking).
    seekable: bool,
}

pub(crate) struct FileSource {
    info: VideoInfo,
    path: PathBuf,
    input: ffmpeg::format::context::Input,
    decoder: ffmpeg::decoder::Video,
    stream_index: usize,
    index: Index,
    /// The frame index the decoder will deliver next, when known.
    next: Option<usize>,
    /// Frames decoded but not yet consumed (decoders may emit several per packet).
    pending: std::collections::VecDeque<(usize, ffmpeg::frame::Video)>,
    eof_sent: bool,
    /// Frames delivered since the last seek, for streams without timestamps.
    counted: usize,
    converter: Converter,
    packet: ffmpeg::Packet,
}

fn open_input(path: &Path) -> Result<ffmpeg::format::context::Input> {
    ffmpeg::format::input(path)
        .map_err(|e| Error::decode(path, format!("not a video FFmpeg can open ({e})")))
}

const FRAME_THREADS: ffmpeg::codec::threading::Type = ffmpeg::codec::threading::Type::Frame;

/// A rate (frames per second) from an FFmpeg rational; `None` when unset (0/0).
pub(super) fn rate_of(r: ffmpeg::Rational) -> Option<f64> {
    (r.numerator() > 0 && r.denominator() > 0)
        .then(|| f64::from(r.numerator()) / f64::from(r.denominator()))
}

/// A decoder for the video stream `stream_index` of `input` (from `path`,
/// named in errors). Files decode with frame threads (throughput); live
/// sources with slice threads, which hold no frames back (latency).
pub(super) fn open_decoder(
    path: &Path,
    input: &ffmpeg::format::context::Input,
    stream_index: usize,
    threading: ffmpeg::codec::threading::Type,
) -> Result<ffmpeg::decoder::Video> {
    let stream = input
        .stream(stream_index)
        .ok_or_else(|| Error::decode(path, "video stream vanished"))?;
    let mut ctx = ffmpeg::codec::context::Context::from_parameters(stream.parameters())
        .map_err(|e| Error::decode(path, format!("unsupported codec parameters ({e})")))?;
    ctx.set_threading(ffmpeg::codec::threading::Config {
        kind: threading,
        ..Default::default()
    });
    ctx.decoder()
        .video()
        .map_err(|e| Error::decode(path, format!("no decoder for this codec ({e})")))
}

impl FileSource {
    pub fn open(path: &Path) -> Result<Self> {
        init_ffmpeg();
        let mut input = open_input(path)?;
        let container = input.format().name().to_string();
        let stream = input
            .streams()
            .best(ffmpeg::media::Type::Video)
            .ok_or_else(|| Error::decode(path, "no video stream in the file"))?;
        let stream_index = stream.index();
        let time_base = stream.time_base();
        let avg_rate = stream.avg_frame_rate();
        let real_rate = stream.rate();
        let announced = stream.frames();
        let decoder = open_decoder(path, &input, stream_index, FRAME_THREADS)?;
        let codec = decoder
            .codec()
            .map(|c| c.name().to_string())
            .unwrap_or_else(|| "unknown".into());
        let (width, height) = (decoder.width() as usize, decoder.height() as usize);

        let mut warnings = Vec::new();
        let (index, durations) = scan(path, &mut input, stream_index, &mut warnings)?;
        let n = index.pts.len();
        if n == 0 {
            return Err(Error::decode(path, "the video stream has no frames"));
        }
        if width == 0 || height == 0 {
            return Err(Error::decode(path, "the video stream has no frame size"));
        }

        let tb = f64::from(time_base.numerator()) / f64::from(time_base.denominator().max(1));
        // Duration from timestamps: first to last presentation, plus the last frame's own duration.
        let last_dur = durations.last().copied().filter(|&d| d > 0);
        let span = (index.pts[n - 1] - index.pts[0]) as f64 * tb;
        let variable_frame_rate = index.seekable && is_variable(&index.pts);
        // With variable timing the header's rate is a nominal one: measure instead.
        let measured = (span > 0.0).then(|| (n - 1) as f64 / span);
        let fps = (if variable_frame_rate { measured } else { None })
            .or_else(|| rate_of(avg_rate))
            .or(measured)
            .or_else(|| rate_of(real_rate))
            .unwrap_or(super::FOLDER_DEFAULT_FPS);
        let duration_secs = if index.seekable && n > 1 {
            span + last_dur.map_or(1.0 / fps, |d| d as f64 * tb)
        } else {
            n as f64 / fps
        };
        if announced > n as i64 {
            // The container's header promised more: the file was cut short or damaged.
            warnings.push(format!(
                "the header announces {announced} frames but only {n} are readable (truncated or damaged file?)"
            ));
        }
        if !index.seekable {
            warnings
                .push("the stream has no timestamps: random access decodes from the start".into());
        }

        let info = VideoInfo {
            path: path.to_path_buf(),
            source: SourceKind::File { container, codec },
            num_frames: n,
            fps,
            fps_known: true,
            width,
            height,
            duration_secs,
            variable_frame_rate,
            warnings,
        };
        let mut this = FileSource {
            info,
            path: path.to_path_buf(),
            input,
            decoder,
            stream_index,
            index,
            next: None,
            pending: Default::default(),
            eof_sent: false,
            counted: 0,
            converter: Converter::new(),
            packet: ffmpeg::Packet::empty(),
        };
        this.rewind()?;
        Ok(this)
    }

    /// Back to the start of the stream: the next frame delivered is frame 0.
    fn rewind(&mut self) -> Result<()> {
        self.seek_to_key(0)?;
        self.next = Some(0);
        Ok(())
    }

    /// Seeks to the keyframe packet `k` of the index and resets the decoder.
    fn seek_to_key(&mut self, k: usize) -> Result<()> {
        if k == 0 || !self.index.seekable {
            // Reopening is the one rewind that every demuxer honours exactly.
            self.input = open_input(&self.path)?;
        } else {
            let ts = self.index.keys[k].0;
            let ret = unsafe {
                ffmpeg::ffi::av_seek_frame(
                    self.input.as_mut_ptr(),
                    self.stream_index as i32,
                    ts,
                    ffmpeg::ffi::AVSEEK_FLAG_BACKWARD,
                )
            };
            if ret < 0 {
                return Err(Error::decode(
                    &self.path,
                    format!(
                        "seeking to frame {} failed ({})",
                        self.index.keys[k].1,
                        ffmpeg::Error::from(ret)
                    ),
                ));
            }
        }
        self.decoder = open_decoder(&self.path, &self.input, self.stream_index, FRAME_THREADS)?;
        self.pending.clear();
        self.eof_sent = false;
        self.counted = 0;
        self.next = None;
        Ok(())
    }

    /// Decodes the next frame in presentation order; `None` at the end of the stream.
    fn decode_next(&mut self) -> Result<Option<(usize, ffmpeg::frame::Video)>> {
        loop {
            if let Some(f) = self.pending.pop_front() {
                return Ok(Some(f));
            }
            let mut frame = ffmpeg::frame::Video::empty();
            match self.decoder.receive_frame(&mut frame) {
                Ok(()) => {
                    let idx = self.frame_index(&frame);
                    self.counted += 1;
                    if let Some(i) = idx {
                        self.pending.push_back((i, frame));
                    }
                    continue;
                }
                Err(ffmpeg::Error::Eof) => return Ok(None),
                Err(ffmpeg::Error::Other { errno }) if errno == ffmpeg::util::error::EAGAIN => {}
                Err(e) => return Err(Error::decode(&self.path, format!("decoding failed ({e})"))),
            }
            if self.eof_sent {
                return Ok(None);
            }
            // The decoder wants input: feed it the next packet of our stream.
            loop {
                match self.packet.read(&mut self.input) {
                    Ok(())
                        if self.packet.stream() != self.stream_index || self.packet.size() == 0 =>
                    {
                        continue
                    }
                    Ok(()) => {
                        if let Err(e) = self.decoder.send_packet(&self.packet) {
                            // A damaged packet: skip it, as players do; the index already counted
                            // only packets that demuxed cleanly.
                            if !matches!(e, ffmpeg::Error::InvalidData) {
                                return Err(Error::decode(
                                    &self.path,
                                    format!("decoding failed ({e})"),
                                ));
                            }
                        }
                        break;
                    }
                    Err(_) => {
                        // End of file or a broken tail: drain what the decoder holds.
                        let _ = self.decoder.send_eof();
                        self.eof_sent = true;
                        break;
                    }
                }
            }
        }
    }

    /// The frame index of a decoded frame, from its timestamp (or by counting).
    fn frame_index(&self, frame: &ffmpeg::frame::Video) -> Option<usize> {
        if !self.index.seekable {
            return Some(self.counted);
        }
        let ts = frame.timestamp().or(frame.pts())?;
        self.index.pts.binary_search(&ts).ok()
    }

    /// Decodes forward until frame `target`; returns it.
    fn decode_until(&mut self, target: usize) -> Result<Option<ffmpeg::frame::Video>> {
        while let Some((i, frame)) = self.decode_next()? {
            if i == target {
                self.next = Some(target + 1);
                return Ok(Some(frame));
            }
            if i > target {
                // Overshot: the keyframe we seeked to was after the target.
                self.pending.push_front((i, frame));
                self.next = None;
                return Ok(None);
            }
        }
        self.next = None;
        Ok(None)
    }

    fn fetch(&mut self, target: usize) -> Result<ffmpeg::frame::Video> {
        // Fast path: the target is the next frame or a little ahead.
        if let Some(next) = self.next {
            if target >= next && target - next <= FORWARD_DECODE_LIMIT {
                if let Some(f) = self.decode_until(target)? {
                    return Ok(f);
                }
            }
        }
        // Seek: the last keyframe whose frame is at or before the target, stepping
        // back further if the demuxer lands us past it.
        let mut k = if self.index.seekable {
            self.index
                .keys
                .partition_point(|&(_, fi)| fi <= target)
                .saturating_sub(1)
        } else {
            0
        };
        loop {
            if let Err(e) = self.seek_to_key(k) {
                if k == 0 {
                    return Err(e);
                }
                // The demuxer refused this seek: decode from the start instead.
                k = 0;
                continue;
            }
            if let Some(f) = self.decode_until(target)? {
                return Ok(f);
            }
            if k == 0 {
                return Err(Error::decode(
                    &self.path,
                    format!("frame {target} could not be decoded (the stream is damaged there)"),
                ));
            }
            k = k.saturating_sub(4);
        }
    }
}

impl FrameSource for FileSource {
    fn info(&self) -> &VideoInfo {
        &self.info
    }

    fn read_into(&mut self, index: usize, spec: &OutputSpec, out: &mut Frame<u8>) -> Result<()> {
        let frame = self.fetch(index)?;
        let spec = OutputSpec {
            size: spec.size.or(Some((self.info.width, self.info.height))),
            ..*spec
        };
        self.converter.convert(&self.path, &frame, &spec, out)
    }
}

/// Demuxes every packet of the video stream (no decoding) to index the frames.
/// Returns the index and the packet durations in presentation order.
fn scan(
    path: &Path,
    input: &mut ffmpeg::format::context::Input,
    stream_index: usize,
    warnings: &mut Vec<String>,
) -> Result<(Index, Vec<i64>)> {
    struct Entry {
        ts: Option<i64>,
        key: bool,
        duration: i64,
    }
    let mut entries: Vec<Entry> = Vec::new();
    let mut packet = ffmpeg::Packet::empty();
    let mut corrupt = 0usize;
    loop {
        match packet.read(input) {
            Ok(()) => {
                if packet.stream() != stream_index || packet.size() == 0 {
                    continue;
                }
                if packet.is_corrupt() {
                    corrupt += 1;
                    continue;
                }
                entries.push(Entry {
                    ts: packet.pts().or(packet.dts()),
                    key: packet.is_key(),
                    duration: packet.duration(),
                });
            }
            Err(ffmpeg::Error::Eof) => break,
            Err(e) => {
                warnings.push(format!(
                    "the stream breaks after {} frames ({e}); later frames are not readable",
                    entries.len()
                ));
                break;
            }
        }
    }
    if corrupt > 0 {
        warnings.push(format!("{corrupt} corrupt packets skipped"));
    }
    let _ = path;

    let all_ts = entries.iter().all(|e| e.ts.is_some());
    let mut ts: Vec<i64> = entries.iter().map(|e| e.ts.unwrap_or(0)).collect();
    let mut sorted = ts.clone();
    sorted.sort_unstable();
    let distinct = sorted.windows(2).all(|w| w[0] < w[1]);
    let seekable = all_ts && distinct;
    if !seekable {
        // No usable timestamps: frames are numbered in packet order.
        ts = (0..entries.len() as i64).collect();
        sorted = ts.clone();
    }
    let mut keys: Vec<(i64, usize)> = entries
        .iter()
        .zip(&ts)
        .filter(|(e, _)| e.key)
        .map(|(_, &t)| (t, sorted.binary_search(&t).unwrap_or(0)))
        .collect();
    keys.sort_by_key(|&(_, fi)| fi);
    if keys.first().is_none_or(|&(_, fi)| fi != 0) {
        // Decoding starts at the file's beginning whatever its first packet is.
        keys.insert(0, (sorted.first().copied().unwrap_or(0), 0));
    }
    let mut order: Vec<usize> = (0..entries.len()).collect();
    order.sort_by_key(|&i| ts[i]);
    let durations = order.iter().map(|&i| entries[i].duration).collect();
    Ok((
        Index {
            pts: sorted,
            keys,
            seekable,
        },
        durations,
    ))
}

/// Whether frame intervals vary by more than 1% of their median.
fn is_variable(pts: &[i64]) -> bool {
    if pts.len() < 3 {
        return false;
    }
    let mut d: Vec<i64> = pts.windows(2).map(|w| w[1] - w[0]).collect();
    d.sort_unstable();
    let med = d[d.len() / 2] as f64;
    let (lo, hi) = (d[0] as f64, d[d.len() - 1] as f64);
    med > 0.0 && (hi - lo) > 0.01 * med + 1.0
}
