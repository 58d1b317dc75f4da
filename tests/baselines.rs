//! Each source-free baseline moves the model in the direction its objective
//! says, on a tiny problem (a random deeplabv3-mini, 64×32 synthetic target
//! images, a fixed batch, a few steps): MinEnt lowers the mean target
//! entropy, MaxSquare raises the mean squared probability, TENT lowers the
//! entropy while changing only BatchNorm affine parameters, SHOT-IM raises
//! the information-maximisation objective with its classifier head frozen,
//! CBST lowers its pseudo-label loss with class-balanced thresholds.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use sfda_backend_tch::TchBackend;
use sfda_core::algo::methods::{Cbst, CbstOptions};
use sfda_core::algo::{
    bn_affine_names, build_run, describe_method, AdaptConfig, Adaptation, MethodConfig, NetSize,
    TargetBatch,
};
use sfda_core::checkpoint::{self, CheckpointMeta};
use sfda_core::data::{DataLoader, Domain, LoaderConfig, Split, SynthDataset, SynthSpec, IGNORE};
use sfda_core::loss::{
    class_balanced_pseudo_labels, class_balanced_thresholds, entropy_loss,
    information_maximization, maxsquare_loss, MaxSquareOptions,
};
use sfda_core::net::build_seg_model;
use sfda_core::nn::VarStore;
use sfda_core::train::{batch_images, cross_entropy_ignore};
use sfda_core::{Backend, BnMode, DeviceSpec, ForwardOpts, Tensor};

type B = TchBackend;
const STEPS: usize = 5;

fn source_checkpoint(dir: &Path) -> PathBuf {
    let dev = B::device(DeviceSpec::Cpu).unwrap();
    let vs = VarStore::<B>::new(dev, 21);
    let model = build_seg_model::<B>("deeplabv3-mini", 19, &vs.root()).unwrap();
    let path = dir.join("source.safetensors");
    let meta = CheckpointMeta::for_model(model.as_ref()).with_class_set("cityscapes19");
    checkpoint::save(&path, model.as_ref(), &meta).unwrap();
    path
}

fn config(method: &str) -> AdaptConfig {
    let mut c = AdaptConfig {
        method: MethodConfig::named(method),
        iterations: 100,
        batch_size: 4,
        fake_batch_size: 2,
        fake_size: [32, 64],
        net_size: NetSize::Mini,
        k: 2,
        seed: 7,
        ..AdaptConfig::default()
    };
    c.student_optim.lr = 0.02;
    if method == "cbst" {
        c.method
            .options
            .insert("threshold_batches".into(), toml::Value::Integer(1));
    }
    c
}

fn loader() -> DataLoader {
    let spec = SynthSpec::new(Domain::Target, Split::Train, 8).with_size(64, 32);
    let mut lc = LoaderConfig::train(4, 5, None);
    lc.labels = false;
    lc.prefetch = 0;
    DataLoader::new(Arc::new(SynthDataset::new(spec)), lc).unwrap()
}

struct Fixture {
    _dir: tempfile::TempDir,
    run: Adaptation<B>,
    x: Tensor<B>,
    loader: DataLoader,
}

fn fixture(method: &str) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let src = source_checkpoint(dir.path());
    let dev = B::device(DeviceSpec::Cpu).unwrap();
    let run = build_run::<B>(&config(method), &src, &dev, None).unwrap();
    let loader = loader();
    let batch = loader.load_batch(&[0, 1, 2, 3], 0).unwrap();
    let x = batch_images::<B>(&batch, &dev).unwrap();
    Fixture {
        _dir: dir,
        run,
        x,
        loader,
    }
}

/// Student logits on the fixed batch with batch statistics (the mode every
/// baseline trains in), running statistics left alone.
fn logits(f: &Fixture) -> Tensor<B> {
    let opts = ForwardOpts {
        bn: BnMode::Train {
            update_running: false,
        },
        collect_bn_stats: false,
    };
    f.run.core.student.forward(&f.x, opts).unwrap().logits
}

fn steps(f: &mut Fixture) {
    for _ in 0..STEPS {
        let batch = TargetBatch {
            images: f.x.clone(),
            strong: None,
            loader: &f.loader,
        };
        f.run.method.step(&mut f.run.core, Some(&batch)).unwrap();
        f.run.core.iteration += 1;
    }
}

fn vars(f: &Fixture) -> Vec<(String, bool, Vec<f32>)> {
    f.run
        .core
        .student
        .named_vars()
        .into_iter()
        .map(|v| (v.name, v.trainable, v.var.tensor().to_vec().unwrap()))
        .collect()
}

fn entropy(f: &Fixture) -> f32 {
    entropy_loss(&logits(f), false)
        .unwrap()
        .to_scalar()
        .unwrap()
}

#[test]
fn minent_lowers_mean_target_entropy() {
    let mut f = fixture("minent");
    let before = entropy(&f);
    steps(&mut f);
    let after = entropy(&f);
    assert!(after < before, "entropy {before} -> {after}");
}

#[test]
fn maxsquare_raises_the_squared_probability_objective() {
    let mut f = fixture("maxsquare");
    let sq = |f: &Fixture| {
        -maxsquare_loss(&logits(f), &MaxSquareOptions::default())
            .unwrap()
            .to_scalar()
            .unwrap()
    };
    let before = sq(&f);
    steps(&mut f);
    let after = sq(&f);
    assert!(after > before, "mean Σp² {before} -> {after}");
}

#[test]
fn tent_changes_only_bn_affine_parameters_and_lowers_entropy() {
    let mut f = fixture("tent");
    let affine = bn_affine_names(&f.run.core.student.named_vars());
    assert!(!affine.is_empty());
    assert!(affine
        .iter()
        .all(|n| n.ends_with(".weight") || n.ends_with(".bias")));
    let before_vars = vars(&f);
    let before = entropy(&f);
    steps(&mut f);
    let after = entropy(&f);
    assert!(after < before, "entropy {before} -> {after}");
    let after_vars = vars(&f);
    let mut moved = 0;
    for ((name, trainable, a), (_, _, b)) in before_vars.iter().zip(&after_vars) {
        if affine.contains(name) {
            moved += usize::from(a != b);
        } else if *trainable {
            assert_eq!(
                a, b,
                "TENT moved {name}, which is not a BN affine parameter"
            );
        }
    }
    assert!(moved > 0, "TENT moved no BN affine parameter");
}

#[test]
fn shot_im_raises_the_im_objective_with_a_frozen_head() {
    let mut f = fixture("shot_im");
    let head = f.run.core.student.head_prefix().unwrap();
    let im = |f: &Fixture| {
        -information_maximization(&logits(f), 1.0)
            .unwrap()
            .loss
            .to_scalar()
            .unwrap()
    };
    let before_vars = vars(&f);
    let before = im(&f);
    steps(&mut f);
    let after = im(&f);
    assert!(after > before, "IM objective {before} -> {after}");
    let after_vars = vars(&f);
    let mut body_moved = false;
    for ((name, trainable, a), (_, _, b)) in before_vars.iter().zip(&after_vars) {
        if name.starts_with(&format!("{head}.")) {
            assert_eq!(a, b, "SHOT-IM moved the head parameter {name}");
        } else if *trainable && a != b {
            body_moved = true;
        }
    }
    assert!(body_moved, "SHOT-IM moved nothing outside the head");
}

#[test]
fn cbst_lowers_its_pseudo_label_loss() {
    let mut f = fixture("cbst");
    let loader = f.loader.clone();
    let mut cbst = Cbst::new(CbstOptions {
        threshold_batches: 1,
        ..CbstOptions::default()
    });
    let thresholds = cbst.estimate_thresholds(&f.run.core, &loader).unwrap();
    assert_eq!(thresholds.len(), 19);
    // The pseudo-labels of the fixed batch under the round's thresholds,
    // as the first step sees them; the loss against them must fall.
    let l0 = logits(&f);
    let s = l0.shape();
    let probs = l0.softmax(1).unwrap().to_vec().unwrap();
    let labels = class_balanced_pseudo_labels(&probs, s[0], &thresholds).unwrap();
    assert!(
        labels.iter().any(|&l| l != IGNORE),
        "no pixel was pseudo-labelled"
    );
    let ce = |f: &Fixture| {
        cross_entropy_ignore(&logits(f), &labels)
            .unwrap()
            .to_scalar()
            .unwrap()
    };
    let before = ce(&f);
    steps(&mut f);
    let after = ce(&f);
    assert!(after < before, "pseudo-label loss {before} -> {after}");
}

#[test]
fn cbst_thresholds_are_class_balanced() {
    // Two classes, one image of 10 pixels: class 0 predicted confidently on
    // 6 pixels, class 1 hesitantly on 4. A single global threshold keeping
    // the most confident half of the pixels would label class 0 only;
    // class-wise thresholds keep the top half of each class.
    let p0 = [
        0.99f32, 0.98, 0.97, 0.96, 0.95, 0.94, 0.45, 0.44, 0.43, 0.42,
    ];
    let probs: Vec<f32> = p0
        .iter()
        .copied()
        .chain(p0.iter().map(|p| 1.0 - p))
        .collect();
    let t = class_balanced_thresholds(&probs, 1, 2, 0.5).unwrap();
    assert_eq!(t, vec![0.97, 1.0 - 0.43]);
    let labels = class_balanced_pseudo_labels(&probs, 1, &t).unwrap();
    let i = IGNORE;
    assert_eq!(labels, vec![0, 0, 0, i, i, i, i, i, 1, 1]);
    // With portion 1 every pixel is kept, each under its own class.
    let t = class_balanced_thresholds(&probs, 1, 2, 1.0).unwrap();
    let labels = class_balanced_pseudo_labels(&probs, 1, &t).unwrap();
    assert_eq!(labels, vec![0, 0, 0, 0, 0, 0, 1, 1, 1, 1]);
    // A class nobody predicts gets threshold 1.
    let one_class: Vec<f32> = [0.9f32, 0.8].iter().chain(&[0.1, 0.2]).copied().collect();
    assert_eq!(
        class_balanced_thresholds(&one_class, 1, 2, 0.5).unwrap()[1],
        1.0
    );
    assert!(class_balanced_thresholds(&probs, 1, 2, 0.0).is_err());
}

#[test]
fn every_baseline_runs_through_the_loop_and_source_only_does_not_train() {
    for m in ["minent", "maxsquare", "tent", "shot_im", "cbst"] {
        let mut f = fixture(m);
        let loader = f.loader.clone();
        let v = f.run.iterate(Some(&loader)).unwrap();
        assert!(v.iter().any(|(k, _)| k == "s_total"), "{m}: {v:?}");
        assert!(
            !v.iter().any(|(k, _)| k.starts_with("g_")),
            "{m} ran a generator step"
        );
        // A baseline builds no generator: its state holds nothing but what
        // it uses (CBST's thresholds are scalars).
        assert!(f.run.method.state().unwrap().is_empty(), "{m}");
        assert_eq!(f.run.core.iteration, 1);
    }
    let c = config("source_only");
    let info = describe_method(&c).unwrap();
    assert_eq!((info.student_steps, info.warmup_steps), (0, 0));
    assert_eq!(info.label, "source only");
}
