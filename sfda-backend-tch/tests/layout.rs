//! Channels-last convolution weights on the CPU (`src/layout.rs`): what is
//! stored channels-last, that convolutions keep the layout and compute what
//! the NCHW path computes, and that `detach` hands back the contiguous
//! layout a tensor read from a file has, and that a concatenation along the
//! channels keeps the layout.

use sfda_backend_tch::TchBackend;
use sfda_core::{grad, Backend, Conv2dOpts, DeviceSpec, Result, Tensor, Var};
use tch::Tensor as Raw;

type B = TchBackend;
type T = Tensor<B>;

fn cpu() -> tch::Device {
    B::device(DeviceSpec::Cpu).expect("cpu")
}

fn values(n: usize, seed: u32) -> Vec<f32> {
    let mut s = seed.wrapping_mul(2_654_435_761).wrapping_add(7);
    (0..n)
        .map(|_| {
            s = s.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (s >> 8) as f32 / (1u32 << 24) as f32 * 2.0 - 1.0
        })
        .collect()
}

fn channels_last(t: &Raw) -> bool {
    let s = t.size();
    t.dim() == 4 && t.stride() == [s[1] * s[2] * s[3], 1, s[3] * s[1], s[1]]
}

fn raw(t: &T) -> &Raw {
    t.inner().inner()
}

#[test]
fn four_dimensional_variables_are_channels_last_and_others_are_not() -> Result<()> {
    let w = Var::new(&T::from_f32(
        &values(8 * 3 * 3 * 3, 1),
        &[8, 3, 3, 3],
        &cpu(),
    )?)?;
    let b = Var::new(&T::from_f32(&values(8, 2), &[8], &cpu())?)?;
    assert!(channels_last(raw(&w.tensor())));
    assert_eq!(raw(&b.tensor()).stride(), [1]);
    // The values are the variable's, whatever the strides.
    assert_eq!(w.tensor().to_vec()?, values(8 * 3 * 3 * 3, 1));
    // An update keeps the layout.
    w.set(&T::from_f32(
        &values(8 * 3 * 3 * 3, 3),
        &[8, 3, 3, 3],
        &cpu(),
    )?)?;
    assert!(channels_last(raw(&w.tensor())));
    assert_eq!(w.tensor().to_vec()?, values(8 * 3 * 3 * 3, 3));
    Ok(())
}

#[test]
fn a_convolution_with_a_channels_last_weight_matches_the_nchw_one() -> Result<()> {
    let (xs, ws) = ([2, 3, 9, 11], [5, 3, 3, 3]);
    let x = Var::new(&T::from_f32(&values(2 * 3 * 9 * 11, 4), &xs, &cpu())?)?;
    let w = Var::new(&T::from_f32(&values(5 * 3 * 3 * 3, 5), &ws, &cpu())?)?;
    let opts = Conv2dOpts {
        stride: 2,
        padding: 1,
        dilation: 1,
        groups: 1,
    };
    let y = x.tensor().conv2d(&w.tensor(), None, opts)?;
    // The output comes out channels-last: the next layer needs no reorder.
    assert!(channels_last(raw(&y)));
    let r = T::from_f32(&values(y.elem_count(), 6), &y.shape(), &cpu())?;
    let loss = y.mul(&r)?.sum_all()?;
    let g = grad(&loss, &[&x, &w])?;

    // The same convolution on plain NCHW tensors.
    let x0 = Raw::from_slice(&values(2 * 3 * 9 * 11, 4)).reshape([2, 3, 9, 11]);
    let w0 = Raw::from_slice(&values(5 * 3 * 3 * 3, 5)).reshape([5, 3, 3, 3]);
    let (x0, w0) = (x0.set_requires_grad(true), w0.set_requires_grad(true));
    let y0 = x0.conv2d(&w0, None::<Raw>, [2, 2], [1, 1], [1, 1], 1);
    assert!(!channels_last(&y0));
    let r0 = Raw::from_slice(&r.to_vec()?).reshape(y0.size());
    let g0 = Raw::run_backward(
        &[(&y0 * &r0).sum(tch::Kind::Float)],
        &[&x0, &w0],
        false,
        false,
    );
    let close = |a: &[f32], b: &Raw, what: &str| {
        let b: Vec<f32> = b.flatten(0, -1).try_into().expect("f32");
        assert_eq!(a.len(), b.len(), "{what}");
        for (i, (p, q)) in a.iter().zip(&b).enumerate() {
            assert!(
                (p - q).abs() <= 1e-5 * (1.0 + q.abs()),
                "{what}[{i}]: {p} vs {q}"
            );
        }
    };
    close(&y.to_vec()?, &y0, "y");
    close(&g[0].as_ref().expect("dx").to_vec()?, &g0[0], "dx");
    close(&g[1].as_ref().expect("dw").to_vec()?, &g0[1], "dw");
    Ok(())
}

#[test]
fn detach_returns_the_contiguous_layout() -> Result<()> {
    let x = T::from_f32(&values(2 * 3 * 5 * 7, 8), &[2, 3, 5, 7], &cpu())?;
    let w = Var::new(&T::from_f32(&values(12, 9), &[4, 3, 1, 1], &cpu())?)?;
    let y = x.conv2d(&w.tensor(), None, Conv2dOpts::default())?;
    assert!(channels_last(raw(&y)));
    let d = y.detach()?;
    assert!(raw(&d).is_contiguous());
    assert_eq!(d.to_vec()?, y.to_vec()?);
    // A detached variable too: an update to the variable does not show.
    let dw = w.tensor().detach()?;
    assert!(raw(&dw).is_contiguous());
    let before = dw.to_vec()?;
    w.set(&T::from_f32(&[0.0; 12], &[4, 3, 1, 1], &cpu())?)?;
    assert_eq!(dw.to_vec()?, before);
    Ok(())
}

#[test]
fn a_channel_concatenation_with_a_broadcast_part_stays_channels_last() -> Result<()> {
    // The ASPP's case: convolution outputs (channels-last) and a pooled
    // branch broadcast back over the plane (neither layout).
    let x = Var::new(&T::from_f32(
        &values(2 * 3 * 4 * 5, 10),
        &[2, 3, 4, 5],
        &cpu(),
    )?)?;
    let w = Var::new(&T::from_f32(&values(6 * 3, 11), &[6, 3, 1, 1], &cpu())?)?;
    let y = x
        .tensor()
        .conv2d(&w.tensor(), None, Conv2dOpts::default())?;
    let pooled = x
        .tensor()
        .mean_dims(&[2, 3], true)?
        .broadcast_to(&[2, 3, 4, 5])?;
    let cat = T::cat(&[y.clone(), pooled.clone()], 1)?;
    assert!(channels_last(raw(&cat)));
    assert_eq!(cat.shape(), vec![2, 9, 4, 5]);
    // The values are those of an NCHW concatenation.
    let (yv, pv, cv) = (y.to_vec()?, pooled.to_vec()?, cat.to_vec()?);
    for b in 0..2 {
        let plane = 4 * 5;
        let got = &cv[b * 9 * plane..(b + 1) * 9 * plane];
        assert_eq!(&got[..6 * plane], &yv[b * 6 * plane..(b + 1) * 6 * plane]);
        assert_eq!(&got[6 * plane..], &pv[b * 3 * plane..(b + 1) * 3 * plane]);
    }
    // Gradients flow back to both parts as through a plain concatenation.
    let r = T::from_f32(&values(cat.elem_count(), 12), &cat.shape(), &cpu())?;
    let g = grad(&cat.mul(&r)?.sum_all()?, &[&x, &w])?;
    let y0 = x
        .tensor()
        .conv2d(&w.tensor(), None, Conv2dOpts::default())?;
    let r_y = r.narrow(1, 0, 6)?;
    let r_p = r.narrow(1, 6, 3)?;
    let want_loss = y0
        .mul(&r_y)?
        .sum_all()?
        .add(&pooled.mul(&r_p)?.sum_all()?)?;
    let want = grad(&want_loss, &[&x, &w])?;
    for (a, b) in g.iter().zip(&want) {
        let (a, b) = (
            a.as_ref().expect("grad").to_vec()?,
            b.as_ref().expect("grad").to_vec()?,
        );
        for (p, q) in a.iter().zip(&b) {
            assert!((p - q).abs() <= 1e-5 * (1.0 + q.abs()), "{p} vs {q}");
        }
    }
    // Parts that are all NCHW concatenate as before.
    let plain = T::cat(&[pooled.clone(), pooled], 1)?;
    assert!(raw(&plain).is_contiguous());
    Ok(())
}
