//! Helpers shared by the tests: a macro that instantiates each generic test
//! once per backend (`tch::name`, `candle::name`, like candle's
//! `test_device!`), the CPU device of a backend, and a random source
//! checkpoint.
#![allow(dead_code, unused_macros)]

use std::path::{Path, PathBuf};

use sfda_backend_tch::TchBackend;
use sfda_core::checkpoint::{self, CheckpointMeta};
use sfda_core::net::build_seg_model;
use sfda_core::nn::VarStore;
use sfda_core::{Backend, DeviceSpec, Result};

/// A random (untrained) deeplabv3-mini source checkpoint with 19 classes,
/// initialised from `seed`, saved as `dir/source.safetensors` (+ sidecar).
pub fn random_source_checkpoint(dir: &Path, seed: u64) -> PathBuf {
    let dev = TchBackend::device(DeviceSpec::Cpu).unwrap();
    let vs = VarStore::<TchBackend>::new(dev, seed);
    let model = build_seg_model::<TchBackend>("deeplabv3-mini", 19, &vs.root()).unwrap();
    let path = dir.join("source.safetensors");
    let meta = CheckpointMeta::for_model(model.as_ref()).with_class_set("cityscapes19");
    checkpoint::save(&path, model.as_ref(), &meta).unwrap();
    path
}

/// The CPU device of backend `B`.
pub fn cpu<B: Backend>() -> Result<B::Device> {
    B::device(DeviceSpec::Cpu)
}

/// Instantiates `fn name<B: Backend>(dev: &B::Device) -> Result<()>` tests
/// for tch and candle. The including file must import `TchBackend` and
/// `CandleBackend`.
macro_rules! test_backends {
    ($($name:ident),* $(,)?) => {
        mod tch {
            $(#[test]
            fn $name() -> sfda_core::Result<()> {
                super::$name::<super::TchBackend>(&$crate::common::cpu::<super::TchBackend>()?)
            })*
        }
        mod candle {
            $(#[test]
            fn $name() -> sfda_core::Result<()> {
                super::$name::<super::CandleBackend>(&$crate::common::cpu::<super::CandleBackend>()?)
            })*
        }
    };
}
