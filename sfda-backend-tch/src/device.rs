//! Devices of the tch backend: opening `cpu` / `cuda:N`, listing what this
//! machine offers, synchronising, and the version string.

use sfda_core::{DeviceSpec, Error, Result};
use tch::{Cuda, Device};

use crate::BACKEND_NAME;

/// tch version resolved in the workspace lock file (the build script reads
/// it), else the version requirement this crate was written against.
const TCH_VERSION: &str = match option_env!("SFDA_TCH_VERSION") {
    Some(v) => v,
    None => "0.24",
};

/// Version of the libtorch headers this crate was compiled against (the
/// build script reads them from `$LIBTORCH/include`).
const LIBTORCH_VERSION: &str = match option_env!("SFDA_LIBTORCH_VERSION") {
    Some(v) => v,
    None => "unknown",
};

/// `tch X / libtorch Y`.
pub(crate) fn version() -> String {
    format!("tch {TCH_VERSION} / libtorch {LIBTORCH_VERSION}")
}

/// Number of CUDA devices libtorch can use (0 without CUDA support).
fn cuda_count() -> usize {
    if Cuda::is_available() {
        usize::try_from(Cuda::device_count()).unwrap_or(0)
    } else {
        0
    }
}

/// `cpu` followed by `cuda:i` for every visible GPU.
pub(crate) fn available() -> Vec<DeviceSpec> {
    std::iter::once(DeviceSpec::Cpu)
        .chain((0..cuda_count()).map(DeviceSpec::Cuda))
        .collect()
}

/// Sizes libtorch's intra-op pool once, at the first CPU device, to
/// `sfda_core::cpu_threads::startup_threads`: the cores other processes
/// leave free, or `SFDA_THREADS`. libtorch's own default counts physical cores, which on
/// small VMs can be fewer than the cores the process may use. With
/// `OMP_NUM_THREADS` set, libtorch's reading of it wins and nothing changes.
fn init_cpu_threads() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        use sfda_core::cpu_threads::{policy, startup_threads, ThreadPolicy};
        if policy() == ThreadPolicy::External {
            return;
        }
        tch::set_num_threads(startup_threads().clamp(1, i32::MAX as usize) as i32);
    });
}

/// Opens `spec`, or explains why it cannot be used.
pub(crate) fn open(spec: DeviceSpec) -> Result<Device> {
    match spec {
        DeviceSpec::Cpu => {
            init_cpu_threads();
            Ok(Device::Cpu)
        }
        DeviceSpec::Cuda(i) => {
            let count = cuda_count();
            if i < count {
                return Ok(Device::Cuda(i));
            }
            let reason = if count > 0 {
                format!(
                    "libtorch sees {count} CUDA device(s) (cuda:0 to cuda:{})",
                    count - 1
                )
            } else if cfg!(feature = "cuda") {
                "libtorch finds no CUDA device: check the NVIDIA driver, \
                 CUDA_VISIBLE_DEVICES, and that libtorch is a CUDA build whose \
                 CUDA libraries are on the library path"
                    .to_string()
            } else {
                "no CUDA device is usable: this binary was built without the \
                 `cuda` feature, which links libtorch_cuda (rebuild with \
                 `cargo build --features cuda` on a machine with a CUDA-enabled \
                 libtorch), or there is no GPU"
                    .to_string()
            };
            Err(Error::DeviceUnavailable {
                backend: BACKEND_NAME,
                device: spec.to_string(),
                reason,
            })
        }
    }
}

/// The user-facing name of a tch device.
pub(crate) fn spec_of(device: &Device) -> DeviceSpec {
    match device {
        Device::Cuda(i) => DeviceSpec::Cuda(*i),
        // Mps and Vulkan are never opened by this backend.
        _ => DeviceSpec::Cpu,
    }
}

/// Waits for all queued CUDA work on `device`; a no-op on the CPU.
pub(crate) fn synchronize(device: &Device) -> Result<()> {
    let Device::Cuda(i) = *device else {
        return Ok(());
    };
    // tch offers only a panicking `synchronize`; keep the panic inside.
    let index = i64::try_from(i).unwrap_or(i64::MAX);
    std::panic::catch_unwind(|| Cuda::synchronize(index)).map_err(|p| Error::Backend {
        backend: BACKEND_NAME,
        op: "synchronize",
        msg: p
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "CUDA synchronize failed".to_string()),
    })
}
