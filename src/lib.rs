//! vadscope: a workbench for video anomaly detection.
//!
//! The engine behind the `vadscope` app and CLI: video decoding ([`video`]),
//! benchmark dataset layouts and clips ([`dataset`]), ground truth and its file
//! formats ([`truth`]), dense optical flow ([`flow`]) and procedural test scenes
//! ([`synth`]). It knows nothing of the GUI; the app and the CLI are thin layers
//! over it. See `DESIGN.md` for the data flow.

#[cfg(feature = "gui")]
pub mod app;
pub mod dataset;
pub mod error;
pub mod export;
pub mod flow;
pub mod frame;
pub mod metrics;
pub mod model;
#[cfg(feature = "gui")]
pub mod render;
pub mod save;
pub mod score;
pub mod synth;
pub mod train;
pub mod truth;
pub mod video;

pub use error::{Error, Result};
pub use frame::{Frame, PixelFormat};
