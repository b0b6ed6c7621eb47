//! The hybrid anomaly-detection model of Long et al., "Video Sequence Anomaly
//! Detection with Multi-Layer Memory-Augmented Autoencoder", in Candle.
//!
//! - [`config`]: the versioned JSON configuration and its profiles (`demo`, `cpu`, `paper`).
//! - [`memory`]: memory read, update and losses [2–12].
//! - [`memae`]: the multi-layer memory-augmented U-Net (Fig. 3).
//! - [`cvae`]: the flow-conditioned CVAE predicting the next frame [13–17].
//! - [`hybrid`]: both end to end, with every loss and score term.
//! - [`input`]: the input contract: frame size and format, flow parameters, scaling.
//! - [`losses`], [`ops`]: losses, and the operations the model files use: gradient-safe
//!   stand-ins for broken Candle ops, with CPU kernels (`cpu/`) behind them.
//! - [`checkpoint`]: safetensors weights + config + training-set score statistics.
//! - [`tune_allocator`]: heap reuse for the CPU model's activations.
//! - [`init`]: seeded weight initialisation and noise (Candle's CPU RNG cannot be seeded).
//!
//! Candle 0.11.1 has gradient bugs (see `ops`); the test suite checks every op and
//! block used here against finite differences.

pub mod checkpoint;
pub mod config;
mod cpu;
pub mod cvae;
pub mod hybrid;
pub mod init;
pub mod input;
pub mod losses;
pub mod memae;
pub mod memory;
pub mod ops;
pub mod tiles;

#[cfg(test)]
mod tests;

pub use checkpoint::{Checkpoint, ScoreStats, TermStats};
pub use config::{ModelConfig, ScoreConfig, Variant};
pub use cpu::tune_allocator;
pub use hybrid::{Hybrid, HybridOutput, Input, Losses, Sampling, ScoreTerms};
pub use input::{frame_spec, make_input, FLOW_SCALE};
pub use memory::{Memory, MemoryRead};

use candle_core::Device;

/// The device to run the model on: CUDA device 0 when `prefer_gpu` is set, the
/// crate was built with the `cuda` feature and a GPU answers; the CPU otherwise.
/// The second value says why the CPU was chosen when a GPU was asked for.
///
/// Candle links the CUDA libraries at build time, so a `cuda` build starts only
/// where the NVIDIA driver is installed; the fallback covers a driver without a
/// usable GPU (see `benches/gpu/README.md`).
pub fn select_device(prefer_gpu: bool) -> (Device, Option<String>) {
    if !prefer_gpu {
        return (Device::Cpu, None);
    }
    if !candle_core::utils::cuda_is_available() {
        return (
            Device::Cpu,
            Some(
                "this build has no CUDA support (build with --features cuda); using the CPU".into(),
            ),
        );
    }
    match Device::new_cuda(0) {
        Ok(device) => (device, None),
        Err(e) => {
            // Candle attaches a backtrace when RUST_BACKTRACE is set; the note stays one line.
            let e = match e {
                candle_core::Error::WithBacktrace { inner, .. } => *inner,
                e => e,
            };
            (
                Device::Cpu,
                Some(format!("CUDA device 0 is not usable ({e}); using the CPU")),
            )
        }
    }
}
