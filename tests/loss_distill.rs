//! The `DistillLoss` trait and its built-ins, driven the way the SFDA loop
//! drives them: built by name from TOML options, computed from `SegOutput`s.
//! The values are the hand-computed ones of `loss_values.rs`.

#[macro_use]
mod common;

use sfda_backend_candle::CandleBackend;
use sfda_backend_tch::TchBackend;
use sfda_core::loss::{
    builtin_distill_loss, toml, DistillInputs, DistillLoss, BUILTIN_DISTILL_LOSSES,
};
use sfda_core::{Backend, BnStat, Result, SegOutput, Tensor};

test_backends!(
    builtin_losses_compute_from_seg_outputs,
    factory_defaults_and_flags,
    factory_rejects_unknown_names_and_keys,
    dad_st_requires_a_target_batch,
);

const TOL: f32 = 1e-5;

fn t<B: Backend>(data: &[f32], shape: &[usize], dev: &B::Device) -> Result<Tensor<B>> {
    Tensor::from_f32(data, shape, dev)
}

fn opts(s: &str) -> toml::Value {
    toml::from_str::<toml::Table>(s)
        .map(toml::Value::Table)
        .expect("valid TOML")
}

#[track_caller]
fn assert_close(actual: f32, expected: f32) {
    assert!(
        (actual - expected).abs() <= TOL * (1.0 + expected.abs()),
        "got {actual}, expected {expected}"
    );
}

/// Teacher and student outputs on a fake batch of one image, and a student
/// output on a target batch:
/// - logits as in `loss_values::mae_on_logits_and_probabilities` (MAE 0.75);
/// - teacher features F = N×C [[1, 0], [1, 1]], student features 0
///   (DAD-ss 0.8077646 with `scale = "none"`), student-on-target features
///   G = [[2, 0], [0, 1]] (DAD-st 0.6625014 + 0.3159135);
/// - the two BN layers of `loss_values::two_layers` (BNS 11).
fn outputs<B: Backend>(dev: &B::Device) -> Result<(SegOutput<B>, SegOutput<B>, SegOutput<B>)> {
    let stat = |name: &str, m: &[f32], v: &[f32], rm: &[f32], rv: &[f32]| -> Result<BnStat<B>> {
        Ok(BnStat {
            name: name.into(),
            batch_mean: t(m, &[m.len()], dev)?,
            batch_var: t(v, &[v.len()], dev)?,
            running_mean: t(rm, &[rm.len()], dev)?,
            running_var: t(rv, &[rv.len()], dev)?,
        })
    };
    let teacher = SegOutput {
        logits: t(&[0.0, 2.0, 1.0, -1.0], &[1, 2, 1, 2], dev)?,
        features: t(&[1.0, 1.0, 0.0, 1.0], &[1, 2, 1, 2], dev)?,
        bn_stats: vec![
            stat("l1", &[1.0, 2.0], &[1.0, 1.0], &[0.0, 0.0], &[1.0, 3.0])?,
            stat("l2", &[0.5], &[2.0], &[-0.5], &[1.0])?,
        ],
    };
    let student = SegOutput {
        logits: t(&[1.0, 2.0, 0.0, 0.0], &[1, 2, 1, 2], dev)?,
        features: Tensor::zeros(&[1, 2, 1, 2], dev)?,
        bn_stats: vec![],
    };
    let target = SegOutput {
        logits: Tensor::zeros(&[1, 2, 2, 4], dev)?,
        features: t(&[2.0, 0.0, 0.0, 1.0], &[1, 2, 1, 2], dev)?,
        bn_stats: vec![],
    };
    Ok((teacher, student, target))
}

fn builtin_losses_compute_from_seg_outputs<B: Backend>(dev: &B::Device) -> Result<()> {
    let (teacher, student, target) = outputs::<B>(dev)?;
    let inputs = DistillInputs::new(&teacher, &student).with_student_target(&target);
    let cases: [(&str, &str, f32); 5] = [
        ("mae", "", 0.75),
        ("mae", "space = \"probabilities\"", 0.266_947_1),
        ("dad_ss", "scale = \"none\"", 0.807_764_6),
        (
            "dad_st",
            "scale = \"none\"\npool = [1, 2]",
            0.662_501_4 + 0.315_913_5,
        ),
        ("bns", "norm = \"squared\"\nlayers = \"mean\"", 5.5),
    ];
    for (name, options, expected) in cases {
        let loss = builtin_distill_loss::<B>(name, &opts(options))?;
        assert_eq!(loss.name(), name);
        let v = loss.compute(&inputs)?;
        assert_eq!(v.shape(), Vec::<usize>::new(), "{name}");
        assert_close(v.to_scalar()?, expected);
    }
    // A list of boxed losses, as the loop holds them.
    let all: Vec<Box<dyn DistillLoss<B>>> = BUILTIN_DISTILL_LOSSES
        .iter()
        .map(|n| builtin_distill_loss::<B>(n, &opts("")))
        .collect::<Result<_>>()?;
    for l in &all {
        assert!(l.compute(&inputs)?.to_scalar()?.is_finite(), "{}", l.name());
    }
    Ok(())
}

fn factory_defaults_and_flags<B: Backend>(dev: &B::Device) -> Result<()> {
    let (teacher, student, _) = outputs::<B>(dev)?;
    let inputs = DistillInputs::new(&teacher, &student);
    // Defaults are the paper's: BNS sums squared norms (11), MAE on logits (0.75).
    let bns = builtin_distill_loss::<B>("bns", &opts(""))?;
    assert_close(bns.compute(&inputs)?.to_scalar()?, 11.0);
    assert!(bns.needs_bn_stats() && !bns.needs_student_target());
    let mae = builtin_distill_loss::<B>("mae", &opts(""))?;
    assert_close(mae.compute(&inputs)?.to_scalar()?, 0.75);
    assert!(!mae.needs_bn_stats() && !mae.needs_student_target());
    let st = builtin_distill_loss::<B>("dad_st", &opts("pool = [4, 8]"))?;
    assert!(st.needs_student_target());
    // Scale variants parse.
    builtin_distill_loss::<B>(
        "dad_ss",
        &opts("scale = { temperature = 16.0 }\npool = [2, 4]"),
    )?;
    builtin_distill_loss::<B>("dad_ss", &opts("scale = \"l2_normalize\""))?;
    builtin_distill_loss::<B>("dad_st", &opts("pairing = \"batch_mean\""))?;
    Ok(())
}

fn factory_rejects_unknown_names_and_keys<B: Backend>(_dev: &B::Device) -> Result<()> {
    let err = builtin_distill_loss::<B>("kl", &opts(""))
        .err()
        .expect("unknown loss");
    let msg = err.to_string();
    assert!(msg.contains("'kl'"), "{msg}");
    for known in BUILTIN_DISTILL_LOSSES {
        assert!(msg.contains(known), "{msg}");
    }
    let err = builtin_distill_loss::<B>("mae", &opts("spaec = \"logits\""))
        .err()
        .expect("unknown key");
    assert!(err.to_string().contains("spaec"), "{err}");
    let err = builtin_distill_loss::<B>("dad_ss", &opts("scale = { temperature = 0.0 }"))
        .err()
        .expect("zero temperature");
    assert!(err.to_string().contains("temperature"), "{err}");
    let err = builtin_distill_loss::<B>("dad_st", &opts("pool = [0, 4]"))
        .err()
        .expect("zero pool");
    assert!(err.to_string().contains("pool"), "{err}");
    assert!(builtin_distill_loss::<B>("bns", &toml::Value::Integer(3)).is_err());
    Ok(())
}

fn dad_st_requires_a_target_batch<B: Backend>(dev: &B::Device) -> Result<()> {
    let (teacher, student, _) = outputs::<B>(dev)?;
    let st = builtin_distill_loss::<B>("dad_st", &opts(""))?;
    let err = st
        .compute(&DistillInputs::new(&teacher, &student))
        .expect_err("no target batch");
    assert!(err.to_string().contains("dad_st"), "{err}");
    Ok(())
}
