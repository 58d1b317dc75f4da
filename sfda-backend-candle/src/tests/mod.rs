//! Unit tests of the candle backend: ops against hand-computed values and
//! host reference implementations, gradients against finite differences.

mod autodiff;
mod device;
mod elementwise;
mod layout;
mod nn;
mod reduce;
mod reference;

use sfda_core::{grad, Backend, DeviceSpec, Result, SeedRng, Tensor, Var};

use crate::CandleBackend;

/// The typed tensor of this backend.
pub(crate) type T = Tensor<CandleBackend>;

/// The CPU device.
pub(crate) fn dev() -> candle_core::Device {
    CandleBackend::device(DeviceSpec::Cpu).unwrap()
}

/// A tensor from data and shape.
pub(crate) fn t(data: &[f32], shape: &[usize]) -> T {
    T::from_f32(data, shape, &dev()).unwrap()
}

/// A variable from data and shape.
pub(crate) fn var(data: &[f32], shape: &[usize]) -> Var<CandleBackend> {
    Var::new(&t(data, shape)).unwrap()
}

/// Host values.
pub(crate) fn vals(x: &T) -> Vec<f32> {
    x.to_vec().unwrap()
}

/// Asserts element-wise `|a - b| <= tol · (1 + |b|)`.
#[track_caller]
pub(crate) fn assert_close(a: &[f32], b: &[f32], tol: f32) {
    assert_eq!(a.len(), b.len(), "lengths differ: {a:?} vs {b:?}");
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        assert!(
            (x - y).abs() <= tol * (1.0 + y.abs()),
            "index {i}: {x} vs {y}\n got      {a:?}\n expected {b:?}"
        );
    }
}

/// `n` normal samples from a fixed seed.
pub(crate) fn randn(n: usize, seed: u64) -> Vec<f32> {
    SeedRng::new(seed).normal_vec(n, 0.0, 1.0)
}

/// Gradient of `Σ w ⊙ f(x)` (fixed random `w`) by autodiff, compared with
/// central differences computed on the host in `f64`.
#[track_caller]
pub(crate) fn check_grad(f: impl Fn(&T) -> Result<T>, x: &[f32], shape: &[usize], tol: f32) {
    let v = var(x, shape);
    let y = f(&v.tensor()).unwrap();
    let w = randn(y.elem_count(), 99);
    let wt = t(&w, &y.shape());
    let loss = y.mul(&wt).unwrap().sum_all().unwrap();
    let g = grad(&loss, &[&v]).unwrap()[0]
        .clone()
        .map(|g| vals(&g))
        .unwrap_or_else(|| vec![0.0; x.len()]);
    let eval = |xs: &[f32]| -> f64 {
        let y = vals(&f(&t(xs, shape)).unwrap());
        y.iter().zip(&w).map(|(&a, &b)| a as f64 * b as f64).sum()
    };
    let eps = 1e-2f32;
    let mut num = Vec::with_capacity(x.len());
    for i in 0..x.len() {
        let mut xp = x.to_vec();
        xp[i] += eps;
        let mut xm = x.to_vec();
        xm[i] -= eps;
        num.push(((eval(&xp) - eval(&xm)) / (2.0 * eps as f64)) as f32);
    }
    assert_close(&g, &num, tol);
}

/// Distinct values (a shuffled, scaled range) so that max-based ops have no
/// ties and finite differences do not cross a kink.
pub(crate) fn distinct(n: usize, seed: u64) -> Vec<f32> {
    let mut v: Vec<f32> = (0..n).map(|i| i as f32 * 0.1 - n as f32 * 0.05).collect();
    SeedRng::new(seed).shuffle(&mut v);
    v
}

/// The `f32` indices of an index tensor.
pub(crate) fn idx(x: &T) -> Vec<usize> {
    vals(x).iter().map(|&v| v as usize).collect()
}
