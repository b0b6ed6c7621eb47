//! Runtime dispatch to AVX2 code for the hot loops.
//!
//! The crate is built for baseline x86-64 (SSE2, 4 lanes). Loops wrapped in
//! [`wide`] are compiled a second time with AVX2 enabled (8 lanes) and that
//! version runs when the CPU has it. The closure is inlined into the
//! `target_feature` function, so its loops are vectorised for AVX2.

/// Runs `f`, compiled with AVX2 when the CPU supports it.
#[inline(always)]
pub(crate) fn wide<R>(f: impl FnOnce() -> R) -> R {
    #[cfg(target_arch = "x86_64")]
    {
        #[target_feature(enable = "avx2")]
        unsafe fn avx2<R>(f: impl FnOnce() -> R) -> R {
            f()
        }
        if std::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU supports AVX2, checked just above.
            return unsafe { avx2(f) };
        }
    }
    f()
}
