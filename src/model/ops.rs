//! Tensor operations with correct gradients, standing in for broken Candle ones.
//!
//! Candle 0.11.1 (checked against finite differences, see `src/model/tests/candle_bugs.rs`):
//! `max_pool2d` backward is scaled by 1/(k·k); `upsample_nearest2d` backward
//! overwrites instead of accumulating; `ops::softmax_last_dim` has no gradient.
//! Candle's conv2d is correct but its CPU backward goes through
//! `conv_transpose2d`, about 15x slower than the forward (measured: 0.40 s vs
//! 0.025 s for 16→16 channels, 64x64, batch 8), so on the CPU [`Conv`] is an
//! im2col custom op (with a col2im backward, see `im2col.rs`) plus a matmul.
//! The model therefore uses only the functions here plus group norm and
//! elementwise ops, all covered by the gradient-check suite.

use candle_core::{Module, Result, Tensor};
use candle_nn::{GroupNorm, VarBuilder};

/// 2x2 max pooling with stride 2 on (B, C, H, W), H and W even: a reshape to
/// (B, C, H/2, 2, W/2, 2) and two `max` reductions, whose backward is exact.
pub fn max_pool2x2(x: &Tensor) -> Result<Tensor> {
    let (b, c, h, w) = x.dims4()?;
    if h % 2 != 0 || w % 2 != 0 {
        candle_core::bail!("max_pool2x2: height and width must be even, got {h}x{w}");
    }
    x.reshape((b, c, h / 2, 2, w / 2, 2))?.max(5)?.max(3)
}

/// Nearest-neighbour 2x upsampling of (B, C, H, W): a reshape to
/// (B, C, H, 1, W, 1), a broadcast to (B, C, H, 2, W, 2) and a reshape. The
/// broadcast's backward sums the four copies, as it should.
pub fn upsample2x(x: &Tensor) -> Result<Tensor> {
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

/// (B, C, H, W) → (B·H·W, C): one row per spatial position.
pub fn to_rows(x: &Tensor) -> Result<Tensor> {
    let (b, c, h, w) = x.dims4()?;
    x.permute((0, 2, 3, 1))?
        .contiguous()?
        .reshape((b * h * w, c))
}

/// (B·H·W, C) → (B, C, H, W), the inverse of [`to_rows`].
pub fn from_rows(rows: &Tensor, b: usize, h: usize, w: usize) -> Result<Tensor> {
    let c = rows.dim(1)?;
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
    norm1: GroupNorm,
    conv2: Conv,
    norm2: GroupNorm,
}

impl ConvBlock {
    /// A block from `cin` to `cout` channels, weights under `vb`.
    pub fn new(cin: usize, cout: usize, vb: VarBuilder) -> Result<ConvBlock> {
        let g = norm_groups(cout);
        Ok(ConvBlock {
            conv1: Conv::new(cin, cout, 3, vb.pp("conv1"))?,
            norm1: candle_nn::group_norm(g, cout, 1e-5, vb.pp("norm1"))?,
            conv2: Conv::new(cout, cout, 3, vb.pp("conv2"))?,
            norm2: candle_nn::group_norm(g, cout, 1e-5, vb.pp("norm2"))?,
        })
    }
}

impl Module for ConvBlock {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let x = self.norm1.forward(&self.conv1.forward(x)?)?.relu()?;
        self.norm2.forward(&self.conv2.forward(&x)?)?.relu()
    }
}

/// A stride-1 convolution with an odd square kernel, "same" zero padding and a
/// bias, computed as im2col + matmul (see the module docs for why). Weights are
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
}

impl Module for Conv {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let (b, c, h, w) = x.dims4()?;
        let (cout, k) = (self.weight.dims()[0], self.kernel);
        let cols = if k == 1 {
            x.reshape((b, c, h * w))?
        } else if x.device().is_cpu() {
            super::im2col::im2col(x, k)?
        } else {
            // GPUs: Candle's own conv2d, whose backward is correct and fast there.
            let y = x.conv2d(&self.weight, k / 2, 1, 1, 1)?;
            return y.broadcast_add(&self.bias.reshape((1, cout, 1, 1))?);
        };
        let weight = self.weight.reshape((cout, c * k * k))?;
        weight
            .broadcast_matmul(&cols)?
            .broadcast_add(&self.bias.reshape((1, cout, 1))?)?
            .reshape((b, cout, h, w))
    }
}

/// A `k`x`k` convolution with bias and "same" padding (k = 1 or 3 in the model).
pub fn conv(cin: usize, cout: usize, k: usize, vb: VarBuilder) -> Result<Conv> {
    Conv::new(cin, cout, k, vb)
}
