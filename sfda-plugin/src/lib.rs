//! # sfda-plugin
//!
//! The one dependency of an sfda plugin. It registers networks
//! ([`SegModel`](sfda_core::SegModel)s), distillation losses
//! ([`DistillLoss`](sfda_core::loss::DistillLoss)es), patch rankers
//! ([`PatchRanker`](sfda_core::ipsm::PatchRanker)s) and whole adaptation
//! methods ([`AdaptMethod`](sfda_core::algo::AdaptMethod)s) written once, generic
//! over [`Backend`], for **every** backend sfda has (tch
//! and candle), with one macro call each:
//!
//! - [`register_arch!`], [`register_loss!`], [`register_ranker!`],
//!   [`register_method!`]: submit a
//!   registry entry with `inventory`. In a crate linked into a binary (the
//!   static path) that is all; the entry is found by name like a built-in.
//! - [`declare_plugin!`]: in a `crate-type = ["cdylib"]` crate, exports the
//!   C-ABI declaration the loader checks (plugin ABI, rustc and sfda-core
//!   versions, backends, build fingerprint) and the registration function
//!   that hands the library's entries to the host (an `inventory` inside a
//!   cdylib fills the cdylib's own registry, not the host's).
//!
//! ```
//! use sfda_plugin::sfda_core::{self, loss::{DistillInputs, DistillLoss}, Backend, Result, Tensor};
//!
//! /// Mean squared difference of the logits.
//! struct Mse;
//! impl<B: Backend> DistillLoss<B> for Mse {
//!     fn name(&self) -> &str { "mse_logits" }
//!     fn compute(&self, i: &DistillInputs<'_, B>) -> Result<Tensor<B>> {
//!         i.student_fake.logits.sub(&i.teacher_fake.logits)?.sqr()?.mean_all()
//!     }
//! }
//! fn build<B: Backend>(_options: &sfda_core::loss::toml::Value) -> Result<Box<dyn DistillLoss<B>>> {
//!     Ok(Box::new(Mse))
//! }
//! sfda_plugin::register_loss! {
//!     name: "mse_logits",
//!     summary: "mean squared error between student and teacher logits",
//!     make: build,
//! }
//! // In a cdylib crate, also: sfda_plugin::declare_plugin!();
//! assert!(sfda_core::registry::loss_names().contains(&"mse_logits"));
//! ```
//!
//! See `docs/plugins.md` in the sfda repository for the whole guide.

#![warn(missing_docs)]

use std::any::TypeId;
use std::ffi::{c_char, c_void, CStr};
use std::panic::{catch_unwind, AssertUnwindSafe};

pub use sfda_backend_candle::{self, CandleBackend};
pub use sfda_backend_tch::{self, TchBackend};
pub use sfda_core;

use sfda_core::plugin::{
    build_fingerprint, PluginDeclaration, PluginRegistrar, CORE_VERSION_C, PLUGIN_ABI_VERSION,
    PLUGIN_MAGIC, RUSTC_VERSION_C,
};
use sfda_core::Backend;

/// The backends every registration of this crate covers, as the
/// declaration lists them.
pub const BACKENDS: &CStr = c"candle,tch";

/// A backend a plugin is compiled for, and how its copy of the backend crate
/// adopts the host's op table.
struct PluginBackend {
    name: &'static str,
    type_id: fn() -> TypeId,
    install: unsafe fn(*const ()),
}

/// tch keeps no process-global state in Rust (libtorch is one shared
/// library): nothing to install.
unsafe fn install_nothing(_: *const ()) {}

static PLUGIN_BACKENDS: &[PluginBackend] = &[
    PluginBackend {
        name: <TchBackend as Backend>::NAME,
        type_id: TypeId::of::<TchBackend>,
        install: install_nothing,
    },
    PluginBackend {
        name: <CandleBackend as Backend>::NAME,
        type_id: TypeId::of::<CandleBackend>,
        install: sfda_backend_candle::route::install_host_ops,
    },
];

/// The declaration [`declare_plugin!`] exports; `name` and `version` are
/// NUL-terminated.
#[doc(hidden)]
pub const fn __declaration(name: &'static str, version: &'static str) -> PluginDeclaration {
    PluginDeclaration {
        magic: PLUGIN_MAGIC,
        abi_version: PLUGIN_ABI_VERSION,
        rustc_version: RUSTC_VERSION_C.as_ptr(),
        core_version: CORE_VERSION_C.as_ptr(),
        name: name.as_ptr() as *const c_char,
        version: version.as_ptr() as *const c_char,
        backends: BACKENDS.as_ptr(),
        build_fingerprint,
        register: __register,
    }
}

/// The registration function of a plugin (runs inside the plugin, after the
/// host checked the declaration): adopts the host's backend op tables, then
/// hands over every entry registered in the plugin.
///
/// # Safety
///
/// `registrar` must point to a live [`PluginRegistrar`] of an identical
/// sfda-core build (the loader guarantees it).
#[doc(hidden)]
pub unsafe extern "C" fn __register(registrar: *mut c_void) -> i32 {
    if registrar.is_null() {
        return 1;
    }
    // SAFETY: per the contract above.
    let r = unsafe { &mut *(registrar as *mut PluginRegistrar) };
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        for host in r.host_backends().to_vec() {
            if let Some(local) = PLUGIN_BACKENDS.iter().find(|b| b.name == host.name) {
                if (local.type_id)() != host.type_id {
                    return Err(format!(
                        "the plugin's {} backend is another build than the host's",
                        host.name
                    ));
                }
                // SAFETY: same backend build (type identity checked above).
                unsafe { (local.install)(host.ops) };
            }
        }
        r.add_local_entries();
        Ok(())
    }));
    match outcome {
        Ok(Ok(())) => 0,
        Ok(Err(msg)) => {
            r.set_error(msg);
            2
        }
        Err(_) => {
            r.set_error("the plugin panicked while registering");
            3
        }
    }
}

/// Exports the plugin declaration and registration function of a cdylib
/// plugin. Call it once, at the root of a `crate-type = ["cdylib"]` crate
/// whose components are registered with [`register_arch!`],
/// [`register_loss!`], [`register_ranker!`] or [`register_method!`].
#[macro_export]
macro_rules! declare_plugin {
    () => {
        /// The plugin declaration the sfda loader reads before anything else.
        #[no_mangle]
        pub extern "C" fn sfda_plugin_declaration(
        ) -> *const $crate::sfda_core::plugin::PluginDeclaration {
            static DECLARATION: $crate::sfda_core::plugin::PluginDeclaration =
                $crate::__declaration(
                    concat!(env!("CARGO_PKG_NAME"), "\0"),
                    concat!(env!("CARGO_PKG_VERSION"), "\0"),
                );
            &DECLARATION
        }
    };
}

/// The per-backend constructors of a registration (internal).
#[doc(hidden)]
#[macro_export]
macro_rules! __per_backend {
    ($erase:ident, $make:expr, $($arg:ident),*) => {
        $crate::sfda_core::registry::Ctors::PerBackend(&[
            $crate::sfda_core::registry::BackendCtor {
                backend: <$crate::TchBackend as $crate::sfda_core::Backend>::NAME,
                backend_type: ::std::any::TypeId::of::<$crate::TchBackend>,
                make: |$($arg),*| {
                    $crate::sfda_core::registry::$erase::<$crate::TchBackend>($($arg,)* $make)
                },
            },
            $crate::sfda_core::registry::BackendCtor {
                backend: <$crate::CandleBackend as $crate::sfda_core::Backend>::NAME,
                backend_type: ::std::any::TypeId::of::<$crate::CandleBackend>,
                make: |$($arg),*| {
                    $crate::sfda_core::registry::$erase::<$crate::CandleBackend>($($arg,)* $make)
                },
            },
        ])
    };
}

/// Registers a segmentation network for every backend.
///
/// `make` is a generic function
/// `fn<B: Backend>(vs: &VarPath<B>, num_classes: usize) -> Result<Box<dyn SegModel<B>>>`;
/// the version is the calling crate's.
///
/// ```ignore
/// sfda_plugin::register_arch! {
///     name: "unet-small",
///     summary: "U-Net, 4 levels, widths 16..128",
///     make: build_unet,
/// }
/// ```
#[macro_export]
macro_rules! register_arch {
    (name: $name:expr, summary: $summary:expr, make: $make:expr $(,)?) => {
        $crate::sfda_core::inventory::submit! {
            $crate::sfda_core::registry::ArchEntry {
                name: $name,
                version: env!("CARGO_PKG_VERSION"),
                summary: $summary,
                ctors: $crate::__per_backend!(erased_arch, $make, vs, num_classes),
            }
        }
    };
}

/// Registers a distillation loss for every backend.
///
/// `make` is a generic function
/// `fn<B: Backend>(options: &toml::Value) -> Result<Box<dyn DistillLoss<B>>>`
/// (the options are the loss's table in the config; reject unknown keys).
#[macro_export]
macro_rules! register_loss {
    (name: $name:expr, summary: $summary:expr, make: $make:expr $(,)?) => {
        $crate::sfda_core::inventory::submit! {
            $crate::sfda_core::registry::LossEntry {
                name: $name,
                version: env!("CARGO_PKG_VERSION"),
                summary: $summary,
                ctors: $crate::__per_backend!(erased_loss, $make, options),
            }
        }
    };
}

/// Registers a patch ranker for every backend.
///
/// `make` is a generic function
/// `fn<B: Backend>(options: &toml::Value) -> Result<Box<dyn PatchRanker<B>>>`.
#[macro_export]
macro_rules! register_ranker {
    (name: $name:expr, summary: $summary:expr, make: $make:expr $(,)?) => {
        $crate::sfda_core::inventory::submit! {
            $crate::sfda_core::registry::RankerEntry {
                name: $name,
                version: env!("CARGO_PKG_VERSION"),
                summary: $summary,
                ctors: $crate::__per_backend!(erased_ranker, $make, options),
            }
        }
    };
}

/// Registers an adaptation method for every backend.
///
/// `describe` is a function `fn(&AdaptConfig) -> Result<MethodInfo>`: the
/// method's table label and steps for a config, and the check of its
/// `[method]` options (parse them with `cfg.method.parse_options()`, which
/// rejects unknown keys by name). `make` is a generic function
/// `fn<B: Backend>(b: &MethodBuild<B>) -> Result<Box<dyn AdaptMethod<B>>>`.
///
/// ```ignore
/// sfda_plugin::register_method! {
///     name: "hcl",
///     summary: "HCL (NeurIPS 2021): historical contrastive learning",
///     describe: describe,
///     make: build,
/// }
/// ```
#[macro_export]
macro_rules! register_method {
    (name: $name:expr, summary: $summary:expr, describe: $describe:expr, make: $make:expr $(,)?) => {
        $crate::sfda_core::inventory::submit! {
            $crate::sfda_core::registry::MethodEntry {
                name: $name,
                version: env!("CARGO_PKG_VERSION"),
                summary: $summary,
                ctors: $crate::sfda_core::registry::Ctors::PerBackend(&[
                    $crate::sfda_core::registry::BackendCtor {
                        backend: <$crate::TchBackend as $crate::sfda_core::Backend>::NAME,
                        backend_type: ::std::any::TypeId::of::<$crate::TchBackend>,
                        make: $crate::sfda_core::registry::MethodCtor {
                            make: |b| {
                                $crate::sfda_core::algo::methods::erased_method::<
                                    $crate::TchBackend,
                                >(b, $make)
                            },
                            describe: |c| {
                                $crate::sfda_core::algo::methods::erased_describe(c, $describe)
                            },
                        },
                    },
                    $crate::sfda_core::registry::BackendCtor {
                        backend: <$crate::CandleBackend as $crate::sfda_core::Backend>::NAME,
                        backend_type: ::std::any::TypeId::of::<$crate::CandleBackend>,
                        make: $crate::sfda_core::registry::MethodCtor {
                            make: |b| {
                                $crate::sfda_core::algo::methods::erased_method::<
                                    $crate::CandleBackend,
                                >(b, $make)
                            },
                            describe: |c| {
                                $crate::sfda_core::algo::methods::erased_describe(c, $describe)
                            },
                        },
                    },
                ]),
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declared_backends_are_the_plugin_backends() {
        let mut names: Vec<&str> = PLUGIN_BACKENDS.iter().map(|b| b.name).collect();
        names.sort();
        assert_eq!(BACKENDS.to_str().unwrap(), names.join(","));
    }
}
