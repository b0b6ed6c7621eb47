//! Benchmark dataset layouts and clips.
