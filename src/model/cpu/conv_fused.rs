//! Convolutions of a 2x-upsampled input and of a channel concatenation, each as
//! one Candle custom op on the direct f32 kernel (`direct_conv.rs`): the
//! decoders' `conv(upsample(d))` and `conv(cat(d, skip))`.
//!
//! Unfused, each step writes a full-size tensor (4x the upsampled one's input,
//! or both parts copied side by side) that the convolution then copies once
//! more into its padded buffer, and in training Candle adds a zeroed gradient
//! of that size on top; those copies were a seventh of inference at 128x192.
//! Here the padded buffer is filled from the parts directly, and the backward
//! splits the input gradient back into them (summing the 2x2 copies of an
//! upsampled one). Where the direct kernel does not run (f64, GPUs, CPUs
//! without AVX-512) the callers in `ops` use the unfused graph.

use candle_core::{CpuStorage, CustomOp3, DType, Layout, Result, Shape, Tensor};
use rayon::prelude::*;

use super::direct_conv::{
    self, conv_image, conv_image_into, split_gradient, weight_gradient, Packed, Part,
};
use super::kernels::{par_filled, storage_slice, supported, with_data};

/// Whether the fused ops handle a convolution of kernel `k` on `x`.
pub(crate) fn available(x: &Tensor, k: usize) -> bool {
    k == 3 && supported(x) && x.dtype() == DType::F32 && direct_conv::available()
}

/// conv(upsample2x(x)) with `weight` (Cout, C, 3, 3) and `bias` (Cout).
pub(crate) fn conv_up(x: &Tensor, weight: &Tensor, bias: &Tensor) -> Result<Tensor> {
    x.contiguous()?
        .apply_op3(&weight.contiguous()?, &bias.contiguous()?, ConvUp)
}

/// conv(cat([a, b], 1)) with `weight` (Cout, Ca + Cb, 3, 3) and `bias` (Cout).
/// Weight and bias travel as one flat tensor (a custom op has three inputs);
/// that small concatenation is an ordinary Candle node.
pub(crate) fn conv_cat(a: &Tensor, b: &Tensor, weight: &Tensor, bias: &Tensor) -> Result<Tensor> {
    let cout = weight.dim(0)?;
    let wb = Tensor::cat(&[&weight.flatten_all()?, bias], 0)?;
    a.contiguous()?
        .apply_op3(&b.contiguous()?, &wb, ConvCat { cout })
}

/// The input parts of a fused call: (channels, upsampled) each, the output
/// planes' size and the batch.
struct Geom {
    parts: Vec<(usize, bool)>,
    b: usize,
    h: usize,
    w: usize,
    cout: usize,
}

impl Geom {
    fn cin(&self) -> usize {
        self.parts.iter().map(|p| p.0).sum()
    }
    fn part_len(&self, j: usize) -> usize {
        let (c, up) = self.parts[j];
        c * self.h * self.w / if up { 4 } else { 1 }
    }
    /// Image i's parts, from each input's data.
    fn image<'a>(&self, inputs: &[&'a [f32]], i: usize) -> Vec<Part<'a>> {
        let mut parts = Vec::with_capacity(self.parts.len());
        for (j, (&(channels, up), data)) in self.parts.iter().zip(inputs).enumerate() {
            let len = self.part_len(j);
            parts.push(Part {
                data: &data[i * len..][..len],
                channels,
                up,
            });
        }
        parts
    }
    fn parallel(&self) -> bool {
        self.b < rayon::current_num_threads()
    }
}

fn forward(inputs: &[&[f32]], weight: &[f32], bias: &[f32], g: &Geom) -> Vec<f32> {
    let packed = Packed::forward(weight, bias, g.cout, g.cin(), 3);
    let out = g.cout * g.h * g.w;
    par_filled(g.b * out, out, |i, yi| {
        conv_image(&g.image(inputs, i), (g.h, g.w), &packed, yi, g.parallel())
    })
}

/// (one gradient per input, dweight, dbias).
fn backward(
    inputs: &[&[f32]],
    weight: &[f32],
    gy: &[f32],
    g: &Geom,
) -> (Vec<Vec<f32>>, Vec<f32>, Vec<f32>) {
    let (cin, hw) = (g.cin(), g.h * g.w);
    let packed = Packed::input_gradient(weight, g.cout, cin, 3);
    let mut grads: Vec<Vec<f32>> = (0..g.parts.len())
        .map(|j| vec![0.0; g.b * g.part_len(j)])
        .collect();
    let mut per_image: Vec<Vec<&mut [f32]>> = (0..g.b).map(|_| Vec::new()).collect();
    for (j, d) in grads.iter_mut().enumerate() {
        for (slot, chunk) in per_image.iter_mut().zip(d.chunks_mut(g.part_len(j))) {
            slot.push(chunk);
        }
    }
    let partials: Vec<(Vec<f32>, Vec<f32>)> = per_image
        .into_par_iter()
        .zip(gy.par_chunks(g.cout * hw))
        .enumerate()
        .fold(
            // Per worker: dW and db partial sums, and the whole input's gradient
            // of one image (the kernels' own scratch is the padded buffer).
            || {
                (
                    vec![0.0f32; g.cout * cin * 9],
                    vec![0.0f32; g.cout],
                    vec![0.0f32; cin * hw],
                )
            },
            |(mut dw, mut db, mut dx), (i, (mut outs, gi))| {
                for (d, row) in db.iter_mut().zip(gi.chunks(hw)) {
                    *d += row.iter().map(|&v| v as f64).sum::<f64>() as f32;
                }
                conv_image_into(
                    &[Part::plain(gi, g.cout)],
                    (g.h, g.w),
                    &packed,
                    &mut dx,
                    g.parallel(),
                );
                split_gradient(&dx, &g.parts, (g.h, g.w), &mut outs);
                weight_gradient(&g.image(inputs, i), gi, (g.h, g.w), g.cout, &mut dw);
                (dw, db, dx)
            },
        )
        .map(|(dw, db, _)| (dw, db))
        .collect();
    let mut dw = vec![0.0f32; g.cout * cin * 9];
    let mut db = vec![0.0f32; g.cout];
    for (pw, pb) in partials {
        dw.iter_mut().zip(pw).for_each(|(a, b)| *a += b);
        db.iter_mut().zip(pb).for_each(|(a, b)| *a += b);
    }
    (grads, dw, db)
}

fn f32_data<'a>(s: &'a CpuStorage, l: &Layout, name: &str) -> Result<&'a [f32]> {
    storage_slice::<f32>(s, l, name)
}

/// conv(upsample2x(x), weight) + bias: inputs (x, weight, bias).
struct ConvUp;

impl ConvUp {
    fn geom(&self, x: &Shape, w: &Shape) -> Result<Geom> {
        let (b, c, h, wd) = x.dims4()?;
        let (cout, cw, kh, kw) = w.dims4()?;
        if cw != c || kh != 3 || kw != 3 {
            candle_core::bail!(
                "conv_up: input {x:?} and weight {w:?} do not fit a 3x3 convolution"
            );
        }
        Ok(Geom {
            parts: vec![(c, true)],
            b,
            h: 2 * h,
            w: 2 * wd,
            cout,
        })
    }
}

impl CustomOp3 for ConvUp {
    fn name(&self) -> &'static str {
        "conv-upsampled"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
        s3: &CpuStorage,
        l3: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let g = self.geom(l1.shape(), l2.shape())?;
        let (x, w, b) = (
            f32_data(s1, l1, "conv_up")?,
            f32_data(s2, l2, "conv_up")?,
            f32_data(s3, l3, "conv_up")?,
        );
        let y = forward(&[x], w, b, &g);
        Ok((CpuStorage::F32(y), Shape::from((g.b, g.cout, g.h, g.w))))
    }

    fn bwd(
        &self,
        x: &Tensor,
        w: &Tensor,
        b: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let g = self.geom(x.shape(), w.shape())?;
        let name = "conv_up backward";
        let (mut dx, dw, db) = with_data::<f32, _>(x, name, |xv| {
            with_data::<f32, _>(w, name, |wv| {
                with_data::<f32, _>(grad, name, |gv| Ok(backward(&[xv], wv, gv, &g)))
            })
        })?;
        let dev = x.device();
        Ok((
            Some(Tensor::from_vec(dx.remove(0), x.shape(), dev)?),
            Some(Tensor::from_vec(dw, w.shape(), dev)?),
            Some(Tensor::from_vec(db, b.shape(), dev)?),
        ))
    }
}

/// conv(cat([a, b], 1), weight) + bias: inputs (a, b, [weight.flatten(), bias]).
struct ConvCat {
    cout: usize,
}

impl ConvCat {
    fn geom(&self, a: &Shape, b: &Shape, wb: &Shape) -> Result<Geom> {
        let (n, ca, h, w) = a.dims4()?;
        let (nb, cb, hb, wdb) = b.dims4()?;
        let expected = self.cout * (ca + cb) * 9 + self.cout;
        if (n, h, w) != (nb, hb, wdb) || wb.dims() != [expected] {
            candle_core::bail!("conv_cat: inputs {a:?} and {b:?} with {wb:?} weights do not fit");
        }
        Ok(Geom {
            parts: vec![(ca, false), (cb, false)],
            b: n,
            h,
            w,
            cout: self.cout,
        })
    }
}

impl CustomOp3 for ConvCat {
    fn name(&self) -> &'static str {
        "conv-concatenated"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
        s3: &CpuStorage,
        l3: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let g = self.geom(l1.shape(), l2.shape(), l3.shape())?;
        let (a, b, wb) = (
            f32_data(s1, l1, "conv_cat")?,
            f32_data(s2, l2, "conv_cat")?,
            f32_data(s3, l3, "conv_cat")?,
        );
        let (w, bias) = wb.split_at(wb.len() - g.cout);
        let y = forward(&[a, b], w, bias, &g);
        Ok((CpuStorage::F32(y), Shape::from((g.b, g.cout, g.h, g.w))))
    }

    fn bwd(
        &self,
        a: &Tensor,
        b: &Tensor,
        wb: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let g = self.geom(a.shape(), b.shape(), wb.shape())?;
        let name = "conv_cat backward";
        let (mut ds, mut dw, db) = with_data::<f32, _>(a, name, |av| {
            with_data::<f32, _>(b, name, |bv| {
                with_data::<f32, _>(wb, name, |wv| {
                    with_data::<f32, _>(grad, name, |gv| {
                        Ok(backward(&[av, bv], &wv[..wv.len() - g.cout], gv, &g))
                    })
                })
            })
        })?;
        dw.extend_from_slice(&db);
        let dev = a.device();
        let db_part = ds.pop().expect("two parts");
        let da_part = ds.pop().expect("two parts");
        Ok((
            Some(Tensor::from_vec(da_part, a.shape(), dev)?),
            Some(Tensor::from_vec(db_part, b.shape(), dev)?),
            Some(Tensor::from_vec(dw, wb.shape(), dev)?),
        ))
    }
}
