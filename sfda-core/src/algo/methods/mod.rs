//! Adaptation methods, the unit of extension: each one is an
//! [`AdaptMethod`] in its own file, registered under its name. The built-ins
//! are listed once, in `builtin_methods!` below (one line each); plugins
//! register theirs with `sfda_plugin::register_method!`. Both are found
//! through the same registry ([`crate::registry::lookup_method`]).
//!
//! | method | objective on the target batch | student variables updated |
//! |---|---|---|
//! | `source_only` | none: the source model is evaluated as is | none |
//! | `minent` | mean pixel entropy / log C (ADVENT's MinEnt, Vu et al. 2019) | all |
//! | `maxsquare` | `L_TAR`, eq. 2 (MaxSquare, Chen et al. 2019) | all |
//! | `tent` | mean pixel entropy, BN with batch statistics (TENT, Wang et al. 2021) | BN affine (γ, β) only |
//! | `shot_im` | `L_ent − λ·L_div` (SHOT's IM, Liang et al. 2020) | all but the classifier head (frozen) |
//! | `cbst` | cross-entropy to class-balanced pseudo-labels (CBST, Zou et al. 2018) | all |
//! | `sfda` | eq. 11 / 16 with generator, DAD and IPSM (this paper) | all |
//!
//! The student sees target batches in BN train mode (batch statistics; the
//! running statistics follow the target batches); for TENT this is its
//! "batch statistics" rule, and since evaluation uses the running
//! statistics, the evaluated model normalises with target statistics.

mod cbst;
mod dt_st;
mod entropy;
mod maxsquare;
mod method;
mod minent;
pub mod sfda;
mod shot_im;
mod source_only;
mod tent;

use std::any::Any;

pub use cbst::{Cbst, CbstOptions};
pub use entropy::EntropyOptions;
pub use maxsquare::MaxSquare;
pub use method::{
    load_prefixed, optimizer_state, prefixed_state, state_tensor, student_objective, AdaptMethod,
    DescribeFn, MethodBuild, MethodInfo, NoOptions, StudentInit, TargetBatch, TargetViews,
};
pub use minent::MinEnt;
pub use shot_im::{ShotIm, ShotOptions};
pub use source_only::SourceOnly;
pub use tent::{bn_affine_names, Tent};

use crate::algo::config::AdaptConfig;
use crate::algo::losses::LossResolver;
use crate::registry::{call_erased, lookup_method, lookup_method_description, Lookup};
use crate::tensor::Backend;
use crate::Result;

/// A built-in method: its name, its description and its constructor,
/// generic over the backend (the registry cannot hold a generic function,
/// so `builtin_methods!` writes the dispatch).
pub trait BuiltinMethod {
    /// Registered name.
    const NAME: &'static str;
    /// One line for `sfda plugins`.
    const SUMMARY: &'static str;
    /// What it does with `cfg` (checks its options).
    fn describe(cfg: &AdaptConfig) -> Result<MethodInfo>;
    /// Builds it.
    ///
    /// `resolve` finds extra distillation losses no registry entry provides
    /// (library users; `None` in the CLI).
    fn build<B: Backend>(
        b: &MethodBuild<B>,
        resolve: LossResolver<'_, B>,
    ) -> Result<Box<dyn AdaptMethod<B>>>;
}

/// The one list of built-in methods: registers each (as a generic entry)
/// and writes the functions that describe and build them by name.
macro_rules! builtin_methods {
    ($($ty:path),* $(,)?) => {
        $(
            inventory::submit! {
                crate::registry::MethodEntry {
                    name: <$ty as BuiltinMethod>::NAME,
                    version: env!("CARGO_PKG_VERSION"),
                    summary: <$ty as BuiltinMethod>::SUMMARY,
                    ctors: crate::registry::Ctors::Generic,
                }
            }
        )*

        /// Describes built-in method `name` (`None`: not a built-in).
        fn describe_builtin(name: &str, cfg: &AdaptConfig) -> Option<Result<MethodInfo>> {
            $(
                if name == <$ty as BuiltinMethod>::NAME {
                    return Some(<$ty as BuiltinMethod>::describe(cfg));
                }
            )*
            None
        }

        /// Builds built-in method `name` (`None`: not a built-in).
        fn build_builtin<B: Backend>(
            name: &str,
            b: &MethodBuild<B>,
            resolve: LossResolver<'_, B>,
        ) -> Option<Result<Box<dyn AdaptMethod<B>>>> {
            $(
                if name == <$ty as BuiltinMethod>::NAME {
                    return Some(<$ty as BuiltinMethod>::build(b, resolve));
                }
            )*
            None
        }
    };
}

builtin_methods! {
    source_only::SourceOnly,
    minent::MinEnt,
    maxsquare::MaxSquare,
    tent::Tent,
    shot_im::ShotIm,
    cbst::Cbst,
    sfda::Sfda,
    dt_st::DtStMethod,
}

/// What the method of `cfg` does with it (its table label, steps), checking
/// its options; an unknown method is an error at `method` listing the
/// registered ones.
pub fn describe_method(cfg: &AdaptConfig) -> Result<MethodInfo> {
    let name = cfg.method.name.as_str();
    match lookup_method_description(name)? {
        Lookup::Generic => describe_builtin(name, cfg).unwrap_or_else(|| {
            Err(crate::Error::msg(format!(
                "method '{name}' is registered as a built-in but sfda-core has no such method"
            )))
        }),
        Lookup::Built((describe, origin)) => {
            call_erased::<MethodInfo>(&format!("method '{name}'"), &origin, || {
                describe(cfg as &dyn Any)
            })
        }
    }
}

/// Builds the method of `b.cfg` for backend `B` from whichever registry
/// entry provides it (`resolve`: see [`BuiltinMethod::build`]).
pub fn build_method<B: Backend>(
    b: &MethodBuild<B>,
    resolve: LossResolver<'_, B>,
) -> Result<Box<dyn AdaptMethod<B>>> {
    let name = b.cfg.method.name.as_str();
    match lookup_method::<B>(name)? {
        Lookup::Generic => build_builtin::<B>(name, b, resolve).unwrap_or_else(|| {
            Err(crate::Error::msg(format!(
                "method '{name}' is registered as a built-in but sfda-core has no such method"
            )))
        }),
        Lookup::Built((make, origin)) => {
            call_erased::<Box<dyn AdaptMethod<B>>>(&format!("method '{name}'"), &origin, || {
                make(b as &dyn Any)
            })
        }
    }
}

/// A generic method constructor instantiated for backend `B`.
pub type MethodFn<B> = fn(&MethodBuild<B>) -> Result<Box<dyn AdaptMethod<B>>>;

/// Helper for `register_method!`: runs a generic method constructor for
/// backend `B` behind a [`crate::registry::MethodMakeFn`].
pub fn erased_method<B: Backend>(build: &dyn Any, make: MethodFn<B>) -> Result<Box<dyn Any>> {
    let b = build.downcast_ref::<MethodBuild<B>>().ok_or_else(|| {
        crate::Error::msg(format!(
            "a method constructor for the {} backend was handed another type than its \
                 MethodBuild (another build of sfda-core or of the backend)",
            B::NAME
        ))
    })?;
    Ok(Box::new(make(b)?))
}

/// Helper for `register_method!`: runs a method's description behind a
/// [`crate::registry::MethodDescribeFn`].
pub fn erased_describe(cfg: &dyn Any, describe: DescribeFn) -> Result<Box<dyn Any>> {
    let cfg = cfg.downcast_ref::<AdaptConfig>().ok_or_else(|| {
        crate::Error::msg(
            "a method description was handed another type than AdaptConfig (another build of \
             sfda-core)",
        )
    })?;
    Ok(Box::new(describe(cfg)?))
}
