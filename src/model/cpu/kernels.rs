//! Plain-slice CPU kernels behind the model's custom ops (`conv_op`, `norm_op`,
//! `resample`): a float trait over f32/f64, access to a tensor's CPU data, and a
//! checked wrapper of the `gemm` crate (the matrix multiply Candle itself uses).
//!
//! Why custom ops at all: Candle's autograd stores every intermediate of a
//! composite op and, per node, allocates a zeroed gradient and adds into it; for
//! the many small elementwise nodes of group norm, pooling and a conv's bias
//! this dominated a training step (profile in `benches/reference/README.md`).
//! One node per layer with a hand-written backward does the same maths in two
//! passes over the data.

use std::cell::RefCell;
use std::ops::{Add, AddAssign, Div, Mul, Sub};

use candle_core::{CpuStorage, DType, Layout, Result, Storage, Tensor, WithDType};

/// f32 or f64: what the kernels compute in (conversions through `WithDType`).
pub(crate) trait Real:
    Copy
    + Send
    + Sync
    + Default
    + PartialOrd
    + 'static
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Div<Output = Self>
    + AddAssign
    + WithDType
{
    /// 0.
    const ZERO: Self;
    /// The data of a CPU storage of this type.
    fn slice(storage: &CpuStorage) -> Option<&[Self]>;
    /// Wraps a vector as a CPU storage.
    fn wrap(v: Vec<Self>) -> CpuStorage;
    /// This thread's scratch buffer of this type.
    fn scratch() -> &'static std::thread::LocalKey<RefCell<Vec<Self>>>;
    /// The slice as f32, for kernels that exist only in f32; `None` for f64.
    fn as_f32(s: &[Self]) -> Option<&[f32]>;
    /// The slice as mutable f32; `None` for f64.
    fn as_f32_mut(s: &mut [Self]) -> Option<&mut [f32]>;
}

/// Scratch buffers up to this many elements stay allocated per thread (the
/// im2col columns of the `cpu` profile need about a million); larger ones are
/// freed after use.
const KEEP_SCRATCH: usize = 1 << 24;

thread_local! {
    static SCRATCH_F32: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
    static SCRATCH_F64: RefCell<Vec<f64>> = const { RefCell::new(Vec::new()) };
}

/// Runs `f` on `len` elements of this thread's scratch buffer (contents
/// unspecified): im2col columns are rebuilt for every image, so a reused buffer
/// saves an allocation, page faults and a zero fill each time. A nested call on
/// the same thread (rayon work stealing inside gemm) gets a fresh buffer.
pub(crate) fn with_scratch<T: Real, R>(len: usize, f: impl FnOnce(&mut [T]) -> R) -> R {
    T::scratch().with(|cell| match cell.try_borrow_mut() {
        Ok(mut buf) => {
            if buf.len() < len {
                buf.resize(len, T::ZERO);
            }
            let r = f(&mut buf[..len]);
            if buf.len() > KEEP_SCRATCH {
                *buf = Vec::new();
            }
            r
        }
        Err(_) => f(&mut vec![T::ZERO; len]),
    })
}

impl Real for f32 {
    const ZERO: f32 = 0.0;
    fn slice(storage: &CpuStorage) -> Option<&[f32]> {
        match storage {
            CpuStorage::F32(v) => Some(v),
            _ => None,
        }
    }
    fn wrap(v: Vec<f32>) -> CpuStorage {
        CpuStorage::F32(v)
    }
    fn scratch() -> &'static std::thread::LocalKey<RefCell<Vec<f32>>> {
        &SCRATCH_F32
    }
    fn as_f32(s: &[f32]) -> Option<&[f32]> {
        Some(s)
    }
    fn as_f32_mut(s: &mut [f32]) -> Option<&mut [f32]> {
        Some(s)
    }
}

impl Real for f64 {
    const ZERO: f64 = 0.0;
    fn slice(storage: &CpuStorage) -> Option<&[f64]> {
        match storage {
            CpuStorage::F64(v) => Some(v),
            _ => None,
        }
    }
    fn wrap(v: Vec<f64>) -> CpuStorage {
        CpuStorage::F64(v)
    }
    fn scratch() -> &'static std::thread::LocalKey<RefCell<Vec<f64>>> {
        &SCRATCH_F64
    }
    fn as_f32(_: &[f64]) -> Option<&[f32]> {
        None
    }
    fn as_f32_mut(_: &mut [f64]) -> Option<&mut [f32]> {
        None
    }
}

#[cfg(test)]
thread_local! {
    /// Tests set this to run the Candle-graph versions of the ops on the CPU
    /// (on this thread only), to compare both paths.
    pub(crate) static FORCE_GRAPH: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Whether the custom CPU kernels handle tensors of this kind.
pub(crate) fn supported(t: &Tensor) -> bool {
    #[cfg(test)]
    if FORCE_GRAPH.with(|f| f.get()) {
        return false;
    }
    t.device().is_cpu() && matches!(t.dtype(), DType::F32 | DType::F64)
}

/// The contiguous data of a CPU storage with `layout`, as `T`.
pub(crate) fn storage_slice<'a, T: Real>(
    storage: &'a CpuStorage,
    layout: &Layout,
    name: &str,
) -> Result<&'a [T]> {
    let data = T::slice(storage)
        .ok_or_else(|| candle_core::Error::Msg(format!("{name}: unexpected dtype")))?;
    match layout.contiguous_offsets() {
        Some((start, end)) => Ok(&data[start..end]),
        None => candle_core::bail!("{name}: input must be contiguous"),
    }
}

/// Runs `f` on the data of the CPU tensor `t` (made contiguous first) as `T`.
pub(crate) fn with_data<T: Real, R>(
    t: &Tensor,
    name: &str,
    f: impl FnOnce(&[T]) -> Result<R>,
) -> Result<R> {
    let t = t.contiguous()?;
    let (storage, layout) = t.storage_and_layout();
    match &*storage {
        Storage::Cpu(cpu) => f(storage_slice::<T>(cpu, layout, name)?),
        _ => candle_core::bail!("{name}: CPU tensors only"),
    }
}

/// A row-major or transposed view of a matrix: data with row and column strides.
#[derive(Clone, Copy)]
pub(crate) struct Mat<'a, T> {
    /// The elements.
    pub data: &'a [T],
    /// Distance between rows.
    pub rs: usize,
    /// Distance between columns.
    pub cs: usize,
}

impl<'a, T> Mat<'a, T> {
    /// A row-major matrix with `cols` columns.
    pub fn rows(data: &'a [T], cols: usize) -> Self {
        Mat {
            data,
            rs: cols,
            cs: 1,
        }
    }

    /// The transpose of a row-major matrix with `cols` columns.
    pub fn transposed(data: &'a [T], cols: usize) -> Self {
        Mat {
            data,
            rs: 1,
            cs: cols,
        }
    }

    fn fits(&self, rows: usize, cols: usize) -> bool {
        rows == 0 || cols == 0 || (rows - 1) * self.rs + (cols - 1) * self.cs < self.data.len()
    }
}

/// dst (m×n, row-major) = [dst +] lhs (m×k) · rhs (k×n). `threads` > 1 lets gemm
/// split the work over the rayon pool (for a lone large product); kernels that
/// already run one product per thread pass 1.
#[allow(clippy::too_many_arguments)]
pub(crate) fn matmul<T: Real>(
    m: usize,
    n: usize,
    k: usize,
    dst: &mut [T],
    accumulate: bool,
    lhs: Mat<T>,
    rhs: Mat<T>,
    threads: usize,
) {
    assert!(dst.len() >= m * n, "matmul: destination too small");
    assert!(
        lhs.fits(m, k) && rhs.fits(k, n),
        "matmul: operand too small"
    );
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        if !accumulate {
            dst[..m * n].fill(T::ZERO);
        }
        return;
    }
    let parallelism = if threads > 1 {
        gemm::Parallelism::Rayon(threads)
    } else {
        gemm::Parallelism::None
    };
    let one = T::from_f64(1.0);
    // SAFETY: the asserts above keep every index gemm forms (row·rs + col·cs)
    // inside the slices; dst is exclusively borrowed.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            n as isize,
            accumulate,
            lhs.data.as_ptr(),
            lhs.cs as isize,
            lhs.rs as isize,
            rhs.data.as_ptr(),
            rhs.cs as isize,
            rhs.rs as isize,
            if accumulate { one } else { T::ZERO },
            one,
            false,
            false,
            false,
            parallelism,
        );
    }
}

/// A vector of `len` values written chunk by chunk in parallel by `fill`
/// (chunk index, chunk), without zeroing it first: `fill` must write every
/// element of its chunk. Saves the memset a `vec![0; len]` costs on reused heap.
pub(crate) fn par_filled<T: Real>(
    len: usize,
    chunk: usize,
    fill: impl Fn(usize, &mut [std::mem::MaybeUninit<T>]) + Sync,
) -> Vec<T> {
    use rayon::prelude::*;
    let mut v: Vec<T> = Vec::with_capacity(len);
    v.spare_capacity_mut()[..len]
        .par_chunks_mut(chunk.max(1))
        .enumerate()
        .for_each(|(i, c)| fill(i, c));
    // SAFETY: the first `len` elements were all written by `fill` (its
    // contract), so they are initialised `T`s.
    unsafe { v.set_len(len) };
    v
}

/// (Σ (x − s), Σ (x − s)²) over xs in f64, in one pass: summed in `T` lanes
/// within blocks of 1024 values, and the blocks in f64, so the totals keep
/// the precision. f32 on AVX-512 runs an explicit 16-lane loop (LLVM left the
/// generic one scalar).
pub(crate) fn shifted_sums<T: Real>(xs: &[T], s: T) -> (f64, f64) {
    #[cfg(target_arch = "x86_64")]
    if let Some(x32) = T::as_f32(xs) {
        if super::direct_conv::available() {
            // SAFETY: the CPU has AVX-512F (checked just above).
            return unsafe { shifted_sums_avx512(x32, s.to_f64() as f32) };
        }
    }
    let (mut t1, mut t2) = (0.0f64, 0.0f64);
    for block in xs.chunks(1024) {
        let (mut a1, mut a2) = ([T::ZERO; 8], [T::ZERO; 8]);
        let lanes = block.chunks_exact(8);
        for &x in lanes.remainder() {
            let d = (x - s).to_f64();
            t1 += d;
            t2 += d * d;
        }
        for l in lanes {
            for j in 0..8 {
                let d = l[j] - s;
                a1[j] += d;
                a2[j] += d * d;
            }
        }
        t1 += a1.iter().map(|v| v.to_f64()).sum::<f64>();
        t2 += a2.iter().map(|v| v.to_f64()).sum::<f64>();
    }
    (t1, t2)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn shifted_sums_avx512(xs: &[f32], s: f32) -> (f64, f64) {
    use std::arch::x86_64::*;
    let (mut t1, mut t2) = (0.0f64, 0.0f64);
    let sv = _mm512_set1_ps(s);
    for block in xs.chunks(1024) {
        let (mut a1, mut a2) = (_mm512_setzero_ps(), _mm512_setzero_ps());
        for v in block.chunks(16) {
            let mask = ((1u32 << v.len()) - 1) as u16;
            // SAFETY: the mask covers exactly v's elements.
            let x = unsafe { _mm512_maskz_loadu_ps(mask, v.as_ptr()) };
            let d = _mm512_maskz_sub_ps(mask, x, sv);
            a1 = _mm512_add_ps(a1, d);
            a2 = _mm512_fmadd_ps(d, d, a2);
        }
        t1 += _mm512_reduce_add_ps(a1) as f64;
        t2 += _mm512_reduce_add_ps(a2) as f64;
    }
    (t1, t2)
}

/// out = max(0, a·x + b), elementwise (every element of `out` written). f32 on
/// AVX-512 runs an explicit 16-lane loop (LLVM left the generic one scalar).
pub(crate) fn affine_relu<T: Real>(x: &[T], a: T, b: T, out: &mut [std::mem::MaybeUninit<T>]) {
    assert_eq!(x.len(), out.len(), "affine_relu: lengths");
    #[cfg(target_arch = "x86_64")]
    if let Some(x32) = T::as_f32(x) {
        if super::direct_conv::available() {
            let o32 = out.as_mut_ptr().cast::<f32>();
            // SAFETY: AVX-512F is present; T is f32 (as_f32 succeeded), so
            // `out` is x32.len() f32 slots.
            unsafe { affine_relu_avx512(x32, a.to_f64() as f32, b.to_f64() as f32, o32) };
            return;
        }
    }
    for (o, &v) in out.iter_mut().zip(x) {
        let t = v * a + b;
        o.write(if t > T::ZERO { t } else { T::ZERO });
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn affine_relu_avx512(x: &[f32], a: f32, b: f32, out: *mut f32) {
    use std::arch::x86_64::*;
    let (av, bv, zero) = (_mm512_set1_ps(a), _mm512_set1_ps(b), _mm512_setzero_ps());
    for (i, v) in x.chunks(16).enumerate() {
        let mask = ((1u32 << v.len()) - 1) as u16;
        // SAFETY: the mask covers exactly v's elements and their slots in out.
        unsafe {
            let t = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(mask, v.as_ptr()), av, bv);
            _mm512_mask_storeu_ps(out.add(16 * i), mask, _mm512_max_ps(t, zero));
        }
    }
}
