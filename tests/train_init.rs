//! Source training from a pretrained backbone (`train-source --init`): a
//! file in torchvision's key layout (a ResNet `state_dict` with its ImageNet
//! head, saved by the test itself from a randomly initialised network) is
//! mapped under `backbone.`, its weights are the ones training starts from,
//! and a file that matches nothing or has another width is refused.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use sfda_backend_tch::TchBackend;
use sfda_core::checkpoint::{self, init_from_pretrained, save_vars};
use sfda_core::data::{DataLoader, Domain, LoaderConfig, Split, SynthDataset, SynthSpec};
use sfda_core::model::NamedVar;
use sfda_core::net::build_seg_model;
use sfda_core::nn::VarStore;
use sfda_core::optim::SgdConfig;
use sfda_core::train::{train_source, TrainSourceConfig};
use sfda_core::{Backend, DeviceSpec};

type B = TchBackend;

fn dev() -> <B as Backend>::Device {
    B::device(DeviceSpec::Cpu).unwrap()
}

const WEIGHT: &str = "backbone.layer2.0.conv1.weight";

fn values(vars: &[NamedVar<B>], name: &str) -> Vec<f32> {
    vars.iter()
        .find(|v| v.name == name)
        .unwrap_or_else(|| panic!("no variable {name}"))
        .var
        .tensor()
        .to_vec()
        .unwrap()
}

/// Writes the backbone of a deeplabv3-mini built with `seed` the way
/// torchvision names a bare ResNet (no `backbone.` prefix), plus an
/// ImageNet-style `fc` head; returns the backbone variable count.
fn torchvision_backbone(path: &Path, seed: u64) -> (usize, Vec<f32>) {
    let vs = VarStore::<B>::new(dev(), seed);
    let model = build_seg_model::<B>("deeplabv3-mini", 19, &vs.root()).unwrap();
    let mut vars: Vec<NamedVar<B>> = model
        .named_vars()
        .into_iter()
        .filter_map(|v| {
            let name = v.name.strip_prefix("backbone.")?.to_string();
            Some(NamedVar { name, ..v })
        })
        .collect();
    let n = vars.len();
    let fc = VarStore::<B>::new(dev(), 99);
    let head = fc
        .root()
        .var("w", &[10, 128], sfda_core::nn::Init::Const(0.5))
        .unwrap();
    vars.push(NamedVar {
        name: "fc.weight".into(),
        var: head,
        trainable: true,
    });
    save_vars(path, &vars, &BTreeMap::new()).unwrap();
    (n, values(&model.named_vars(), WEIGHT))
}

#[test]
fn a_torchvision_backbone_is_mapped_under_backbone() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("resnet.safetensors");
    let (n, want) = torchvision_backbone(&file, 5);
    let vs = VarStore::<B>::new(dev(), 0);
    let model = build_seg_model::<B>("deeplabv3-mini", 19, &vs.root()).unwrap();
    assert_ne!(values(&model.named_vars(), WEIGHT), want);
    let report = init_from_pretrained(&file, &model.named_vars()).unwrap();
    assert_eq!(report.prefix, "backbone.");
    assert_eq!(report.loaded, n);
    assert_eq!(report.skipped, vec!["fc.weight".to_string()]);
    assert_eq!(report.missing.len(), model.named_vars().len() - n);
    assert!(report.missing.iter().all(|m| !m.starts_with("backbone.")));
    assert_eq!(values(&model.named_vars(), WEIGHT), want);
}

#[test]
fn train_source_starts_from_the_init_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("resnet.safetensors");
    let (n, want) = torchvision_backbone(&file, 5);
    let spec = SynthSpec::new(Domain::Source, Split::Train, 4).with_size(64, 32);
    let loader = DataLoader::new(
        Arc::new(SynthDataset::new(spec)),
        LoaderConfig::train(2, 0, None),
    )
    .unwrap();
    let cfg = TrainSourceConfig {
        iterations: 2,
        val_every: 0,
        progress: false,
        // A step this small leaves the weights where they started.
        sgd: SgdConfig {
            lr: 1e-9,
            weight_decay: 0.0,
            ..SgdConfig::default()
        },
        init: Some(file.clone()),
        ..TrainSourceConfig::default()
    };
    let out = dir.path().join("src");
    let summary = train_source::<B>(&cfg, &loader, None, &dev(), &out).unwrap();
    let report = summary.init.expect("an init report");
    assert_eq!(report.loaded, n);

    let vs = VarStore::<B>::new(dev(), 0);
    let (trained, meta) = checkpoint::load_seg_model::<B>(&summary.last, &vs.root()).unwrap();
    let got = values(&trained.named_vars(), WEIGHT);
    let err = got
        .iter()
        .zip(&want)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    assert!(
        err < 1e-5,
        "the trained weights did not start from the file ({err})"
    );
    assert_eq!(
        meta.provenance.notes.get("init"),
        Some(&file.display().to_string())
    );
    // Without --init, the same training starts elsewhere.
    let fresh = TrainSourceConfig { init: None, ..cfg };
    let out2 = dir.path().join("src2");
    let s2 = train_source::<B>(&fresh, &loader, None, &dev(), &out2).unwrap();
    assert!(s2.init.is_none());
    let vs2 = VarStore::<B>::new(dev(), 0);
    let (other, _) = checkpoint::load_seg_model::<B>(&s2.last, &vs2.root()).unwrap();
    assert_ne!(values(&other.named_vars(), WEIGHT), want);
}

/// A safetensors file holding one tensor of ones called `name`.
fn save_one(path: &Path, name: &str, shape: &[usize]) {
    let vs = VarStore::<B>::new(dev(), 1);
    let var = vs
        .root()
        .var("w", shape, sfda_core::nn::Init::Const(1.0))
        .unwrap();
    let one = NamedVar {
        name: name.into(),
        var,
        trainable: true,
    };
    save_vars(path, &[one], &BTreeMap::new()).unwrap();
}

#[test]
fn a_file_that_matches_nothing_or_has_another_width_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let vs = VarStore::<B>::new(dev(), 0);
    let model = build_seg_model::<B>("deeplabv3-mini", 19, &vs.root()).unwrap();
    let before = values(&model.named_vars(), WEIGHT);

    let unrelated = dir.path().join("unrelated.safetensors");
    save_one(&unrelated, "text_model.embeddings.weight", &[4, 4]);
    let e = init_from_pretrained(&unrelated, &model.named_vars())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("unrelated.safetensors") && e.contains("no entry"),
        "{e}"
    );

    // A ResNet with a wider stem (32 channels, the mini one has 16).
    let wide = dir.path().join("wide.safetensors");
    save_one(&wide, "conv1.weight", &[32, 3, 7, 7]);
    let e = init_from_pretrained(&wide, &model.named_vars())
        .unwrap_err()
        .to_string();
    assert!(e.contains("conv1.weight") && e.contains("shape"), "{e}");
    // Nothing was written by either refusal.
    assert_eq!(values(&model.named_vars(), WEIGHT), before);
}
