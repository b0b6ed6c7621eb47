//! A direct stride-1 "same" convolution of f32 images on CPUs with AVX-512:
//! the forward of `conv_op` and the input gradient of its backward.
//!
//! im2col + gemm copies every input value k·k times into a column matrix, and
//! gemm then packs that matrix once more; at the `cpu` profile's 128x192 frames
//! those copies were a fifth of inference (`benches/reference/MODEL.md`). Here
//! no column matrix exists: each image is copied once into a zero-padded
//! buffer, and a register tile of 8 output channels x up to 48 pixels of one
//! row sums over every (channel, dy, dx) tap with loads straight from the
//! padded rows. It is gemm's micro-kernel with the packing of its left operand
//! replaced by the convolution's own addressing (the layout oneDNN's direct
//! convolutions use for the same reason).

use std::mem::MaybeUninit;

use rayon::prelude::*;

use super::kernels::with_scratch;

/// Output channels per register tile.
const NR: usize = 8;
/// f32 lanes of an AVX-512 register.
const LANES: usize = 16;
/// Vectors per register tile at most: 8 x 3 accumulators of the 32 registers.
const MAX_V: usize = 3;
/// Zeros after the padded image: a tile's last vector may read up to a vector
/// past the end of the last padded row (those lanes are never stored).
const SLACK: usize = 2 * LANES;

/// Whether this CPU runs the direct kernels (AVX-512F, checked once).
pub(crate) fn available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        static AVX512: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
        *AVX512.get_or_init(|| std::is_x86_feature_detected!("avx512f"))
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// Weights regrouped for the kernel: blocks of [`NR`] output channels, each
/// laid out [c][dy][dx][NR] (zero past the last output channel), and the bias
/// per block.
pub(crate) struct Packed {
    data: Vec<f32>,
    bias: Vec<f32>,
    cout: usize,
    cin: usize,
    k: usize,
}

impl Packed {
    fn build(
        cout: usize,
        cin: usize,
        k: usize,
        tap: impl Fn(usize, usize, usize, usize) -> f32,
    ) -> Packed {
        let blocks = cout.div_ceil(NR);
        let mut data = vec![0.0; blocks * cin * k * k * NR];
        for (b, block) in data.chunks_mut(cin * k * k * NR).enumerate() {
            for (t, lanes) in block.chunks_mut(NR).enumerate() {
                let (ci, dy, dx) = (t / (k * k), t / k % k, t % k);
                for (j, v) in lanes.iter_mut().enumerate() {
                    let n = b * NR + j;
                    if n < cout {
                        *v = tap(n, ci, dy, dx);
                    }
                }
            }
        }
        Packed {
            data,
            bias: vec![0.0; blocks * NR],
            cout,
            cin,
            k,
        }
    }

    /// The forward convolution's weights `w` (Cout, C, k, k) and bias (Cout).
    pub(crate) fn forward(w: &[f32], bias: &[f32], cout: usize, cin: usize, k: usize) -> Packed {
        let mut p = Packed::build(cout, cin, k, |n, c, dy, dx| {
            w[((n * cin + c) * k + dy) * k + dx]
        });
        p.bias[..cout].copy_from_slice(bias);
        p
    }

    /// The weights whose convolution of the output gradient (Cout channels) is
    /// the input gradient (C channels): w'[c][n][dy][dx] = w[n][c][k-1-dy][k-1-dx].
    pub(crate) fn input_gradient(w: &[f32], cout: usize, cin: usize, k: usize) -> Packed {
        Packed::build(cin, cout, k, |c, n, dy, dx| {
            w[((n * cin + c) * k + (k - 1 - dy)) * k + (k - 1 - dx)]
        })
    }
}

/// One image's share of a convolution input's channels: `channels` planes of
/// `data`, nearest-upsampled 2x when `up` (so the convolution of an upsampled
/// or concatenated input never materialises that input).
#[derive(Clone, Copy)]
pub(crate) struct Part<'a> {
    /// The planes, at the input's size or, with `up`, half of it.
    pub data: &'a [f32],
    /// How many planes.
    pub channels: usize,
    /// Whether each plane is nearest-upsampled 2x.
    pub up: bool,
}

impl<'a> Part<'a> {
    /// All of `data`, as is.
    pub(crate) fn plain(data: &'a [f32], channels: usize) -> Part<'a> {
        Part {
            data,
            channels,
            up: false,
        }
    }
}

/// Copies the parts' planes, one after the other, into `out` at (H, W) with `p`
/// zeros around every plane, plus [`SLACK`] zeros at the end.
fn pad_parts(parts: &[Part], (h, w): (usize, usize), p: usize, out: &mut [f32]) {
    let (hp, wp) = (h + 2 * p, w + 2 * p);
    let c: usize = parts.iter().map(|q| q.channels).sum();
    let mut planes = out[..c * hp * wp].chunks_mut(hp * wp);
    for part in parts {
        let (sh, sw) = if part.up { (h / 2, w / 2) } else { (h, w) };
        assert_eq!(
            part.data.len(),
            part.channels * sh * sw,
            "conv input part: shape"
        );
        for src in part.data.chunks(sh * sw) {
            let plane = planes.next().expect("planes for every channel");
            plane[..p * wp].fill(0.0);
            plane[(p + h) * wp..].fill(0.0);
            for (y, row) in plane[p * wp..(p + h) * wp].chunks_mut(wp).enumerate() {
                row[..p].fill(0.0);
                row[p + w..].fill(0.0);
                let dst = &mut row[p..p + w];
                if part.up {
                    let s = &src[y / 2 * sw..][..sw];
                    for (pair, &v) in dst.chunks_exact_mut(2).zip(s) {
                        pair[0] = v;
                        pair[1] = v;
                    }
                } else {
                    dst.copy_from_slice(&src[y * w..][..w]);
                }
            }
        }
    }
    out[c * hp * wp..].fill(0.0);
}

/// The gradient of the parts' data from the gradient `dx` of the whole input
/// (C, H, W): each part's planes, summed over their 2x2 copies where `up`.
/// `outs[j]` receives part j's gradient (every element written).
pub(crate) fn split_gradient(
    dx: &[f32],
    parts: &[(usize, bool)],
    (h, w): (usize, usize),
    outs: &mut [&mut [f32]],
) {
    let mut planes = dx.chunks(h * w);
    for (&(channels, up), out) in parts.iter().zip(outs.iter_mut()) {
        let (sh, sw) = if up { (h / 2, w / 2) } else { (h, w) };
        assert_eq!(out.len(), channels * sh * sw, "split_gradient: shape");
        for o in out.chunks_mut(sh * sw) {
            let g = planes.next().expect("planes for every channel");
            if !up {
                o.copy_from_slice(g);
                continue;
            }
            for (y, orow) in o.chunks_mut(sw).enumerate() {
                let (r0, r1) = (&g[2 * y * w..][..w], &g[(2 * y + 1) * w..][..w]);
                for (x, v) in orow.iter_mut().enumerate() {
                    *v = (r0[2 * x] + r0[2 * x + 1]) + (r1[2 * x] + r1[2 * x + 1]);
                }
            }
        }
    }
}

/// y (Cout, H, W) = conv(x (C, H, W), weights) + bias for one image, x given
/// as its channel parts; every
/// element of `y` is written. `parallel` splits the output channels over the
/// rayon pool (for a batch smaller than the pool).
///
/// # Panics
/// If the slices do not fit the shapes, or the CPU lacks AVX-512 ([`available`]).
pub(crate) fn conv_image(
    x: &[Part],
    (h, w): (usize, usize),
    wts: &Packed,
    y: &mut [MaybeUninit<f32>],
    parallel: bool,
) {
    assert!(available(), "direct convolution needs AVX-512");
    let (c, k, plane) = (wts.cin, wts.k, h * w);
    let channels: usize = x.iter().map(|q| q.channels).sum();
    assert!(
        channels == c && y.len() == wts.cout * plane,
        "conv_image: shapes"
    );
    let p = k / 2;
    let padded_len = c * (h + 2 * p) * (w + 2 * p) + SLACK;
    with_scratch(padded_len, |xp: &mut [f32]| {
        pad_parts(x, (h, w), p, xp);
        let xp: &[f32] = xp;
        let taps = c * k * k * NR;
        let run = |(b, yb): (usize, &mut [MaybeUninit<f32>])| {
            let geom = Geom { c, h, w, k };
            let wb = &wts.data[b * taps..][..taps];
            let bias = &wts.bias[b * NR..][..NR];
            block(xp, geom, wb, bias, yb);
        };
        if parallel {
            y.par_chunks_mut(NR * plane).enumerate().for_each(run);
        } else {
            y.chunks_mut(NR * plane).enumerate().for_each(run);
        }
    });
}

/// [`conv_image`] into an initialised buffer (overwritten).
pub(crate) fn conv_image_into(
    x: &[Part],
    hw: (usize, usize),
    wts: &Packed,
    y: &mut [f32],
    parallel: bool,
) {
    // SAFETY: MaybeUninit<f32> has f32's layout, and conv_image only writes
    // initialised f32 values through this view.
    let y = unsafe { &mut *(y as *mut [f32] as *mut [MaybeUninit<f32>]) };
    conv_image(x, hw, wts, y, parallel);
}

#[derive(Clone, Copy)]
struct Geom {
    c: usize,
    h: usize,
    w: usize,
    k: usize,
}

/// One block of up to [`NR`] output channels (`y`: that many planes). The
/// plane is cut into row segments of up to 16 pixels, and each register tile
/// takes [`MAX_V`] consecutive segments, across row ends: narrow planes (16 or
/// 8 pixels wide in the inner levels) still fill whole tiles.
fn block(xp: &[f32], g: Geom, wb: &[f32], bias: &[f32], y: &mut [MaybeUninit<f32>]) {
    let p = g.k / 2;
    let (wp, plane_p, plane) = (g.w + 2 * p, (g.h + 2 * p) * (g.w + 2 * p), g.h * g.w);
    let nvalid = y.len() / plane;
    let per_row = g.w.div_ceil(LANES);
    let segments = g.h * per_row;
    let mut tile = Tile {
        x: xp.as_ptr(),
        plane_p,
        row_p: wp,
        c: g.c,
        k: g.k,
        w: wb.as_ptr(),
        bias: bias.as_ptr(),
        y: y.as_mut_ptr().cast::<f32>(),
        plane,
        nvalid,
        x_at: [0; MAX_V],
        y_at: [0; MAX_V],
        mask: [0; MAX_V],
    };
    let mut first = 0;
    while first < segments {
        let vectors = (segments - first).min(MAX_V);
        for v in 0..vectors {
            let (row, x0) = ((first + v) / per_row, (first + v) % per_row * LANES);
            tile.x_at[v] = row * wp + x0;
            tile.y_at[v] = row * g.w + x0;
            // Lanes past the row's end are computed but not stored.
            tile.mask[v] = ((1u32 << (g.w - x0).min(LANES)) - 1) as u16;
        }
        // SAFETY: `available()` was asserted; every read stays inside the
        // padded buffer (its SLACK covers a row's last vector), and every
        // store is inside `y`: rows < h, masked lanes < w, channels < nvalid.
        unsafe {
            match vectors {
                1 => tile_avx512::<1>(&tile),
                2 => tile_avx512::<2>(&tile),
                _ => tile_avx512::<3>(&tile),
            }
        }
        first += vectors;
    }
}

/// One register tile: the padded input and the output block, and per vector
/// where it starts in each (`x_at`: the padded row = output row and padded
/// column = output column of its first tap) and which lanes it stores.
struct Tile {
    x: *const f32,
    plane_p: usize,
    row_p: usize,
    c: usize,
    k: usize,
    w: *const f32,
    bias: *const f32,
    y: *mut f32,
    plane: usize,
    nvalid: usize,
    x_at: [usize; MAX_V],
    y_at: [usize; MAX_V],
    mask: [u16; MAX_V],
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn tile_avx512<const V: usize>(t: &Tile) {
    use std::arch::x86_64::*;
    unsafe {
        let mut acc = [[_mm512_setzero_ps(); V]; NR];
        for (n, a) in acc.iter_mut().enumerate() {
            *a = [_mm512_set1_ps(*t.bias.add(n)); V];
        }
        let mut xs = [t.x; V];
        for (v, x) in xs.iter_mut().enumerate() {
            *x = t.x.add(t.x_at[v]);
        }
        let mut w = t.w;
        for ci in 0..t.c {
            for dy in 0..t.k {
                let off = ci * t.plane_p + dy * t.row_p;
                for dx in 0..t.k {
                    let mut xv = [_mm512_setzero_ps(); V];
                    for v in 0..V {
                        xv[v] = _mm512_loadu_ps(xs[v].add(off + dx));
                    }
                    for (n, a) in acc.iter_mut().enumerate() {
                        let wv = _mm512_set1_ps(*w.add(n));
                        for v in 0..V {
                            a[v] = _mm512_fmadd_ps(xv[v], wv, a[v]);
                        }
                    }
                    w = w.add(NR);
                }
            }
        }
        for (n, a) in acc.iter().enumerate().take(t.nvalid) {
            let yn = t.y.add(n * t.plane);
            for (v, &val) in a.iter().enumerate() {
                _mm512_mask_storeu_ps(yn.add(t.y_at[v]), t.mask[v], val);
            }
        }
    }
}

/// dw (Cout, C, 3, 3) += the weight gradient of one image: Σ over pixels of
/// g (Cout, H, W) times the input x (C, H, W, given as its parts) shifted by
/// each tap. The direct
/// form of dW = g·colsᵀ: pixels run along the vector lanes, and each (pair of
/// output channels, input channel) keeps its 2 x 9 tap sums in registers over
/// the whole plane.
///
/// # Panics
/// If the slices do not fit the shapes, or the CPU lacks AVX-512 ([`available`]).
pub(crate) fn weight_gradient(
    x: &[Part],
    g: &[f32],
    (h, w): (usize, usize),
    cout: usize,
    dw: &mut [f32],
) {
    assert!(available(), "direct convolution needs AVX-512");
    let (k, p, plane) = (3, 1, h * w);
    let c: usize = x.iter().map(|q| q.channels).sum();
    assert!(
        g.len() == cout * plane && dw.len() == cout * c * k * k,
        "weight_gradient: shapes"
    );
    let (wp, plane_p) = (w + 2 * p, (h + 2 * p) * (w + 2 * p));
    with_scratch(c * plane_p + SLACK, |xp: &mut [f32]| {
        pad_parts(x, (h, w), p, xp);
        let mut n = 0;
        while n < cout {
            let pair = (cout - n).min(2);
            for ci in 0..c {
                let t = DwTile {
                    x: xp[ci * plane_p..].as_ptr(),
                    row_p: wp,
                    g: g[n * plane..].as_ptr(),
                    plane,
                    h,
                    w,
                    dw: dw[(n * c + ci) * k * k..].as_mut_ptr(),
                    dw_stride: c * k * k,
                };
                // SAFETY: `available()` was asserted; reads stay in the padded
                // buffer (SLACK covers a row's last vector) and, masked, inside
                // g's planes n..n+pair; writes are dw[n+j][ci][..9], j < pair.
                unsafe {
                    if pair == 2 {
                        dw_tile_avx512::<2>(&t)
                    } else {
                        dw_tile_avx512::<1>(&t)
                    }
                }
            }
            n += pair;
        }
    });
}

/// One weight-gradient tile: the padded input channel, the first of its output
/// channels' gradient planes, and where its 3x3 taps accumulate.
struct DwTile {
    x: *const f32,
    row_p: usize,
    g: *const f32,
    plane: usize,
    h: usize,
    w: usize,
    dw: *mut f32,
    dw_stride: usize,
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn dw_tile_avx512<const N: usize>(t: &DwTile) {
    use std::arch::x86_64::*;
    unsafe {
        let mut acc = [[_mm512_setzero_ps(); 9]; N];
        // Two rows per pass: their taps share the padded rows in between, so
        // 4 gradient and 12 input loads feed 36 FMAs (one row: 2 + 9 for 18).
        let mut y = 0;
        while y < t.h {
            let rows = (t.h - y).min(2);
            let mut x0 = 0;
            while x0 < t.w {
                let rem = t.w - x0;
                // Lanes past the row's end read zero gradients, so they add nothing.
                let mask = if rem >= LANES {
                    u16::MAX
                } else {
                    ((1u32 << rem) - 1) as u16
                };
                let mut g0 = [_mm512_setzero_ps(); N];
                let mut g1 = [_mm512_setzero_ps(); N];
                for j in 0..N {
                    let gp = t.g.add(j * t.plane + y * t.w + x0);
                    g0[j] = _mm512_maskz_loadu_ps(mask, gp);
                    if rows == 2 {
                        g1[j] = _mm512_maskz_loadu_ps(mask, gp.add(t.w));
                    }
                }
                for dy in 0..3 {
                    let r0 = t.x.add((y + dy) * t.row_p + x0);
                    for dx in 0..3 {
                        let x0v = _mm512_loadu_ps(r0.add(dx));
                        for j in 0..N {
                            acc[j][dy * 3 + dx] = _mm512_fmadd_ps(g0[j], x0v, acc[j][dy * 3 + dx]);
                        }
                        if rows == 2 {
                            let x1v = _mm512_loadu_ps(r0.add(t.row_p + dx));
                            for j in 0..N {
                                acc[j][dy * 3 + dx] =
                                    _mm512_fmadd_ps(g1[j], x1v, acc[j][dy * 3 + dx]);
                            }
                        }
                    }
                }
                x0 += LANES;
            }
            y += rows;
        }
        for (j, a) in acc.iter().enumerate() {
            let out = t.dw.add(j * t.dw_stride);
            for (tap, &v) in a.iter().enumerate() {
                *out.add(tap) += _mm512_reduce_add_ps(v);
            }
        }
    }
}

#[cfg(not(target_arch = "x86_64"))]
unsafe fn dw_tile_avx512<const N: usize>(_: &DwTile) {
    unreachable!("weight_gradient asserts available()")
}

#[cfg(not(target_arch = "x86_64"))]
unsafe fn tile_avx512<const V: usize>(_: &Tile) {
    unreachable!("conv_image asserts available()")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::cpu::im2col::im2col_into;

    /// conv by definition, in f64.
    fn reference(
        x: &[f32],
        w: &[f32],
        b: &[f32],
        (c, h, wd): (usize, usize, usize),
        cout: usize,
        k: usize,
    ) -> Vec<f64> {
        let p = k as isize / 2;
        let mut y = vec![0.0; cout * h * wd];
        for n in 0..cout {
            for yy in 0..h {
                for xx in 0..wd {
                    let mut s = b[n] as f64;
                    for ci in 0..c {
                        for dy in 0..k {
                            for dx in 0..k {
                                let (sy, sx) =
                                    (yy as isize + dy as isize - p, xx as isize + dx as isize - p);
                                if sy < 0 || sx < 0 || sy >= h as isize || sx >= wd as isize {
                                    continue;
                                }
                                let xv = x[(ci * h + sy as usize) * wd + sx as usize] as f64;
                                s += xv * w[((n * c + ci) * k + dy) * k + dx] as f64;
                            }
                        }
                    }
                    y[(n * h + yy) * wd + xx] = s;
                }
            }
        }
        y
    }

    fn noise(len: usize, seed: u64) -> Vec<f32> {
        let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        (0..len)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                (s >> 40) as f32 / (1u64 << 24) as f32 - 0.5
            })
            .collect()
    }

    #[test]
    fn direct_convolution_equals_the_definition() {
        if !available() {
            eprintln!("skipped: this CPU has no AVX-512, the im2col path runs instead");
            return;
        }
        // Widths cover one partial vector, whole tiles, and a tile plus a tail;
        // channel counts below, at and past one block.
        for (i, &(c, cout, h, w, k)) in [
            (1, 1, 1, 1, 3),
            (3, 5, 4, 7, 3),
            (4, 16, 6, 24, 3),
            (2, 8, 3, 64, 3),
            (5, 12, 5, 50, 5),
            (16, 9, 2, 97, 1),
        ]
        .iter()
        .enumerate()
        {
            let x = noise(c * h * w, 3 * i as u64 + 1);
            let wt = noise(cout * c * k * k, 3 * i as u64 + 2);
            let b = noise(cout, 3 * i as u64 + 3);
            let want = reference(&x, &wt, &b, (c, h, w), cout, k);
            for parallel in [false, true] {
                let mut y = vec![f32::NAN; cout * h * w];
                conv_image_into(
                    &[Part::plain(&x, c)],
                    (h, w),
                    &Packed::forward(&wt, &b, cout, c, k),
                    &mut y,
                    parallel,
                );
                for (j, (&got, &want)) in y.iter().zip(&want).enumerate() {
                    assert!(
                        (got as f64 - want).abs() < 1e-4,
                        "case {i} element {j}: {got} vs {want}"
                    );
                }
            }
        }
    }

    #[test]
    fn weight_gradient_equals_the_column_product() {
        if !available() {
            eprintln!("skipped: this CPU has no AVX-512, the im2col path runs instead");
            return;
        }
        // dW = g·colsᵀ by definition; widths with and without a partial vector,
        // odd and even output channel counts; accumulates onto what dw holds.
        for (i, &(c, cout, h, w)) in [(1, 1, 1, 1), (3, 5, 4, 21), (2, 4, 3, 32), (4, 3, 6, 40)]
            .iter()
            .enumerate()
        {
            let x = noise(c * h * w, 20 + i as u64);
            let g = noise(cout * h * w, 30 + i as u64);
            let start = noise(cout * c * 9, 40 + i as u64);
            let mut cols = vec![0.0; c * 9 * h * w];
            im2col_into(&x, (c, h, w), 3, &mut cols);
            let mut dw = start.clone();
            weight_gradient(&[Part::plain(&x, c)], &g, (h, w), cout, &mut dw);
            for n in 0..cout {
                for (t, col) in cols.chunks(h * w).enumerate() {
                    let want: f64 = start[n * c * 9 + t] as f64
                        + col
                            .iter()
                            .zip(&g[n * h * w..][..h * w])
                            .map(|(&a, &b)| a as f64 * b as f64)
                            .sum::<f64>();
                    let got = dw[n * c * 9 + t] as f64;
                    assert!(
                        (got - want).abs() < 1e-4,
                        "case {i} n {n} tap {t}: {got} vs {want}"
                    );
                }
            }
        }
    }

    #[test]
    fn input_gradient_weights_give_the_adjoint() {
        if !available() {
            eprintln!("skipped: this CPU has no AVX-512, the im2col path runs instead");
            return;
        }
        // <conv(x), g> = <x, conv'(g)> for the adjoint conv' = the transposed
        // weights; checked against the im2col columns: Σ g·(W·cols) = Σ x·dx.
        let (c, cout, h, w, k) = (3, 10, 5, 21, 3);
        let x = noise(c * h * w, 11);
        let wt = noise(cout * c * k * k, 12);
        let g = noise(cout * h * w, 13);
        let mut dx = vec![f32::NAN; c * h * w];
        conv_image_into(
            &[Part::plain(&g, cout)],
            (h, w),
            &Packed::input_gradient(&wt, cout, c, k),
            &mut dx,
            false,
        );
        let mut cols = vec![0.0; c * k * k * h * w];
        im2col_into(&x, (c, h, w), k, &mut cols);
        let mut lhs = 0.0f64;
        for n in 0..cout {
            for (t, col) in cols.chunks(h * w).enumerate() {
                let wv = wt[n * c * k * k + t] as f64;
                for (px, &cv) in col.iter().enumerate() {
                    lhs += g[n * h * w + px] as f64 * wv * cv as f64;
                }
            }
        }
        let rhs: f64 = x.iter().zip(&dx).map(|(&a, &b)| a as f64 * b as f64).sum();
        assert!(
            (lhs - rhs).abs() < 1e-4 * lhs.abs().max(1.0),
            "{lhs} vs {rhs}"
        );
    }
}
