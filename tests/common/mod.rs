//! Helpers shared by the loss and IPSM tests: a macro that instantiates each
//! generic test once per backend (`tch::name`, `candle::name`, like candle's
//! `test_device!`) and the CPU device of a backend.
#![allow(dead_code)]

use sfda_core::{Backend, DeviceSpec, Result};

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
