//! Video decoding: files through FFmpeg, and frame folders.
//!
//! [`open`] takes a video file (anything FFmpeg demuxes and decodes) or a folder
//! of images and returns a [`Video`]: exact frame count, fps, size, and frames by
//! index in the [`OutputSpec`] asked for (gray or RGB, native or resized).
//! Sequential reads take a fast path (no seek); random reads seek to the keyframe
//! before the frame and decode forward, matching frames by presentation
//! timestamp. [`cache::CachedVideo`] adds a byte-bounded LRU cache with prefetch.
//! [`live`] reads streams, capture devices and growing files as they arrive.

pub mod cache;
mod convert;
pub mod encode;
mod file;
mod folder;
pub mod live;
mod resize;

use std::path::{Path, PathBuf};

use serde::Serialize;

pub(crate) use folder::load_image;
pub use folder::{
    check_frame_folder, is_image_file, list_images, natural_cmp, read_gray, IMAGE_EXTENSIONS,
};

use crate::error::{Error, Result};
use crate::frame::{Frame, PixelFormat};

/// File extensions recognised as video containers when scanning folders.
pub const VIDEO_EXTENSIONS: &[&str] = &[
    "mp4", "avi", "mkv", "mov", "m4v", "webm", "mpg", "mpeg", "wmv", "flv", "ts", "mts", "ogv",
];

/// The FFmpeg this binary is linked with: its release and the versions of
/// the libraries vadscope calls, e.g. `FFmpeg 6.1.1 (libavformat 60.16.100,
/// libavcodec 60.31.102, libswscale 7.5.100)`.
pub fn ffmpeg_version() -> String {
    // SAFETY: av_version_info returns a pointer to a static NUL-terminated string.
    let release = unsafe {
        let p = ffmpeg_next::ffi::av_version_info();
        if p.is_null() {
            "unknown".to_string()
        } else {
            std::ffi::CStr::from_ptr(p).to_string_lossy().into_owned()
        }
    };
    let v = |n: u32| format!("{}.{}.{}", n >> 16, (n >> 8) & 0xff, n & 0xff);
    format!(
        "FFmpeg {release} (libavformat {}, libavcodec {}, libswscale {})",
        v(ffmpeg_next::format::version()),
        v(ffmpeg_next::codec::version()),
        v(ffmpeg_next::software::scaling::version()),
    )
}

/// Whether `path` has a video container extension.
pub fn is_video_file(path: &Path) -> bool {
    has_extension(path, VIDEO_EXTENSIONS)
}

pub(crate) fn has_extension(path: &Path, exts: &[&str]) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| exts.iter().any(|x| x.eq_ignore_ascii_case(e)))
}

/// Initialises FFmpeg once per process and silences its console log: errors
/// reach users through our own results, naming the file, not as libav chatter.
pub(crate) fn init_ffmpeg() {
    static INIT: std::sync::Once = std::sync::Once::new();
    INIT.call_once(|| {
        ffmpeg_next::util::log::set_level(ffmpeg_next::util::log::Level::Fatal);
        let _ = ffmpeg_next::init();
    });
}

/// What a frame read produces: pixel format and, optionally, a size to resize to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct OutputSpec {
    /// Gray or RGB.
    pub format: PixelFormat,
    /// `(width, height)` to resize to; `None` keeps the native size.
    pub size: Option<(usize, usize)>,
}

impl OutputSpec {
    /// Gray at native size.
    pub fn gray() -> Self {
        OutputSpec {
            format: PixelFormat::Gray,
            size: None,
        }
    }

    /// RGB at native size.
    pub fn rgb() -> Self {
        OutputSpec {
            format: PixelFormat::Rgb,
            size: None,
        }
    }

    /// The same, resized to `width` x `height`.
    pub fn with_size(mut self, width: usize, height: usize) -> Self {
        self.size = Some((width, height));
        self
    }

    /// The largest width or height a video may be resized to.
    pub const MAX_SIDE: usize = 16384;

    /// Parses `WxH` (e.g. `256x256`), each side 1 to [`OutputSpec::MAX_SIDE`].
    pub fn parse_size(s: &str) -> Result<(usize, usize)> {
        Self::parse_size_in(s, 1..=Self::MAX_SIDE)
    }

    /// Parses `WxH` with both sides in `sides`. A malformed size says the
    /// form it expects; a well-formed one out of range says the range.
    pub fn parse_size_in(
        s: &str,
        sides: std::ops::RangeInclusive<usize>,
    ) -> Result<(usize, usize)> {
        let bad = || Error::invalid(format!("size {s:?}: expected WIDTHxHEIGHT, e.g. 256x256"));
        let (w, h) = s.split_once(['x', 'X']).ok_or_else(bad)?;
        let (w, h): (usize, usize) = (
            w.trim().parse().map_err(|_| bad())?,
            h.trim().parse().map_err(|_| bad())?,
        );
        for (what, v) in [("width", w), ("height", h)] {
            if !sides.contains(&v) {
                return Err(Error::invalid(format!(
                    "size {s}: {what} {v} is out of range (allowed: {} to {})",
                    sides.start(),
                    sides.end()
                )));
            }
        }
        Ok((w, h))
    }
}

/// Where frames come from.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SourceKind {
    /// A video file.
    File {
        /// Container format (FFmpeg's short name, e.g. `avi`, `mov,mp4,m4a,3gp,3g2,mj2`).
        container: String,
        /// Codec (FFmpeg's name, e.g. `h264`, `msmpeg4v3`).
        codec: String,
    },
    /// A folder of image files, one per frame, in natural order of names.
    Folder,
}

/// What is known about a video once opened.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VideoInfo {
    /// The file or folder.
    pub path: PathBuf,
    /// File or frame folder, with container and codec.
    pub source: SourceKind,
    /// Exact number of decodable frames.
    pub num_frames: usize,
    /// Frames per second (average; from the stream, or assumed for folders).
    pub fps: f64,
    /// False when the fps is an assumption (frame folders carry none).
    pub fps_known: bool,
    /// Native width in pixels.
    pub width: usize,
    /// Native height in pixels.
    pub height: usize,
    /// Duration in seconds (from timestamps for files; frames / fps for folders).
    pub duration_secs: f64,
    /// Whether frame timestamps are irregular (variable frame rate).
    pub variable_frame_rate: bool,
    /// Problems met while opening that did not stop it (e.g. a stream that breaks midway).
    pub warnings: Vec<String>,
}

/// The fps assumed for frame folders, which carry no timing. (Most VAD benchmarks
/// distributed as frames were captured at 10 to 30 fps; 25 is FFmpeg's default.)
pub const FOLDER_DEFAULT_FPS: f64 = 25.0;

/// A source of frames by index. Implemented by video files and frame folders.
pub(crate) trait FrameSource: Send {
    fn info(&self) -> &VideoInfo;
    fn read_into(&mut self, index: usize, spec: &OutputSpec, out: &mut Frame<u8>) -> Result<()>;
}

/// An opened video file or frame folder.
pub struct Video {
    source: Box<dyn FrameSource>,
    spec: OutputSpec,
}

impl std::fmt::Debug for Video {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Video")
            .field("info", self.info())
            .field("spec", &self.spec)
            .finish()
    }
}

/// Opens a video file or a frame folder; frames come out gray at native size
/// unless [`Video::set_output`] says otherwise.
pub fn open(path: impl AsRef<Path>) -> Result<Video> {
    open_with(path, OutputSpec::gray())
}

/// Opens a video file or a frame folder with the given output spec.
pub fn open_with(path: impl AsRef<Path>, spec: OutputSpec) -> Result<Video> {
    let path = path.as_ref();
    let meta = std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
    let source: Box<dyn FrameSource> = if meta.is_dir() {
        Box::new(folder::FolderSource::open(path)?)
    } else {
        Box::new(file::FileSource::open(path)?)
    };
    if let Some((w, h)) = spec.size {
        if w == 0 || h == 0 {
            return Err(Error::invalid(format!("output size {w}x{h} is empty")));
        }
    }
    Ok(Video { source, spec })
}

impl Video {
    /// What was found when opening.
    pub fn info(&self) -> &VideoInfo {
        self.source.info()
    }

    /// Number of frames.
    pub fn len(&self) -> usize {
        self.info().num_frames
    }

    /// Whether the video has no frames (never true for an opened video).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The current output spec.
    pub fn output(&self) -> OutputSpec {
        self.spec
    }

    /// Changes the output spec for later reads.
    pub fn set_output(&mut self, spec: OutputSpec) {
        self.spec = spec;
    }

    /// Size of the frames that reads produce.
    pub fn output_size(&self) -> (usize, usize) {
        self.spec
            .size
            .unwrap_or((self.info().width, self.info().height))
    }

    /// Reads frame `index` into `out`, reusing its allocation.
    pub fn read_into(&mut self, index: usize, out: &mut Frame<u8>) -> Result<()> {
        let n = self.len();
        if index >= n {
            return Err(Error::invalid(format!(
                "{}: frame {index} out of range (the video has {n} frames)",
                self.info().path.display()
            )));
        }
        let spec = self.spec;
        self.source.read_into(index, &spec, out)
    }

    /// Reads frame `index`.
    pub fn read(&mut self, index: usize) -> Result<Frame<u8>> {
        let mut out = Frame::default();
        self.read_into(index, &mut out)?;
        Ok(out)
    }

    /// Reads frame `index` as `f32` in `[0, 1]`, using `scratch` for the decoded bytes.
    pub fn read_f32_into(
        &mut self,
        index: usize,
        scratch: &mut Frame<u8>,
        out: &mut Frame<f32>,
    ) -> Result<()> {
        self.read_into(index, scratch)?;
        scratch.to_f32_into(out);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_sizes() {
        assert_eq!(OutputSpec::parse_size("256x128").unwrap(), (256, 128));
        assert_eq!(OutputSpec::parse_size("64X64").unwrap(), (64, 64));
        for bad in ["256", "0x10", "ax3", "10x", "99999x2"] {
            assert!(OutputSpec::parse_size(bad).is_err(), "{bad}");
        }
        // Well-formed but out of range: the message gives the range, not the form.
        let e = OutputSpec::parse_size("99999x2").unwrap_err().to_string();
        assert!(e.contains("width 99999") && e.contains("1 to 16384"), "{e}");
        assert!(!e.contains("expected WIDTHxHEIGHT"), "{e}");
        let e = OutputSpec::parse_size("ax3").unwrap_err().to_string();
        assert!(e.contains("expected WIDTHxHEIGHT"), "{e}");
    }

    #[test]
    fn missing_path_names_the_file() {
        let err = open("/nonexistent/clip.mp4").unwrap_err();
        assert!(err.to_string().contains("/nonexistent/clip.mp4"), "{err}");
    }
}
