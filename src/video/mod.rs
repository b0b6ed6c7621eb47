//! Video decoding: files through FFmpeg, and frame folders.
