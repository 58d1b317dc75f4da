//! Helpers shared by the network and checkpoint tests (`tests/net_*.rs`,
//! `tests/checkpoint_*.rs`): devices of both backends, seeded inputs and the
//! cross-backend tolerance.
#![allow(dead_code)]

use sfda_backend_candle::CandleBackend;
use sfda_backend_tch::TchBackend;
use sfda_core::{Backend, DeviceSpec, SeedRng};

/// The CPU device of tch.
pub fn tch_cpu() -> <TchBackend as Backend>::Device {
    TchBackend::device(DeviceSpec::Cpu).expect("tch cpu")
}

/// The CPU device of candle.
pub fn candle_cpu() -> <CandleBackend as Backend>::Device {
    CandleBackend::device(DeviceSpec::Cpu).expect("candle cpu")
}

/// `n` standard normal values from `seed`.
pub fn normal(seed: u64, n: usize) -> Vec<f32> {
    SeedRng::new(seed).normal_vec(n, 0.0, 1.0)
}

/// Largest absolute value (the "scale" of a tensor).
pub fn scale(a: &[f32]) -> f32 {
    a.iter().fold(0.0f32, |m, x| m.max(x.abs()))
}

/// Largest absolute difference.
pub fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len(), "length mismatch");
    a.iter()
        .zip(b)
        .fold(0.0f32, |m, (x, y)| m.max((x - y).abs()))
}

/// Asserts `max |a − b| ≤ rel · max |a|` (plus a tiny floor for all-zero
/// tensors) and returns the ratio `max |a − b| / max |a|`.
pub fn assert_close(what: &str, a: &[f32], b: &[f32], rel: f32) -> f32 {
    assert!(
        a.iter().chain(b).all(|x| x.is_finite()),
        "{what}: non-finite values"
    );
    let s = scale(a).max(1e-12);
    let d = max_abs_diff(a, b);
    assert!(
        d <= rel * s + 1e-12,
        "{what}: max abs diff {d:e} > {rel:e} × scale {s:e} (ratio {:e})",
        d / s
    );
    d / s
}
