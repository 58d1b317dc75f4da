//! The C-ABI declaration every plugin exports, and the constants it is
//! checked against.

use std::any::TypeId;
use std::ffi::{c_char, c_void, CStr};
use std::hash::{Hash, Hasher};

use crate::dispatch::BackendEntry;
use crate::plugin::registrar::PluginRegistrar;
use crate::registry::{ArchEntry, LossEntry, MethodEntry, RankerEntry};

/// Version of the plugin ABI: the layout of [`PluginDeclaration`], the
/// meaning of its fields and the registration protocol. Bumped on any change;
/// a plugin declaring another version is refused before anything else in it
/// is read.
pub const PLUGIN_ABI_VERSION: u32 = 1;

/// The first bytes of every [`PluginDeclaration`].
pub const PLUGIN_MAGIC: [u8; 8] = *b"SFDAPLUG";

/// Name of the symbol a plugin exports: an `extern "C" fn() -> *const
/// PluginDeclaration` ([`PluginDeclarationFn`]).
pub const PLUGIN_DECLARATION_SYMBOL: &str = "sfda_plugin_declaration";

/// The type of the exported declaration function.
pub type PluginDeclarationFn = unsafe extern "C" fn() -> *const PluginDeclaration;

/// `rustc -V` of the compiler that built this copy of sfda-core.
pub const RUSTC_VERSION: &str = env!("SFDA_RUSTC_VERSION");
/// [`RUSTC_VERSION`] as a C string.
pub const RUSTC_VERSION_C: &CStr = c_str(concat!(env!("SFDA_RUSTC_VERSION"), "\0"));
/// The version of sfda-core.
pub const CORE_VERSION: &str = env!("CARGO_PKG_VERSION");
/// [`CORE_VERSION`] as a C string.
pub const CORE_VERSION_C: &CStr = c_str(concat!(env!("CARGO_PKG_VERSION"), "\0"));

const fn c_str(s: &'static str) -> &'static CStr {
    match CStr::from_bytes_with_nul(s.as_bytes()) {
        Ok(c) => c,
        Err(_) => panic!("interior NUL in a version string"),
    }
}

/// What a plugin declares about itself, read by the loader before it calls
/// anything else in the library.
///
/// ABI stability: `magic` and `abi_version` stay the first two fields in
/// every ABI version, so that any loader can read them; the other fields are
/// only read once `abi_version` equals [`PLUGIN_ABI_VERSION`]. Strings are
/// NUL-terminated UTF-8 with static lifetime.
#[repr(C)]
#[derive(Debug)]
pub struct PluginDeclaration {
    /// Always [`PLUGIN_MAGIC`].
    pub magic: [u8; 8],
    /// [`PLUGIN_ABI_VERSION`] of the sfda-core the plugin was built with.
    pub abi_version: u32,
    /// `rustc -V` of the compiler that built the plugin.
    pub rustc_version: *const c_char,
    /// sfda-core version the plugin was built against.
    pub core_version: *const c_char,
    /// The plugin's package name.
    pub name: *const c_char,
    /// The plugin's version.
    pub version: *const c_char,
    /// Comma-separated names of the backends it was compiled for (`candle,tch`).
    pub backends: *const c_char,
    /// Fingerprint of the plugin's sfda-core build ([`build_fingerprint`]);
    /// called only after the versions matched.
    pub build_fingerprint: extern "C" fn() -> u64,
    /// Adds the plugin's entries to a [`PluginRegistrar`] (passed as a
    /// pointer); returns 0 on success. Called last, and only when every
    /// check passed.
    pub register: unsafe extern "C" fn(registrar: *mut c_void) -> i32,
}

// SAFETY: the pointers point to immutable static strings.
unsafe impl Sync for PluginDeclaration {}

/// A hash of the identities of sfda-core's types that cross the plugin
/// boundary. Two builds of sfda-core agree on it only when they were built
/// with the same dependencies, features and profile (a type's identity
/// includes its crate's build metadata), i.e. when their layouts agree.
pub extern "C" fn build_fingerprint() -> u64 {
    let mut h = std::hash::DefaultHasher::new();
    TypeId::of::<PluginRegistrar>().hash(&mut h);
    TypeId::of::<ArchEntry>().hash(&mut h);
    TypeId::of::<LossEntry>().hash(&mut h);
    TypeId::of::<RankerEntry>().hash(&mut h);
    TypeId::of::<MethodEntry>().hash(&mut h);
    TypeId::of::<BackendEntry>().hash(&mut h);
    TypeId::of::<crate::Error>().hash(&mut h);
    h.finish()
}
