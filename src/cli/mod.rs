//! Subcommands, one file each.

pub mod args;
pub mod bench;
#[cfg(feature = "gui")]
pub mod bench_app;
pub mod bench_flow;
pub mod bench_live;
pub mod bench_model;
pub mod bench_pipeline;
pub mod bench_video;
pub mod calibrate;
pub mod completions;
pub mod demo;
pub mod eval;
pub mod eval_maps;
pub mod export;
pub mod flow;
pub mod info;
pub mod open;
pub mod progress;
pub mod score;
pub mod synth;
pub mod train;
pub mod truth;
pub mod watch;
