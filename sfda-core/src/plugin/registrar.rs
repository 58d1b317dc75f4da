//! [`PluginRegistrar`]: what the host hands a plugin's registration function.

use std::any::TypeId;

use crate::registry::components::{all_of, ArchKind, Ctors, LossKind, MethodKind, RankerKind};
use crate::registry::{ArchEntry, LossEntry, MethodEntry, RankerEntry};

/// A backend of the host, as a plugin sees it during registration.
#[derive(Debug, Clone, Copy)]
pub struct HostBackend {
    /// The backend's name.
    pub name: &'static str,
    /// `TypeId` of the host's backend type.
    pub type_id: TypeId,
    /// The host's op table for backends that route a plugin's ops through
    /// the host (see `BackendEntry::host_ops`); null for the others.
    pub ops: *const (),
}

/// Collects the entries of one plugin. The host fills in its backends; the
/// plugin's registration function (running the plugin's copy of this code)
/// adds entries, which point into the plugin and stay valid because the
/// library is never unloaded. The host merges them into its registry after
/// checking them.
#[derive(Debug, Default)]
pub struct PluginRegistrar {
    host_backends: Vec<HostBackend>,
    pub(crate) archs: Vec<&'static ArchEntry>,
    pub(crate) losses: Vec<&'static LossEntry>,
    pub(crate) rankers: Vec<&'static RankerEntry>,
    pub(crate) methods: Vec<&'static MethodEntry>,
    pub(crate) error: Option<String>,
}

impl PluginRegistrar {
    /// A registrar offering `host_backends` (host side).
    pub fn new(host_backends: Vec<HostBackend>) -> Self {
        PluginRegistrar {
            host_backends,
            ..Default::default()
        }
    }
    /// The host's backends (plugin side).
    pub fn host_backends(&self) -> &[HostBackend] {
        &self.host_backends
    }
    /// Adds a network.
    pub fn add_arch(&mut self, e: &'static ArchEntry) {
        self.archs.push(e);
    }
    /// Adds a distillation loss.
    pub fn add_loss(&mut self, e: &'static LossEntry) {
        self.losses.push(e);
    }
    /// Adds a patch ranker.
    pub fn add_ranker(&mut self, e: &'static RankerEntry) {
        self.rankers.push(e);
    }
    /// Adds an adaptation method.
    pub fn add_method(&mut self, e: &'static MethodEntry) {
        self.methods.push(e);
    }
    /// Records why registration failed (plugin side).
    pub fn set_error(&mut self, msg: impl Into<String>) {
        self.error = Some(msg.into());
    }
    /// Adds every entry this copy of sfda-core's `inventory` holds except the
    /// generic built-ins — in a plugin: exactly what the plugin registered
    /// with the `sfda-plugin` macros (an `inventory` inside a cdylib fills
    /// the cdylib's own registry, not the host's, hence this hand-over).
    pub fn add_local_entries(&mut self) {
        for (e, _) in all_of::<ArchKind>() {
            if matches!(e.ctors, Ctors::PerBackend(_)) {
                self.add_arch(e);
            }
        }
        for (e, _) in all_of::<LossKind>() {
            if matches!(e.ctors, Ctors::PerBackend(_)) {
                self.add_loss(e);
            }
        }
        for (e, _) in all_of::<RankerKind>() {
            if matches!(e.ctors, Ctors::PerBackend(_)) {
                self.add_ranker(e);
            }
        }
        for (e, _) in all_of::<MethodKind>() {
            if matches!(e.ctors, Ctors::PerBackend(_)) {
                self.add_method(e);
            }
        }
    }
    /// Number of entries added.
    pub fn len(&self) -> usize {
        self.archs.len() + self.losses.len() + self.rankers.len() + self.methods.len()
    }
    /// Whether nothing was added.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
