//! conv2d, conv_transpose2d, max_pool2d, nearest resize and the fused
//! BatchNorm against host references and the composed formula, with
//! finite-difference gradients.

use sfda_core::{grad, Conv2dOpts, ConvTranspose2dOpts, Error};

use super::{assert_close, check_grad, distinct, randn, reference, t, vals, var};

/// A conv2d case: input shape, weight shape, stride, padding, dilation, groups.
struct Case([usize; 4], [usize; 4], usize, usize, usize, usize);

#[test]
fn conv2d_matches_reference() {
    // (input shape, weight shape, stride, padding, dilation, groups)
    let cases = [
        Case([2, 3, 5, 6], [4, 3, 3, 3], 1, 1, 1, 1),
        Case([1, 2, 7, 5], [3, 2, 3, 2], 2, 1, 1, 1),
        Case([1, 4, 6, 6], [4, 2, 3, 3], 1, 2, 2, 2),
        Case([1, 2, 5, 6], [2, 2, 3, 3], 2, 1, 1, 1), // remainders differ (h: 0, w: 1)
        Case([1, 3, 6, 5], [3, 1, 3, 3], 3, 1, 1, 3), // depthwise, uneven remainders
    ];
    for (i, Case(xs, ws, s, p, d, g)) in cases.into_iter().enumerate() {
        let x = randn(xs.iter().product(), 10 + i as u64);
        let w = randn(ws.iter().product(), 20 + i as u64);
        let bias = randn(ws[0], 30 + i as u64);
        let opts = Conv2dOpts {
            stride: s,
            padding: p,
            dilation: d,
            groups: g,
        };
        let y = t(&x, &xs)
            .conv2d(&t(&w, &ws), Some(&t(&bias, &[ws[0]])), opts)
            .unwrap();
        let (mut r, rs) = reference::conv2d(&x, xs, &w, ws, s, p, d, g);
        let plane = rs[2] * rs[3];
        for (j, v) in r.iter_mut().enumerate() {
            *v += bias[(j / plane) % rs[1]];
        }
        assert_eq!(y.shape(), rs.to_vec(), "case {i}");
        assert_close(&vals(&y), &r, 1e-4);
        // Gradients w.r.t. input, weight and bias.
        let wt = t(&w, &ws);
        check_grad(|x| x.conv2d(&wt, None, opts), &x, &xs, 2e-2);
        let xt = t(&x, &xs);
        check_grad(|w| xt.conv2d(w, None, opts), &w, &ws, 2e-2);
        let bt = |b: &super::T| xt.conv2d(&wt, Some(b), opts);
        check_grad(bt, &bias, &[ws[0]], 2e-2);
    }
}

#[test]
fn conv_transpose2d_shape_values_and_gradients() {
    let xs = [1, 2, 3, 4];
    let ws = [2, 3, 3, 3];
    let x = randn(24, 40);
    let w = randn(54, 41);
    let bias = [0.5f32, -1.0, 2.0];
    let opts = ConvTranspose2dOpts {
        stride: 2,
        padding: 1,
        output_padding: 1,
    };
    let y = t(&x, &xs)
        .conv_transpose2d(&t(&w, &ws), Some(&t(&bias, &[3])), opts)
        .unwrap();
    // (H - 1)·s - 2p + k + output_padding = 2·2 - 2 + 3 + 1 = 6, and 8 for W.
    assert_eq!(y.shape(), vec![1, 3, 6, 8]);
    let (mut r, _) = reference::conv_transpose2d(&x, xs, &w, ws, 2, 1, 1);
    for (j, v) in r.iter_mut().enumerate() {
        *v += bias[(j / 48) % 3];
    }
    assert_close(&vals(&y), &r, 1e-4);
    let wt = t(&w, &ws);
    check_grad(|x| x.conv_transpose2d(&wt, None, opts), &x, &xs, 2e-2);
    let xt = t(&x, &xs);
    check_grad(|w| xt.conv_transpose2d(w, None, opts), &w, &ws, 2e-2);
    // output_padding must be below the stride, like PyTorch.
    let bad = ConvTranspose2dOpts {
        stride: 1,
        padding: 0,
        output_padding: 1,
    };
    assert!(matches!(
        xt.conv_transpose2d(&wt, None, bad),
        Err(Error::Shape { .. })
    ));
}

#[test]
fn conv_batch_split_over_threads() {
    use crate::ops::conv_gemm::Split;
    let s = |groups, inner| Split { groups, inner };
    assert_eq!(Split::of(8, 1), s(1, 1)); // one thread: serial
    assert_eq!(Split::of(1, 16), s(1, 16)); // one image: every thread in its GEMMs
    assert_eq!(Split::of(8, 2), s(2, 1)); // batch ≥ pool: whole images per thread
    assert_eq!(Split::of(8, 16), s(8, 2)); // batch < pool: images side by side
    assert_eq!(Split::of(3, 16), s(3, 5));
    assert_eq!(Split::of(0, 4), s(1, 4));
    assert_eq!(Split::of(5, 0), s(1, 1));
}

/// Values and both gradients of a convolution and of a transposed one
/// on a batch of 8 images, computed inside a rayon pool of `threads`.
fn conv_results_on(threads: usize) -> Vec<Vec<f32>> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap();
    pool.install(|| {
        let (xs, ws) = ([8, 3, 9, 7], [5, 3, 3, 3]);
        let x = var(&randn(xs.iter().product(), 50), &xs);
        let w = var(&randn(ws.iter().product(), 51), &ws);
        let opts = Conv2dOpts {
            stride: 2,
            padding: 1,
            dilation: 1,
            groups: 1,
        };
        let y = x.tensor().conv2d(&w.tensor(), None, opts).unwrap();
        let topts = ConvTranspose2dOpts {
            stride: 2,
            padding: 1,
            output_padding: 1,
        };
        let wt = var(&randn(5 * 4 * 3 * 3, 52), &[5, 4, 3, 3]);
        let z = y.conv_transpose2d(&wt.tensor(), None, topts).unwrap();
        let r = t(&randn(z.elem_count(), 53), &z.shape());
        let loss = z.mul(&r).unwrap().sum_all().unwrap();
        let g = grad(&loss, &[&x, &w, &wt]).unwrap();
        let mut out = vec![vals(&y), vals(&z)];
        out.extend(g.iter().map(|g| vals(g.as_ref().unwrap())));
        out
    })
}

#[test]
fn conv_results_do_not_depend_on_how_the_batch_is_split() {
    // 1 thread: serial; 3: three image groups; 16: 8 groups of 2 threads.
    let serial = conv_results_on(1);
    for threads in [3, 16] {
        let other = conv_results_on(threads);
        for (name, (a, b)) in ["y", "z", "dx", "dw", "dwt"]
            .iter()
            .zip(serial.iter().zip(&other))
        {
            // Outputs and input gradients are per image; only the weight
            // gradients sum partial batches in another order.
            let tol = if name.starts_with("dw") { 1e-5 } else { 1e-6 };
            assert_close(a, b, tol);
        }
    }
}

#[test]
fn conv2d_rejects_bad_shapes_without_panicking() {
    let x = t(&[0.0; 4], &[1, 1, 2, 2]);
    let w = t(&[0.0; 9], &[1, 1, 3, 3]);
    assert!(x.conv2d(&w, None, Conv2dOpts::default()).is_err());
    let opts = Conv2dOpts {
        stride: 0,
        ..Conv2dOpts::default()
    };
    assert!(x.conv2d(&w, None, opts).is_err());
    let w2 = t(&[0.0; 18], &[1, 2, 3, 3]);
    assert!(x
        .conv2d(
            &w2,
            None,
            Conv2dOpts {
                padding: 1,
                ..Conv2dOpts::default()
            }
        )
        .is_err());
}

#[test]
fn max_pool2d_with_padding_hand_values() {
    // 3x3 input 1..9, kernel 3, stride 2, padding 1 (the ResNet stem pool).
    let data: Vec<f32> = (1..=9).map(|v| v as f32).collect();
    let x = var(&data, &[1, 1, 3, 3]);
    let y = x.tensor().max_pool2d(3, 2, 1).unwrap();
    assert_eq!(y.shape(), vec![1, 1, 2, 2]);
    assert_eq!(vals(&y), [5.0, 6.0, 8.0, 9.0]);
    let g = grad(&y.sum_all().unwrap(), &[&x]).unwrap();
    assert_eq!(
        vals(g[0].as_ref().unwrap()),
        [0., 0., 0., 0., 1., 1., 0., 1., 1.]
    );
    // Negative inputs: padding is -inf, not 0.
    let neg: Vec<f32> = data.iter().map(|v| -v).collect();
    let y = t(&neg, &[1, 1, 3, 3]).max_pool2d(3, 2, 1).unwrap();
    assert_eq!(vals(&y), [-1.0, -2.0, -4.0, -5.0]);
}

#[test]
fn max_pool2d_ties_and_overlaps_like_pytorch() {
    // All equal: the whole gradient goes to the first entry of each window.
    let x = var(&[0.0; 4], &[1, 1, 2, 2]);
    let y = x.tensor().max_pool2d(2, 2, 0).unwrap();
    let g = grad(&y.sum_all().unwrap(), &[&x]).unwrap();
    assert_eq!(vals(g[0].as_ref().unwrap()), [1.0, 0.0, 0.0, 0.0]);
    // Overlapping windows accumulate on a shared maximum.
    let x = var(
        &[0.0, 0.0, 0.0, 0.0, 9.0, 0.0, 0.0, 0.0, 0.0],
        &[1, 1, 3, 3],
    );
    let y = x.tensor().max_pool2d(2, 1, 0).unwrap();
    assert_eq!(vals(&y), [9.0; 4]);
    let g = grad(&y.sum_all().unwrap(), &[&x]).unwrap();
    assert_eq!(vals(g[0].as_ref().unwrap())[4], 4.0);
}

#[test]
fn max_pool2d_matches_reference() {
    for (i, (xs, k, s, p)) in [
        ([2, 3, 7, 6], 3, 2, 1),
        ([1, 2, 8, 8], 2, 2, 0),
        ([1, 1, 5, 9], 3, 1, 1),
        ([1, 2, 9, 7], 3, 3, 0),
    ]
    .into_iter()
    .enumerate()
    {
        let n: usize = xs.iter().product();
        let data = distinct(n, 50 + i as u64);
        let x = var(&data, &xs);
        let y = x.tensor().max_pool2d(k, s, p).unwrap();
        let (rv, ra, rs) = reference::max_pool2d(&data, xs, k, s, p);
        assert_eq!(y.shape(), rs.to_vec());
        assert_eq!(vals(&y), rv);
        let w = randn(rv.len(), 60 + i as u64);
        let loss = y.mul(&t(&w, &rs)).unwrap().sum_all().unwrap();
        let g = grad(&loss, &[&x]).unwrap();
        let mut expect = vec![0f32; n];
        for (o, &a) in ra.iter().enumerate() {
            expect[a] += w[o];
        }
        assert_close(&vals(g[0].as_ref().unwrap()), &expect, 1e-6);
    }
    let x = t(&[0.0; 9], &[1, 1, 3, 3]);
    assert!(x.max_pool2d(3, 1, 2).is_err()); // padding above half the kernel
}

#[test]
fn max_pool2d_nan_and_infinity_follow_pytorch() {
    // PyTorch's CPU kernel: a NaN counts as the maximum (the last NaN of a
    // window in row-major order takes the gradient), and an all -inf window
    // picks its first in-plane entry, never the padding.
    let inf = f32::INFINITY;
    let x = var(&[1.0, f32::NAN, 3.0, f32::NAN], &[1, 1, 2, 2]);
    let y = x.tensor().max_pool2d(2, 2, 0).unwrap();
    assert!(vals(&y)[0].is_nan());
    let g = grad(&y.sum_all().unwrap(), &[&x]).unwrap();
    assert_eq!(vals(g[0].as_ref().unwrap()), [0.0, 0.0, 0.0, 1.0]);
    let x = var(&[-inf, -inf, -inf, -inf], &[1, 1, 2, 2]);
    let y = x.tensor().max_pool2d(3, 2, 1).unwrap();
    assert_eq!(vals(&y), [-inf]);
    let g = grad(&y.sum_all().unwrap(), &[&x]).unwrap();
    assert_eq!(vals(g[0].as_ref().unwrap()), [1.0, 0.0, 0.0, 0.0]);
}

#[test]
fn nearest_upsample_2_to_3_uses_pytorch_rule() {
    let x = var(&[1.0, 2.0], &[1, 1, 1, 2]);
    let y = x.tensor().upsample_nearest2d((1, 3)).unwrap();
    assert_eq!(vals(&y), [1.0, 1.0, 2.0]);
    let g = grad(&y.sum_all().unwrap(), &[&x]).unwrap();
    assert_eq!(vals(g[0].as_ref().unwrap()), [2.0, 1.0]);
    // 2 -> 4 (exact doubling), 3 -> 2 (downsampling) and 2-D.
    let y = x.tensor().upsample_nearest2d((1, 4)).unwrap();
    assert_eq!(vals(&y), [1.0, 1.0, 2.0, 2.0]);
    let z = t(&[1.0, 2.0, 3.0], &[1, 1, 1, 3]);
    assert_eq!(vals(&z.upsample_nearest2d((1, 2)).unwrap()), [1.0, 2.0]);
    let m = t(&[1.0, 2.0, 3.0, 4.0], &[1, 1, 2, 2]);
    let y = m.upsample_nearest2d((3, 3)).unwrap();
    assert_eq!(vals(&y), [1., 1., 2., 1., 1., 2., 3., 3., 4.]);
}

/// The fused CPU resize's gradient against finite differences, up and down
/// and with repeated sources, over several planes.
#[test]
fn nearest_upsample_gradient_matches_finite_differences() {
    use super::check_grad;
    let x = randn(2 * 3 * 3 * 4, 70);
    for size in [(5, 7), (6, 8), (2, 3), (3, 4)] {
        check_grad(|t| t.upsample_nearest2d(size), &x, &[2, 3, 3, 4], 1e-3);
    }
}

#[test]
fn nearest_indices_follow_float_scale() {
    use crate::ops::resize::nearest_indices;
    assert_eq!(nearest_indices(2, 3), [0, 0, 1]);
    assert_eq!(nearest_indices(3, 5), [0, 0, 1, 1, 2]);
    assert_eq!(nearest_indices(5, 3), [0, 1, 3]);
    assert_eq!(nearest_indices(4, 4), [0, 1, 2, 3]);
    // 14 -> 20: scale 0.7 in f32, index 10 must still map to 7.
    assert_eq!(nearest_indices(14, 20)[10], 7);
}

#[test]
fn adaptive_pool_and_bilinear_defaults_work() {
    let x = t(&randn(2 * 3 * 5 * 7, 70), &[2, 3, 5, 7]);
    assert_eq!(
        x.adaptive_avg_pool2d((2, 3)).unwrap().shape(),
        vec![2, 3, 2, 3]
    );
    assert_eq!(
        x.upsample_bilinear2d((10, 4)).unwrap().shape(),
        vec![2, 3, 10, 4]
    );
}

/// The fused training-mode BatchNorm gives the composed formula's output,
/// detached statistics and gradients for `x`, `γ` and `β`.
#[test]
fn fused_batch_norm_matches_the_composed_formula() {
    use crate::CandleBackend;
    use sfda_core::tensor::backend::batch_norm_train_composed;
    use sfda_core::Backend;

    let shape = [3, 4, 5, 6];
    let x = var(&randn(3 * 4 * 5 * 6, 80), &shape);
    let gamma = var(&randn(4, 81), &[4]);
    let beta = var(&randn(4, 82), &[4]);
    let w = t(&randn(3 * 4 * 5 * 6, 83), &shape);
    let run = |fused: bool| {
        let (xi, gi, bi) = (x.tensor(), gamma.tensor(), beta.tensor());
        let (y, mean, var) = if fused {
            CandleBackend::batch_norm_train(xi.inner(), gi.inner(), bi.inner(), 1e-5)
        } else {
            batch_norm_train_composed::<CandleBackend>(xi.inner(), gi.inner(), bi.inner(), 1e-5)
        }
        .unwrap();
        let y = super::T::wrap(y);
        let loss = y.mul(&w).unwrap().sum_all().unwrap();
        let g = grad(&loss, &[&x, &gamma, &beta]).unwrap();
        let stats = [mean, var].map(super::T::wrap);
        assert!(
            stats.iter().all(|s| !s.inner().is_tracked()),
            "statistics are detached"
        );
        let mut out = vec![vals(&y), vals(&stats[0]), vals(&stats[1])];
        out.extend(g.into_iter().map(|g| vals(&g.unwrap())));
        out
    };
    let (fused, composed) = (run(true), run(false));
    for (i, (a, b)) in fused.iter().zip(&composed).enumerate() {
        let scale = b.iter().fold(0f32, |m, v| m.max(v.abs()));
        let diff = a.iter().zip(b).fold(0f32, |m, (p, q)| m.max((p - q).abs()));
        assert!(
            diff <= 1e-5 * scale.max(1.0),
            "output {i}: {diff} (scale {scale})"
        );
    }
}

/// Largest `|a − b|` of each pair of outputs stays within `1e-5` of the
/// composed output's scale.
#[track_caller]
fn assert_outputs_match(fused: &[Vec<f32>], composed: &[Vec<f32>]) {
    assert_eq!(fused.len(), composed.len());
    for (i, (a, b)) in fused.iter().zip(composed).enumerate() {
        assert_eq!(a.len(), b.len(), "output {i}: lengths");
        let scale = b.iter().fold(0f32, |m, v| m.max(v.abs()));
        let diff = a.iter().zip(b).fold(0f32, |m, (p, q)| m.max((p - q).abs()));
        assert!(
            diff <= 1e-5 * scale.max(1.0),
            "output {i}: {diff} (scale {scale})"
        );
    }
}

/// The fused eval-mode BatchNorm gives the composed formula's output and
/// gradients for `x`, `γ` and `β`, and skips `dγ`, `dβ` for frozen ones.
#[test]
fn fused_eval_batch_norm_matches_the_composed_formula() {
    use crate::CandleBackend;
    use sfda_core::tensor::backend::batch_norm_eval_composed;
    use sfda_core::Backend;

    let shape = [3, 4, 5, 6];
    let x = var(&randn(3 * 4 * 5 * 6, 90), &shape);
    let gamma = var(&randn(4, 91), &[4]);
    let beta = var(&randn(4, 92), &[4]);
    let mean = t(&randn(4, 93), &[4]);
    let rv: Vec<f32> = randn(4, 94).iter().map(|v| v.abs() + 0.1).collect();
    let rvar = t(&rv, &[4]);
    let w = t(&randn(3 * 4 * 5 * 6, 95), &shape);
    let run = |fused: bool| {
        let (xi, gi, bi) = (x.tensor(), gamma.tensor(), beta.tensor());
        let args = (
            xi.inner(),
            gi.inner(),
            bi.inner(),
            mean.inner(),
            rvar.inner(),
        );
        let y = if fused {
            CandleBackend::batch_norm_eval(args.0, args.1, args.2, args.3, args.4, 1e-5)
        } else {
            batch_norm_eval_composed::<CandleBackend>(args.0, args.1, args.2, args.3, args.4, 1e-5)
        }
        .unwrap();
        let y = super::T::wrap(y);
        let loss = y.mul(&w).unwrap().sum_all().unwrap();
        let g = grad(&loss, &[&x, &gamma, &beta]).unwrap();
        let mut out = vec![vals(&y)];
        out.extend(g.into_iter().map(|g| vals(&g.unwrap())));
        out
    };
    let (fused, composed) = (run(true), run(false));
    assert_eq!(fused[0], composed[0], "the forward rounds as composed");
    assert_outputs_match(&fused, &composed);
    // Only x wanted: γ and β get no gradient, x's is unchanged.
    let y = CandleBackend::batch_norm_eval(
        x.tensor().inner(),
        gamma.tensor().inner(),
        beta.tensor().inner(),
        mean.inner(),
        rvar.inner(),
        1e-5,
    )
    .unwrap();
    let loss = super::T::wrap(y).mul(&w).unwrap().sum_all().unwrap();
    let g = grad(&loss, &[&x]).unwrap();
    assert_eq!(vals(g[0].as_ref().unwrap()), fused[1]);
}

/// The fused differentiable moments give the composed mean and biased
/// variance, and the composed gradient through both.
#[test]
fn fused_channel_moments_match_the_composed_formula() {
    use crate::CandleBackend;
    use sfda_core::tensor::backend::channel_moments_composed;
    use sfda_core::Backend;

    let shape = [3, 4, 5, 6];
    let data: Vec<f32> = randn(3 * 4 * 5 * 6, 96)
        .iter()
        .map(|v| 2.0 * v + 0.5)
        .collect();
    let x = var(&data, &shape);
    let wm = t(&randn(4, 97), &[1, 4, 1, 1]);
    let wv = t(&randn(4, 98), &[1, 4, 1, 1]);
    let run = |fused: bool| {
        let xi = x.tensor();
        let (m, v) = if fused {
            CandleBackend::channel_moments(xi.inner())
        } else {
            channel_moments_composed::<CandleBackend>(xi.inner())
        }
        .unwrap();
        let (m, v) = (super::T::wrap(m), super::T::wrap(v));
        assert_eq!(m.shape(), vec![1, 4, 1, 1]);
        assert_eq!(v.shape(), vec![1, 4, 1, 1]);
        let loss = m
            .mul(&wm)
            .unwrap()
            .sum_all()
            .unwrap()
            .add(&v.mul(&wv).unwrap().sum_all().unwrap())
            .unwrap();
        let g = grad(&loss, &[&x]).unwrap();
        vec![vals(&m), vals(&v), vals(g[0].as_ref().unwrap())]
    };
    assert_outputs_match(&run(true), &run(false));
}
