//! A chain of row stages run as one parallel loop (a wavefront).
//!
//! The refinement of a level is some thirty passes over its rows (warping,
//! derivatives, coefficients, ten SOR half-sweeps per fixed-point iteration...),
//! each reading rows at most one away from the rows it writes. As separate
//! parallel loops, every pass ends in a fork-join, and at two threads those
//! joins cost about a third of a pair's time. Here the rows are cut into blocks
//! and all stages run in one fork: a worker claims `(stage, block)` items in
//! stage-major order and starts one once the previous stage is done on the
//! block and both its neighbours. That is the only waiting there is, and it is
//! always on an item claimed earlier, so a worker never waits on one that no
//! worker holds: the loop completes whether one thread takes part or all of
//! them, and gives the same results as running the stages one after another.
//!
//! **Contract of a stage** (what makes [`Shared`]'s unchecked access sound): a
//! stage writes only rows of its own block, and reads rows written by earlier
//! stages at most one row outside its block (blocks are at least one row tall).

use std::marker::PhantomData;
use std::ops::Range;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// Pixels per block: small enough that a 128-pixel-wide level has eight
/// blocks to pipeline, large enough that claiming an item costs little next
/// to its work.
const PIXELS_PER_BLOCK: usize = 2048;

/// Rows per block for rows of `w` pixels.
pub(crate) fn block_rows(w: usize) -> usize {
    (PIXELS_PER_BLOCK / w.max(1)).max(1)
}

/// One counter on its own cache line, so that workers polling one block's
/// progress do not slow the writers of its neighbours'.
#[repr(align(128))]
struct Padded(AtomicUsize);

/// Runs `stage(s, rows)` for every stage `s < stages` and every block of
/// `block` rows of `0..rows`, with the guarantee of the module doc: when
/// `stage(s, b)` starts, stage `s - 1` has finished on blocks `b - 1 ..= b + 1`
/// (and so, by induction, stage `s - k` on blocks `b - k ..= b + k`).
pub(crate) fn run(
    rows: usize,
    block: usize,
    stages: usize,
    stage: &(dyn Fn(usize, Range<usize>) + Sync),
) {
    let block = block.max(1);
    let blocks = rows.div_ceil(block);
    let range = |b: usize| b * block..((b + 1) * block).min(rows);
    let threads = rayon::current_num_threads().min(blocks);
    if threads <= 1 {
        for s in 0..stages {
            for b in 0..blocks {
                stage(s, range(b));
            }
        }
        return;
    }
    let next = AtomicUsize::new(0);
    let done: Vec<Padded> = (0..blocks).map(|_| Padded(AtomicUsize::new(0))).collect();
    let failed = AtomicBool::new(false);
    let total = stages * blocks;
    let worker = || {
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            if i >= total {
                return;
            }
            let (s, b) = (i / blocks, i % blocks);
            for neighbour in &done[b.saturating_sub(1)..=(b + 1).min(blocks - 1)] {
                let mut spins = 0u32;
                while neighbour.0.load(Ordering::Acquire) < s {
                    if failed.load(Ordering::Relaxed) {
                        return;
                    }
                    spins += 1;
                    if spins < 64 {
                        std::hint::spin_loop();
                    } else {
                        std::thread::yield_now();
                    }
                }
            }
            // A stage that panics must not leave the other workers waiting
            // for its block forever: they see the flag and stop, and the
            // scope re-raises the panic.
            let guard = FailOnUnwind(&failed);
            stage(s, range(b));
            std::mem::forget(guard);
            done[b].0.store(s + 1, Ordering::Release);
        }
    };
    rayon::scope(|scope| {
        for _ in 1..threads {
            scope.spawn(|_| worker());
        }
        worker();
    });
}

/// Sets the flag when dropped, which happens only while unwinding.
struct FailOnUnwind<'a>(&'a AtomicBool);

impl Drop for FailOnUnwind<'_> {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// A buffer the stages of one [`run`] share: row slices handed out without
/// borrow checking, which the stage contract keeps apart (writes in the own
/// block; reads of other blocks only after their writer's stage finished).
pub(crate) struct Shared<'a> {
    ptr: *mut f32,
    len: usize,
    _buf: PhantomData<&'a mut [f32]>,
}

// SAFETY: access goes through `slice`/`slice_mut`, whose callers uphold the
// stage contract; the wavefront's acquire/release counters order the accesses
// of different threads.
unsafe impl Send for Shared<'_> {}
unsafe impl Sync for Shared<'_> {}

impl<'a> Shared<'a> {
    /// Shares `buf` for the duration of a run.
    pub fn new(buf: &'a mut [f32]) -> Self {
        Shared {
            ptr: buf.as_mut_ptr(),
            len: buf.len(),
            _buf: PhantomData,
        }
    }

    /// `len` values from `start`, read-only.
    ///
    /// # Safety
    /// No other thread writes this range while the slice lives (the stage
    /// contract of the module doc).
    #[inline(always)]
    pub unsafe fn slice(&self, start: usize, len: usize) -> &[f32] {
        assert!(start + len <= self.len, "shared slice out of bounds");
        // SAFETY: in bounds (checked above); no concurrent writer (caller).
        unsafe { std::slice::from_raw_parts(self.ptr.add(start), len) }
    }

    /// `len` values from `start`, writable.
    ///
    /// # Safety
    /// No other thread reads or writes this range while the slice lives, and
    /// the caller holds no other slice overlapping it.
    #[allow(clippy::mut_from_ref)]
    #[inline(always)]
    pub unsafe fn slice_mut(&self, start: usize, len: usize) -> &mut [f32] {
        assert!(start + len <= self.len, "shared slice out of bounds");
        // SAFETY: in bounds (checked above); exclusive for its lifetime (caller).
        unsafe { std::slice::from_raw_parts_mut(self.ptr.add(start), len) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A three-point vertical average repeated over stages, ping-ponging
    /// between two buffers: the wavefront must give exactly what stage-by-stage
    /// does, for any block size and thread count.
    fn smooth(rows: usize, block: usize, stages: usize, threads: usize) -> Vec<f32> {
        let w = 5;
        let mut a: Vec<f32> = (0..rows * w).map(|i| ((i * 7919) % 101) as f32).collect();
        let mut b = vec![0.0; rows * w];
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        {
            let (sa, sb) = (Shared::new(&mut a), Shared::new(&mut b));
            pool.install(|| {
                run(rows, block, stages, &|s, range| {
                    let (src, dst) = if s.is_multiple_of(2) {
                        (&sa, &sb)
                    } else {
                        (&sb, &sa)
                    };
                    for y in range {
                        let (up, down) = (y.saturating_sub(1), (y + 1).min(rows - 1));
                        // SAFETY: own rows written, neighbours' rows read (one away).
                        let (u, c, d, o) = unsafe {
                            (
                                src.slice(up * w, w),
                                src.slice(y * w, w),
                                src.slice(down * w, w),
                                dst.slice_mut(y * w, w),
                            )
                        };
                        for x in 0..w {
                            o[x] = (u[x] + 2.0 * c[x] + d[x]) * 0.25 + s as f32;
                        }
                    }
                })
            });
        }
        if stages.is_multiple_of(2) {
            a
        } else {
            b
        }
    }

    #[test]
    fn any_blocks_and_threads_give_the_sequential_result() {
        let want = smooth(37, 37, 9, 1);
        for (block, threads) in [(1, 2), (2, 3), (3, 2), (5, 4), (8, 8), (1, 8)] {
            assert_eq!(
                smooth(37, block, 9, threads),
                want,
                "block {block}, {threads} threads"
            );
        }
        // The values did change over the stages.
        assert_ne!(smooth(37, 37, 9, 1), smooth(37, 37, 8, 1));
    }

    #[test]
    fn a_panicking_stage_stops_the_run_instead_of_hanging() {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(2)
            .build()
            .unwrap();
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            pool.install(|| {
                run(64, 4, 10, &|s, r| {
                    if s == 3 && r.start == 8 {
                        panic!("stage failed");
                    }
                })
            })
        }));
        assert!(result.is_err());
    }
}
