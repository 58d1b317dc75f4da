//! Gradient sanity of the SFDA losses on both backends: gradients reach the
//! variables they must reach (the generator's path through BN statistics
//! for L_BNS, the features for DAD), with values worked out by hand where the
//! derivative is simple and central finite differences elsewhere.

#[macro_use]
mod common;

use sfda_backend_candle::CandleBackend;
use sfda_backend_tch::TchBackend;
use sfda_core::ipsm::split_patches;
use sfda_core::loss::{
    bce_with_logits, bns_loss, dad_ss_loss, dad_st_loss, mae_loss, maxsquare_loss, AdvReduction,
    BnsNorm, FeatureScale, LayerReduction, MaxSquareOptions, OutputSpace, StPairing,
};
use sfda_core::{grad, Backend, BnStat, Result, Tensor, Var};

test_backends!(
    bns_gradient_reaches_the_input_through_bn_statistics,
    mae_gradient_is_sign_over_count,
    maxsquare_gradient_two_classes,
    bce_gradient_is_sigmoid_minus_target,
    dad_ss_gradient_reaches_student_features,
    dad_st_gradient_matches_finite_differences,
    split_patches_gradient_skips_cropped_pixels,
);

fn var<B: Backend>(data: &[f32], shape: &[usize], dev: &B::Device) -> Result<Var<B>> {
    Var::new(&Tensor::from_f32(data, shape, dev)?)
}

fn grad_of<B: Backend>(loss: &Tensor<B>, v: &Var<B>) -> Result<Vec<f32>> {
    grad(loss, &[v])?
        .remove(0)
        .expect("the loss must depend on the variable")
        .to_vec()
}

#[track_caller]
fn assert_close(actual: &[f32], expected: &[f32], tol: f32) {
    assert_eq!(actual.len(), expected.len(), "{actual:?} vs {expected:?}");
    for (i, (a, e)) in actual.iter().zip(expected).enumerate() {
        assert!(
            (a - e).abs() <= tol * (1.0 + e.abs()),
            "entry {i}: got {a}, expected {e} (all: {actual:?} vs {expected:?})"
        );
    }
}

fn bns_gradient_reaches_the_input_through_bn_statistics<B: Backend>(dev: &B::Device) -> Result<()> {
    // A "BN layer" whose input is x [N=2, C=1, H=1, W=2] = [[1, 3], [5, 7]]:
    // μ = 4, σ² = (9 + 1 + 1 + 9)/4 = 5; running μ̄ = 0, σ̄² = 1.
    // L = (4 − 0)² + (5 − 1)² = 32;
    // ∂L/∂x_i = 2(μ − μ̄)/4 + 2(σ² − σ̄²)·2(x_i − μ)/4 = 2 + 4(x_i − 4)
    //         = [−10, −2, 6, 14].
    let x = var::<B>(&[1.0, 3.0, 5.0, 7.0], &[2, 1, 1, 2], dev)?;
    let xt = x.tensor();
    let mean = xt.mean_dims(&[0, 2, 3], true)?;
    let var_ = xt.sub(&mean)?.sqr()?.mean_dims(&[0, 2, 3], false)?;
    let stat = BnStat {
        name: "gen_out.bn".into(),
        batch_mean: mean.reshape(&[1])?,
        batch_var: var_,
        running_mean: Tensor::zeros(&[1], dev)?,
        running_var: Tensor::ones(&[1], dev)?,
    };
    let l = bns_loss(&[stat], BnsNorm::Squared, LayerReduction::Sum)?;
    assert_close(&[l.to_scalar()?], &[32.0], 1e-5);
    assert_close(&grad_of(&l, &x)?, &[-10.0, -2.0, 6.0, 14.0], 1e-4);
    Ok(())
}

fn mae_gradient_is_sign_over_count<B: Backend>(dev: &B::Device) -> Result<()> {
    // d/ds mean|s − t| = sign(s − t)/4.
    let s = var::<B>(&[1.0, 2.0, 0.0, 0.5], &[1, 2, 1, 2], dev)?;
    let t = Tensor::<B>::from_f32(&[0.0, 3.0, 1.0, 0.0], &[1, 2, 1, 2], dev)?;
    let l = mae_loss(&s.tensor(), &t, OutputSpace::Logits)?;
    assert_close(&grad_of(&l, &s)?, &[0.25, -0.25, -0.25, 0.25], 1e-5);
    Ok(())
}

fn maxsquare_gradient_two_classes<B: Backend>(dev: &B::Device) -> Result<()> {
    // One pixel, logits (z, 0), p = σ(z): L = −(p² + (1 − p)²);
    // ∂L/∂z = −2(2p − 1)·p(1 − p). At z = ln 3, p = .75: −2·.5·.1875 = −.1875,
    // and ∂L/∂z₁ = +.1875 (softmax is shift invariant).
    let x = var::<B>(&[3f32.ln(), 0.0], &[1, 2, 1, 1], dev)?;
    let l = maxsquare_loss(&x.tensor(), &MaxSquareOptions::default())?;
    assert_close(&grad_of(&l, &x)?, &[-0.1875, 0.1875], 1e-5);
    Ok(())
}

fn bce_gradient_is_sigmoid_minus_target<B: Backend>(dev: &B::Device) -> Result<()> {
    // ∂ℓ/∂x = σ(x) − y: (0, 1) → −.5; (2, 0) → σ(2) = .8807971; (−3, 1) → σ(−3) − 1.
    let x = var::<B>(&[0.0, 2.0, -3.0], &[3], dev)?;
    let y = Tensor::<B>::from_f32(&[1.0, 0.0, 1.0], &[3], dev)?;
    let l = bce_with_logits(&x.tensor(), &y, AdvReduction::Sum)?;
    assert_close(&grad_of(&l, &x)?, &[-0.5, 0.880_797_1, -0.952_574_1], 1e-5);
    Ok(())
}

fn features(seed: u32, n: usize) -> Vec<f32> {
    (0..n)
        .map(|i| (((i as u32).wrapping_mul(2_654_435_761) ^ seed) % 1000) as f32 / 500.0 - 1.0)
        .collect()
}

fn dad_ss_gradient_reaches_student_features<B: Backend>(dev: &B::Device) -> Result<()> {
    let shape = [2, 3, 2, 2];
    let teacher = Tensor::<B>::from_f32(&features(1, 24), &shape, dev)?;
    let student = var::<B>(&features(7, 24), &shape, dev)?;
    let l = dad_ss_loss(&teacher, &student.tensor(), FeatureScale::default(), None)?;
    let g = grad_of(&l, &student)?;
    assert!(g.iter().all(|v| v.is_finite()), "{g:?}");
    assert!(g.iter().any(|v| v.abs() > 1e-4), "{g:?}");
    // A small step against the gradient lowers the loss.
    let stepped: Vec<f32> = features(7, 24)
        .iter()
        .zip(&g)
        .map(|(x, g)| x - 0.05 * g)
        .collect();
    let stepped = Tensor::<B>::from_f32(&stepped, &shape, dev)?;
    let l2 = dad_ss_loss(&teacher, &stepped, FeatureScale::default(), None)?;
    assert!(l2.to_scalar()? < l.to_scalar()?);
    Ok(())
}

fn dad_st_gradient_matches_finite_differences<B: Backend>(dev: &B::Device) -> Result<()> {
    // The generator minimises τ·L_DAD^st through the teacher's features on
    // fakes: check that gradient against central differences (default
    // cosine/temperature scaling, pooling 4×4 → 2×2, batches of 2 and 3).
    let fshape = [2, 3, 4, 4];
    let base = features(3, 96);
    let fake = var::<B>(&base, &fshape, dev)?;
    let target = Tensor::<B>::from_f32(&features(11, 3 * 3 * 2 * 6), &[3, 3, 2, 6], dev)?;
    let loss = |x: &Tensor<B>| {
        dad_st_loss(
            x,
            &target,
            FeatureScale::CosineTemperature(0.5),
            (2, 2),
            StPairing::Index,
        )
    };
    let l = loss(&fake.tensor())?;
    let g = grad_of(&l, &fake)?;
    let eps = 1e-2f32;
    for &i in &[0usize, 5, 17, 42, 77, 95] {
        let mut plus = base.clone();
        plus[i] += eps;
        let mut minus = base.clone();
        minus[i] -= eps;
        let lp = loss(&Tensor::from_f32(&plus, &fshape, dev)?)?.to_scalar()?;
        let lm = loss(&Tensor::from_f32(&minus, &fshape, dev)?)?.to_scalar()?;
        let fd = (lp - lm) / (2.0 * eps);
        assert!(
            (fd - g[i]).abs() <= 2e-3 + 5e-2 * fd.abs(),
            "entry {i}: autodiff {} vs finite differences {fd}",
            g[i]
        );
    }
    Ok(())
}

fn split_patches_gradient_skips_cropped_pixels<B: Backend>(dev: &B::Device) -> Result<()> {
    // 3×5 map, K = 2 → 1×2 patches covering rows 0–1, columns 0–3.
    let data: Vec<f32> = (0..15).map(|i| i as f32).collect();
    let x = var::<B>(&data, &[1, 1, 3, 5], dev)?;
    let l = split_patches(&x.tensor(), 2)?.patches.sum_all()?;
    #[rustfmt::skip]
    let expected = [
        1.0, 1.0, 1.0, 1.0, 0.0,
        1.0, 1.0, 1.0, 1.0, 0.0,
        0.0, 0.0, 0.0, 0.0, 0.0,
    ];
    assert_close(&grad_of(&l, &x)?, &expected, 0.0);
    Ok(())
}
