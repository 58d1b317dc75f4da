//! Checkpoints are portable and guarded: a model saved through one backend
//! loads in the other and gives the same logits (also over random inputs, a
//! proptest); loading refuses another architecture or class count, a missing
//! tensor and a wrong shape with an error naming the file and the key; files
//! are written atomically and PyTorch extras are skipped.

mod net_common;

use std::collections::BTreeMap;
use std::path::Path;

use net_common::{assert_close, candle_cpu, normal, tch_cpu};
use proptest::prelude::*;
use sfda_backend_candle::CandleBackend;
use sfda_backend_tch::TchBackend;
use sfda_core::checkpoint::{self, CheckpointMeta, LoadOpts, Provenance, META_KEY};
use sfda_core::model::SegModel;
use sfda_core::net::build_seg_model;
use sfda_core::nn::VarStore;
use sfda_core::{Backend, Error, ForwardOpts, Tensor};

const SHAPE: [usize; 4] = [2, 3, 64, 128];

fn logits<B: Backend>(
    model: &dyn SegModel<B>,
    dev: &B::Device,
    x: &[f32],
    shape: &[usize],
) -> Vec<f32> {
    let x = Tensor::<B>::from_f32(x, shape, dev).unwrap();
    model
        .forward(&x, ForwardOpts::EVAL)
        .unwrap()
        .logits
        .to_vec()
        .unwrap()
}

/// Trains the running statistics a little so that the checkpoint differs
/// from a fresh initialisation in every buffer.
fn warm_up<B: Backend>(model: &dyn SegModel<B>, dev: &B::Device) {
    let x = Tensor::<B>::from_f32(&normal(77, SHAPE.iter().product()), &SHAPE, dev).unwrap();
    model.forward(&x, ForwardOpts::TRAIN).unwrap();
}

fn meta_for<B: Backend>(model: &dyn SegModel<B>) -> CheckpointMeta {
    CheckpointMeta::for_model(model)
        .with_class_set("cityscapes19")
        .with_image_size(64, 128)
        .with_provenance(Provenance {
            backend: B::NAME.into(),
            command: "test".into(),
            seed: Some(7),
            ..Provenance::default()
        })
}

fn cross_backend<S: Backend, L: Backend>(arch: &str, sdev: &S::Device, ldev: &L::Device) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ckpt").join("best.safetensors");
    let vs = VarStore::<S>::new(sdev.clone(), 1);
    let model = build_seg_model::<S>(arch, 19, &vs.root()).unwrap();
    warm_up(model.as_ref(), sdev);
    checkpoint::save(&path, model.as_ref(), &meta_for(model.as_ref())).unwrap();

    // A different seed: everything must come from the file.
    let vs2 = VarStore::<L>::new(ldev.clone(), 2);
    let (loaded, meta) = checkpoint::load_seg_model::<L>(&path, &vs2.root()).unwrap();
    assert_eq!(meta.arch, arch);
    assert_eq!(meta.num_classes, 19);
    assert_eq!(meta.class_set, "cityscapes19");
    assert_eq!(meta.provenance.backend, S::NAME);
    assert_eq!(meta.provenance.seed, Some(7));

    let x = normal(5, SHAPE.iter().product());
    let a = logits(model.as_ref(), sdev, &x, &SHAPE);
    let b = logits(loaded.as_ref(), ldev, &x, &SHAPE);
    let r = assert_close(&format!("{arch} {}→{}", S::NAME, L::NAME), &a, &b, 1e-4);
    eprintln!(
        "{arch} saved by {} loaded by {}: logits diff/scale {r:e}",
        S::NAME,
        L::NAME
    );
    // Nothing but the two files is left behind.
    let mut names: Vec<String> = std::fs::read_dir(path.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, vec!["best.json", "best.safetensors"]);
}

#[test]
fn deeplabv3_mini_saved_by_tch_loads_in_candle() {
    cross_backend::<TchBackend, CandleBackend>("deeplabv3-mini", &tch_cpu(), &candle_cpu());
}

#[test]
fn deeplabv3_mini_saved_by_candle_loads_in_tch() {
    cross_backend::<CandleBackend, TchBackend>("deeplabv3-mini", &candle_cpu(), &tch_cpu());
}

#[test]
fn segnet_mini_saved_by_tch_loads_in_candle() {
    cross_backend::<TchBackend, CandleBackend>("segnet-mini", &tch_cpu(), &candle_cpu());
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 6, ..ProptestConfig::default() })]
    /// Random inputs (values, batch and size) through a tch model and its
    /// candle reload give the same logits.
    #[test]
    fn reloaded_in_other_backend_same_logits(seed in 0u64..1_000_000, batch in 1usize..3, hq in 1usize..3, wq in 1usize..4, amp in 0.1f32..4.0) {
        let (tdev, cdev) = (tch_cpu(), candle_cpu());
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.safetensors");
        let vs = VarStore::<TchBackend>::new(tdev, seed);
        let model = build_seg_model::<TchBackend>("deeplabv3-mini", 7, &vs.root()).unwrap();
        warm_up(model.as_ref(), &tdev);
        checkpoint::save(&path, model.as_ref(), &meta_for(model.as_ref())).unwrap();
        let vs2 = VarStore::<CandleBackend>::new(cdev.clone(), 0);
        let (loaded, _) = checkpoint::load_seg_model::<CandleBackend>(&path, &vs2.root()).unwrap();
        let shape = [batch, 3, 32 * hq, 32 * wq];
        let x: Vec<f32> = normal(seed ^ 0xabc, shape.iter().product()).into_iter().map(|v| v * amp).collect();
        let a = logits(model.as_ref(), &tdev, &x, &shape);
        let b = logits(loaded.as_ref(), &cdev, &x, &shape);
        let s = net_common::scale(&a).max(1e-12);
        prop_assert!(net_common::max_abs_diff(&a, &b) <= 1e-4 * s);
    }
}

fn expect_ckpt_err(res: Result<impl std::fmt::Debug, Error>, path: &Path, needles: &[&str]) {
    match res {
        Err(Error::Checkpoint { path: p, msg }) => {
            assert_eq!(p, path);
            for n in needles {
                assert!(msg.contains(n), "message {msg:?} lacks {n:?}");
            }
        }
        other => panic!("expected a checkpoint error, got {other:?}"),
    }
}

#[test]
fn refuses_other_arch_class_count_missing_tensor_and_wrong_shape() {
    let dev = tch_cpu();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dl.safetensors");
    let vs = VarStore::<TchBackend>::new(dev, 0);
    let dl = build_seg_model::<TchBackend>("deeplabv3-mini", 19, &vs.root().pp("a")).unwrap();
    checkpoint::save(&path, dl.as_ref(), &meta_for(dl.as_ref())).unwrap();

    // Another architecture.
    let seg = build_seg_model::<TchBackend>("segnet-mini", 19, &vs.root().pp("b")).unwrap();
    expect_ckpt_err(
        checkpoint::load(&path, seg.as_ref()),
        &path,
        &["deeplabv3-mini", "segnet-mini"],
    );
    // Another class count.
    let dl7 = build_seg_model::<TchBackend>("deeplabv3-mini", 7, &vs.root().pp("c")).unwrap();
    expect_ckpt_err(
        checkpoint::load(&path, dl7.as_ref()),
        &path,
        &["19 classes", "7 classes"],
    );
    // The right model loads.
    let dl19 = build_seg_model::<TchBackend>("deeplabv3-mini", 19, &vs.root().pp("d")).unwrap();
    checkpoint::load(&path, dl19.as_ref()).unwrap();

    // A missing tensor: the file lacks one running variance.
    let mut info = BTreeMap::new();
    info.insert(
        META_KEY.to_string(),
        serde_json::to_string(&meta_for(dl.as_ref())).unwrap(),
    );
    let holed = dir.path().join("holed.safetensors");
    let vars: Vec<_> = dl
        .named_vars()
        .into_iter()
        .filter(|v| v.name != "backbone.layer2.0.bn1.running_var")
        .collect();
    checkpoint::save_vars(&holed, &vars, &info).unwrap();
    expect_ckpt_err(
        checkpoint::load(&holed, dl19.as_ref()),
        &holed,
        &["missing tensor 'backbone.layer2.0.bn1.running_var'"],
    );

    // A wrong shape: 7-class weights under a 19-class sidecar.
    let shaped = dir.path().join("shaped.safetensors");
    checkpoint::save_vars(&shaped, &dl7.named_vars(), &info).unwrap();
    expect_ckpt_err(
        checkpoint::load(&shaped, dl19.as_ref()),
        &shaped,
        &["classifier.4.weight", "[7, 64, 1, 1]", "[19, 64, 1, 1]"],
    );

    // Saving with metadata that does not describe the model.
    let wrong = CheckpointMeta::new("segnet-mini", 19);
    expect_ckpt_err(
        checkpoint::save(&dir.path().join("x.safetensors"), dl.as_ref(), &wrong),
        &dir.path().join("x.safetensors"),
        &["segnet-mini"],
    );

    // Not a safetensors file.
    let junk = dir.path().join("junk.safetensors");
    std::fs::write(&junk, b"definitely not a checkpoint").unwrap();
    expect_ckpt_err(
        checkpoint::read_meta(&junk),
        &junk,
        &["not a safetensors file"],
    );

    // A failed load leaves the model untouched (all-or-nothing).
    let before = dl19.named_vars()[0].var.tensor().to_vec().unwrap();
    assert!(checkpoint::load(&holed, dl19.as_ref()).is_err());
    assert_eq!(dl19.named_vars()[0].var.tensor().to_vec().unwrap(), before);
}

#[test]
fn sidecar_is_readable_json_and_embedded_copy_suffices() {
    let dev = tch_cpu();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.safetensors");
    let vs = VarStore::<TchBackend>::new(dev, 0);
    let m = build_seg_model::<TchBackend>("segnet-mini", 19, &vs.root()).unwrap();
    checkpoint::save(&path, m.as_ref(), &meta_for(m.as_ref())).unwrap();
    // Saving twice replaces the files.
    checkpoint::save(&path, m.as_ref(), &meta_for(m.as_ref())).unwrap();
    let side = checkpoint::sidecar_path(&path);
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&side).unwrap()).unwrap();
    assert_eq!(json["arch"], "segnet-mini");
    assert_eq!(json["num_classes"], 19);
    assert_eq!(json["format"], "sfda-checkpoint");
    assert_eq!(
        json["normalization"]["mean"][0].as_f64().unwrap() as f32,
        0.485
    );
    assert_eq!(json["image_size"]["width"], 128);
    // Without the sidecar the embedded metadata is used.
    std::fs::remove_file(&side).unwrap();
    assert_eq!(checkpoint::read_meta(&path).unwrap().arch, "segnet-mini");
    // A sidecar that contradicts the weights is refused.
    let mut other = meta_for(m.as_ref());
    other.arch = "deeplabv3-mini".into();
    std::fs::write(&side, serde_json::to_string(&other).unwrap()).unwrap();
    expect_ckpt_err(
        checkpoint::read_meta(&path),
        &path,
        &["deeplabv3-mini", "segnet-mini"],
    );
}

#[test]
fn pytorch_style_state_dict_loads_with_extras_skipped() {
    let dev = tch_cpu();
    let dir = tempfile::tempdir().unwrap();
    let vs = VarStore::<TchBackend>::new(dev, 0);
    let src = build_seg_model::<TchBackend>("deeplabv3-mini", 19, &vs.root().pp("src")).unwrap();
    // A state_dict as PyTorch writes it: BN step counters, an auxiliary head, no sfda metadata.
    let extra_vs = VarStore::<TchBackend>::new(dev, 0);
    let root = extra_vs.root();
    root.pp("backbone")
        .pp("bn1")
        .buffer("num_batches_tracked", &[], sfda_core::nn::Init::Const(3.0))
        .unwrap();
    root.pp("aux_classifier")
        .pp(0)
        .var("weight", &[2, 2], sfda_core::nn::Init::Const(1.0))
        .unwrap();
    let mut vars = src.named_vars();
    vars.extend(extra_vs.named_vars());
    let path = dir.path().join("torch_export.safetensors");
    checkpoint::save_vars(&path, &vars, &BTreeMap::new()).unwrap();

    expect_ckpt_err(checkpoint::read_meta(&path), &path, &["no sidecar"]);
    let dst = build_seg_model::<TchBackend>("deeplabv3-mini", 19, &vs.root().pp("dst")).unwrap();
    let report = checkpoint::load_weights(&path, &dst.named_vars(), LoadOpts::default()).unwrap();
    assert_eq!(report.loaded, dst.named_vars().len());
    assert_eq!(
        report.skipped,
        vec![
            "aux_classifier.0.weight",
            "backbone.bn1.num_batches_tracked"
        ]
    );
    let x = normal(3, SHAPE.iter().product());
    assert_eq!(
        logits(src.as_ref(), &dev, &x, &SHAPE),
        logits(dst.as_ref(), &dev, &x, &SHAPE)
    );

    // Other unexpected entries are refused unless allowed.
    let seg = build_seg_model::<TchBackend>("segnet-mini", 19, &vs.root().pp("seg")).unwrap();
    let mut mixed = dst.named_vars();
    mixed.extend(seg.named_vars().into_iter().map(|mut v| {
        v.name = format!("extra.{}", v.name);
        v
    }));
    let mixed_path = dir.path().join("mixed.safetensors");
    checkpoint::save_vars(&mixed_path, &mixed, &BTreeMap::new()).unwrap();
    expect_ckpt_err(
        checkpoint::load_weights(&mixed_path, &dst.named_vars(), LoadOpts::default()),
        &mixed_path,
        &["unexpected tensor 'extra."],
    );
    let lax = LoadOpts {
        deny_unexpected: false,
        ..LoadOpts::default()
    };
    assert!(checkpoint::load_weights(&mixed_path, &dst.named_vars(), lax).is_ok());
}

#[test]
fn a_data_parallel_export_loads_with_the_sidecars_key_prefix() {
    let dev = tch_cpu();
    let dir = tempfile::tempdir().unwrap();
    let vs = VarStore::<TchBackend>::new(dev, 0);
    let src = build_seg_model::<TchBackend>("deeplabv3-mini", 19, &vs.root().pp("src")).unwrap();
    warm_up(src.as_ref(), &dev);
    let mut vars = src.named_vars();
    for v in &mut vars {
        v.name = format!("module.{}", v.name);
    }
    let path = dir.path().join("dp.safetensors");
    checkpoint::save_vars(&path, &vars, &BTreeMap::new()).unwrap();
    let sidecar = checkpoint::sidecar_path(&path);

    // Without key_prefix: an error that names the option.
    std::fs::write(
        &sidecar,
        r#"{"format": "sfda-checkpoint", "version": 1, "arch": "deeplabv3-mini", "num_classes": 19}"#,
    )
    .unwrap();
    let vs2 = VarStore::<TchBackend>::new(dev, 1);
    expect_ckpt_err(
        checkpoint::load_seg_model::<TchBackend>(&path, &vs2.root()).map(|_| ()),
        &path,
        &["module.", "key_prefix"],
    );

    // With it: the same logits, and a line saying what was stripped.
    std::fs::write(
        &sidecar,
        r#"{"format": "sfda-checkpoint", "version": 1, "arch": "deeplabv3-mini", "num_classes": 19, "key_prefix": "module."}"#,
    )
    .unwrap();
    let vs3 = VarStore::<TchBackend>::new(dev, 1);
    let (loaded, meta, report) =
        checkpoint::load_seg_model_reporting::<TchBackend>(&path, &vs3.root()).unwrap();
    assert_eq!(meta.key_prefix, "module.");
    assert_eq!(report.loaded, src.named_vars().len());
    assert!(report.skipped.is_empty(), "{:?}", report.skipped);
    assert!(
        report
            .notes()
            .iter()
            .any(|n| n.contains("stripped the prefix 'module.'")),
        "{:?}",
        report.notes()
    );
    let x = normal(9, SHAPE.iter().product());
    assert_eq!(
        logits(src.as_ref(), &dev, &x, &SHAPE),
        logits(loaded.as_ref(), &dev, &x, &SHAPE)
    );
}

#[test]
fn load_notes_say_what_was_skipped_and_converted() {
    let report = checkpoint::LoadReport {
        loaded: 10,
        skipped: vec![
            "aux_classifier.0.weight".into(),
            "aux_classifier.4.bias".into(),
            "backbone.bn1.num_batches_tracked".into(),
        ],
        converted: 12,
        key_prefix: String::new(),
    };
    let notes = report.notes().join("\n");
    assert!(
        notes.contains("skipped 2 aux_classifier.* entries"),
        "{notes}"
    );
    assert!(notes.contains("skipped 1 num_batches_tracked"), "{notes}");
    assert!(notes.contains("converted 12 entries to f32"), "{notes}");
    assert!(checkpoint::LoadReport::default().notes().is_empty());
}

#[test]
fn non_finite_weights_are_refused_by_name() {
    let dev = tch_cpu();
    let dir = tempfile::tempdir().unwrap();
    let vs = VarStore::<TchBackend>::new(dev, 0);
    let model = build_seg_model::<TchBackend>("deeplabv3-mini", 19, &vs.root()).unwrap();
    let vars = model.named_vars();
    let target = vars
        .iter()
        .find(|v| v.name == "classifier.4.weight")
        .unwrap_or(&vars[0]);
    let shape = target.var.shape();
    let mut data = target.var.tensor().to_vec().unwrap();
    data[0] = f32::NAN;
    target
        .var
        .set(&Tensor::<TchBackend>::from_f32(&data, &shape, &dev).unwrap())
        .unwrap();
    let name = target.name.clone();
    let path = dir.path().join("nan.safetensors");
    checkpoint::save(&path, model.as_ref(), &meta_for(model.as_ref())).unwrap();
    let vs2 = VarStore::<TchBackend>::new(dev, 1);
    expect_ckpt_err(
        checkpoint::load_seg_model::<TchBackend>(&path, &vs2.root()).map(|_| ()),
        &path,
        &[name.as_str(), "NaN"],
    );
}
