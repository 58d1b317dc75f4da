//! Every sidecar field that changes what a model computes is honoured by
//! `eval` and `predict`: the input normalisation (a model trained on `[0, 1]`
//! inputs is fed `[0, 1]` inputs), the output stride (an `-os16` name on
//! stride-8 weights is refused, torchvision's names are accepted) and the
//! class count (a model with classes the data lacks is reported).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use sfda_backend_tch::TchBackend;
use sfda_core::checkpoint::{self, sidecar_path, CheckpointMeta, Normalization};
use sfda_core::data::{
    colorize, save_rgb_png, DataLoader, Dataset, Domain, LabelMap, LoaderConfig, Normalize, Split,
    SynthDataset, SynthSpec,
};
use sfda_core::job::{DataSpec, EvalJob, PredictJob};
use sfda_core::model::SegModel;
use sfda_core::net::{build_seg_model, canonical_arch, output_stride};
use sfda_core::nn::VarStore;
use sfda_core::train::{batch_images, evaluate, predict_labels, train_source, TrainSourceConfig};
use sfda_core::{Backend, DeviceSpec, ForwardOpts, Tensor};

type B = TchBackend;

const IMAGES: usize = 4;

fn dev() -> <B as Backend>::Device {
    B::device(DeviceSpec::Cpu).unwrap()
}

fn spec() -> SynthSpec {
    SynthSpec::new(Domain::Source, Split::Val, IMAGES).with_size(64, 32)
}

fn data() -> DataSpec {
    DataSpec::Synth(spec())
}

fn eval_job(checkpoint: &Path) -> EvalJob {
    EvalJob {
        checkpoint: checkpoint.to_path_buf(),
        data: data(),
        class_set: None,
        batch_size: IMAGES,
        progress: false,
    }
}

fn predict_job(checkpoint: &Path, out: PathBuf) -> PredictJob {
    PredictJob {
        checkpoint: checkpoint.to_path_buf(),
        images: data(),
        out,
        limit: None,
        grid_rows: 2,
        progress: false,
    }
}

/// A deeplabv3-mini whose BN running statistics moved, saved with `meta`.
fn saved_model(
    dir: &Path,
    classes: usize,
    edit: impl FnOnce(CheckpointMeta) -> CheckpointMeta,
) -> (PathBuf, Box<dyn SegModel<B>>) {
    let vs = VarStore::<B>::new(dev(), 3);
    let model = build_seg_model::<B>("deeplabv3-mini", classes, &vs.root()).unwrap();
    let mut rng = sfda_core::rng::SeedRng::new(7);
    let x = Tensor::<B>::randn(&[2, 3, 32, 64], 0.0, 1.0, &mut rng, &dev()).unwrap();
    model.forward(&x, ForwardOpts::TRAIN).unwrap();
    let path = dir.join("model.safetensors");
    let meta = edit(CheckpointMeta::for_model(model.as_ref()).with_class_set("cityscapes19"));
    checkpoint::save(&path, model.as_ref(), &meta).unwrap();
    (path, model)
}

/// The model's predictions on the synthetic images fed with `norm`.
fn predictions(model: &dyn SegModel<B>, norm: Normalize) -> Vec<Vec<u8>> {
    let mut lc = LoaderConfig::eval(IMAGES);
    lc.transform.normalize = norm;
    let loader = DataLoader::new(Arc::new(SynthDataset::new(spec())), lc).unwrap();
    let batch = loader.epoch(0).next().unwrap().unwrap();
    let pred = predict_labels(model, &batch_images::<B>(&batch, &dev()).unwrap()).unwrap();
    let (h, w) = batch.hw();
    pred.chunks(h * w).map(<[u8]>::to_vec).collect()
}

fn miou_with(model: &dyn SegModel<B>, norm: Normalize) -> f64 {
    let mut lc = LoaderConfig::eval(IMAGES);
    lc.transform.normalize = norm;
    let loader = DataLoader::new(Arc::new(SynthDataset::new(spec())), lc).unwrap();
    let set = SynthDataset::new(spec()).class_set();
    evaluate(model, &loader, set, &dev(), false)
        .unwrap()
        .metrics
        .miou
}

/// A deeplabv3-mini trained for a few steps (so its predictions depend on
/// the input), its sidecar then declaring [0, 1] inputs (mean 0, std 1).
fn trained_unit_model(dir: &Path) -> (PathBuf, Box<dyn SegModel<B>>) {
    let train = SynthSpec::new(Domain::Source, Split::Train, 16).with_size(64, 32);
    let loader = DataLoader::new(
        Arc::new(SynthDataset::new(train)),
        LoaderConfig::train(4, 0, None),
    )
    .unwrap();
    let cfg = TrainSourceConfig {
        iterations: 30,
        val_every: 0,
        progress: false,
        ..TrainSourceConfig::default()
    };
    let summary = train_source::<B>(&cfg, &loader, None, &dev(), &dir.join("src")).unwrap();
    let side = sidecar_path(&summary.last);
    let mut json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&side).unwrap()).unwrap();
    json["normalization"] = serde_json::json!({"mean": [0.0, 0.0, 0.0], "std": [1.0, 1.0, 1.0]});
    std::fs::write(&side, json.to_string()).unwrap();
    let vs = VarStore::<B>::new(dev(), 0);
    let (model, meta) = checkpoint::load_seg_model::<B>(&summary.last, &vs.root()).unwrap();
    assert_eq!(
        meta.normalization,
        Normalization {
            mean: [0.0; 3],
            std: [1.0; 3]
        }
    );
    (summary.last, model)
}

#[test]
fn eval_and_predict_feed_the_model_its_sidecar_normalisation() {
    let dir = tempfile::tempdir().unwrap();
    let (ckpt, model) = trained_unit_model(dir.path());

    // The two normalisations give different predictions, so the test can fail.
    let want = predictions(model.as_ref(), Normalize::UNIT);
    let imagenet = predictions(model.as_ref(), Normalize::IMAGENET);
    assert_ne!(want, imagenet, "the normalisations must change the output");

    let metrics = eval_job(&ckpt).run::<B>(&dev()).unwrap();
    let unit_miou = miou_with(model.as_ref(), Normalize::UNIT);
    assert_ne!(unit_miou, miou_with(model.as_ref(), Normalize::IMAGENET));
    assert_eq!(metrics.miou, unit_miou);

    let out = dir.path().join("pred");
    let summary = predict_job(&ckpt, out.clone()).run::<B>(&dev()).unwrap();
    assert_eq!(summary.images, IMAGES);
    let names = SynthDataset::new(spec());
    for (i, labels) in want.iter().enumerate() {
        let name = names.name(i);
        let written = std::fs::read(out.join(format!("{name}_pred.png"))).unwrap();
        let expected = dir.path().join("expected.png");
        let map = LabelMap::new(64, 32, labels.clone()).unwrap();
        save_rgb_png(&expected, &colorize(&map)).unwrap();
        assert_eq!(
            written,
            std::fs::read(&expected).unwrap(),
            "image {i}: predict did not use the sidecar's normalisation"
        );
    }
}

#[test]
fn a_sidecar_with_a_bad_normalisation_is_refused_by_key() {
    let dir = tempfile::tempdir().unwrap();
    let (ckpt, _) = saved_model(dir.path(), 19, |m| m);
    let side = sidecar_path(&ckpt);
    let text = std::fs::read_to_string(&side).unwrap();
    let mut json: serde_json::Value = serde_json::from_str(&text).unwrap();
    json["normalization"]["std"] = serde_json::json!([0.229, 0.0, 0.225]);
    std::fs::write(&side, json.to_string()).unwrap();
    let err = eval_job(&ckpt).run::<B>(&dev()).unwrap_err().to_string();
    assert!(err.contains("normalization.std[1]"), "{err}");
    assert!(err.contains("model.json"), "{err}");
}

#[test]
fn an_output_stride_that_is_not_the_archs_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let vs = VarStore::<B>::new(dev(), 3);
    let model = build_seg_model::<B>("deeplabv3-resnet18", 19, &vs.root()).unwrap();
    let ckpt = dir.path().join("r18.safetensors");
    let meta = CheckpointMeta::for_model(model.as_ref());
    assert_eq!(meta.output_stride, Some(8), "sfda records the stride");
    checkpoint::save(&ckpt, model.as_ref(), &meta).unwrap();
    // The user renames the stride-8 weights to the os16 network (same shapes).
    let side = sidecar_path(&ckpt);
    let mut json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&side).unwrap()).unwrap();
    json["arch"] = "deeplabv3-resnet18-os16".into();
    std::fs::write(&side, json.to_string()).unwrap();
    for err in [
        eval_job(&ckpt).run::<B>(&dev()).unwrap_err().to_string(),
        predict_job(&ckpt, dir.path().join("pred"))
            .run::<B>(&dev())
            .unwrap_err()
            .to_string(),
    ] {
        assert!(err.contains("output_stride is 8"), "{err}");
        assert!(err.contains("'deeplabv3-resnet18'"), "{err}");
    }
}

#[test]
fn torchvision_names_build_the_matching_network() {
    assert_eq!(canonical_arch("deeplabv3_resnet50"), "deeplabv3-resnet50");
    assert_eq!(canonical_arch("deeplabv3_resnet101"), "deeplabv3-resnet101");
    assert_eq!(canonical_arch("segnet-mini"), "segnet-mini");
    assert_eq!(output_stride("deeplabv3_resnet50"), Some(8));
    assert_eq!(output_stride("deeplabv3-resnet50-os16"), Some(16));
    assert_eq!(output_stride("segnet-vgg16"), None);
    let vs = VarStore::<B>::new(dev(), 0);
    let model = build_seg_model::<B>("deeplabv3_resnet50", 21, &vs.root()).unwrap();
    assert_eq!(model.arch(), "deeplabv3-resnet50");
}

#[test]
fn predict_reports_classes_the_data_does_not_have() {
    let dir = tempfile::tempdir().unwrap();
    let (ckpt, model) = saved_model(dir.path(), 21, |m| m);
    let pred = predictions(model.as_ref(), Normalize::IMAGENET);
    let outside = pred.iter().flatten().filter(|&&c| c >= 19).count() as u64;
    let summary = predict_job(&ckpt, dir.path().join("pred"))
        .run::<B>(&dev())
        .unwrap();
    assert_eq!((summary.model_classes, summary.data_classes), (21, 19));
    assert_eq!(summary.pixels_outside_class_set, outside);
    let warning = summary.class_warning().expect("a warning");
    assert!(warning.contains("21 classes"), "{warning}");
    assert!(warning.contains("19..20"), "{warning}");

    // The same model with 19 classes: nothing to report.
    let dir19 = tempfile::tempdir().unwrap();
    let (ckpt19, _) = saved_model(dir19.path(), 19, |m| m);
    let summary19 = predict_job(&ckpt19, dir19.path().join("pred"))
        .run::<B>(&dev())
        .unwrap();
    assert_eq!(summary19.class_warning(), None);
}
