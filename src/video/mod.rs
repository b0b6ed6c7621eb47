//! Video decoding: files through FFmpeg, and frame folders.

pub mod encode;
