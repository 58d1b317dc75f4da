//! Devices of the candle backend: opening `cpu` / `cuda:N`, listing what this
//! machine offers, and the library version string.

use candle_core::{Device, DeviceLocation};
use sfda_core::{DeviceSpec, Error, Result};

use crate::error::BACKEND;

/// Version of candle-core this crate is built against. Kept equal to the
/// resolved version in `Cargo.lock` by a unit test.
pub const CANDLE_VERSION: &str = "0.11.1";

/// Most CUDA ordinals probed by [`available`].
const MAX_CUDA_PROBE: usize = 16;

/// `candle 0.11.1`, plus ` (cuda)` when the CUDA kernels are compiled in.
pub(crate) fn version() -> String {
    if cfg!(feature = "cuda") {
        format!("candle {CANDLE_VERSION} (cuda)")
    } else {
        format!("candle {CANDLE_VERSION}")
    }
}

/// `cpu`, then every `cuda:i` that opens (only with the `cuda` feature).
pub(crate) fn available() -> Vec<DeviceSpec> {
    let mut v = vec![DeviceSpec::Cpu];
    if cfg!(feature = "cuda") {
        for i in 0..MAX_CUDA_PROBE {
            if open_cuda(i).is_err() {
                break;
            }
            v.push(DeviceSpec::Cuda(i));
        }
    }
    v
}

/// candle's variable for the size of its element-wise worker pool.
pub const ELEMWISE_THREADS_VAR: &str = "CANDLE_NUM_THREADS";

/// Opens `spec`, or explains why it cannot be used.
pub(crate) fn open(spec: DeviceSpec) -> Result<Device> {
    match spec {
        DeviceSpec::Cpu => {
            size_elementwise_pool();
            pin_matmul_threads();
            Ok(Device::Cpu)
        }
        DeviceSpec::Cuda(i) => open_cuda(i),
    }
}

/// Cores per thread of candle's element-wise pool when the user did not
/// size it.
const CORES_PER_ELEMWISE_THREAD: usize = 4;

/// The default size of candle's element-wise pool on a machine with `cores`
/// cores: one thread per [`CORES_PER_ELEMWISE_THREAD`] cores, at least one
/// (the calling thread alone).
///
/// candle splits large element-wise ops over a pool whose caller waits for
/// its workers by spinning, never parking, and by default sizes it like
/// rayon's pool, which runs the GEMMs and sfda's own parallel kernels. When
/// the two pools together want more threads than there are cores, workers
/// get descheduled and the caller burns its time slice waiting. Measured
/// with `sfda bench --backend candle` (`docs/performance.md`): on the 2-core
/// reference machine the pool made a whole SFDA iteration several times
/// slower than running element-wise ops on the caller; on 16 cores a pool
/// of 16 took 0.93–0.99 s per iteration, of 1 0.81 s and of 4 0.69–0.71 s.
pub(crate) fn default_elementwise_threads(cores: usize) -> usize {
    (cores / CORES_PER_ELEMWISE_THREAD).max(1)
}

/// Sizes candle's element-wise CPU pool with [`default_elementwise_threads`]
/// unless the user set [`ELEMWISE_THREADS_VAR`]. Takes effect only before
/// candle's first parallel element-wise op, hence here, when the CPU device
/// opens.
fn size_elementwise_pool() {
    if std::env::var_os(ELEMWISE_THREADS_VAR).is_none() {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let threads = default_elementwise_threads(cores);
        std::env::set_var(ELEMWISE_THREADS_VAR, threads.to_string());
    }
}

/// rayon's variable for the size of its global pool, which candle's matmul
/// also reads.
pub const RAYON_THREADS_VAR: &str = "RAYON_NUM_THREADS";

/// Sets [`RAYON_THREADS_VAR`] to the size of rayon's global pool when the
/// user did not set it.
///
/// Without the variable, candle works out its matmul thread count on every
/// matmul call, and on machines whose CPUs it cannot classify (virtual
/// machines) that means parsing `/proc/cpuinfo` each time: up to 8 % of a
/// worker's samples in a multi-threaded SFDA iteration on the 2-core
/// reference machine. With it, candle reads the variable instead; the
/// matmul still runs on rayon's pool, now split into as many parts as the
/// pool has threads.
fn pin_matmul_threads() {
    if std::env::var_os(RAYON_THREADS_VAR).is_none() {
        std::env::set_var(RAYON_THREADS_VAR, rayon::current_num_threads().to_string());
    }
}

/// The user-facing name of a candle device.
pub(crate) fn spec_of(device: &Device) -> DeviceSpec {
    match device.location() {
        DeviceLocation::Cuda { gpu_id } => DeviceSpec::Cuda(gpu_id),
        // Metal devices cannot be opened through `open`; candle's CPU is the
        // only other location this crate hands out.
        DeviceLocation::Cpu | DeviceLocation::Metal { .. } => DeviceSpec::Cpu,
    }
}

#[cfg(feature = "cuda")]
fn open_cuda(i: usize) -> Result<Device> {
    use crate::error::{no_panic, CandleResultExt};
    // cudarc loads the driver library lazily and panics when it is missing.
    no_panic("device", || Device::new_cuda(i).op("device")).map_err(|e| {
        let why = match e {
            Error::Backend { msg, .. } => msg,
            other => other.to_string(),
        };
        Error::DeviceUnavailable {
            backend: BACKEND,
            device: DeviceSpec::Cuda(i).to_string(),
            reason: format!(
                "candle could not open it: {why} (check the NVIDIA driver and the device index, \
                 or use --device cpu)"
            ),
        }
    })
}

#[cfg(not(feature = "cuda"))]
fn open_cuda(i: usize) -> Result<Device> {
    Err(Error::DeviceUnavailable {
        backend: BACKEND,
        device: DeviceSpec::Cuda(i).to_string(),
        reason: "this binary was built without the `candle-cuda` feature; rebuild with \
                 `cargo build --release --features candle-cuda` (needs nvcc), or use --device cpu"
            .to_string(),
    })
}
