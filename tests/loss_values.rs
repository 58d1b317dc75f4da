//! Every SFDA loss on tiny inputs whose value is worked out by hand in the
//! comments (checked against a NumPy transcription of the formulas), on
//! both backends. Equation numbers are the paper's.

#[macro_use]
mod common;

use sfda_backend_candle::CandleBackend;
use sfda_backend_tch::TchBackend;
use sfda_core::ipsm::patch_mean_entropy;
use sfda_core::loss::{
    bce_with_logits, bns_loss, dad_ss_loss, dad_st_loss, discriminator_loss, dual_attention,
    fool_loss, mae_loss, maxsquare_loss, maxsquare_loss_with_probs, pixel_entropy, AdvReduction,
    BnsNorm, DualAttention, FeatureScale, LayerReduction, MaxSquareOptions, OutputSpace, StPairing,
};
use sfda_core::{Backend, BnStat, Result, Tensor};

test_backends!(
    bns_sums_squared_norms_over_layers,
    bns_plain_l2_and_layer_mean,
    bns_rejects_missing_or_mismatched_stats,
    mae_on_logits_and_probabilities,
    attention_maps_raw_features,
    attention_feature_scales,
    attention_shapes_and_row_sums,
    dad_ss_mean_absolute_attention_difference,
    dad_ss_with_pooling,
    dad_st_kl_of_spatial_and_channel_maps,
    dad_st_pairing_and_pooling,
    maxsquare_eq2_and_scale,
    maxsquare_image_wise_class_balance,
    maxsquare_with_shared_probabilities,
    entropy_per_pixel_and_per_patch,
    entropy_patches_crop_remainder,
    bce_with_logits_values_and_stability,
    adversarial_discriminator_and_fool_terms,
);

const TOL: f32 = 1e-5;
const LN2: f32 = std::f32::consts::LN_2;

fn t<B: Backend>(data: &[f32], shape: &[usize], dev: &B::Device) -> Result<Tensor<B>> {
    Tensor::from_f32(data, shape, dev)
}

fn scalar<B: Backend>(x: &Tensor<B>) -> f32 {
    x.to_scalar().expect("scalar loss")
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

fn bn_stat<B: Backend>(
    name: &str,
    mean: &[f32],
    var: &[f32],
    rmean: &[f32],
    rvar: &[f32],
    dev: &B::Device,
) -> Result<BnStat<B>> {
    Ok(BnStat {
        name: name.into(),
        batch_mean: t(mean, &[mean.len()], dev)?,
        batch_var: t(var, &[var.len()], dev)?,
        running_mean: t(rmean, &[rmean.len()], dev)?,
        running_var: t(rvar, &[rvar.len()], dev)?,
    })
}

/// Two BN layers:
/// - layer 1: μ = [1, 2] vs μ̄ = [0, 0] → ‖·‖² = 1 + 4 = 5;
///   σ² = [1, 1] vs σ̄² = [1, 3] → ‖[0, −2]‖² = 4. Layer total 9.
/// - layer 2: μ = [0.5] vs [−0.5] → 1; σ² = [2] vs [1] → 1. Layer total 2.
fn two_layers<B: Backend>(dev: &B::Device) -> Result<Vec<BnStat<B>>> {
    Ok(vec![
        bn_stat(
            "l1",
            &[1.0, 2.0],
            &[1.0, 1.0],
            &[0.0, 0.0],
            &[1.0, 3.0],
            dev,
        )?,
        bn_stat("l2", &[0.5], &[2.0], &[-0.5], &[1.0], dev)?,
    ])
}

fn bns_sums_squared_norms_over_layers<B: Backend>(dev: &B::Device) -> Result<()> {
    // eq. 4: Σ_l ‖Δμ‖² + Σ_l ‖Δσ²‖² = 9 + 2 = 11.
    let l = bns_loss(
        &two_layers::<B>(dev)?,
        BnsNorm::Squared,
        LayerReduction::Sum,
    )?;
    assert_eq!(l.shape(), Vec::<usize>::new());
    assert_close(&[scalar(&l)], &[11.0], TOL);
    Ok(())
}

fn bns_plain_l2_and_layer_mean<B: Backend>(dev: &B::Device) -> Result<()> {
    // Unsquared: layer 1 √5 + √4 = 4.2360680, layer 2 1 + 1 = 2 → 6.2360680.
    let l2 = bns_loss(&two_layers::<B>(dev)?, BnsNorm::L2, LayerReduction::Sum)?;
    assert_close(&[scalar(&l2)], &[5f32.sqrt() + 2.0 + 2.0], TOL);
    // Mean over the two layers: 11 / 2.
    let mean = bns_loss(
        &two_layers::<B>(dev)?,
        BnsNorm::Squared,
        LayerReduction::Mean,
    )?;
    assert_close(&[scalar(&mean)], &[5.5], TOL);
    // Channel-normalised (ε = 1e-5): layer 1 means 1/1 + 4/3, variances
    // 0 + (2/3)²; layer 2 mean 1/1, variance (1/1)² → 4.7777…
    let normalised = bns_loss(
        &two_layers::<B>(dev)?,
        BnsNorm::ChannelNormalised,
        LayerReduction::Sum,
    )?;
    let e = 1e-5f64;
    let expected = 1.0 / (1.0 + e)
        + 4.0 / (3.0 + e)
        + (2.0 / (3.0 + e)).powi(2)
        + 1.0 / (1.0 + e)
        + (1.0 / (1.0 + e)).powi(2);
    assert_close(&[scalar(&normalised)], &[expected as f32], TOL);
    Ok(())
}

fn bns_rejects_missing_or_mismatched_stats<B: Backend>(dev: &B::Device) -> Result<()> {
    let err = bns_loss::<B>(&[], BnsNorm::Squared, LayerReduction::Sum).unwrap_err();
    assert!(err.to_string().contains("collect_bn_stats"), "{err}");
    let bad = vec![bn_stat::<B>(
        "bad.bn",
        &[1.0, 2.0],
        &[1.0, 1.0],
        &[0.0],
        &[1.0],
        dev,
    )?];
    let err = bns_loss(&bad, BnsNorm::Squared, LayerReduction::Sum).unwrap_err();
    assert!(err.to_string().contains("bad.bn"), "{err}");
    Ok(())
}

fn mae_on_logits_and_probabilities<B: Backend>(dev: &B::Device) -> Result<()> {
    // [B=1, C=2, H=1, W=2]; per pixel (c0, c1):
    //   student (1, 0), (2, 0); teacher (0, 1), (2, −1).
    let s = t::<B>(&[1.0, 2.0, 0.0, 0.0], &[1, 2, 1, 2], dev)?;
    let te = t::<B>(&[0.0, 2.0, 1.0, -1.0], &[1, 2, 1, 2], dev)?;
    // Logits: |Δ| = 1, 0, 1, 1 → mean 3/4.
    assert_close(
        &[scalar(&mae_loss(&s, &te, OutputSpace::Logits)?)],
        &[0.75],
        TOL,
    );
    // Probabilities: pixel 0: σ(1) − σ(−1) = 0.4621172 for both classes;
    // pixel 1: σ(3) − σ(2) = 0.0717770 for both → (2·0.4621172 + 2·0.0717770)/4.
    let p = mae_loss(&s, &te, OutputSpace::Probabilities)?;
    assert_close(&[scalar(&p)], &[0.266_947_1], TOL);
    // Different shapes are an error.
    let other = t::<B>(&[0.0; 2], &[1, 2, 1, 1], dev)?;
    assert!(mae_loss(&s, &other, OutputSpace::Logits).is_err());
    Ok(())
}

/// `F [1, C=2, H=1, W=2]` read as N×C = [[1, 0], [1, 1]] (position 0 = (1, 0),
/// position 1 = (1, 1)); channel-major data: channel 0 = [1, 1], channel 1 = [0, 1].
fn feat_f<B: Backend>(dev: &B::Device) -> Result<Tensor<B>> {
    t(&[1.0, 1.0, 0.0, 1.0], &[1, 2, 1, 2], dev)
}

/// `G` read as N×C = [[2, 0], [0, 1]]: channel 0 = [2, 0], channel 1 = [0, 1].
fn feat_g<B: Backend>(dev: &B::Device) -> Result<Tensor<B>> {
    t(&[2.0, 0.0, 0.0, 1.0], &[1, 2, 1, 2], dev)
}

const S_ROW1: [f32; 2] = [0.268_941_4, 0.731_058_6]; // softmax(1, 2)

fn attention_maps_raw_features<B: Backend>(dev: &B::Device) -> Result<()> {
    // eq. 8: F·Fᵀ = [[1, 1], [1, 2]] → S = [[.5, .5], [σ(−1), σ(1)]].
    // eq. 9: columns (1, 1) and (0, 1): Fᵀ·F = [[2, 1], [1, 1]] → R = [[σ(1), σ(−1)], [.5, .5]].
    // eq. 10: S·F = [[1, .5], [1, σ(1)]];
    //   (F·Rᵀ)[n, j] = Σ_i F[n, i]·r_ji: n = 0 → (r_00, r_10) = (σ(1), .5); n = 1 → (1, 1).
    let da = DualAttention::new(&feat_f::<B>(dev)?, FeatureScale::None)?;
    let s = da.spatial()?;
    assert_eq!(s.shape(), vec![1, 2, 2]);
    assert_close(&s.to_vec()?, &[0.5, 0.5, S_ROW1[0], S_ROW1[1]], TOL);
    assert_close(
        &da.channel()?.to_vec()?,
        &[S_ROW1[1], S_ROW1[0], 0.5, 0.5],
        TOL,
    );
    let a = da.map()?;
    assert_eq!(a.shape(), vec![1, 2, 4]);
    let expected = [1.0, 0.5, S_ROW1[1], 0.5, 1.0, S_ROW1[1], 1.0, 1.0];
    assert_close(&a.to_vec()?, &expected, TOL);
    assert_close(
        &dual_attention(&feat_f::<B>(dev)?, FeatureScale::None)?.to_vec()?,
        &expected,
        TOL,
    );
    // log S agrees with S.
    let logs: Vec<f32> = da
        .log_spatial()?
        .to_vec()?
        .iter()
        .map(|x| x.exp())
        .collect();
    assert_close(&logs, &s.to_vec()?, TOL);
    Ok(())
}

fn attention_feature_scales<B: Backend>(dev: &B::Device) -> Result<()> {
    let f = feat_f::<B>(dev)?;
    // Temperature 2: F·Fᵀ/2 = [[.5, .5], [.5, 1]] → row 1 = softmax(.5, 1) = (σ(−.5), σ(.5)).
    let s = DualAttention::new(&f, FeatureScale::Temperature(2.0))?.spatial()?;
    assert_close(&s.to_vec()?, &[0.5, 0.5, 0.377_540_7, 0.622_459_3], TOL);
    // L2 normalise: positions (1, 0) and (1, 1)/√2 → cosines [[1, c], [c, 1]],
    // c = 1/√2; row 0 = softmax(1, c) = (σ(1 − c), σ(c − 1)) = (0.5727043, 0.4272957).
    // Channels (1, 1)/√2 and (0, 1) → the same cosine matrix for R.
    let da = DualAttention::new(&f, FeatureScale::L2Normalize)?;
    let (hi, lo) = (0.572_704_3, 0.427_295_7);
    assert_close(&da.spatial()?.to_vec()?, &[hi, lo, lo, hi], TOL);
    assert_close(&da.channel()?.to_vec()?, &[hi, lo, lo, hi], TOL);
    // The values multiplied in eq. 10 stay the raw features:
    // S·F = [[1, lo], [1, hi]], F·Rᵀ = [[hi, lo], [1, 1]].
    assert_close(
        &da.map()?.to_vec()?,
        &[1.0, lo, hi, lo, 1.0, hi, 1.0, 1.0],
        TOL,
    );
    // Cosine / 0.5: row 0 = softmax(2, 2c) = (σ(2 − √2), ·) = (0.6423978, 0.3576022).
    let s = DualAttention::new(&f, FeatureScale::CosineTemperature(0.5))?.spatial()?;
    let (hi, lo) = (0.642_397_8, 0.357_602_2);
    assert_close(&s.to_vec()?, &[hi, lo, lo, hi], TOL);
    // A zero feature vector (dead ReLU position) stays finite when normalised.
    let z = t::<B>(&[0.0, 1.0, 0.0, 1.0], &[1, 2, 1, 2], dev)?;
    let m = dual_attention(&z, FeatureScale::default())?.to_vec()?;
    assert!(m.iter().all(|x| x.is_finite()), "{m:?}");
    assert!(DualAttention::new(&f, FeatureScale::Temperature(0.0)).is_err());
    Ok(())
}

fn attention_shapes_and_row_sums<B: Backend>(dev: &B::Device) -> Result<()> {
    // [B=2, C=3, H=2, W=4] → N = 8: S [2, 8, 8], R [2, 3, 3], A [2, 8, 6].
    let data: Vec<f32> = (0..48).map(|i| ((i * 7 % 11) as f32 - 5.0) / 3.0).collect();
    let f = t::<B>(&data, &[2, 3, 2, 4], dev)?;
    let da = DualAttention::new(&f, FeatureScale::default())?;
    assert_eq!(da.features().shape(), vec![2, 8, 3]);
    assert_eq!(da.spatial()?.shape(), vec![2, 8, 8]);
    assert_eq!(da.channel()?.shape(), vec![2, 3, 3]);
    assert_eq!(da.map()?.shape(), vec![2, 8, 6]);
    let rows = da.spatial()?.sum_dims(&[2], false)?.to_vec()?;
    assert_close(&rows, &[1.0; 16], TOL);
    let rows = da.channel()?.sum_dims(&[2], false)?.to_vec()?;
    assert_close(&rows, &[1.0; 6], TOL);
    // The position-major features: position (h=0, w=1) of image 0 is
    // (data[1], data[9], data[17]).
    let fv = da.features().to_vec()?;
    assert_close(&fv[3..6], &[data[1], data[9], data[17]], 0.0);
    assert!(DualAttention::new(&t::<B>(&data, &[6, 8], dev)?, FeatureScale::None).is_err());
    Ok(())
}

fn dad_ss_mean_absolute_attention_difference<B: Backend>(dev: &B::Device) -> Result<()> {
    // A(0) = 0, so eq. 6 is mean|A(F)| = (1 + .5 + σ(1) + .5 + 1 + σ(1) + 1 + 1)/8 = 0.8077646.
    let zero = Tensor::<B>::zeros(&[1, 2, 1, 2], dev)?;
    let l = dad_ss_loss(&feat_f::<B>(dev)?, &zero, FeatureScale::None, None)?;
    assert_close(&[scalar(&l)], &[0.807_764_6], TOL);
    // Batch of two: image 0 differs as above, image 1 is identical → mean 0.4038823.
    let teacher = Tensor::cat(&[feat_f::<B>(dev)?, feat_f::<B>(dev)?], 0)?;
    let student = Tensor::cat(&[zero, feat_f::<B>(dev)?], 0)?;
    let l = dad_ss_loss(&teacher, &student, FeatureScale::None, None)?;
    assert_close(&[scalar(&l)], &[0.807_764_6 / 2.0], TOL);
    // Identical features: 0. Different shapes: error.
    let same = dad_ss_loss(&teacher, &teacher, FeatureScale::default(), None)?;
    assert_close(&[scalar(&same)], &[0.0], TOL);
    assert!(dad_ss_loss(&teacher, &feat_f::<B>(dev)?, FeatureScale::None, None).is_err());
    Ok(())
}

fn dad_ss_with_pooling<B: Backend>(dev: &B::Device) -> Result<()> {
    // Pool F to 1×1: F = (1, .5), N = 1: S = [[1]], S·F = (1, .5);
    // Fᵀ·F = [[1, .5], [.5, .25]] → R = [[σ(.5), σ(−.5)], [σ(.25), σ(−.25)]];
    // F·Rᵀ = (σ(.5) + .5σ(−.5), σ(.25) + .5σ(−.25)) = (0.8112297, 0.7810882).
    // mean|A| = (1 + .5 + 0.8112297 + 0.7810882)/4 = 0.7730795.
    let zero = Tensor::<B>::zeros(&[1, 2, 1, 2], dev)?;
    let l = dad_ss_loss(&feat_f::<B>(dev)?, &zero, FeatureScale::None, Some((1, 1)))?;
    assert_close(&[scalar(&l)], &[0.773_079_5], TOL);
    Ok(())
}

// KL values of eq. 7 for P from F, Q from G (scale none):
//   S(F) = [[.5, .5], [σ(−1), σ(1)]], S(G) = softmax rows of [[4, 0], [0, 1]];
//   R(F) = [[σ(1), σ(−1)], [.5, .5]], R(G) = softmax rows of [[4, 0], [0, 1]];
//   mean over rows of Σ p log(p/q): KL_S = 0.6625014, KL_R = 0.3159135.
const KL_S: f32 = 0.662_501_4;
const KL_R: f32 = 0.315_913_5;

fn dad_st_kl_of_spatial_and_channel_maps<B: Backend>(dev: &B::Device) -> Result<()> {
    let (f, g) = (feat_f::<B>(dev)?, feat_g::<B>(dev)?);
    let l = dad_st_loss(&f, &g, FeatureScale::None, (1, 2), StPairing::Index)?;
    assert_close(&[scalar(&l)], &[KL_S + KL_R], TOL);
    // KL(P, P) = 0.
    let z = dad_st_loss(&f, &f, FeatureScale::default(), (1, 2), StPairing::Index)?;
    assert_close(&[scalar(&z)], &[0.0], TOL);
    // Channel counts must agree.
    let three = Tensor::<B>::zeros(&[1, 3, 1, 2], dev)?;
    assert!(dad_st_loss(&f, &three, FeatureScale::None, (1, 2), StPairing::Index).is_err());
    Ok(())
}

fn dad_st_pairing_and_pooling<B: Backend>(dev: &B::Device) -> Result<()> {
    let (f, g) = (feat_f::<B>(dev)?, feat_g::<B>(dev)?);
    // Target features at twice the resolution: every value of G repeated in
    // a 2×2 block, so adaptive pooling to (1, 2) gives G back exactly.
    let g_big = t::<B>(
        &[
            2., 2., 0., 0., 2., 2., 0., 0., 0., 0., 1., 1., 0., 0., 1., 1.,
        ],
        &[1, 2, 2, 4],
        dev,
    )?;
    let l = dad_st_loss(&f, &g_big, FeatureScale::None, (1, 2), StPairing::Index)?;
    assert_close(&[scalar(&l)], &[KL_S + KL_R], TOL);
    // Index pairing, 2 fakes [F, G] against 1 target [G]: fake i ↔ target i mod 1,
    // i.e. (KL(F‖G) + KL(G‖G))/2.
    let fakes = Tensor::cat(&[f.clone(), g.clone()], 0)?;
    let l = dad_st_loss(&fakes, &g, FeatureScale::None, (1, 2), StPairing::Index)?;
    assert_close(&[scalar(&l)], &[(KL_S + KL_R) / 2.0], TOL);
    // Batch-mean pairing of [F, G] against [G, F]: equal mean maps → 0, while
    // index pairing compares F with G and G with F (> 0).
    let targets = Tensor::cat(&[g, f], 0)?;
    let mean = dad_st_loss(
        &fakes,
        &targets,
        FeatureScale::None,
        (1, 2),
        StPairing::BatchMean,
    )?;
    assert_close(&[scalar(&mean)], &[0.0], TOL);
    let idx = dad_st_loss(
        &fakes,
        &targets,
        FeatureScale::None,
        (1, 2),
        StPairing::Index,
    )?;
    assert!(scalar(&idx) > 0.1);
    Ok(())
}

/// Logits [B=1, C=2, H=1, W=3], pixels (c0, c1): (ln 3, 0), (ln 3, 0), (0, ln 4)
/// → p = (.75, .25), (.75, .25), (.2, .8); Σ_c p² = .625, .625, .68.
fn maxsquare_logits<B: Backend>(dev: &B::Device) -> Result<Tensor<B>> {
    let (l3, l4) = (3f32.ln(), 4f32.ln());
    t(&[l3, l3, 0.0, 0.0, 0.0, l4], &[1, 2, 1, 3], dev)
}

fn maxsquare_eq2_and_scale<B: Backend>(dev: &B::Device) -> Result<()> {
    let x = maxsquare_logits::<B>(dev)?;
    // eq. 2: −(.625 + .625 + .68)/3 = −0.6433333.
    let l = maxsquare_loss(&x, &MaxSquareOptions::default())?;
    assert_close(&[scalar(&l)], &[-0.643_333_3], TOL);
    // MaxSquare's 1/(2N).
    let half = MaxSquareOptions {
        scale: 0.5,
        ..Default::default()
    };
    assert_close(&[scalar(&maxsquare_loss(&x, &half)?)], &[-0.321_666_7], TOL);
    // Batch mean: a second, uniform image (Σp² = .5 per pixel) → (−0.6433333 − .5)/2.
    let uniform = Tensor::<B>::zeros(&[1, 2, 1, 3], dev)?;
    let both = Tensor::cat(&[x, uniform], 0)?;
    let l = maxsquare_loss(&both, &MaxSquareOptions::default())?;
    assert_close(&[scalar(&l)], &[(-0.643_333_3 - 0.5) / 2.0], TOL);
    Ok(())
}

fn maxsquare_image_wise_class_balance<B: Backend>(dev: &B::Device) -> Result<()> {
    let x = maxsquare_logits::<B>(dev)?;
    // argmax classes 0, 0, 1 → N_0 = 2, N_1 = 1, N = 3. With α = 0.5 the
    // weights are 1/√(N_c·N): 1/√6 for class 0, 1/√3 for class 1:
    // −(2·.625/√6 + .68/√3) = −0.9029085.
    let iw = MaxSquareOptions {
        class_balance: true,
        balance_ratio: 0.5,
        ..Default::default()
    };
    assert_close(&[scalar(&maxsquare_loss(&x, &iw)?)], &[-0.902_908_5], TOL);
    // α = 0: weights 1/N, eq. 2 again.
    let flat = MaxSquareOptions {
        class_balance: true,
        balance_ratio: 0.0,
        ..Default::default()
    };
    assert_close(&[scalar(&maxsquare_loss(&x, &flat)?)], &[-0.643_333_3], TOL);
    let bad = MaxSquareOptions {
        class_balance: true,
        balance_ratio: 2.0,
        ..Default::default()
    };
    assert!(maxsquare_loss(&x, &bad).is_err());
    Ok(())
}

fn maxsquare_with_shared_probabilities<B: Backend>(dev: &B::Device) -> Result<()> {
    // The SFDA student step hands MaxSquare the softmax it also cuts into
    // IPSM patches: the same value to the bit, with and without balancing.
    let x = maxsquare_logits::<B>(dev)?;
    let p = x.softmax(1)?;
    for opts in [
        MaxSquareOptions::default(),
        MaxSquareOptions {
            class_balance: true,
            balance_ratio: 0.5,
            ..Default::default()
        },
    ] {
        assert_eq!(
            scalar(&maxsquare_loss_with_probs(&x, &p, &opts)?),
            scalar(&maxsquare_loss(&x, &opts)?)
        );
    }
    // Probabilities of another shape are refused, naming the function.
    let wrong = p.narrow(3, 0, 1)?;
    let e = maxsquare_loss_with_probs(&x, &wrong, &MaxSquareOptions::default()).unwrap_err();
    assert!(e.to_string().contains("maxsquare_loss_with_probs"), "{e}");
    Ok(())
}

// Entropies (nats) of 2-class pixels: logits (0, 0) → ln 2 = 0.6931472;
// (ln 3, 0) or (0, ln 3) → H(.75) = 0.5623351; (ln 4, 0) → H(.8) = 0.5004024.
const H3: f32 = 0.562_335_1;
const H4: f32 = 0.500_402_4;

fn entropy_per_pixel_and_per_patch<B: Backend>(dev: &B::Device) -> Result<()> {
    let (l3, l4) = (3f32.ln(), 4f32.ln());
    // [1, 2, H=2, W=4]: entropies row 0 = [ln2, ln2, H3, H4], row 1 = [H3, H3, ln2, H4].
    let c0 = [0.0, 0.0, l3, l4, 0.0, l3, 0.0, l4];
    let c1 = [0.0, 0.0, 0.0, 0.0, l3, 0.0, 0.0, 0.0];
    let x = t::<B>(&[c0, c1].concat(), &[1, 2, 2, 4], dev)?;
    let e = pixel_entropy(&x)?;
    assert_eq!(e.shape(), vec![1, 2, 4]);
    assert_close(&e.to_vec()?, &[LN2, LN2, H3, H4, H3, H3, LN2, H4], TOL);
    // eq. 13, K = 2 → 1×2 patches: (ln2+ln2)/2, (H3+H4)/2, (H3+H3)/2, (ln2+H4)/2.
    let p = patch_mean_entropy(&x, 2)?;
    assert_eq!(p.shape(), vec![1, 4]);
    let expected = [LN2, (H3 + H4) / 2.0, H3, (LN2 + H4) / 2.0];
    assert_close(&p.to_vec()?, &expected, TOL);
    // Uniform over 4 classes: ln 4.
    let u = pixel_entropy(&Tensor::<B>::zeros(&[1, 4, 1, 1], dev)?)?;
    assert_close(&u.to_vec()?, &[4f32.ln()], TOL);
    // Saturated logits stay finite (≈ 0).
    let sat = pixel_entropy(&t::<B>(&[200.0, -200.0], &[1, 2, 1, 1], dev)?)?;
    assert_close(&sat.to_vec()?, &[0.0], TOL);
    Ok(())
}

fn entropy_patches_crop_remainder<B: Backend>(dev: &B::Device) -> Result<()> {
    // The same 2×4 content in the top-left of a 3×5 map; the extra row and
    // column hold confident pixels (ln 4, 0) that would change every mean if
    // they were not cropped (K = 2 → ⌊3/2⌋×⌊5/2⌋ = 1×2 patches).
    let (l3, l4) = (3f32.ln(), 4f32.ln());
    let c0 = [
        0.0, 0.0, l3, l4, l4, //
        0.0, l3, 0.0, l4, l4, //
        l4, l4, l4, l4, l4,
    ];
    let c1 = [
        0.0, 0.0, 0.0, 0.0, 0.0, //
        l3, 0.0, 0.0, 0.0, 0.0, //
        0.0, 0.0, 0.0, 0.0, 0.0,
    ];
    let x = t::<B>(&[c0, c1].concat(), &[1, 2, 3, 5], dev)?;
    let expected = [LN2, (H3 + H4) / 2.0, H3, (LN2 + H4) / 2.0];
    assert_close(&patch_mean_entropy(&x, 2)?.to_vec()?, &expected, TOL);
    // K larger than a side is an error.
    assert!(patch_mean_entropy(&x, 4).is_err());
    assert!(patch_mean_entropy(&x, 0).is_err());
    Ok(())
}

fn bce_with_logits_values_and_stability<B: Backend>(dev: &B::Device) -> Result<()> {
    // ℓ(x, y) = max(x, 0) − x·y + log(1 + e^{−|x|}):
    //   (0, 1) → ln 2; (2, 0) → 2 + ln(1 + e^{−2}) = 2.1269280;
    //   (−3, 1) → 3 + ln(1 + e^{−3}) = 3.0485874.
    let x = t::<B>(&[0.0, 2.0, -3.0], &[3], dev)?;
    let y = t::<B>(&[1.0, 0.0, 1.0], &[3], dev)?;
    let sum = LN2 + 2.126_928 + 3.048_587_4;
    let m = bce_with_logits(&x, &y, AdvReduction::Mean)?;
    assert_close(&[scalar(&m)], &[sum / 3.0], TOL);
    let s = bce_with_logits(&x, &y, AdvReduction::Sum)?;
    assert_close(&[scalar(&s)], &[sum], TOL);
    // Large logits: exact, finite (a naive log(sigmoid) gives inf).
    let big = t::<B>(&[100.0, -100.0, 100.0], &[3], dev)?;
    let yb = t::<B>(&[0.0, 0.0, 1.0], &[3], dev)?;
    let v = bce_with_logits(&big, &yb, AdvReduction::Sum)?;
    assert_close(&[scalar(&v)], &[100.0], TOL);
    Ok(())
}

fn adversarial_discriminator_and_fool_terms<B: Backend>(dev: &B::Device) -> Result<()> {
    // eq. 15 with easy = 0, hard = 1: same numbers as the BCE test.
    let x = t::<B>(&[0.0, 2.0, -3.0], &[3], dev)?;
    let d = discriminator_loss(&x, &[1.0, 0.0, 1.0], AdvReduction::Mean)?;
    assert_close(&[scalar(&d)], &[(LN2 + 2.126_928 + 3.048_587_4) / 3.0], TOL);
    assert!(discriminator_loss(&x, &[1.0, 0.0], AdvReduction::Mean).is_err());
    // Student on hard patches with logits 0 and 2, pushed to "easy" (0):
    // −log(1 − σ(x)) = ln 2 and 2.1269280 → mean 1.4100376.
    let hard = t::<B>(&[0.0, 2.0], &[2], dev)?;
    let f = fool_loss(&hard, AdvReduction::Mean)?;
    assert_close(&[scalar(&f)], &[(LN2 + 2.126_928) / 2.0], TOL);
    let f = fool_loss(&hard, AdvReduction::Sum)?;
    assert_close(&[scalar(&f)], &[LN2 + 2.126_928], TOL);
    Ok(())
}
