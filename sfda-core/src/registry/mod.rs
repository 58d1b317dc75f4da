//! Registries of compiled-in and plugin components, filled with `inventory`
//! (and, for cdylib plugins, by [`crate::plugin::load_plugin`]): backends,
//! segmentation networks, distillation losses and patch rankers. Iteration
//! order of `inventory` is unspecified, so every listing is sorted by name.

pub mod backends;
mod builtins;
pub mod components;

pub use backends::{backend_by_name, backends, BackendEntry};
pub use components::{
    arch_names, components, erased_arch, erased_loss, erased_ranker, loss_names, make_arch,
    make_loss, make_ranker, ranker_names, ArchEntry, ArchFn, ArchKind, ArchMakeFn, BackendCtor,
    ComponentEntry, ComponentInfo, ComponentKind, Ctors, Kind, LossEntry, LossFn, LossKind,
    LossMakeFn, Origin, RankerEntry, RankerFn, RankerKind, RankerMakeFn,
};
