//! Reductions, softmax, argmax and argsort.

use sfda_core::grad;

use super::{assert_close, check_grad, distinct, idx, randn, t, vals, var};

#[test]
fn softmax_and_log_softmax_hand_values() {
    let x = t(&[1.0, 2.0, 3.0, 1.0, 1.0, 1.0], &[2, 3]);
    let p = x.softmax(1).unwrap();
    let e = [0.090_030_57, 0.244_728_47, 0.665_240_96];
    let third = 1.0 / 3.0;
    assert_close(&vals(&p), &[e[0], e[1], e[2], third, third, third], 1e-6);
    let lp = x.log_softmax(1).unwrap();
    let le: Vec<f32> = [e[0], e[1], e[2], third, third, third]
        .iter()
        .map(|v| v.ln())
        .collect();
    assert_close(&vals(&lp), &le, 1e-6);
    // Softmax over dim 0 of the same tensor.
    let p0 = x.softmax(0).unwrap();
    let s: Vec<f32> = vals(&p0);
    assert_close(
        &[s[0] + s[3], s[1] + s[4], s[2] + s[5]],
        &[1.0, 1.0, 1.0],
        1e-6,
    );
    check_grad(|x| x.softmax(1), &randn(6, 3), &[2, 3], 1e-2);
    check_grad(|x| x.log_softmax(0), &randn(6, 4), &[2, 3], 1e-2);
}

#[test]
fn sum_and_mean_over_several_dims() {
    let data: Vec<f32> = (0..24).map(|v| v as f32).collect();
    let x = t(&data, &[2, 3, 4]);
    let s = x.sum_dims(&[0, 2], false).unwrap();
    assert_eq!(s.shape(), vec![3]);
    assert_eq!(vals(&s), [60.0, 92.0, 124.0]);
    let s = x.sum_dims(&[0, 2], true).unwrap();
    assert_eq!(s.shape(), vec![1, 3, 1]);
    let s = x.sum_dims(&[2, 0], false).unwrap();
    assert_eq!(vals(&s), [60.0, 92.0, 124.0]);
    let m = x.mean_dims(&[1], false).unwrap();
    assert_eq!(m.shape(), vec![2, 4]);
    assert_eq!(vals(&m)[..2], [4.0, 5.0]);
    let all = x.sum_all().unwrap();
    assert_eq!(all.shape(), Vec::<usize>::new());
    assert_eq!(all.to_scalar().unwrap(), 276.0);
    check_grad(
        |x| x.sum_dims(&[1, 2], false),
        &randn(24, 5),
        &[2, 3, 4],
        1e-2,
    );
}

#[test]
fn max_dim_gradient_goes_to_first_maximum() {
    let x = var(&[1.0, 3.0, 3.0, 2.0, 5.0, 0.0], &[2, 3]);
    let m = x.tensor().max_dim(1, false).unwrap();
    assert_eq!(vals(&m), [3.0, 5.0]);
    assert_eq!(x.tensor().max_dim(1, true).unwrap().shape(), vec![2, 1]);
    let g = grad(&m.sum_all().unwrap(), &[&x]).unwrap();
    assert_eq!(vals(g[0].as_ref().unwrap()), [0., 1., 0., 0., 1., 0.]);
    check_grad(|x| x.max_dim(0, false), &distinct(12, 2), &[3, 4], 1e-2);
}

#[test]
fn argmax_returns_first_index_as_f32() {
    let x = t(&[1.0, 3.0, 3.0, 7.0, 5.0, 7.0], &[2, 3]);
    assert_eq!(vals(&x.argmax_dim(1, false).unwrap()), [1.0, 0.0]);
    assert_eq!(x.argmax_dim(1, true).unwrap().shape(), vec![2, 1]);
    assert_eq!(vals(&x.argmax_dim(0, false).unwrap()), [1.0, 1.0, 1.0]);
}

#[test]
fn argsort_is_stable_with_ties() {
    let x = t(&[3.0, 1.0, 3.0, 1.0, 2.0], &[5]);
    assert_eq!(idx(&x.argsort(0, false).unwrap()), [1, 3, 4, 0, 2]);
    assert_eq!(idx(&x.argsort(0, true).unwrap()), [0, 2, 4, 1, 3]);
    // NaN sorts as the largest value.
    let x = t(&[f32::NAN, 1.0, 0.0], &[3]);
    assert_eq!(idx(&x.argsort(0, false).unwrap()), [2, 1, 0]);
    assert_eq!(idx(&x.argsort(0, true).unwrap()), [0, 1, 2]);
}

#[test]
fn argsort_along_a_leading_dim() {
    // Columns: [2, 1, 2], [0, 0, 5].
    let x = t(&[2.0, 0.0, 1.0, 0.0, 2.0, 5.0], &[3, 2]);
    let a = x.argsort(0, false).unwrap();
    assert_eq!(a.shape(), vec![3, 2]);
    assert_eq!(idx(&a), [1, 0, 0, 1, 2, 2]);
    let d = x.argsort(0, true).unwrap();
    assert_eq!(idx(&d), [0, 2, 2, 0, 1, 1]);
}

#[test]
fn sum_all_keeps_gradient_of_0_dim() {
    let x = var(&[2.0], &[]);
    assert_eq!(x.shape(), Vec::<usize>::new());
    let y = x.tensor().sqr().unwrap().sum_all().unwrap();
    assert_eq!(y.to_scalar().unwrap(), 4.0);
    let g = grad(&y, &[&x]).unwrap();
    let g = g[0].as_ref().unwrap();
    assert_eq!(g.shape(), Vec::<usize>::new());
    assert_eq!(vals(g), [4.0]);
}

/// `x` summed to each of `smalls` by the backend's kernel, inside a rayon
/// pool of `threads` threads.
fn sums_on(threads: usize, x: &[f32], big: &[usize], smalls: &[Vec<usize>]) -> Vec<Vec<f32>> {
    use crate::ops::broadcast::sum_keepdim;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap();
    pool.install(|| {
        let xt = candle_core::Tensor::from_slice(x, big, &super::dev()).unwrap();
        smalls
            .iter()
            .map(|small| {
                let dims: Vec<usize> = (0..big.len()).filter(|&d| small[d] == 1).collect();
                let y = sum_keepdim(&xt, &dims).unwrap();
                assert_eq!(y.dims(), &small[..]);
                y.flatten_all().unwrap().to_vec1::<f32>().unwrap()
            })
            .collect()
    })
}

#[test]
fn parallel_sums_are_bit_identical_to_serial_ones() {
    // 2^17 values: long enough for the parallel kernel on 4+ threads.
    let big = [8, 16, 32, 32];
    let x = randn(big.iter().product(), 60);
    let smalls = vec![
        vec![1, 16, 1, 1],   // per channel: reduced innermost
        vec![1, 16, 32, 32], // over the batch: kept innermost
        vec![8, 1, 1, 32],   // mixed
        vec![1, 1, 1, 1],    // everything
    ];
    let serial = sums_on(1, &x, &big, &smalls);
    // Against a plain f64 sum, then bit for bit across pools.
    let per_channel: Vec<f32> = (0..16)
        .map(|c| {
            let sum: f64 = (0..8)
                .flat_map(|b| x[(b * 16 + c) * 1024..][..1024].iter())
                .map(|&v| v as f64)
                .sum();
            sum as f32
        })
        .collect();
    assert_close(&serial[0], &per_channel, 1e-6);
    for threads in [4, 16] {
        assert_eq!(
            sums_on(threads, &x, &big, &smalls),
            serial,
            "{threads} threads"
        );
    }
}
