//! Element-wise ops: values, broadcasting, and PyTorch's gradients at kinks.

use sfda_core::{grad, CmpOp};

use super::{assert_close, check_grad, randn, t, vals, var};

#[test]
fn broadcasting_binary_ops() {
    let a = t(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]);
    let row = t(&[10.0, 20.0, 30.0], &[3]);
    let col = t(&[2.0, 4.0], &[2, 1]);
    assert_eq!(vals(&a.add(&row).unwrap()), [11., 22., 33., 14., 25., 36.]);
    assert_eq!(vals(&a.sub(&col).unwrap()), [-1., 0., 1., 0., 1., 2.]);
    assert_eq!(vals(&a.mul(&col).unwrap()), [2., 4., 6., 16., 20., 24.]);
    assert_eq!(vals(&a.div(&col).unwrap()), [0.5, 1., 1.5, 1., 1.25, 1.5]);
    let s = t(&[3.5], &[]);
    assert_eq!(vals(&a.maximum(&s).unwrap()), [3.5, 3.5, 3.5, 4., 5., 6.]);
    assert_eq!(vals(&a.minimum(&s).unwrap()), [1., 2., 3., 3.5, 3.5, 3.5]);
}

#[test]
fn broadcast_gradients_sum_over_expanded_dims() {
    let a = var(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]);
    let b = var(&[2.0, 4.0], &[2, 1]);
    let y = a.tensor().mul(&b.tensor()).unwrap().sum_all().unwrap();
    let g = grad(&y, &[&a, &b]).unwrap();
    assert_eq!(vals(g[0].as_ref().unwrap()), [2., 2., 2., 4., 4., 4.]);
    assert_eq!(vals(g[1].as_ref().unwrap()), [6., 15.]);
}

#[test]
fn maximum_tie_splits_gradient() {
    let a = var(&[1.0, 2.0], &[2]);
    let b = var(&[1.0, 3.0], &[2]);
    let y = a.tensor().maximum(&b.tensor()).unwrap().sum_all().unwrap();
    let g = grad(&y, &[&a, &b]).unwrap();
    assert_eq!(vals(g[0].as_ref().unwrap()), [0.5, 0.0]);
    assert_eq!(vals(g[1].as_ref().unwrap()), [0.5, 1.0]);
}

#[test]
fn relu_abs_leaky_relu_match_pytorch_at_zero() {
    let x = var(&[-2.0, 0.0, 3.0], &[3]);
    let xt = x.tensor();
    assert_eq!(vals(&xt.relu().unwrap()), [0.0, 0.0, 3.0]);
    assert_eq!(vals(&xt.abs().unwrap()), [2.0, 0.0, 3.0]);
    assert_eq!(vals(&xt.leaky_relu(0.1).unwrap()), [-0.2, 0.0, 3.0]);
    let g = |y: sfda_core::Tensor<crate::CandleBackend>| {
        vals(
            grad(&y.sum_all().unwrap(), &[&x]).unwrap()[0]
                .as_ref()
                .unwrap(),
        )
    };
    assert_eq!(g(xt.relu().unwrap()), [0.0, 0.0, 1.0]);
    assert_eq!(g(xt.abs().unwrap()), [-1.0, 0.0, 1.0]);
    assert_close(&g(xt.leaky_relu(0.1).unwrap()), &[0.1, 0.1, 1.0], 1e-6);
}

#[test]
fn sigmoid_is_accurate_and_finite() {
    let x = var(&[-100.0, -20.0, 0.0, 2.0, 100.0], &[5]);
    let y = x.tensor().sigmoid().unwrap();
    let expect: Vec<f32> = [-100.0f64, -20.0, 0.0, 2.0, 100.0]
        .iter()
        .map(|&v| (1.0 / (1.0 + (-v).exp())) as f32)
        .collect();
    assert_close(&vals(&y), &expect, 1e-6);
    // Relative accuracy in the far negative tail.
    assert!((vals(&y)[1] / expect[1] - 1.0).abs() < 1e-5);
    let g = grad(&y.sum_all().unwrap(), &[&x]).unwrap();
    let g = vals(g[0].as_ref().unwrap());
    assert!(g.iter().all(|v| v.is_finite()), "{g:?}");
    let dg: Vec<f32> = expect.iter().map(|&s| s * (1.0 - s)).collect();
    assert_close(&g, &dg, 1e-6);
    check_grad(|x| x.sigmoid(), &randn(6, 1), &[6], 1e-2);
}

#[test]
fn unary_values_and_gradients() {
    let x = [0.5f32, 1.0, 2.0, 3.0];
    check_grad(|x| x.exp(), &x, &[4], 1e-2);
    check_grad(|x| x.log(), &x, &[4], 1e-2);
    check_grad(|x| x.sqrt(), &x, &[4], 1e-2);
    check_grad(|x| x.tanh(), &x, &[4], 1e-2);
    check_grad(|x| x.sqr(), &x, &[4], 1e-2);
    check_grad(|x| x.powf(1.5), &x, &[4], 1e-2);
    check_grad(|x| x.affine(-2.0, 1.0), &x, &[4], 1e-2);
    let xt = t(&x, &[4]);
    assert_close(&vals(&xt.powf(2.0).unwrap()), &[0.25, 1.0, 4.0, 9.0], 1e-6);
    assert_close(
        &vals(&xt.affine(2.0, -1.0).unwrap()),
        &[0.0, 1.0, 3.0, 5.0],
        1e-6,
    );
    assert_eq!(vals(&t(&[-2.0], &[1]).powf(2.0).unwrap()), [4.0]);
}

#[test]
fn zero_factor_keeps_the_graph() {
    let x = var(&[1.0, 2.0], &[2]);
    let y = x.tensor().affine(0.0, 3.0).unwrap();
    assert_eq!(vals(&y), [3.0, 3.0]);
    let g = grad(&y.sum_all().unwrap(), &[&x]).unwrap();
    assert_eq!(vals(g[0].as_ref().unwrap()), [0.0, 0.0]);
    let y = x.tensor().powf(0.0).unwrap();
    assert_eq!(vals(&y), [1.0, 1.0]);
    let g = grad(&y.sum_all().unwrap(), &[&x]).unwrap();
    assert_eq!(vals(g[0].as_ref().unwrap()), [0.0, 0.0]);
}

#[test]
fn cmp_gives_f32_masks_and_broadcasts() {
    let a = t(&[1.0, 2.0, 3.0], &[3]);
    let b = t(&[2.0], &[1]);
    assert_eq!(vals(&a.cmp(&b, CmpOp::Eq).unwrap()), [0.0, 1.0, 0.0]);
    assert_eq!(vals(&a.cmp(&b, CmpOp::Gt).unwrap()), [0.0, 0.0, 1.0]);
    assert_eq!(vals(&a.cmp(&b, CmpOp::Ge).unwrap()), [0.0, 1.0, 1.0]);
    assert_eq!(vals(&a.cmp(&b, CmpOp::Lt).unwrap()), [1.0, 0.0, 0.0]);
    let x = var(&[1.0, 2.0, 3.0], &[3]);
    let m = x.tensor().cmp(&b, CmpOp::Gt).unwrap();
    let y = m.mul(&x.tensor()).unwrap().sum_all().unwrap();
    let g = grad(&y, &[&x]).unwrap();
    assert_eq!(vals(g[0].as_ref().unwrap()), [0.0, 0.0, 1.0]);
}

/// Fused broadcast arithmetic (both operand orders), a tracked broadcast
/// and its gradient sum, inside a rayon pool of `threads` threads.
fn broadcasts_on(threads: usize) -> Vec<Vec<f32>> {
    use crate::ops::broadcast::{arith, broadcast_as, Arith};
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap();
    pool.install(|| {
        let dev = super::dev();
        let (big, small) = ([8, 16, 32, 32], [1, 16, 1, 1]);
        let a = candle_core::Tensor::from_vec(randn(8 * 16 * 1024, 70), &big[..], &dev).unwrap();
        let b = candle_core::Tensor::from_vec(randn(16, 71), &small[..], &dev).unwrap();
        let flat = |t: &candle_core::Tensor| t.flatten_all().unwrap().to_vec1::<f32>().unwrap();
        let mut out = Vec::new();
        for op in [Arith::Add, Arith::Sub, Arith::Mul, Arith::Div] {
            out.push(flat(&arith(&a, &b, op).unwrap()));
            out.push(flat(&arith(&b, &a, op).unwrap()));
        }
        let v = candle_core::Var::from_vec(randn(16 * 32, 72), (1, 16, 1, 32), &dev).unwrap();
        let wide = broadcast_as(v.as_tensor(), &big).unwrap();
        out.push(flat(&wide));
        let loss = wide.mul(&a).unwrap().sum_all().unwrap();
        out.push(flat(loss.backward().unwrap().get(v.as_tensor()).unwrap()));
        out
    })
}

#[test]
fn parallel_broadcast_kernels_are_bit_identical_to_serial_ones() {
    let serial = broadcasts_on(1);
    // a + b against the formula, then bit for bit across pools.
    let a = randn(8 * 16 * 1024, 70);
    let b = randn(16, 71);
    let sum: Vec<f32> = a
        .iter()
        .enumerate()
        .map(|(i, x)| x + b[(i / 1024) % 16])
        .collect();
    assert_eq!(serial[0], sum);
    for threads in [4, 16] {
        assert_eq!(broadcasts_on(threads), serial, "{threads} threads");
    }
}
