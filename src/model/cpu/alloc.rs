//! Memory reuse for the CPU model.
//!
//! Candle gives every intermediate tensor a fresh buffer. glibc serves buffers
//! above its mmap threshold (128 KiB to start) with `mmap` and returns them on
//! free, so each forward pass page-faults and zeroes every activation again:
//! 8–12% of a 1-thread inference profile (`clear_page_erms`, page faults). Raising
//! the mmap and trim thresholds keeps freed buffers in the heap for reuse.

/// Tunes the C allocator for the model's allocation pattern (glibc on Linux;
/// elsewhere a no-op). Call once, early in `main`.
pub fn tune_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets allocator parameters; it is called before the
    // program's threads start and takes plain integers.
    unsafe {
        // The largest threshold glibc accepts on 64-bit targets: buffers up to
        // 32 MiB come from the heap and are reused.
        libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
        // Keep up to 512 MiB of freed heap instead of returning it at once.
        libc::mallopt(libc::M_TRIM_THRESHOLD, 512 << 20);
        libc::mallopt(libc::M_TOP_PAD, 64 << 20);
    }
}
