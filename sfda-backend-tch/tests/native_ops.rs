//! The tch backend's native overrides of composite ops (fused batch norm in
//! training and eval mode, one-pass moments, PReLU-based leaky ReLU, the
//! no-grad scope, detach without a copy) against sfda-core's compositions
//! from primitives, values and gradients.

use sfda_backend_tch::TchBackend;
use sfda_core::tensor::backend::{
    batch_norm_eval_composed, batch_norm_train_composed, batch_norm_train_moments_composed,
    channel_moments_composed, leaky_relu_composed,
};
use sfda_core::{grad, Backend, DeviceSpec, Result, Tensor, Var};

type B = TchBackend;
type T = Tensor<B>;

fn cpu() -> tch::Device {
    B::device(DeviceSpec::Cpu).expect("cpu")
}

/// Deterministic values in about [-2, 2] with a per-channel offset, so the
/// channels have different means and variances.
fn values(n: usize, seed: u32) -> Vec<f32> {
    let mut s = seed.wrapping_mul(2_654_435_761).wrapping_add(12345);
    (0..n)
        .map(|i| {
            s = s.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (s >> 8) as f32 / (1u32 << 24) as f32 * 4.0 - 2.0 + (i % 3) as f32 * 0.5
        })
        .collect()
}

fn var(data: &[f32], shape: &[usize]) -> Var<B> {
    Var::new(&T::from_f32(data, shape, &cpu()).expect("from_f32")).expect("var")
}

fn assert_close(what: &str, got: &T, want: &T, tol: f32) {
    let (g, w) = (got.to_vec().expect("got"), want.to_vec().expect("want"));
    assert_eq!(got.shape(), want.shape(), "{what}: shapes");
    let scale = w.iter().fold(1e-3f32, |m, v| m.max(v.abs()));
    for (i, (a, b)) in g.iter().zip(&w).enumerate() {
        assert!(
            (a - b).abs() <= tol * scale,
            "{what}[{i}]: native {a} vs composed {b} (scale {scale})"
        );
    }
}

/// `Σ y·r` for a fixed random `r`: a scalar whose gradient depends on every
/// output entry differently.
fn probe(y: &T, seed: u32) -> Result<T> {
    let r = T::from_f32(&values(y.elem_count(), seed), &y.shape(), &cpu())?;
    y.mul(&r)?.sum_all()
}

fn grads(loss: &T, vars: &[&Var<B>]) -> Vec<T> {
    grad(loss, vars)
        .expect("grad")
        .into_iter()
        .map(|g| g.expect("every input gets a gradient"))
        .collect()
}

const SHAPE: [usize; 4] = [3, 4, 5, 6];

#[test]
fn fused_batch_norm_train_matches_the_composition() -> Result<()> {
    let x = var(&values(360, 1), &SHAPE);
    let g = var(&values(4, 2), &[4]);
    let b = var(&values(4, 3), &[4]);
    let (xt, gt, bt) = (x.tensor(), g.tensor(), b.tensor());
    let (y, m, v) = B::batch_norm_train(xt.inner(), gt.inner(), bt.inner(), 1e-5)?;
    let (yc, mc, vc) = batch_norm_train_composed::<B>(xt.inner(), gt.inner(), bt.inner(), 1e-5)?;
    let (y, yc) = (T::wrap(y), T::wrap(yc));
    assert_close("y", &y, &yc, 1e-5);
    assert_close("mean", &T::wrap(m), &T::wrap(mc), 1e-5);
    assert_close("var", &T::wrap(v), &T::wrap(vc), 1e-5);
    let gn = grads(&probe(&y, 4)?, &[&x, &g, &b]);
    let gc = grads(&probe(&yc, 4)?, &[&x, &g, &b]);
    for (name, (a, c)) in ["dx", "dgamma", "dbeta"].iter().zip(gn.iter().zip(&gc)) {
        assert_close(name, a, c, 1e-4);
    }
    Ok(())
}

#[test]
fn fused_batch_norm_with_differentiable_moments_matches_the_composition() -> Result<()> {
    let x = var(&values(360, 5), &SHAPE);
    let g = var(&values(4, 6), &[4]);
    let b = var(&values(4, 7), &[4]);
    let (xt, gt, bt) = (x.tensor(), g.tensor(), b.tensor());
    let native = B::batch_norm_train_moments(xt.inner(), gt.inner(), bt.inner(), 1e-5)?;
    let composed =
        batch_norm_train_moments_composed::<B>(xt.inner(), gt.inner(), bt.inner(), 1e-5)?;
    let as_t = |(y, m, v): (_, _, _)| (T::wrap(y), T::wrap(m), T::wrap(v));
    let ((y, m, v), (yc, mc, vc)) = (as_t(native), as_t(composed));
    assert_eq!(m.shape(), vec![1, 4, 1, 1]);
    assert_close("y", &y, &yc, 1e-5);
    assert_close("mean", &m, &mc, 1e-5);
    assert_close("var", &v, &vc, 1e-5);
    // The L_BNS path: a loss on the statistics as well as on y.
    let loss = |y: &T, m: &T, v: &T| -> Result<T> {
        probe(y, 8)?
            .add(&probe(m, 9)?)?
            .add(&probe(&v.sqrt()?, 10)?)
    };
    let gn = grads(&loss(&y, &m, &v)?, &[&x, &g, &b]);
    let gc = grads(&loss(&yc, &mc, &vc)?, &[&x, &g, &b]);
    for (name, (a, c)) in ["dx", "dgamma", "dbeta"].iter().zip(gn.iter().zip(&gc)) {
        assert_close(name, a, c, 1e-4);
    }
    Ok(())
}

#[test]
fn fused_batch_norm_eval_matches_the_composition() -> Result<()> {
    let x = var(&values(360, 11), &SHAPE);
    let g = var(&values(4, 12), &[4]);
    let b = var(&values(4, 13), &[4]);
    let rm = T::from_f32(&values(4, 14), &[4], &cpu())?;
    let rv = T::from_f32(&[0.5, 1.0, 2.0, 0.01], &[4], &cpu())?;
    let (xt, gt, bt) = (x.tensor(), g.tensor(), b.tensor());
    let y = T::wrap(B::batch_norm_eval(
        xt.inner(),
        gt.inner(),
        bt.inner(),
        rm.inner(),
        rv.inner(),
        1e-5,
    )?);
    let yc = T::wrap(batch_norm_eval_composed::<B>(
        xt.inner(),
        gt.inner(),
        bt.inner(),
        rm.inner(),
        rv.inner(),
        1e-5,
    )?);
    assert_close("y", &y, &yc, 1e-5);
    let gn = grads(&probe(&y, 15)?, &[&x, &g, &b]);
    let gc = grads(&probe(&yc, 15)?, &[&x, &g, &b]);
    for (name, (a, c)) in ["dx", "dgamma", "dbeta"].iter().zip(gn.iter().zip(&gc)) {
        assert_close(name, a, c, 1e-5);
    }
    Ok(())
}

#[test]
fn one_pass_moments_match_the_composition() -> Result<()> {
    let x = var(&values(360, 16), &SHAPE);
    let (m, v) = B::channel_moments(x.tensor().inner())?;
    let (mc, vc) = channel_moments_composed::<B>(x.tensor().inner())?;
    let ((m, v), (mc, vc)) = ((T::wrap(m), T::wrap(v)), (T::wrap(mc), T::wrap(vc)));
    assert_close("mean", &m, &mc, 1e-6);
    assert_close("var", &v, &vc, 1e-5);
    let gn = grads(&probe(&m, 17)?.add(&probe(&v, 18)?)?, &[&x]);
    let gc = grads(&probe(&mc, 17)?.add(&probe(&vc, 18)?)?, &[&x]);
    assert_close("dx", &gn[0], &gc[0], 1e-5);
    Ok(())
}

#[test]
fn native_leaky_relu_matches_the_composition() -> Result<()> {
    let x = var(&values(360, 19), &SHAPE);
    for slope in [0.0, 0.01, 0.2, 1.0] {
        let y = T::wrap(B::leaky_relu(x.tensor().inner(), slope)?);
        let yc = T::wrap(leaky_relu_composed::<B>(x.tensor().inner(), slope)?);
        assert_close(&format!("y (slope {slope})"), &y, &yc, 1e-7);
        let gn = grads(&probe(&y, 20)?, &[&x]);
        let gc = grads(&probe(&yc, 20)?, &[&x]);
        assert_close(&format!("dx (slope {slope})"), &gn[0], &gc[0], 1e-7);
    }
    Ok(())
}

#[test]
fn no_grad_records_nothing_and_restores_the_mode() -> Result<()> {
    let x = var(&values(24, 21), &[2, 3, 4]);
    let inside = sfda_core::tensor::no_grad::<B, _>(|| x.tensor().scale(2.0))?;
    assert!(!inside.inner().inner().requires_grad());
    assert_eq!(inside.to_vec()?, x.tensor().scale(2.0)?.to_vec()?);
    // The mode is restored when the closure returns an error as well.
    let failed: Result<T> = sfda_core::tensor::no_grad::<B, _>(|| x.tensor().reshape(&[5, 5]));
    assert!(failed.is_err());
    assert!(x.tensor().scale(2.0)?.inner().inner().requires_grad());
    Ok(())
}

#[test]
fn detach_copies_only_what_a_variable_update_could_change() -> Result<()> {
    let v = var(&[1.0, 2.0], &[2]);
    // A variable's tensor (and a view of it) is copied: a later update must
    // not show through.
    let snapshot = v.tensor().detach()?;
    let view = v.tensor().reshape(&[2, 1])?.detach()?;
    v.set(&T::from_f32(&[5.0, 6.0], &[2], &cpu())?)?;
    assert_eq!(snapshot.to_vec()?, vec![1.0, 2.0]);
    assert_eq!(view.to_vec()?, vec![1.0, 2.0]);
    // An op output that needs no gradient is shared, not copied.
    let out = sfda_core::tensor::no_grad::<B, _>(|| v.tensor().scale(3.0))?;
    let d = out.detach()?;
    assert_eq!(d.inner().inner().data_ptr(), out.inner().inner().data_ptr());
    assert_eq!(d.to_vec()?, vec![15.0, 18.0]);
    Ok(())
}
