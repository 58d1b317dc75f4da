//! cdylib plugins: shared libraries that add networks, distillation losses
//! and patch rankers to the registries at run time.
//!
//! A plugin exports one C function, `sfda_plugin_declaration`, returning a
//! [`PluginDeclaration`] (`#[repr(C)]`). [`load_plugin`] checks it **before**
//! calling anything else in the library — its magic bytes and plugin ABI
//! version ([`PLUGIN_ABI_VERSION`]) first, then the rustc version
//! ([`RUSTC_VERSION`]), the sfda-core version ([`CORE_VERSION`]), the
//! backends it was built for and a fingerprint of the sfda-core build — and
//! only then calls its registration function with a [`PluginRegistrar`].
//! Rust types cross the boundary after that, which is sound only because the
//! compiler and the crate builds were checked to be the same.
//!
//! A missing file, a file that is not a shared library, a shared library that
//! is not a plugin and a plugin built for another ABI, compiler or sfda-core
//! are [`Error::Plugin`](crate::Error::Plugin)s naming the cause and what to
//! do. Loaded libraries are never unloaded: the entries they registered point
//! into them.
//!
//! Plugin authors do not write the declaration by hand: the `sfda-plugin`
//! crate's `declare_plugin!()` does (see `docs/plugins.md`).

mod declaration;
mod loader;
mod registrar;

pub use declaration::{
    build_fingerprint, PluginDeclaration, PluginDeclarationFn, CORE_VERSION, CORE_VERSION_C,
    PLUGIN_ABI_VERSION, PLUGIN_DECLARATION_SYMBOL, PLUGIN_MAGIC, RUSTC_VERSION, RUSTC_VERSION_C,
};
pub use loader::{load_plugin, load_plugins, loaded_plugins, PluginInfo};
pub use registrar::{HostBackend, PluginRegistrar};
