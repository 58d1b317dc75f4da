//! The SFDA loop end to end at a tiny scale: one iteration gives the same
//! losses on tch and candle from the same weights, seed and batch; an
//! interrupted-and-resumed run ends where an uninterrupted one does; each
//! step moves only the network it is meant to move; bad configs are refused.

use std::path::Path;
use std::sync::Arc;

use sfda_backend_candle::CandleBackend;
use sfda_backend_tch::TchBackend;
use sfda_core::algo::{
    build_run, build_sfda_run, run_adaptation, AdaptConfig, AdaptInputs, Cursor, NetSize, RunCore,
    SfdaMethod,
};
use sfda_core::checkpoint::{self, CheckpointMeta};
use sfda_core::data::{ClassSet, DataLoader, Domain, LoaderConfig, Split, SynthDataset, SynthSpec};
use sfda_core::net::build_seg_model;
use sfda_core::nn::VarStore;
use sfda_core::run_dir::WriteMode;
use sfda_core::train::batch_images;
use sfda_core::{Backend, DeviceSpec};

const W: u32 = 64;
const H: u32 = 32;

fn tiny_config() -> AdaptConfig {
    AdaptConfig {
        iterations: 4,
        batch_size: 4,
        fake_batch_size: 2,
        fake_size: [32, 64],
        target_size: None,
        net_size: NetSize::Mini,
        k: 2,
        checkpoint_every: 1,
        seed: 3,
        ..AdaptConfig::default()
    }
}

/// A random (untrained) deeplabv3-mini source checkpoint.
fn source_checkpoint(dir: &Path) -> std::path::PathBuf {
    let dev = TchBackend::device(DeviceSpec::Cpu).unwrap();
    let vs = VarStore::<TchBackend>::new(dev, 11);
    let model = build_seg_model::<TchBackend>("deeplabv3-mini", 19, &vs.root()).unwrap();
    let path = dir.join("source.safetensors");
    let meta = CheckpointMeta::for_model(model.as_ref()).with_class_set("cityscapes19");
    checkpoint::save(&path, model.as_ref(), &meta).unwrap();
    path
}

fn target_loader(bs: usize) -> DataLoader {
    let spec = SynthSpec::new(Domain::Target, Split::Train, 16).with_size(W, H);
    let mut lc = LoaderConfig::train(bs, 5, None);
    lc.labels = false;
    lc.prefetch = 0;
    DataLoader::new(Arc::new(SynthDataset::new(spec)), lc).unwrap()
}

fn one_iteration<B: Backend>(source: &Path) -> Vec<(String, f32)> {
    let dev = B::device(DeviceSpec::Cpu).unwrap();
    let mut run = build_run::<B>(&tiny_config(), source, &dev, None).unwrap();
    let mut v = run.iterate(Some(&target_loader(4))).unwrap();
    v.retain(|(name, _)| !name.starts_with("time_"));
    v
}

#[test]
fn one_iteration_gives_the_same_losses_on_tch_and_candle() {
    let dir = tempfile::tempdir().unwrap();
    let src = source_checkpoint(dir.path());
    let a = one_iteration::<TchBackend>(&src);
    let b = one_iteration::<CandleBackend>(&src);
    let names: Vec<&str> = a.iter().map(|(n, _)| n.as_str()).collect();
    for want in [
        "g_bns", "g_mae", "g_dad_ss", "g_dad_st", "s_mae", "s_dad_ss", "s_tar", "s_adv", "d_d",
    ] {
        assert!(
            names.contains(&want),
            "missing loss term {want} in {names:?}"
        );
    }
    assert_eq!(a.len(), b.len());
    for ((na, va), (nb, vb)) in a.iter().zip(&b) {
        assert_eq!(na, nb);
        let tol = 1e-3 * va.abs().max(1.0);
        assert!((va - vb).abs() <= tol, "{na}: tch {va} vs candle {vb}");
    }
}

fn tensors_of<B: Backend>(vars: Vec<sfda_core::NamedVar<B>>) -> Vec<f32> {
    vars.iter()
        .flat_map(|v| v.var.tensor().to_vec().unwrap())
        .collect()
}

#[test]
fn each_step_moves_only_its_network() {
    let dir = tempfile::tempdir().unwrap();
    let src = source_checkpoint(dir.path());
    let dev = TchBackend::device(DeviceSpec::Cpu).unwrap();
    let (mut run, mut sfda) =
        build_sfda_run::<TchBackend>(&tiny_config(), &src, &dev, None).unwrap();
    let loader = target_loader(4);
    let snapshot = |run: &RunCore<TchBackend>, sfda: &SfdaMethod<TchBackend>| {
        (
            tensors_of(run.teacher.named_vars()),
            tensors_of(run.student.named_vars()),
            tensors_of(sfda.generator.named_vars()),
            tensors_of(sfda.discriminator.as_ref().unwrap().named_vars()),
        )
    };
    // Prime the cached target features, then check the generator step alone.
    let batch = Cursor::default().next_batch(&loader).unwrap();
    let xt = batch_images::<TchBackend>(&batch, &dev).unwrap();
    sfda.iterate(&mut run, Some(&xt)).unwrap();
    run.iteration += 1;
    let before = snapshot(&run, &sfda);
    sfda.generator_step(&run).unwrap();
    let after = snapshot(&run, &sfda);
    assert_eq!(before.0, after.0, "teacher must never change");
    assert_eq!(
        before.1, after.1,
        "generator step must not move the student"
    );
    assert_ne!(before.2, after.2, "generator step must move the generator");
    assert_eq!(
        before.3, after.3,
        "generator step must not move the discriminator"
    );
    sfda.discriminator_step(&run).unwrap();
    let after_d = snapshot(&run, &sfda);
    assert_eq!(after.1, after_d.1);
    assert_eq!(after.2, after_d.2);
    assert_ne!(
        after.3, after_d.3,
        "discriminator step must move the discriminator"
    );
    assert_eq!(before.0, after_d.0);
}

/// The discriminator step reuses the ranking and patches the student step
/// made of the same target logits; ranking them afresh (what a resumed run
/// does, whose cache is empty) gives the same loss and the same `D`, to the
/// bit, on both backends.
fn discriminator_reuse_equals_ranking_afresh<B: Backend>(src: &Path) {
    let dev = B::device(DeviceSpec::Cpu).unwrap();
    let loader = target_loader(4);
    let batch = Cursor::default().next_batch(&loader).unwrap();
    let xt = batch_images::<B>(&batch, &dev).unwrap();
    let d_step = |fresh: bool| {
        let (mut run, mut sfda) = build_sfda_run::<B>(&tiny_config(), src, &dev, None).unwrap();
        sfda.iterate(&mut run, Some(&xt)).unwrap();
        run.iteration += 1;
        sfda.student_step(&mut run, Some(&xt)).unwrap();
        if fresh {
            // Restoring the cache (as a resume does) drops the ranking.
            let (features, logits) = sfda.target_cache().unwrap();
            sfda.set_target_cache(features, logits);
        }
        let loss = sfda.discriminator_step(&run).unwrap();
        let d = tensors_of(sfda.discriminator.as_ref().unwrap().named_vars());
        (loss, d)
    };
    let (reused, fresh) = (d_step(false), d_step(true));
    assert_eq!(reused.0, fresh.0, "discriminator loss");
    assert!(reused.1 == fresh.1, "discriminator weights differ");
}

#[test]
fn discriminator_step_reuses_the_student_steps_ranking_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let src = source_checkpoint(dir.path());
    discriminator_reuse_equals_ranking_afresh::<TchBackend>(&src);
    discriminator_reuse_equals_ranking_afresh::<CandleBackend>(&src);
}

fn run_to_end(
    out: &Path,
    src: &Path,
    stop_after: Option<usize>,
    resume: bool,
) -> sfda_core::algo::AdaptSummary {
    let dev = TchBackend::device(DeviceSpec::Cpu).unwrap();
    let mut run = build_run::<TchBackend>(&tiny_config(), src, &dev, None).unwrap();
    let loader = target_loader(4);
    let val = {
        let spec = SynthSpec::new(Domain::Target, Split::Val, 4).with_size(W, H);
        DataLoader::new(Arc::new(SynthDataset::new(spec)), LoaderConfig::eval(4)).unwrap()
    };
    run_adaptation(
        &mut run,
        &AdaptInputs {
            source: src,
            target: Some(&loader),
            val: Some(&val),
            class_set: ClassSet::Cityscapes19,
            out,
            mode: if resume {
                WriteMode::Resume
            } else {
                WriteMode::New
            },
            progress: false,
            stop_after,
            evaluate_source: true,
        },
    )
    .unwrap()
}

#[test]
fn interrupted_and_resumed_run_matches_an_uninterrupted_one() {
    let dir = tempfile::tempdir().unwrap();
    let src = source_checkpoint(dir.path());
    let straight = run_to_end(&dir.path().join("a"), &src, None, false);
    let first = run_to_end(&dir.path().join("b"), &src, Some(2), false);
    assert!(!first.finished);
    // The state is one file (tensors + scalars in its header): one atomic
    // rename commits it, so a kill cannot leave new tensors beside an old
    // iteration count.
    let mut files: Vec<String> = std::fs::read_dir(dir.path().join("b/state"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    assert_eq!(files, vec!["state.safetensors".to_string()]);
    let resumed = run_to_end(&dir.path().join("b"), &src, None, true);
    assert!(resumed.finished);
    let (a, b) = (
        straight.report.after.unwrap(),
        resumed.report.after.unwrap(),
    );
    assert!(
        (a.metrics.miou - b.metrics.miou).abs() < 1e-6,
        "{} vs {}",
        a.metrics.miou,
        b.metrics.miou
    );
    for ((na, va), (nb, vb)) in straight
        .report
        .final_losses
        .iter()
        .zip(&resumed.report.final_losses)
    {
        assert_eq!(na, nb);
        assert!(
            (va - vb).abs() <= 1e-4 * va.abs().max(1.0),
            "{na}: {va} vs {vb}"
        );
    }
    for f in [
        "adapted.safetensors",
        "adapted.json",
        "report.md",
        "report.json",
        "fakes.png",
        "loss_curves.png",
    ] {
        assert!(dir.path().join("b").join(f).exists(), "{f} missing");
    }
}

#[test]
fn resuming_with_another_config_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let src = source_checkpoint(dir.path());
    run_to_end(&dir.path().join("c"), &src, Some(1), false);
    let dev = TchBackend::device(DeviceSpec::Cpu).unwrap();
    let mut cfg = tiny_config();
    cfg.weights.alpha = 0.5;
    let mut run = build_run::<TchBackend>(&cfg, &src, &dev, None).unwrap();
    let loader = target_loader(4);
    let err = run_adaptation(
        &mut run,
        &AdaptInputs {
            source: &src,
            target: Some(&loader),
            val: None,
            class_set: ClassSet::Cityscapes19,
            out: &dir.path().join("c"),
            mode: WriteMode::Resume,
            progress: false,
            stop_after: None,
            evaluate_source: true,
        },
    )
    .expect_err("must refuse")
    .to_string();
    assert!(err.contains("different config"), "{err}");
}

#[test]
fn every_shipped_preset_parses() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("sfda-core/presets");
    let mut n = 0;
    for e in std::fs::read_dir(&dir).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "toml") {
            AdaptConfig::from_file(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            n += 1;
        }
    }
    assert!(n >= 6, "expected the paper presets and the demo, found {n}");
}

#[test]
fn transfer_only_runs_without_target_data() {
    let dir = tempfile::tempdir().unwrap();
    let src = source_checkpoint(dir.path());
    let dev = TchBackend::device(DeviceSpec::Cpu).unwrap();
    let mut cfg = tiny_config();
    cfg.ablation.transfer_only = true;
    let (_, sfda) = build_sfda_run::<TchBackend>(&cfg, &src, &dev, None).unwrap();
    assert!(sfda.discriminator.is_none());
    let mut run = build_run::<TchBackend>(&cfg, &src, &dev, None).unwrap();
    let v = run.iterate(None).unwrap();
    let names: Vec<&str> = v.iter().map(|(n, _)| n.as_str()).collect();
    assert!(
        names.contains(&"s_mae") && !names.contains(&"s_tar") && !names.contains(&"g_dad_st"),
        "{names:?}"
    );
}

/// A plugin-style loss that reads both target outputs: it errors when one is
/// missing, and counts the calls that had them.
struct ReadsTargets(Arc<std::sync::atomic::AtomicUsize>);

impl<B: Backend> sfda_core::loss::DistillLoss<B> for ReadsTargets {
    fn name(&self) -> &str {
        "reads_targets"
    }
    fn compute(
        &self,
        inputs: &sfda_core::loss::DistillInputs<'_, B>,
    ) -> sfda_core::Result<sfda_core::Tensor<B>> {
        let s = inputs.require_student_target("reads_targets")?;
        let t = inputs.require_teacher_target("reads_targets")?;
        self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        // A differentiable stand-in: the squared gap of the mean logits.
        s.logits.mean_all()?.sub(&t.logits.mean_all()?)?.sqr()
    }
    fn needs_student_target(&self) -> bool {
        true
    }
    fn needs_teacher_target(&self) -> bool {
        true
    }
}

#[test]
fn a_loss_gets_the_target_outputs_it_declares_in_every_step_or_the_config_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let src = source_checkpoint(dir.path());
    let dev = TchBackend::device(DeviceSpec::Cpu).unwrap();
    let calls = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let resolve = {
        let calls = calls.clone();
        move |name: &str,
              _: &toml::Value|
              -> sfda_core::Result<Box<dyn sfda_core::loss::DistillLoss<TchBackend>>> {
            assert_eq!(name, "reads_targets");
            Ok(Box::new(ReadsTargets(calls.clone())))
        }
    };
    let mut cfg = tiny_config();
    cfg.generator_warmup = 0;
    cfg.extra_losses = vec![sfda_core::algo::ExtraLoss {
        name: "reads_targets".into(),
        generator_weight: 0.5,
        student_weight: 0.5,
        options: toml::Value::Table(Default::default()),
    }];
    let mut run = build_run::<TchBackend>(&cfg, &src, &dev, Some(&resolve)).unwrap();
    let loader = target_loader(4);
    for _ in 0..2 {
        let v = run.iterate(Some(&loader)).unwrap();
        for key in ["g_reads_targets", "s_reads_targets"] {
            assert!(v.iter().any(|(k, _)| k == key), "{key} missing: {v:?}");
        }
    }
    // Two generator and two student steps, each with both outputs.
    assert_eq!(calls.load(std::sync::atomic::Ordering::Relaxed), 4);
    // Transfer-only mode has no target batch: refused naming the entry.
    cfg.ablation.transfer_only = true;
    let e = build_run::<TchBackend>(&cfg, &src, &dev, Some(&resolve))
        .err()
        .expect("a transfer-only config with a target-reading loss must be refused")
        .to_string();
    assert!(
        e.contains("extra_losses[0]") && e.contains("teacher's output"),
        "{e}"
    );
}
