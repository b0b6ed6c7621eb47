//! im2col and its adjoint col2im for stride-1 "same" convolutions of one image,
//! the data movement of the CPU convolution op (`conv_op.rs`).
//!
//! For a (C, H, W) image and an odd k, the columns are a (C·k·k, H·W) matrix:
//! row c·k·k + dy·k + dx holds x[c, y+dy−p, x+dx−p] (0 outside), p = k/2. Rows
//! are filled by whole-row copies of the valid span, so both directions are
//! memory-bound loops without per-element branches.

use super::kernels::Real;

/// The span of output columns x whose source x + d − p lies inside [0, w).
fn valid(w: usize, d: usize, p: usize) -> (usize, usize) {
    let lo = p.saturating_sub(d).min(w);
    let hi = (w + p).saturating_sub(d).min(w).max(lo);
    (lo, hi)
}

/// Writes the columns of `img` (C, H, W) into `out` (C·k·k, H·W); every
/// element of `out` is set.
pub(crate) fn im2col_into<T: Real>(
    img: &[T],
    (c, h, w): (usize, usize, usize),
    k: usize,
    out: &mut [T],
) {
    let p = k / 2;
    let plane = h * w;
    for ci in 0..c {
        let src = &img[ci * plane..][..plane];
        for dy in 0..k {
            for dx in 0..k {
                let row = &mut out[((ci * k + dy) * k + dx) * plane..][..plane];
                let (lo, hi) = valid(w, dx, p);
                for y in 0..h {
                    let dst = &mut row[y * w..][..w];
                    let sy = y + dy;
                    if sy < p || sy - p >= h {
                        dst.fill(T::ZERO);
                        continue;
                    }
                    let src_row = &src[(sy - p) * w..][..w];
                    dst[..lo].fill(T::ZERO);
                    dst[hi..].fill(T::ZERO);
                    if hi > lo {
                        dst[lo..hi].copy_from_slice(&src_row[lo + dx - p..hi + dx - p]);
                    }
                }
            }
        }
    }
}

/// Adds the columns `cols` (C·k·k, H·W) back onto `img` (C, H, W): the adjoint
/// of [`im2col_into`], summing overlapping taps.
pub(crate) fn col2im_add<T: Real>(
    cols: &[T],
    (c, h, w): (usize, usize, usize),
    k: usize,
    img: &mut [T],
) {
    let p = k / 2;
    let plane = h * w;
    for ci in 0..c {
        let dst = &mut img[ci * plane..][..plane];
        for dy in 0..k {
            for dx in 0..k {
                let row = &cols[((ci * k + dy) * k + dx) * plane..][..plane];
                let (lo, hi) = valid(w, dx, p);
                for y in 0..h {
                    let sy = y + dy;
                    if sy < p || sy - p >= h || hi == lo {
                        continue;
                    }
                    let dst_row = &mut dst[(sy - p) * w..][..w];
                    let src = &row[y * w + lo..y * w + hi];
                    for (d, s) in dst_row[lo + dx - p..hi + dx - p].iter_mut().zip(src) {
                        *d += *s;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The definition, element by element.
    fn naive(img: &[f64], (c, h, w): (usize, usize, usize), k: usize) -> Vec<f64> {
        let p = (k / 2) as isize;
        let mut out = vec![0.0; c * k * k * h * w];
        for ci in 0..c {
            for dy in 0..k {
                for dx in 0..k {
                    for y in 0..h {
                        for x in 0..w {
                            let sy = y as isize + dy as isize - p;
                            let sx = x as isize + dx as isize - p;
                            if sy >= 0 && sy < h as isize && sx >= 0 && sx < w as isize {
                                out[(((ci * k + dy) * k + dx) * h + y) * w + x] =
                                    img[(ci * h + sy as usize) * w + sx as usize];
                            }
                        }
                    }
                }
            }
        }
        out
    }

    #[test]
    fn im2col_matches_the_definition_and_col2im_is_its_adjoint() {
        for (dims, k) in [
            ((2, 5, 6), 3),
            ((1, 2, 1), 3),
            ((3, 4, 4), 5),
            ((1, 3, 1), 5),
            ((2, 3, 3), 1),
        ] {
            let (c, h, w) = dims;
            let img: Vec<f64> = (0..c * h * w).map(|i| (i as f64 * 0.37).sin()).collect();
            let mut cols = vec![f64::NAN; c * k * k * h * w];
            im2col_into(&img, dims, k, &mut cols);
            assert_eq!(cols, naive(&img, dims, k), "{dims:?} k={k}");
            // <im2col(x), y> == <x, col2im(y)> for any y.
            let y: Vec<f64> = (0..cols.len()).map(|i| (i as f64 * 0.11).cos()).collect();
            let mut back = vec![0.0; img.len()];
            col2im_add(&y, dims, k, &mut back);
            let lhs: f64 = cols.iter().zip(&y).map(|(a, b)| a * b).sum();
            let rhs: f64 = img.iter().zip(&back).map(|(a, b)| a * b).sum();
            assert!((lhs - rhs).abs() < 1e-9, "{dims:?} k={k}: {lhs} vs {rhs}");
        }
    }
}
