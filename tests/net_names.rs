//! Weight names and sizes match torchvision, so PyTorch `state_dict`s load:
//! DeepLabV3-ResNet50 as `deeplabv3_resnet50(num_classes=21, aux_loss=False)`
//! (39,638,869 parameters: torchvision's 42,004,074 minus its 2,365,205-
//! parameter auxiliary head) and the SegNet encoder as `vgg16_bn().features`
//! (14,723,136 parameters). Unknown architectures are refused with the list
//! of known ones.

mod net_common;

use std::collections::HashMap;

use net_common::tch_cpu;
use sfda_backend_tch::TchBackend;
use sfda_core::net::{build_seg_model, KNOWN_ARCHS};
use sfda_core::nn::VarStore;
use sfda_core::Error;

/// Name → (shape, trainable).
type VarTable = HashMap<String, (Vec<usize>, bool)>;

fn shapes(arch: &str, classes: usize) -> (VarTable, Vec<String>) {
    let vs = VarStore::<TchBackend>::new(tch_cpu(), 0);
    let m = build_seg_model::<TchBackend>(arch, classes, &vs.root()).unwrap();
    assert_eq!(m.arch(), arch);
    assert_eq!(m.num_classes(), classes);
    let vars = m.named_vars();
    let order = vars.iter().map(|v| v.name.clone()).collect();
    (
        vars.into_iter()
            .map(|v| (v.name, (v.var.shape(), v.trainable)))
            .collect(),
        order,
    )
}

fn params(map: &VarTable, prefix: &str) -> usize {
    map.iter()
        .filter(|(k, (_, t))| *t && k.starts_with(prefix))
        .map(|(_, (s, _))| s.iter().product::<usize>())
        .sum()
}

#[test]
fn deeplabv3_resnet50_matches_torchvision_state_dict() {
    let (m, order) = shapes("deeplabv3-resnet50", 21);
    let expect: &[(&str, &[usize])] = &[
        ("backbone.conv1.weight", &[64, 3, 7, 7]),
        ("backbone.bn1.running_mean", &[64]),
        ("backbone.layer1.0.downsample.0.weight", &[256, 64, 1, 1]),
        ("backbone.layer1.0.downsample.1.weight", &[256]),
        ("backbone.layer3.5.conv2.weight", &[256, 256, 3, 3]),
        ("backbone.layer4.0.downsample.0.weight", &[2048, 1024, 1, 1]),
        ("backbone.layer4.2.bn3.running_var", &[2048]),
        ("classifier.0.convs.0.0.weight", &[256, 2048, 1, 1]),
        ("classifier.0.convs.0.1.running_var", &[256]),
        ("classifier.0.convs.3.0.weight", &[256, 2048, 3, 3]),
        ("classifier.0.convs.4.1.weight", &[256, 2048, 1, 1]),
        ("classifier.0.convs.4.2.bias", &[256]),
        ("classifier.0.project.0.weight", &[256, 1280, 1, 1]),
        ("classifier.0.project.1.weight", &[256]),
        ("classifier.1.weight", &[256, 256, 3, 3]),
        ("classifier.2.running_mean", &[256]),
        ("classifier.4.weight", &[21, 256, 1, 1]),
        ("classifier.4.bias", &[21]),
    ];
    for (k, s) in expect {
        let got = m.get(*k).unwrap_or_else(|| panic!("missing key {k}"));
        assert_eq!(got.0, *s, "{k}");
    }
    assert!(!m.contains_key("backbone.fc.weight"));
    assert!(!m.contains_key("classifier.1.bias"));
    // 53 convs + 53 BNs × 4 in the backbone; 8 convs (+1 bias) + 7 BNs × 4 in the head.
    assert_eq!(m.len(), 302);
    assert_eq!(params(&m, ""), 39_638_869);
    assert!(
        !m["backbone.bn1.running_var"].1,
        "buffers are not trainable"
    );
    assert_eq!(order[0], "backbone.conv1.weight");
}

#[test]
fn deeplabv3_resnet101_has_23_blocks_in_layer3() {
    let (m, _) = shapes("deeplabv3-resnet101", 19);
    assert!(m.contains_key("backbone.layer3.22.conv3.weight"));
    assert!(!m.contains_key("backbone.layer3.23.conv1.weight"));
}

#[test]
fn segnet_vgg16_encoder_matches_torchvision_vgg16_bn() {
    let (m, _) = shapes("segnet-vgg16", 19);
    let expect: &[(&str, &[usize])] = &[
        ("encoder.features.0.weight", &[64, 3, 3, 3]),
        ("encoder.features.0.bias", &[64]),
        ("encoder.features.1.running_var", &[64]),
        ("encoder.features.7.weight", &[128, 64, 3, 3]),
        ("encoder.features.40.weight", &[512, 512, 3, 3]),
        ("encoder.features.41.running_mean", &[512]),
        ("decoder.stage5.0.conv.weight", &[512, 512, 3, 3]),
        ("decoder.stage5.2.conv.weight", &[512, 512, 3, 3]),
        ("decoder.stage4.2.conv.weight", &[256, 512, 3, 3]),
        ("decoder.stage2.1.conv.weight", &[64, 128, 3, 3]),
        ("decoder.stage1.0.bn.weight", &[64]),
        ("classifier.weight", &[19, 64, 3, 3]),
    ];
    for (k, s) in expect {
        let got = m.get(*k).unwrap_or_else(|| panic!("missing key {k}"));
        assert_eq!(got.0, *s, "{k}");
    }
    assert_eq!(params(&m, "encoder.features."), 14_723_136);
}

#[test]
fn every_known_arch_builds_and_unknown_is_refused() {
    for arch in KNOWN_ARCHS {
        if arch.contains("resnet101") || arch.contains("resnet50") || *arch == "segnet-vgg16" {
            continue; // built above
        }
        shapes(arch, 3);
    }
    let vs = VarStore::<TchBackend>::new(tch_cpu(), 0);
    let err = build_seg_model::<TchBackend>("unet-tiny", 19, &vs.root())
        .err()
        .expect("must fail");
    let msg = err.to_string();
    assert!(matches!(err, Error::Config { .. }), "{msg}");
    assert!(
        msg.contains("unet-tiny") && msg.contains("deeplabv3-mini") && msg.contains("segnet-vgg16"),
        "{msg}"
    );
    assert!(build_seg_model::<TchBackend>("deeplabv3-resnet42", 19, &vs.root()).is_err());
    assert!(build_seg_model::<TchBackend>("deeplabv3-mini", 0, &vs.root()).is_err());
}

#[test]
fn models_under_a_prefix_report_relative_names() {
    let vs = VarStore::<TchBackend>::new(tch_cpu(), 0);
    let teacher =
        build_seg_model::<TchBackend>("deeplabv3-mini", 19, &vs.root().pp("teacher")).unwrap();
    let student =
        build_seg_model::<TchBackend>("deeplabv3-mini", 19, &vs.root().pp("student")).unwrap();
    let t: Vec<String> = teacher.named_vars().into_iter().map(|v| v.name).collect();
    let s: Vec<String> = student.named_vars().into_iter().map(|v| v.name).collect();
    assert_eq!(t, s);
    assert_eq!(t[0], "backbone.conv1.weight");
    assert_eq!(vs.len(), 2 * t.len());
    // Building a second network at the same place is refused.
    assert!(build_seg_model::<TchBackend>("deeplabv3-mini", 19, &vs.root().pp("teacher")).is_err());
}
