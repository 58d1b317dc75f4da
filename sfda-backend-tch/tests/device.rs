//! Devices, registration and version of the tch backend.

use sfda_backend_tch::TchBackend;
use sfda_core::{Backend, DeviceSpec, Error};

#[test]
fn cuda_is_unavailable_without_a_gpu_or_the_cuda_feature() {
    if tch::Cuda::is_available() {
        // A GPU machine with a `cuda` build: the device must open instead.
        assert!(TchBackend::device(DeviceSpec::Cuda(0)).is_ok());
        return;
    }
    match TchBackend::device(DeviceSpec::Cuda(0)) {
        Err(Error::DeviceUnavailable {
            backend,
            device,
            reason,
        }) => {
            assert_eq!((backend, device.as_str()), ("tch", "cuda:0"));
            assert!(reason.contains("cuda"), "{reason}");
        }
        other => panic!("expected DeviceUnavailable, got {other:?}"),
    }
    assert_eq!(TchBackend::available_devices(), vec![DeviceSpec::Cpu]);
}

#[test]
fn registered_with_a_truthful_version() {
    let entry = sfda_core::dispatch::backend_by_name("tch").expect("tch registered");
    let v = (entry.version)();
    assert!(v.starts_with("tch 0.24"), "{v}");
    assert!(v.ends_with("libtorch 2.11.0"), "{v}");
    TchBackend::manual_seed(7);
    TchBackend::synchronize(&tch::Device::Cpu).expect("cpu synchronize");
}

#[test]
fn probe_job_runs_on_cpu() {
    let entry = sfda_core::dispatch::backend_by_name("tch").expect("tch registered");
    (entry.run)(DeviceSpec::Cpu, &sfda_core::dispatch::Job::Probe).expect("probe");
}
