//! The tile stitch of [`crate::model::tiles::Tiling::stitch`] as one parallel
//! copy, for tensors that record no graph.

use candle_core::{Result, Tensor};
use rayon::prelude::*;

use super::kernels::{with_data, Real};

/// [`crate::model::tiles::Tiling::stitch`] as one copy per output plane, in parallel.
pub(crate) fn stitch_copy<T: Real>(
    t: &Tensor,
    b: usize,
    ys: &[(usize, usize)],
    xs: &[(usize, usize)],
) -> Result<Tensor> {
    let (_, c, h, w) = t.dims4()?;
    let oh: usize = ys.iter().map(|y| y.1).sum();
    let ow: usize = xs.iter().map(|x| x.1).sum();
    with_data::<T, _>(t, "stitch", |src| {
        let mut out = vec![T::default(); b * c * oh * ow];
        out.par_chunks_mut((oh * ow).max(1))
            .enumerate()
            .for_each(|(plane, o)| {
                let (bi, ci) = (plane / c, plane % c);
                let mut oy = 0;
                for (r, &(ty, ly)) in ys.iter().enumerate() {
                    for yy in 0..ly {
                        let mut ox = 0;
                        for (col, &(tx, lx)) in xs.iter().enumerate() {
                            let k = r * xs.len() + col;
                            let from = (((k * b + bi) * c + ci) * h + ty + yy) * w + tx;
                            o[(oy + yy) * ow + ox..][..lx].copy_from_slice(&src[from..][..lx]);
                            ox += lx;
                        }
                    }
                    oy += ly;
                }
            });
        Tensor::from_vec(out, (b, c, oh, ow), t.device())
    })
}
