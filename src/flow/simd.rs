//! Runtime dispatch to AVX2 code for the hot loops.
//!
//! The crate is built for baseline x86-64 (SSE2, 4 lanes). A kernel declared
//! with [`avx2_dispatch!`] is compiled twice, the second time inside a function
//! with AVX2 enabled (8 lanes), and the AVX2 version runs when the CPU has it.
//! The kernel body is `#[inline(always)]`, so it is inlined into the AVX2
//! function and its loops are vectorised for AVX2.

/// Whether the AVX2 versions may run (the detection result is cached by std).
#[inline]
pub(crate) fn has_avx2() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::is_x86_feature_detected!("avx2")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// Declares `fn $name(args)` that runs `$body` compiled for AVX2 when the CPU
/// supports it, and for the baseline otherwise.
macro_rules! avx2_dispatch {
    ($(#[$doc:meta])* fn $name:ident($($arg:ident : $ty:ty),* $(,)?) $body:block) => {
        $(#[$doc])*
        #[allow(clippy::too_many_arguments)]
        fn $name($($arg: $ty),*) {
            #[inline(always)]
            #[allow(clippy::too_many_arguments)]
            fn kernel($($arg: $ty),*) $body
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx2")]
                #[allow(clippy::too_many_arguments)]
                unsafe fn avx2($($arg: $ty),*) {
                    kernel($($arg),*)
                }
                if $crate::flow::simd::has_avx2() {
                    // SAFETY: the CPU supports AVX2, checked just above.
                    return unsafe { avx2($($arg),*) };
                }
            }
            kernel($($arg),*)
        }
    };
}
pub(crate) use avx2_dispatch;
