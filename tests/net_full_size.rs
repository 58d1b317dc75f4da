//! The paper's full-size networks on the CPU (tch): DeepLabV3-ResNet50 and
//! SegNet-VGG16 build, run a forward and a backward pass on one 512×256
//! image, and survive a save/load round trip.

mod net_common;

use std::time::Instant;

use net_common::{normal, tch_cpu};
use sfda_backend_tch::TchBackend;
use sfda_core::checkpoint::{self, CheckpointMeta};
use sfda_core::net::build_seg_model;
use sfda_core::nn::VarStore;
use sfda_core::{grad, ForwardOpts, Tensor};

fn full_size(arch: &str) {
    let dev = tch_cpu();
    let t0 = Instant::now();
    let vs = VarStore::<TchBackend>::new(dev, 0);
    let model = build_seg_model::<TchBackend>(arch, 19, &vs.root()).unwrap();
    let built = t0.elapsed();

    let x =
        Tensor::<TchBackend>::from_f32(&normal(1, 3 * 256 * 512), &[1, 3, 256, 512], &dev).unwrap();
    let t1 = Instant::now();
    let out = model.forward(&x, ForwardOpts::TRAIN).unwrap();
    assert_eq!(out.logits.shape(), vec![1, 19, 256, 512]);
    let loss = out
        .logits
        .log_softmax(1)
        .unwrap()
        .mean_all()
        .unwrap()
        .neg()
        .unwrap();
    let vars = model.trainable_vars();
    let refs: Vec<_> = vars.iter().collect();
    let grads = grad(&loss, &refs).unwrap();
    let fwd_bwd = t1.elapsed();
    assert_eq!(grads.len(), vars.len());
    assert!(
        grads.iter().all(|g| g.is_some()),
        "every parameter gets a gradient"
    );
    let g0 = grads[0].as_ref().unwrap().to_vec().unwrap();
    assert!(g0.iter().all(|v| v.is_finite()) && g0.iter().any(|v| *v != 0.0));

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model.safetensors");
    let t2 = Instant::now();
    let meta = CheckpointMeta::for_model(model.as_ref()).with_class_set("cityscapes19");
    checkpoint::save(&path, model.as_ref(), &meta).unwrap();
    let vs2 = VarStore::<TchBackend>::new(dev, 99);
    let (loaded, meta2) = checkpoint::load_seg_model::<TchBackend>(&path, &vs2.root()).unwrap();
    let io = t2.elapsed();
    assert_eq!(meta2.arch, arch);
    let a = model.named_vars();
    let b = loaded.named_vars();
    assert_eq!(a.len(), b.len());
    for (va, vb) in a.iter().zip(&b) {
        assert_eq!(va.name, vb.name);
        if va.name.ends_with("running_var")
            || va.name.ends_with("conv1.weight")
            || va.name.starts_with("classifier")
        {
            assert_eq!(
                va.var.tensor().to_vec().unwrap(),
                vb.var.tensor().to_vec().unwrap(),
                "{}",
                va.name
            );
        }
    }
    eprintln!(
        "{arch}: build {built:.2?}, forward+backward 1×3×256×512 {fwd_bwd:.2?}, save+load {io:.2?}"
    );
}

#[test]
fn deeplabv3_resnet50_full_size_forward_backward_save_load() {
    full_size("deeplabv3-resnet50");
}

#[test]
fn segnet_vgg16_full_size_forward_backward_save_load() {
    full_size("segnet-vgg16");
}
