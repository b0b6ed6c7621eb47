//! im2col for stride-1 "same" convolutions on the CPU, as a Candle custom op
//! with a hand-written backward (col2im).
//!
//! Why: Candle's CPU conv2d backward goes through `conv_transpose2d`, about 15x
//! slower than the forward, and an im2col built from pad/narrow/stack spends
//! its backward in zero-filled copies. This op maps (B, C, H, W) to
//! (B, C·k·k, H·W), column c·k·k + dy·k + dx holding x[c, y+dy−p, x+dx−p]
//! (0 outside), and its backward scatters the gradient back. Both are checked
//! against finite differences in the test suite.

use candle_core::{CpuStorage, CustomOp1, Layout, Result, Shape, Tensor};
use rayon::prelude::*;

/// The forward op: (B, C, H, W) → (B, C·k·k, H·W).
struct Im2Col {
    k: usize,
}

/// Its adjoint: (B, C·k·k, H·W) → (B, C, H, W), summing overlapping taps.
struct Col2Im {
    k: usize,
    h: usize,
    w: usize,
}

/// Applies im2col with a `k`x`k` kernel (k odd) and padding k/2 to a CPU tensor.
pub fn im2col(x: &Tensor, k: usize) -> Result<Tensor> {
    x.contiguous()?.apply_op1(Im2Col { k })
}

fn contiguous<'a, T>(data: &'a [T], layout: &Layout, name: &str) -> Result<&'a [T]> {
    match layout.contiguous_offsets() {
        Some((start, end)) => Ok(&data[start..end]),
        None => candle_core::bail!("{name}: input must be contiguous"),
    }
}

fn im2col_slice<T: Copy + Default + Send + Sync>(
    src: &[T],
    dims: (usize, usize, usize, usize),
    k: usize,
) -> Vec<T> {
    let (_, _, h, w) = dims;
    let p = (k / 2) as isize;
    let plane = h * w;
    let mut out = vec![T::default(); src.len() * k * k];
    // One output block of k·k·H·W per (batch, channel) input plane.
    out.par_chunks_mut(k * k * plane)
        .zip(src.par_chunks(plane))
        .for_each(|(dst, img)| {
            for dy in 0..k {
                for dx in 0..k {
                    let row = &mut dst[(dy * k + dx) * plane..][..plane];
                    for y in 0..h {
                        let sy = y as isize + dy as isize - p;
                        if sy < 0 || sy >= h as isize {
                            continue;
                        }
                        let src_row = &img[sy as usize * w..][..w];
                        for x in 0..w {
                            let sx = x as isize + dx as isize - p;
                            if sx >= 0 && sx < w as isize {
                                row[y * w + x] = src_row[sx as usize];
                            }
                        }
                    }
                }
            }
        });
    out
}

fn col2im_slice<T>(cols: &[T], h: usize, w: usize, k: usize) -> Vec<T>
where
    T: Copy + Default + Send + Sync + std::ops::AddAssign,
{
    let p = (k / 2) as isize;
    let plane = h * w;
    let mut out = vec![T::default(); cols.len() / (k * k)];
    out.par_chunks_mut(plane)
        .zip(cols.par_chunks(k * k * plane))
        .for_each(|(img, src)| {
            for dy in 0..k {
                for dx in 0..k {
                    let row = &src[(dy * k + dx) * plane..][..plane];
                    for y in 0..h {
                        let sy = y as isize + dy as isize - p;
                        if sy < 0 || sy >= h as isize {
                            continue;
                        }
                        let dst_row = &mut img[sy as usize * w..][..w];
                        for x in 0..w {
                            let sx = x as isize + dx as isize - p;
                            if sx >= 0 && sx < w as isize {
                                dst_row[sx as usize] += row[y * w + x];
                            }
                        }
                    }
                }
            }
        });
    out
}

impl CustomOp1 for Im2Col {
    fn name(&self) -> &'static str {
        "im2col-same"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> Result<(CpuStorage, Shape)> {
        let dims = layout.shape().dims4()?;
        let (b, c, h, w) = dims;
        let shape = Shape::from((b, c * self.k * self.k, h * w));
        let out = match storage {
            CpuStorage::F32(v) => {
                CpuStorage::F32(im2col_slice(contiguous(v, layout, "im2col")?, dims, self.k))
            }
            CpuStorage::F64(v) => {
                CpuStorage::F64(im2col_slice(contiguous(v, layout, "im2col")?, dims, self.k))
            }
            _ => candle_core::bail!("im2col: only f32 and f64 are supported"),
        };
        Ok((out, shape))
    }

    fn bwd(&self, arg: &Tensor, _res: &Tensor, grad: &Tensor) -> Result<Option<Tensor>> {
        let (_, _, h, w) = arg.dims4()?;
        let op = Col2Im { k: self.k, h, w };
        Ok(Some(grad.contiguous()?.apply_op1_no_bwd(&op)?))
    }
}

impl CustomOp1 for Col2Im {
    fn name(&self) -> &'static str {
        "col2im-same"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> Result<(CpuStorage, Shape)> {
        let (b, ckk, _) = layout.shape().dims3()?;
        let c = ckk / (self.k * self.k);
        let shape = Shape::from((b, c, self.h, self.w));
        let (h, w, k) = (self.h, self.w, self.k);
        let out = match storage {
            CpuStorage::F32(v) => {
                CpuStorage::F32(col2im_slice(contiguous(v, layout, "col2im")?, h, w, k))
            }
            CpuStorage::F64(v) => {
                CpuStorage::F64(col2im_slice(contiguous(v, layout, "col2im")?, h, w, k))
            }
            _ => candle_core::bail!("col2im: only f32 and f64 are supported"),
        };
        Ok((out, shape))
    }
}
