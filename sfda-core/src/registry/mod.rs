//! Registries of compiled-in and plugin components, filled with `inventory`
//! (and, for cdylib plugins, by `crate::plugin::load_plugin`): segmentation
//! networks, distillation losses, patch rankers and adaptation methods. Iteration
//! order of `inventory` is unspecified, so every listing is sorted by name.

mod builtins;
pub mod components;

pub use components::{
    arch_names, call_erased, components, erased_arch, erased_loss, erased_ranker, lookup_arch,
    lookup_method, lookup_method_description, loss_names, make_loss, make_ranker, method_names,
    ranker_names, ArchEntry, ArchFn, ArchKind, ArchMakeFn, BackendCtor, ComponentEntry,
    ComponentInfo, ComponentKind, Ctors, Kind, Lookup, LossEntry, LossFn, LossKind, LossMakeFn,
    MethodCtor, MethodDescribeFn, MethodEntry, MethodKind, MethodMakeFn, Origin, RankerEntry,
    RankerFn, RankerKind, RankerMakeFn,
};
