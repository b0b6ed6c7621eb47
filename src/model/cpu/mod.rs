//! The CPU kernels behind [`super::ops`]: Candle custom ops with hand-written
//! backwards (convolution, group norm + ReLU, pooling and upsampling, memory
//! addressing, layout changes), the plain-slice kernels they run on, and heap
//! reuse for the CPU model's activations.
//!
//! The model files (`memory.rs`, `memae.rs`, `cvae.rs`, `hybrid.rs`) never use
//! this module directly: they call `ops`, which picks these kernels on the CPU
//! and exact Candle graphs elsewhere. Every op here is checked against finite
//! differences (`src/model/tests/gradcheck.rs`) and against its graph.

pub(crate) mod alloc;
pub(crate) mod conv_fused;
pub(crate) mod conv_op;
pub(crate) mod direct_conv;
pub(crate) mod im2col;
pub(crate) mod kernels;
pub(crate) mod memory_op;
pub(crate) mod norm_op;
pub(crate) mod resample;
pub(crate) mod stitch;
pub(crate) mod transpose_op;

pub use alloc::tune_allocator;
