//! Devices and version.

use sfda_core::{Backend, DeviceSpec, Error};

use crate::CandleBackend;

#[test]
fn cpu_is_available_and_round_trips() {
    assert_eq!(CandleBackend::available_devices()[0], DeviceSpec::Cpu);
    let d = CandleBackend::device(DeviceSpec::Cpu).unwrap();
    assert_eq!(CandleBackend::device_spec(&d), DeviceSpec::Cpu);
    CandleBackend::synchronize(&d).unwrap();
    CandleBackend::manual_seed(0);
}

#[cfg(not(feature = "cuda"))]
#[test]
fn cuda_without_feature_is_a_clear_error() {
    assert_eq!(CandleBackend::available_devices(), vec![DeviceSpec::Cpu]);
    match CandleBackend::device(DeviceSpec::Cuda(0)) {
        Err(Error::DeviceUnavailable {
            backend,
            device,
            reason,
        }) => {
            assert_eq!(backend, "candle");
            assert_eq!(device, "cuda:0");
            assert!(reason.contains("candle-cuda"), "{reason}");
        }
        other => panic!("expected DeviceUnavailable, got {other:?}"),
    }
}

#[cfg(feature = "cuda")]
#[test]
fn cuda_bad_ordinal_is_an_error_not_a_panic() {
    assert!(matches!(
        CandleBackend::device(DeviceSpec::Cuda(1000)),
        Err(Error::DeviceUnavailable { .. })
    ));
}

#[test]
fn version_matches_the_locked_candle_core() {
    assert_eq!(
        CandleBackend::version().split(' ').nth(1),
        Some(crate::CANDLE_VERSION)
    );
    let lock = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../Cargo.lock");
    let Ok(lock) = std::fs::read_to_string(lock) else {
        return; // not in the workspace checkout
    };
    let locked = lock
        .split("[[package]]")
        .find(|p| p.contains("name = \"candle-core\""))
        .and_then(|p| p.lines().find_map(|l| l.strip_prefix("version = \"")))
        .map(|v| v.trim_end_matches('"'));
    if let Some(v) = locked {
        assert_eq!(v, crate::CANDLE_VERSION, "update CANDLE_VERSION");
    }
}

#[test]
fn elementwise_pool_defaults_to_one_thread_per_four_cores() {
    use crate::device::default_elementwise_threads;
    let sizes: Vec<usize> = [1, 2, 4, 7, 8, 16, 64]
        .into_iter()
        .map(default_elementwise_threads)
        .collect();
    assert_eq!(sizes, [1, 1, 1, 1, 2, 4, 16]);
}
