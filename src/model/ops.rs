//! Tensor operations with correct gradients, standing in for broken or slow Candle ones.
//!
//! Candle 0.11.1 (checked against finite differences, see `src/model/tests/candle_bugs.rs`):
//! `max_pool2d` backward is scaled by 1/(k·k); `upsample_nearest2d` backward
//! overwrites instead of accumulating; `ops::softmax_last_dim` has no gradient.
//! Candle's conv2d is correct but its CPU backward goes through a plain-loop
//! `conv_transpose2d`, about 15x slower than the forward. So on the CPU, for f32
//! and f64, the convolution, group norm + ReLU, 2x2 max pooling and 2x
//! upsampling are custom ops with hand-written backwards (`conv_op.rs`,
//! `norm_op.rs`, `resample.rs`; the memories' changes of layout in
//! `transpose_op.rs`): one autograd node each instead of a graph of
//! elementwise nodes, which is where Candle spent most of a training step. On
//! other devices the same functions use Candle graphs whose gradients are exact
//! (reshape + max, broadcast, `conv2d`, `candle_nn::GroupNorm`). Everything here
//! is covered by the gradient-check suite.

use candle_core::{DType, Module, Result, Tensor};
use candle_nn::VarBuilder;

use super::cpu::kernels::{supported, with_data, Real};
use super::cpu::memory_op::{nearest_rows, Addressing};
use super::cpu::norm_op::GroupNormRelu;
use super::cpu::resample::{MaxPool2, Upsample2};
use super::cpu::transpose_op::Transpose;
use super::cpu::{conv_fused, stitch};

/// 2x2 max pooling with stride 2 on (B, C, H, W), H and W even. On the CPU a
/// custom op (the gradient goes to the first maximum of each window); elsewhere
/// [`max_pool2x2_graph`].
pub fn max_pool2x2(x: &Tensor) -> Result<Tensor> {
    if supported(x) {
        x.contiguous()?.apply_op1(MaxPool2)
    } else {
        max_pool2x2_graph(x)
    }
}

/// 2x2 max pooling as a Candle graph: a reshape to (B, C, H/2, 2, W/2, 2) and
/// two `max` reductions, whose backward is exact (tied maxima all receive the
/// gradient).
pub fn max_pool2x2_graph(x: &Tensor) -> Result<Tensor> {
    let (b, c, h, w) = x.dims4()?;
    if h % 2 != 0 || w % 2 != 0 {
        candle_core::bail!("max_pool2x2: height and width must be even, got {h}x{w}");
    }
    x.reshape((b, c, h / 2, 2, w / 2, 2))?.max(5)?.max(3)
}

/// Nearest-neighbour 2x upsampling of (B, C, H, W): a custom op on the CPU,
/// [`upsample2x_graph`] elsewhere.
pub fn upsample2x(x: &Tensor) -> Result<Tensor> {
    if supported(x) {
        x.contiguous()?.apply_op1(Upsample2)
    } else {
        upsample2x_graph(x)
    }
}

/// Nearest-neighbour 2x upsampling as a Candle graph: a reshape to
/// (B, C, H, 1, W, 1), a broadcast to (B, C, H, 2, W, 2) and a reshape. The
/// broadcast's backward sums the four copies, as it should.
pub fn upsample2x_graph(x: &Tensor) -> Result<Tensor> {
    let (b, c, h, w) = x.dims4()?;
    x.reshape((b, c, h, 1, w, 1))?
        .broadcast_as((b, c, h, 2, w, 2))?
        .contiguous()?
        .reshape((b, c, 2 * h, 2 * w))
}

/// Softmax over `dim` (Candle's generic `ops::softmax`, whose backward is correct;
/// never `softmax_last_dim`, which silently has none).
pub fn softmax(x: &Tensor, dim: usize) -> Result<Tensor> {
    candle_nn::ops::softmax(x, dim)
}

/// Divides vectors along `dim` by their L2 norm (plus a small ε against zero vectors).
pub fn l2_normalize(x: &Tensor, dim: usize) -> Result<Tensor> {
    let norm = (x.sqr()?.sum_keepdim(dim)? + 1e-12)?.sqrt()?;
    x.broadcast_div(&norm)
}

/// (B, C, H, W) → (B·H·W, C): one row per spatial position (on the CPU one
/// parallel op, see `transpose_op.rs`).
pub fn to_rows(x: &Tensor) -> Result<Tensor> {
    let (b, c, h, w) = x.dims4()?;
    if supported(x) {
        return x
            .reshape((b, c, h * w))?
            .apply_op1(Transpose)?
            .reshape((b * h * w, c));
    }
    x.permute((0, 2, 3, 1))?
        .contiguous()?
        .reshape((b * h * w, c))
}

/// (B·H·W, C) → (B, C, H, W), the inverse of [`to_rows`].
pub fn from_rows(rows: &Tensor, b: usize, h: usize, w: usize) -> Result<Tensor> {
    let c = rows.dim(1)?;
    if supported(rows) {
        return rows
            .reshape((b, h * w, c))?
            .apply_op1(Transpose)?
            .reshape((b, c, h, w));
    }
    rows.reshape((b, h, w, c))?
        .permute((0, 3, 1, 2))?
        .contiguous()
}

/// Groups for group norm: the largest of 8, 4, 2, 1 that divides `channels`.
pub fn norm_groups(channels: usize) -> usize {
    [8, 4, 2, 1]
        .into_iter()
        .find(|g| channels.is_multiple_of(*g))
        .unwrap_or(1)
}

/// Two 3x3 convolutions, each followed by group norm and ReLU: the building block
/// of every encoder and decoder level. Group norm (not batch norm) keeps training
/// and inference identical and has no running statistics to checkpoint.
#[derive(Debug, Clone)]
pub struct ConvBlock {
    conv1: Conv,
    norm1: GroupNormRelu,
    conv2: Conv,
    norm2: GroupNormRelu,
}

impl ConvBlock {
    /// A block from `cin` to `cout` channels, weights under `vb`.
    pub fn new(cin: usize, cout: usize, vb: VarBuilder) -> Result<ConvBlock> {
        let g = norm_groups(cout);
        Ok(ConvBlock {
            conv1: Conv::new(cin, cout, 3, vb.pp("conv1"))?,
            norm1: GroupNormRelu::new(g, cout, 1e-5, vb.pp("norm1"))?,
            conv2: Conv::new(cout, cout, 3, vb.pp("conv2"))?,
            norm2: GroupNormRelu::new(g, cout, 1e-5, vb.pp("norm2"))?,
        })
    }
}

impl ConvBlock {
    /// The block on cat([a, b], 1) (a decoder level with its skip), with the
    /// concatenation fused into the first convolution where it can be.
    pub fn forward_cat(&self, a: &Tensor, b: &Tensor) -> Result<Tensor> {
        let x = self.norm1.forward(&self.conv1.forward_cat(a, b)?)?;
        self.norm2.forward(&self.conv2.forward(&x)?)
    }
}

impl Module for ConvBlock {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let x = self.norm1.forward(&self.conv1.forward(x)?)?;
        self.norm2.forward(&self.conv2.forward(&x)?)
    }
}

/// A stride-1 convolution with an odd square kernel, "same" zero padding and a
/// bias; on the CPU one custom op (direct or im2col, see `conv_op.rs`). Weights are
/// named and initialised like `candle_nn::conv2d` (`weight` (Cout, Cin, k, k),
/// Kaiming normal; `bias` (Cout), uniform ±1/√Cin).
#[derive(Debug, Clone)]
pub struct Conv {
    weight: Tensor,
    bias: Tensor,
    kernel: usize,
}

impl Conv {
    /// A `k`x`k` convolution (k odd) from `cin` to `cout` channels under `vb`.
    pub fn new(cin: usize, cout: usize, k: usize, vb: VarBuilder) -> Result<Conv> {
        if k.is_multiple_of(2) {
            candle_core::bail!("Conv: kernel size {k} must be odd");
        }
        let weight = vb.get_with_hints(
            (cout, cin, k, k),
            "weight",
            candle_nn::init::DEFAULT_KAIMING_NORMAL,
        )?;
        let bound = 1.0 / (cin as f64).sqrt();
        let bias = vb.get_with_hints(
            cout,
            "bias",
            candle_nn::Init::Uniform {
                lo: -bound,
                up: bound,
            },
        )?;
        Ok(Conv {
            weight,
            bias,
            kernel: k,
        })
    }

    /// conv(upsample2x(x)): one op on the CPU's direct f32 kernel (see
    /// `conv_fused.rs`), else the two steps.
    pub fn forward_up(&self, x: &Tensor) -> Result<Tensor> {
        if conv_fused::available(x, self.kernel) {
            return conv_fused::conv_up(x, &self.weight, &self.bias);
        }
        self.forward(&upsample2x(x)?)
    }

    /// conv(cat([a, b], 1)): one op on the CPU's direct f32 kernel, else the
    /// concatenation and the convolution.
    pub fn forward_cat(&self, a: &Tensor, b: &Tensor) -> Result<Tensor> {
        if conv_fused::available(a, self.kernel) && b.dtype() == a.dtype() {
            return conv_fused::conv_cat(a, b, &self.weight, &self.bias);
        }
        self.forward(&Tensor::cat(&[a, b], 1)?)
    }
}

impl Module for Conv {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        if supported(x) {
            return super::cpu::conv_op::conv_same(x, &self.weight, &self.bias, self.kernel);
        }
        // GPUs: Candle's own conv2d, whose backward is correct and fast there.
        let cout = self.weight.dims()[0];
        let y = x.conv2d(&self.weight, self.kernel / 2, 1, 1, 1)?;
        y.broadcast_add(&self.bias.reshape((1, cout, 1, 1))?)
    }
}

/// A `k`x`k` convolution with bias and "same" padding (k = 1 or 3 in the model).
pub fn conv(cin: usize, cout: usize, k: usize, vb: VarBuilder) -> Result<Conv> {
    Conv::new(cin, cout, k, vb)
}

/// The memory addressing [3–5] from cosine similarities (P, N), as one node
/// with a hand-written backward on the CPU (`cpu/memory_op.rs`); `None` on
/// other devices, where the caller builds the graph.
pub fn fused_addressing(sim: &Tensor, temperature: f64, lambda: f64) -> Result<Option<Tensor>> {
    if !supported(sim) {
        return Ok(None);
    }
    sim.apply_op1(Addressing {
        temperature,
        lambda,
    })
    .map(Some)
}

/// Indices of the largest and second-largest entry of each row of (P, N)
/// (the second is the first when N = 1).
pub fn two_nearest(sim: &Tensor) -> Result<(Vec<u32>, Vec<u32>)> {
    let n = sim.dim(1)?;
    // Read in place on the CPU: a copy to f64 rows on the calling thread was
    // 4% of a 2-thread inference.
    let pairs = match (sim.device().is_cpu(), sim.dtype()) {
        (true, DType::F32) => with_data::<f32, _>(sim, "memory read", |d| Ok(nearest_rows(d, n)))?,
        (true, DType::F64) => with_data::<f64, _>(sim, "memory read", |d| Ok(nearest_rows(d, n)))?,
        _ => nearest_rows(
            &sim.to_dtype(DType::F64)?.flatten_all()?.to_vec1::<f64>()?,
            n,
        ),
    };
    Ok(pairs.into_iter().unzip())
}

/// Tiles (T·B, C, h, w) stitched into (B, C, Σ ys lengths, Σ xs lengths) as
/// one parallel copy, for a CPU tensor that records no graph; `None`
/// otherwise (the caller concatenates). `ys` and `xs` are (offset in the
/// tile, length) per tile row and column.
pub fn stitch_copy(
    t: &Tensor,
    b: usize,
    ys: &[(usize, usize)],
    xs: &[(usize, usize)],
) -> Result<Option<Tensor>> {
    fn run<T: Real>(
        t: &Tensor,
        b: usize,
        ys: &[(usize, usize)],
        xs: &[(usize, usize)],
    ) -> Result<Option<Tensor>> {
        stitch::stitch_copy::<T>(t, b, ys, xs).map(Some)
    }
    if t.track_op() || !t.device().is_cpu() {
        return Ok(None);
    }
    match t.dtype() {
        DType::F32 => run::<f32>(t, b, ys, xs),
        DType::F64 => run::<f64>(t, b, ys, xs),
        _ => Ok(None),
    }
}
