//! The backend registry: each backend crate submits one [`BackendEntry`]
//! (with [`register_backend!`](crate::register_backend)); the CLI looks a
//! backend up by name at run time and hands it a [`Job`], which the entry
//! runs through the generic, statically dispatched code for that backend.

use crate::device::DeviceSpec;
use crate::dispatch::{Job, JobOutput};
use crate::{Error, Result};

/// A compiled-in backend.
pub struct BackendEntry {
    /// Name used by `--backend`.
    pub name: &'static str,
    /// Library version string.
    pub version: fn() -> String,
    /// Devices usable on this machine.
    pub devices: fn() -> Vec<DeviceSpec>,
    /// Runs a job on a device with this backend.
    pub run: fn(DeviceSpec, &Job) -> Result<JobOutput>,
    /// `TypeId::of::<B>()`: plugins built for this backend must agree.
    pub type_id: fn() -> std::any::TypeId,
    /// The backend's table of ops for plugins (null for backends whose
    /// library keeps no process-global state in Rust, such as tch): a plugin
    /// carries its own copy of the backend crate, and a backend whose Rust
    /// code has global state (candle numbers its tensors with a global
    /// counter) routes the plugin copy's ops through the host's table so that
    /// one copy of that state exists. See `sfda-plugin` and
    /// `sfda_backend_candle`'s `route` module.
    pub host_ops: fn() -> *const (),
}

inventory::collect!(BackendEntry);

/// All registered backends, sorted by name.
pub fn backends() -> Vec<&'static BackendEntry> {
    let mut v: Vec<&'static BackendEntry> = inventory::iter::<BackendEntry>.into_iter().collect();
    v.sort_by_key(|e| e.name);
    v
}

/// The backend called `name`, or an error listing the known ones.
pub fn backend_by_name(name: &str) -> Result<&'static BackendEntry> {
    let all = backends();
    all.iter()
        .find(|e| e.name.eq_ignore_ascii_case(name))
        .copied()
        .ok_or_else(|| Error::UnknownBackend {
            name: name.to_string(),
            known: all.iter().map(|e| e.name).collect::<Vec<_>>().join(", "),
        })
}

/// Registers a type implementing [`Backend`](crate::Backend) in the backend
/// registry. Use once, in the backend crate; `host_ops = f` names the
/// function returning the backend's op table for plugins (see
/// [`BackendEntry::host_ops`]).
#[macro_export]
macro_rules! register_backend {
    ($ty:ty) => {
        $crate::register_backend!($ty, host_ops = || ::std::ptr::null());
    };
    ($ty:ty, host_ops = $ops:expr) => {
        $crate::inventory::submit! {
            $crate::dispatch::BackendEntry {
                name: <$ty as $crate::Backend>::NAME,
                version: <$ty as $crate::Backend>::version,
                devices: <$ty as $crate::Backend>::available_devices,
                run: |device, job| job.run::<$ty>(device),
                type_id: ::std::any::TypeId::of::<$ty>,
                host_ops: $ops,
            }
        }
    };
}
