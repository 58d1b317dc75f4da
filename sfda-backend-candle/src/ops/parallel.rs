//! Element-wise CPU kernels split over rayon's pool, and when splitting
//! any memory-bound kernel is worth it.
//!
//! candle runs its own element-wise ops on a separate spin-waiting pool
//! (sized in [`crate::device`]); sfda's fused element-wise kernels run on
//! rayon's pool instead, the one the GEMMs use, in chunks. Each
//! output element is computed from its own inputs only, so the result does
//! not depend on the split.

use rayon::prelude::*;

/// Outputs shorter than this run on the caller: below it, waking the pool
/// costs more than the memory-bound work it would share.
const PARALLEL_MIN_LEN: usize = 1 << 16;

/// Fewest elements per task: enough to amortise a task, few enough that a
/// few tasks per thread balance the load.
pub(crate) const CHUNK_LEN: usize = 1 << 14;

/// Fewest threads in rayon's pool for which these kernels split at all. On
/// the 2-core reference machine splitting made a whole SFDA iteration 2–3 %
/// slower (`sfda bench --backend candle`, alternating binaries): two threads
/// share one memory bus, and waking the parked worker costs more than half a
/// memory-bound pass saves.
const PARALLEL_MIN_THREADS: usize = 4;

/// `true` when a kernel over `len` elements is worth splitting.
pub(crate) fn worth_splitting(len: usize) -> bool {
    len >= PARALLEL_MIN_LEN && rayon::current_num_threads() >= PARALLEL_MIN_THREADS
}

/// `out[i] = f(a[i])`, on rayon's pool for long inputs.
pub(crate) fn map1(a: &[f32], f: impl Fn(f32) -> f32 + Sync) -> Vec<f32> {
    if !worth_splitting(a.len()) {
        return a.iter().map(|&x| f(x)).collect();
    }
    let mut out = Vec::new();
    a.par_iter()
        .with_min_len(CHUNK_LEN)
        .map(|&x| f(x))
        .collect_into_vec(&mut out);
    out
}

/// `out[i] = f(a[i], b[i])` over the common length, on rayon's pool for long
/// inputs.
pub(crate) fn map2(a: &[f32], b: &[f32], f: impl Fn(f32, f32) -> f32 + Sync) -> Vec<f32> {
    if !worth_splitting(a.len().min(b.len())) {
        return a.iter().zip(b).map(|(&x, &y)| f(x, y)).collect();
    }
    let mut out = Vec::new();
    a.par_iter()
        .zip(b)
        .with_min_len(CHUNK_LEN)
        .map(|(&x, &y)| f(x, y))
        .collect_into_vec(&mut out);
    out
}

/// Runs `f(i, chunk)` over the consecutive `chunk_len`-value chunks of `out`
/// (an output's `[H, W]` planes, say), on rayon's pool when it has several
/// threads. Each chunk is written by one task alone, so the result does not
/// depend on the split.
pub(crate) fn for_each_chunk(
    out: &mut [f32],
    chunk_len: usize,
    f: impl Fn(usize, &mut [f32]) + Sync,
) {
    let chunk_len = chunk_len.max(1);
    if rayon::current_num_threads() > 1 {
        out.par_chunks_mut(chunk_len)
            .enumerate()
            .for_each(|(i, p)| f(i, p));
    } else {
        out.chunks_mut(chunk_len)
            .enumerate()
            .for_each(|(i, p)| f(i, p));
    }
}
