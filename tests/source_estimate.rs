//! Knowledge transfer at a tiny scale: the warm-up is source estimation by
//! `L_BNS` alone and moves only the generator; a fresh transfer-only
//! student's BatchNorm running statistics follow the fakes (and a normal
//! student's do not); `sfda estimate-source`'s artifact round-trips into an
//! adaptation, and a wrong source, an unfinished estimate or a finished one
//! in the way are errors naming the file; diagnostics land in the log.

use std::path::{Path, PathBuf};

use sfda_backend_tch::TchBackend as B;
use sfda_core::algo::estimate::{apply_estimate, read_estimate_meta, ESTIMATE_FILE};
use sfda_core::algo::{
    build_run, build_sfda_run, describe_method, estimate_source, AdaptConfig, EstimateInputs,
    NetSize,
};
use sfda_core::checkpoint::{self, CheckpointMeta};
use sfda_core::net::build_seg_model;
use sfda_core::nn::VarStore;
use sfda_core::{Backend, DeviceSpec, NamedVar};

fn tiny_config() -> AdaptConfig {
    AdaptConfig {
        iterations: 2,
        batch_size: 2,
        fake_batch_size: 2,
        fake_size: [32, 64],
        net_size: NetSize::Mini,
        k: 2,
        checkpoint_every: 1,
        diagnostics_every: 1,
        seed: 5,
        ..AdaptConfig::default()
    }
}

fn source_checkpoint(dir: &Path, seed: u64) -> PathBuf {
    let dev = B::device(DeviceSpec::Cpu).unwrap();
    let vs = VarStore::<B>::new(dev, seed);
    let model = build_seg_model::<B>("deeplabv3-mini", 19, &vs.root()).unwrap();
    let path = dir.join(format!("source-{seed}.safetensors"));
    let meta = CheckpointMeta::for_model(model.as_ref()).with_class_set("cityscapes19");
    checkpoint::save(&path, model.as_ref(), &meta).unwrap();
    path
}

fn values_of(vars: Vec<NamedVar<B>>, buffers: bool) -> Vec<f32> {
    vars.iter()
        .filter(|v| v.trainable != buffers)
        .flat_map(|v| v.var.tensor().to_vec().unwrap())
        .collect()
}

#[test]
fn warmup_is_bns_only_and_moves_only_the_generator() {
    let dir = tempfile::tempdir().unwrap();
    let src = source_checkpoint(dir.path(), 1);
    let dev = B::device(DeviceSpec::Cpu).unwrap();
    let mut run = build_run::<B>(&tiny_config(), &src, &dev, None).unwrap();
    let student = values_of(run.core.student.named_vars(), false);
    let (mut core, mut sfda) = build_sfda_run::<B>(&tiny_config(), &src, &dev, None).unwrap();
    let generator = values_of(sfda.generator.named_vars(), false);
    let v = sfda.warmup_step(&core).unwrap();
    core.warmup_done += 1;
    // Through the driver, the same step is counted.
    assert_eq!(run.warmup_step().unwrap().len(), v.len());
    assert_eq!(run.core.warmup_done, 1);
    let names: Vec<&str> = v.iter().map(|(n, _)| n.as_str()).collect();
    assert!(
        names.contains(&"bns") && names.contains(&"gn_bns"),
        "{names:?}"
    );
    assert!(
        !names.contains(&"mae") && !names.contains(&"dad_st"),
        "{names:?}"
    );
    // The per-layer parts sum to eq. 4's value.
    let bns = v.iter().find(|(n, _)| n == "bns").unwrap().1;
    let parts: f32 = v
        .iter()
        .filter(|(n, _)| n.starts_with("bns/"))
        .map(|(_, x)| *x)
        .sum();
    assert!(
        (bns - parts).abs() <= 1e-3 * bns.max(1.0),
        "{bns} vs {parts}"
    );
    assert_eq!(student, values_of(core.student.named_vars(), false));
    assert_eq!(student, values_of(run.core.student.named_vars(), false));
    assert_ne!(generator, values_of(sfda.generator.named_vars(), false));
}

#[test]
fn warmup_without_bns_is_zero_steps() {
    let mut cfg = tiny_config();
    cfg.generator_warmup = 10;
    assert_eq!(describe_method(&cfg).unwrap().warmup_steps, 10);
    cfg.ablation.bns = false;
    assert_eq!(describe_method(&cfg).unwrap().warmup_steps, 0);
}

fn running_stats_move(transfer_only: bool) -> bool {
    let dir = tempfile::tempdir().unwrap();
    let src = source_checkpoint(dir.path(), 2);
    let dev = B::device(DeviceSpec::Cpu).unwrap();
    let mut cfg = tiny_config();
    cfg.ablation.transfer_only = transfer_only;
    cfg.ablation.fresh_student = true;
    let (mut run, mut sfda) = build_sfda_run::<B>(&cfg, &src, &dev, None).unwrap();
    let before = values_of(run.student.named_vars(), true);
    // A student step on fakes only (no target batch).
    sfda.student_step(&mut run, None).unwrap();
    before != values_of(run.student.named_vars(), true)
}

#[test]
fn fresh_transfer_only_students_learn_bn_statistics_from_fakes() {
    assert!(
        running_stats_move(true),
        "transfer-only: running stats must follow the fakes"
    );
    assert!(
        !running_stats_move(false),
        "with target data: fakes must not move them"
    );
}

fn estimate(cfg: &AdaptConfig, src: &Path, out: &Path, steps: usize) -> sfda_core::Result<()> {
    let dev = B::device(DeviceSpec::Cpu)?;
    estimate_source::<B>(
        cfg,
        &EstimateInputs {
            source: src,
            out,
            steps,
            resume: false,
            overwrite: false,
            progress: false,
            reference: None,
        },
        &dev,
    )
    .map(|_| ())
}

#[test]
fn an_estimate_round_trips_into_an_adaptation() {
    let dir = tempfile::tempdir().unwrap();
    let src = source_checkpoint(dir.path(), 3);
    let out = dir.path().join("est");
    let cfg = tiny_config();
    estimate(&cfg, &src, &out, 3).unwrap();
    let meta = read_estimate_meta(&out).unwrap();
    assert!(meta.finished && meta.steps == 3 && meta.final_bns.is_finite());
    for f in ["fakes.png", "bns_layers.png", "train_log.json", "report.md"] {
        assert!(out.join(f).exists(), "{f} missing");
    }
    let dev = B::device(DeviceSpec::Cpu).unwrap();
    let mut with = cfg.clone();
    with.generator_warmup = 7;
    with.source_estimate = Some(out.display().to_string());
    let (run, sfda) = build_sfda_run::<B>(&with, &src, &dev, None).unwrap();
    assert_eq!(run.warmup_done, 7, "the warm-up is skipped");
    assert_eq!(
        build_run::<B>(&with, &src, &dev, None)
            .unwrap()
            .core
            .warmup_done,
        7
    );
    let file = out.join(ESTIMATE_FILE);
    let saved = sfda_core::algo::load_tensors::<B>(&file, &dev).unwrap();
    for v in sfda.generator.named_vars() {
        let want = saved[&format!("generator.{}", v.name)].to_vec().unwrap();
        assert_eq!(v.var.tensor().to_vec().unwrap(), want, "{}", v.name);
    }
    // A second estimate into the same folder is refused without --overwrite.
    let err = estimate(&cfg, &src, &out, 3).unwrap_err().to_string();
    assert!(
        err.contains("estimate.safetensors") && err.contains("overwrite"),
        "{err}"
    );
}

#[test]
fn a_mismatched_estimate_is_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let src = source_checkpoint(dir.path(), 4);
    let other = source_checkpoint(dir.path(), 5);
    let out = dir.path().join("est");
    let cfg = tiny_config();
    estimate(&cfg, &src, &out, 1).unwrap();
    let dev = B::device(DeviceSpec::Cpu).unwrap();
    // Another source checkpoint.
    let (mut run, mut sfda) = build_sfda_run::<B>(&cfg, &other, &dev, None).unwrap();
    let err = apply_estimate(&mut sfda, &mut run, &out, &other)
        .unwrap_err()
        .to_string();
    assert!(err.contains("another source checkpoint"), "{err}");
    // Another generator shape.
    let mut big = cfg.clone();
    big.fake_size = [64, 128];
    let (mut run, mut sfda) = build_sfda_run::<B>(&big, &src, &dev, None).unwrap();
    let err = apply_estimate(&mut sfda, &mut run, &out, &src)
        .unwrap_err()
        .to_string();
    assert!(err.contains("generator"), "{err}");
    // Not an estimate at all.
    let (mut run, mut sfda) = build_sfda_run::<B>(&cfg, &src, &dev, None).unwrap();
    let err = apply_estimate(&mut sfda, &mut run, &src, &src)
        .unwrap_err()
        .to_string();
    assert!(err.contains("not a source estimate"), "{err}");
}
