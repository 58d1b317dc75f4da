//! Keeps freed memory in glibc's heap for reuse instead of handing it back
//! to the kernel after every tensor.
//!
//! A training step allocates and frees many activation-sized buffers (tens
//! of MiB). glibc serves those above its dynamic mmap threshold with fresh
//! `mmap`s and trims the heap top on free, so every step pays the page
//! faults (and the kernel's zeroing) for its activations again; with two
//! threads the faults also contend on the process's memory-map lock. Raising
//! the mmap threshold to glibc's maximum (32 MiB on 64-bit) and the trim
//! threshold out of reach made a whole SFDA iteration ~10 % faster on both
//! backends on the 2-core reference machine (`docs/performance.md`). The
//! resident size then stays near the peak of a step, which a training job
//! reaches anyway.
//!
//! Skipped when the user set `GLIBC_TUNABLES` (their malloc settings win).

/// Applies the settings (glibc on Linux only; a no-op elsewhere).
pub fn keep_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    if std::env::var_os("GLIBC_TUNABLES").is_none() {
        // SAFETY: mallopt only changes allocator parameters; called once at
        // start-up before any other thread exists. A rejected value leaves
        // glibc's default in place, which is still correct.
        unsafe {
            libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
            libc::mallopt(libc::M_TRIM_THRESHOLD, libc::c_int::MAX);
        }
    }
}
