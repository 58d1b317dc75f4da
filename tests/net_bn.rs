//! BatchNorm and pooling layers built from primitives: the batch statistics
//! reported for L_BNS (Liu et al., CVPR 2021, eq. 4) carry a gradient back to
//! the input image, the running statistics follow PyTorch's rule, and SegNet's
//! unpooling puts each value where the first maximum of its window was.

mod net_common;

use net_common::{candle_cpu, normal, tch_cpu};
use sfda_backend_candle::CandleBackend;
use sfda_backend_tch::TchBackend;
use sfda_core::model::BnMode;
use sfda_core::net::build_seg_model;
use sfda_core::nn::{
    batch_norm2d, max_pool2x2_with_mask, max_unpool2x2, BatchNormConfig, ForwardCtx, VarStore,
};
use sfda_core::{grad, Backend, ForwardOpts, Result, Tensor, Var};

/// d(Σ batch means + Σ batch vars)/dx is non-zero for a model in eval mode
/// (the frozen teacher) and in train mode, and every BN layer reports.
fn bn_stats_reach_input<B: Backend>(dev: &B::Device, arch: &str) -> Result<()> {
    let vs = VarStore::<B>::new(dev.clone(), 1);
    let model = build_seg_model::<B>(arch, 4, &vs.root())?;
    let n_bn = model
        .named_vars()
        .iter()
        .filter(|v| v.name.ends_with("running_mean"))
        .count();
    let x = Var::new(&Tensor::<B>::from_f32(
        &normal(2, 2 * 3 * 64 * 64),
        &[2, 3, 64, 64],
        dev,
    )?)?;
    for bn in [
        BnMode::Eval,
        BnMode::Train {
            update_running: false,
        },
    ] {
        let out = model.forward(
            &x.tensor(),
            ForwardOpts {
                bn,
                collect_bn_stats: true,
            },
        )?;
        assert_eq!(
            out.bn_stats.len(),
            n_bn,
            "{arch}: one statistic per BN layer"
        );
        let mut total = Tensor::<B>::scalar(0.0, dev)?;
        for s in &out.bn_stats {
            total = total
                .add(&s.batch_mean.sum_all()?)?
                .add(&s.batch_var.sum_all()?)?;
        }
        let g = grad(&total, &[&x])?
            .remove(0)
            .expect("BN statistics must depend on the input");
        let g = g.to_vec()?;
        assert!(g.iter().all(|v| v.is_finite()));
        let norm: f32 = g.iter().map(|v| v * v).sum::<f32>().sqrt();
        assert!(norm > 1e-6, "{arch} {bn:?}: gradient norm {norm}");
        // Only the first layer's statistics: still reaches the input.
        let first = out.bn_stats[0].batch_mean.sum_all()?;
        assert!(grad(&first, &[&x])?[0].is_some());
    }
    // Without collection nothing is returned.
    assert!(model
        .forward(&x.tensor(), ForwardOpts::EVAL)?
        .bn_stats
        .is_empty());
    Ok(())
}

#[test]
fn bn_stats_gradient_reaches_input_tch() {
    bn_stats_reach_input::<TchBackend>(&tch_cpu(), "deeplabv3-mini").unwrap();
    bn_stats_reach_input::<TchBackend>(&tch_cpu(), "segnet-mini").unwrap();
}

#[test]
fn bn_stats_gradient_reaches_input_candle() {
    bn_stats_reach_input::<CandleBackend>(&candle_cpu(), "deeplabv3-mini").unwrap();
}

/// Output normalised with the biased batch variance, running statistics
/// updated with momentum 0.1 and the unbiased variance, eval mode using the
/// running statistics, and `update_running: false` leaving them alone.
fn batch_norm_rule<B: Backend>(dev: &B::Device) -> Result<()> {
    let vs = VarStore::<B>::new(dev.clone(), 0);
    let bn = batch_norm2d(&vs.root().pp("bn"), 2, BatchNormConfig::default())?;
    // Channel 0 holds 1..=8, channel 1 holds 10·(1..=8); batch 2, 2×2 maps.
    let mut data = Vec::new();
    for b in 0..2 {
        for c in 0..2 {
            for i in 0..4 {
                let v = (b * 4 + i + 1) as f32;
                data.push(if c == 0 { v } else { 10.0 * v });
            }
        }
    }
    let x = Tensor::<B>::from_f32(&data, &[2, 2, 2, 2], dev)?;
    let mut ctx = ForwardCtx::<B>::new(ForwardOpts {
        bn: BnMode::Train {
            update_running: true,
        },
        collect_bn_stats: true,
    });
    let y = bn.forward(&x, &mut ctx)?.to_vec()?;
    let (mean, var_b) = (4.5f32, 5.25f32); // of 1..=8
    let var_u = var_b * 8.0 / 7.0;
    let expect0 = (1.0 - mean) / (var_b + 1e-5).sqrt();
    assert!((y[0] - expect0).abs() < 1e-4, "{} vs {expect0}", y[0]);
    let stat = &ctx.bn_stats[0];
    assert_eq!(stat.name, "bn");
    let bm = stat.batch_mean.to_vec()?;
    let bv = stat.batch_var.to_vec()?;
    assert!((bm[0] - mean).abs() < 1e-5 && (bm[1] - 10.0 * mean).abs() < 1e-4);
    assert!((bv[0] - var_b).abs() < 1e-4 && (bv[1] - 100.0 * var_b).abs() < 1e-2);
    // The statistic holds the running values from before the update.
    assert_eq!(stat.running_mean.to_vec()?, vec![0.0, 0.0]);
    let rm = bn.running_mean.tensor().to_vec()?;
    let rv = bn.running_var.tensor().to_vec()?;
    assert!((rm[0] - 0.1 * mean).abs() < 1e-5, "running mean {rm:?}");
    assert!(
        (rv[0] - (0.9 + 0.1 * var_u)).abs() < 1e-4,
        "running var {rv:?}"
    );
    assert!(
        (rv[1] - (0.9 + 0.1 * 100.0 * var_u)).abs() < 1e-2,
        "running var {rv:?}"
    );

    let mut frozen = ForwardCtx::<B>::new(ForwardOpts {
        bn: BnMode::Train {
            update_running: false,
        },
        collect_bn_stats: false,
    });
    bn.forward(&x, &mut frozen)?;
    assert_eq!(bn.running_mean.tensor().to_vec()?, rm);

    let mut eval = ForwardCtx::<B>::new(ForwardOpts::EVAL);
    let ye = bn.forward(&x, &mut eval)?.to_vec()?;
    let expect = (1.0 - rm[0]) / (rv[0] + 1e-5).sqrt();
    assert!((ye[0] - expect).abs() < 1e-4);
    assert_eq!(bn.running_mean.tensor().to_vec()?, rm);
    Ok(())
}

#[test]
fn batch_norm_follows_pytorch_rule_tch() {
    batch_norm_rule::<TchBackend>(&tch_cpu()).unwrap();
}

#[test]
fn batch_norm_follows_pytorch_rule_candle() {
    batch_norm_rule::<CandleBackend>(&candle_cpu()).unwrap();
}

/// Ties keep the first maximum in row-major order (PyTorch's index); values
/// land where the maxima were; odd sizes are padded back with zeros.
fn unpool_masks<B: Backend>(dev: &B::Device) -> Result<()> {
    #[rustfmt::skip]
    let x = [
        0.0, 0.0,   1.0, 5.0,   7.0,
        0.0, 0.0,   5.0, 2.0,   7.0,
        3.0, 9.0,  -1.0, -2.0,  7.0,
    ];
    let t = Tensor::<B>::from_f32(&x, &[1, 1, 3, 5], dev)?;
    let (pooled, mask) = max_pool2x2_with_mask(&t)?;
    assert_eq!(pooled.to_vec()?, vec![0.0, 5.0]);
    assert_eq!(mask.input_size(), (3, 5));
    #[rustfmt::skip]
    assert_eq!(mask.to_map()?.to_vec()?, vec![
        1.0, 0.0, 0.0, 1.0,
        0.0, 0.0, 0.0, 0.0,
    ]);
    let up = max_unpool2x2(
        &Tensor::<B>::from_f32(&[10.0, 20.0], &[1, 1, 1, 2], dev)?,
        &mask,
    )?;
    assert_eq!(up.shape(), vec![1, 1, 3, 5]);
    #[rustfmt::skip]
    assert_eq!(up.to_vec()?, vec![
        10.0, 0.0, 0.0, 20.0, 0.0,
        0.0,  0.0, 0.0, 0.0,  0.0,
        0.0,  0.0, 0.0, 0.0,  0.0,
    ]);
    // Gradient of the unpooled map w.r.t. the decoder input.
    let d = Var::new(&Tensor::<B>::from_f32(&[1.0, 1.0], &[1, 1, 1, 2], dev)?)?;
    let s = max_unpool2x2(&d.tensor(), &mask)?.sum_all()?;
    assert_eq!(
        grad(&s, &[&d])?[0].as_ref().unwrap().to_vec()?,
        vec![1.0, 1.0]
    );
    Ok(())
}

#[test]
fn unpooling_uses_first_maximum_tch() {
    unpool_masks::<TchBackend>(&tch_cpu()).unwrap();
}

#[test]
fn unpooling_uses_first_maximum_candle() {
    unpool_masks::<CandleBackend>(&candle_cpu()).unwrap();
}
