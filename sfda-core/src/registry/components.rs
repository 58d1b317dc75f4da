//! Registries of segmentation networks ([`ArchEntry`]), distillation losses
//! ([`LossEntry`]) and patch rankers ([`RankerEntry`]).
//!
//! Every entry is found the same way, whether it is a built-in of sfda-core,
//! registered statically by a crate linked into the binary (`inventory`), or
//! added at run time by a cdylib plugin ([`crate::plugin`]). The traits are
//! generic over the [`Backend`], so an entry cannot hold one constructor:
//!
//! - built-ins of sfda-core carry [`Ctors::Generic`] and are instantiated by
//!   the generic lookup ([`make_loss`], [`make_ranker`]; networks and methods by
//!   the module that owns them after [`lookup_arch`] / [`lookup_method`]) for
//!   whichever backend asks;
//! - every other entry carries [`Ctors::PerBackend`]: one type-erased
//!   constructor per backend it was compiled for. The `sfda-plugin` crate's
//!   macros (`register_loss!`, `register_arch!`, `register_ranker!`) write
//!   them from one generic constructor.
//!
//! A per-backend constructor returns the component boxed twice
//! (`Box<Box<dyn DistillLoss<B>>>` as `Box<dyn Any>`); the lookup downcasts
//! it, so a component built against another build of the backend is an
//! error, not undefined behaviour.

use std::any::{Any, TypeId};
use std::fmt;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::sync::RwLock;

use crate::ipsm::{builtin_patch_ranker, PatchRanker};
use crate::loss::{builtin_distill_loss, DistillLoss};
use crate::model::SegModel;
use crate::nn::VarPath;
use crate::tensor::Backend;
use crate::{Error, Result};

/// What a registry entry provides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ComponentKind {
    /// A tensor backend (`crate::dispatch::BackendEntry`).
    Backend,
    /// A segmentation network ([`SegModel`]).
    Arch,
    /// A distillation loss ([`DistillLoss`]).
    Loss,
    /// A patch ranker ([`PatchRanker`]).
    Ranker,
    /// An adaptation method (`crate::algo::AdaptMethod`).
    Method,
}

impl ComponentKind {
    /// The kind's name in listings and messages.
    pub fn as_str(self) -> &'static str {
        match self {
            ComponentKind::Backend => "backend",
            ComponentKind::Arch => "arch",
            ComponentKind::Loss => "loss",
            ComponentKind::Ranker => "ranker",
            ComponentKind::Method => "method",
        }
    }
    /// The plural noun used in "known ..." lists.
    fn plural(self) -> &'static str {
        match self {
            ComponentKind::Backend => "backends",
            ComponentKind::Arch => "architectures",
            ComponentKind::Loss => "distillation losses",
            ComponentKind::Ranker => "patch rankers",
            ComponentKind::Method => "adaptation methods",
        }
    }
}

impl fmt::Display for ComponentKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a registered component comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// Compiled into the running binary (sfda-core, a backend crate, or a
    /// crate that registered it statically with `inventory`).
    BuiltIn,
    /// Added by the cdylib plugin at this path.
    Plugin(PathBuf),
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::BuiltIn => f.write_str("built-in"),
            Origin::Plugin(p) => write!(f, "{}", p.display()),
        }
    }
}

/// Type-erased constructor of a network for one backend: `vs` is a
/// `&VarPath<B>`, the result a `Box<Box<dyn SegModel<B>>>`.
pub type ArchMakeFn = fn(vs: &dyn Any, num_classes: usize) -> Result<Box<dyn Any + Send>>;
/// Type-erased constructor of a distillation loss for one backend from its
/// TOML options: the result is a `Box<Box<dyn DistillLoss<B>>>`.
pub type LossMakeFn = fn(options: &toml::Value) -> Result<Box<dyn Any + Send>>;
/// Type-erased constructor of a patch ranker for one backend from its TOML
/// options: the result is a `Box<Box<dyn PatchRanker<B>>>`.
pub type RankerMakeFn = fn(options: &toml::Value) -> Result<Box<dyn Any + Send>>;

/// Type-erased constructor of an adaptation method for one backend: `build`
/// is a `&crate::algo::MethodBuild<B>`, the result a
/// `Box<Box<dyn AdaptMethod<B>>>` (the erasure keeps the registry free of
/// the algorithm's types; `crate::algo::methods` does the casts).
pub type MethodMakeFn = fn(build: &dyn Any) -> Result<Box<dyn Any>>;
/// Type-erased description of a method for a config: `cfg` is a
/// `&crate::algo::AdaptConfig`, the result a `Box<crate::algo::MethodInfo>`.
pub type MethodDescribeFn = fn(cfg: &dyn Any) -> Result<Box<dyn Any>>;

/// The per-backend constructor of a method and its backend-independent
/// description.
#[derive(Clone, Copy)]
pub struct MethodCtor {
    /// Builds the method.
    pub make: MethodMakeFn,
    /// Describes it for a config (label, steps; checks its options).
    pub describe: MethodDescribeFn,
}

/// The constructor of a component for one backend.
pub struct BackendCtor<F: 'static> {
    /// The backend's name ([`Backend::NAME`]).
    pub backend: &'static str,
    /// `TypeId::of::<B>()` as the registering crate sees it (compared with
    /// the host's backend when a plugin is loaded).
    pub backend_type: fn() -> TypeId,
    /// The constructor.
    pub make: F,
}

/// How an entry builds its component for a backend.
pub enum Ctors<F: 'static> {
    /// A generic built-in of sfda-core, instantiated by the lookup itself for
    /// any backend (reserved for sfda-core's own entries).
    Generic,
    /// One constructor per backend the registering crate was compiled for.
    PerBackend(&'static [BackendCtor<F>]),
}

/// Marks the kind of a [`ComponentEntry`] and names its constructor type.
pub trait Kind: Sized + 'static {
    /// The type-erased per-backend constructor.
    type Make: 'static;
    /// The kind.
    const KIND: ComponentKind;
}

/// Marker of network entries.
#[derive(Debug)]
pub struct ArchKind;
impl Kind for ArchKind {
    type Make = ArchMakeFn;
    const KIND: ComponentKind = ComponentKind::Arch;
}
/// Marker of distillation loss entries.
#[derive(Debug)]
pub struct LossKind;
impl Kind for LossKind {
    type Make = LossMakeFn;
    const KIND: ComponentKind = ComponentKind::Loss;
}
/// Marker of patch ranker entries.
#[derive(Debug)]
pub struct RankerKind;
impl Kind for RankerKind {
    type Make = RankerMakeFn;
    const KIND: ComponentKind = ComponentKind::Ranker;
}

/// Marker of adaptation method entries.
#[derive(Debug)]
pub struct MethodKind;
impl Kind for MethodKind {
    type Make = MethodCtor;
    const KIND: ComponentKind = ComponentKind::Method;
}

/// A registered component: a name, a version, a one-line summary and its
/// constructors.
pub struct ComponentEntry<K: Kind> {
    /// The name configs and the command line use (`mae`, `unet-small`...).
    pub name: &'static str,
    /// Version of the crate that provides it.
    pub version: &'static str,
    /// One line on what it is.
    pub summary: &'static str,
    /// How to build it.
    pub ctors: Ctors<K::Make>,
}

impl<K: Kind> fmt::Debug for ComponentEntry<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ComponentEntry")
            .field("kind", &K::KIND)
            .field("name", &self.name)
            .field("version", &self.version)
            .field("backends", &self.backends())
            .finish()
    }
}

/// A registered segmentation network.
pub type ArchEntry = ComponentEntry<ArchKind>;
/// A registered distillation loss.
pub type LossEntry = ComponentEntry<LossKind>;
/// A registered patch ranker.
pub type RankerEntry = ComponentEntry<RankerKind>;
/// A registered adaptation method.
pub type MethodEntry = ComponentEntry<MethodKind>;

inventory::collect!(ArchEntry);
inventory::collect!(LossEntry);
inventory::collect!(RankerEntry);
inventory::collect!(MethodEntry);

impl<K: Kind> ComponentEntry<K> {
    /// Backends this entry can build for (`None`: every backend, for the
    /// generic built-ins).
    pub fn backends(&self) -> Option<Vec<&'static str>> {
        match &self.ctors {
            Ctors::Generic => None,
            Ctors::PerBackend(cs) => Some(cs.iter().map(|c| c.backend).collect()),
        }
    }
}

/// Entries added at run time by plugins, with the library they came from.
pub(crate) struct DynamicEntries {
    pub(crate) archs: Vec<(&'static ArchEntry, PathBuf)>,
    pub(crate) losses: Vec<(&'static LossEntry, PathBuf)>,
    pub(crate) rankers: Vec<(&'static RankerEntry, PathBuf)>,
    pub(crate) methods: Vec<(&'static MethodEntry, PathBuf)>,
}

pub(crate) static DYNAMIC: RwLock<DynamicEntries> = RwLock::new(DynamicEntries {
    archs: Vec::new(),
    losses: Vec::new(),
    rankers: Vec::new(),
    methods: Vec::new(),
});

/// Selects the list of one kind from the static and dynamic registries.
pub(crate) trait Registered: Kind {
    fn statics() -> Vec<&'static ComponentEntry<Self>>;
    fn dynamics(d: &DynamicEntries) -> &Vec<(&'static ComponentEntry<Self>, PathBuf)>;
}

macro_rules! registered {
    ($kind:ty, $field:ident) => {
        impl Registered for $kind {
            fn statics() -> Vec<&'static ComponentEntry<Self>> {
                inventory::iter::<ComponentEntry<$kind>>
                    .into_iter()
                    .collect()
            }
            fn dynamics(d: &DynamicEntries) -> &Vec<(&'static ComponentEntry<Self>, PathBuf)> {
                &d.$field
            }
        }
    };
}
registered!(ArchKind, archs);
registered!(LossKind, losses);
registered!(RankerKind, rankers);
registered!(MethodKind, methods);

/// Every entry of one kind with its origin, sorted by name.
pub(crate) fn all_of<K: Registered>() -> Vec<(&'static ComponentEntry<K>, Origin)> {
    let mut v: Vec<(&'static ComponentEntry<K>, Origin)> = K::statics()
        .into_iter()
        .map(|e| (e, Origin::BuiltIn))
        .collect();
    let d = DYNAMIC.read().unwrap_or_else(|p| p.into_inner());
    v.extend(
        K::dynamics(&d)
            .iter()
            .map(|(e, p)| (*e, Origin::Plugin(p.clone()))),
    );
    v.sort_by(|a, b| a.0.name.cmp(b.0.name));
    v
}

/// Registered names of one kind, sorted and deduplicated.
fn names_of<K: Registered>() -> Vec<&'static str> {
    let mut v: Vec<&'static str> = all_of::<K>().iter().map(|(e, _)| e.name).collect();
    v.dedup();
    v
}

/// Names of every registered network, sorted.
pub fn arch_names() -> Vec<&'static str> {
    names_of::<ArchKind>()
}
/// Names of every registered distillation loss, sorted.
pub fn loss_names() -> Vec<&'static str> {
    names_of::<LossKind>()
}
/// Names of every registered patch ranker, sorted.
pub fn ranker_names() -> Vec<&'static str> {
    names_of::<RankerKind>()
}

/// Names of every registered adaptation method, sorted.
pub fn method_names() -> Vec<&'static str> {
    names_of::<MethodKind>()
}

/// The entry called `name`; an unknown name is an [`Error::Config`] at
/// `key` listing the known names, a name registered twice is an error
/// naming both origins.
fn find<K: Registered>(key: &str, name: &str) -> Result<(&'static ComponentEntry<K>, Origin)> {
    let kind = K::KIND;
    let all = all_of::<K>();
    let mut hits = all.iter().filter(|(e, _)| e.name == name);
    let Some(first) = hits.next() else {
        let known: Vec<&str> = all.iter().map(|(e, _)| e.name).collect();
        return Err(Error::Config {
            key: key.to_string(),
            msg: format!(
                "no {} called '{name}' is registered; known {}: {} (a plugin adds more: \
                 --plugin PATH or `plugins = [...]` in the config; `sfda plugins` lists them)",
                kind.as_str(),
                kind.plural(),
                known.join(", ")
            ),
        });
    };
    if let Some(second) = hits.next() {
        return Err(Error::Config {
            key: key.to_string(),
            msg: format!(
                "{} '{name}' is registered twice ({} and {}); remove one of them",
                kind.as_str(),
                first.1,
                second.1
            ),
        });
    }
    Ok((first.0, first.1.clone()))
}

/// The constructor of `entry` for backend `B`, or an error naming the
/// backends it supports.
fn ctor_for<B: Backend, K: Kind>(
    entry: &ComponentEntry<K>,
    ctors: &'static [BackendCtor<K::Make>],
    origin: &Origin,
) -> Result<&'static BackendCtor<K::Make>> {
    let kind = K::KIND;
    ctors.iter().find(|c| c.backend == B::NAME).ok_or_else(|| {
        let have: Vec<&str> = ctors.iter().map(|c| c.backend).collect();
        Error::Config {
            key: entry.name.to_string(),
            msg: format!(
                "{kind} '{}' (from {origin}) is not available on the {} backend; it was \
                     built for: {}",
                entry.name,
                B::NAME,
                have.join(", ")
            ),
        }
    })
}

/// Runs a per-backend constructor, turning a panic into an error.
fn call_ctor<T>(what: &str, origin: &Origin, f: impl FnOnce() -> Result<T>) -> Result<T> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(p) => {
            let msg = p
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "unknown panic".to_string());
            Err(Error::msg(format!(
                "{what} (from {origin}) panicked while being built: {msg}"
            )))
        }
    }
}

/// Downcasts a per-backend constructor's result.
fn downcast<T: 'static>(any: Box<dyn Any + Send>, what: &str, origin: &Origin) -> Result<T> {
    any.downcast::<T>().map(|b| *b).map_err(|_| {
        Error::msg(format!(
            "{what} (from {origin}) returned a value of another type than this binary expects: \
             it was built against a different build of sfda-core or of the backend (other \
             dependency versions, features or profile); rebuild it in the sfda workspace with \
             the same profile as sfda"
        ))
    })
}

/// What a lookup found for backend `B`: a generic built-in of sfda-core,
/// which the module that owns it instantiates (the registry depends on no
/// module that implements components), or the component its registered
/// per-backend constructor built.
pub enum Lookup<T> {
    /// A generic built-in ([`Ctors::Generic`]): the owner builds it.
    Generic,
    /// Built by a per-backend constructor.
    Built(T),
}

/// Looks `arch` up for backend `B`: [`Lookup::Generic`] for sfda-core's own
/// networks (`crate::net` builds those), otherwise the network its
/// registered constructor built with `num_classes` outputs under `vs`. An
/// unknown name is an [`Error::Config`] at `arch` listing the registered ones.
pub fn lookup_arch<B: Backend>(
    arch: &str,
    num_classes: usize,
    vs: &VarPath<B>,
) -> Result<Lookup<Box<dyn SegModel<B>>>> {
    let (entry, origin) = find::<ArchKind>("arch", arch)?;
    match &entry.ctors {
        Ctors::Generic => Ok(Lookup::Generic),
        Ctors::PerBackend(cs) => {
            let c = ctor_for::<B, _>(entry, cs, &origin)?;
            let what = format!("network '{arch}'");
            let any = call_ctor(&what, &origin, || (c.make)(vs as &dyn Any, num_classes))?;
            downcast::<Box<dyn SegModel<B>>>(any, &what, &origin).map(Lookup::Built)
        }
    }
}

/// Looks method `name` up for backend `B`: [`Lookup::Generic`] for
/// sfda-core's built-in methods (`crate::algo::methods` builds those),
/// otherwise its registered constructor for `B` (the caller runs it: the
/// constructor's argument and result are the algorithm's types). An unknown
/// name is an [`Error::Config`] at `method` listing the registered ones.
pub fn lookup_method<B: Backend>(name: &str) -> Result<Lookup<(MethodMakeFn, Origin)>> {
    let (entry, origin) = find::<MethodKind>("method", name)?;
    match &entry.ctors {
        Ctors::Generic => Ok(Lookup::Generic),
        Ctors::PerBackend(cs) => {
            let c = ctor_for::<B, _>(entry, cs, &origin)?;
            Ok(Lookup::Built((c.make.make, origin)))
        }
    }
}

/// Describes method `name` without a backend: [`Lookup::Generic`] for the
/// built-ins, otherwise its registered description function.
pub fn lookup_method_description(name: &str) -> Result<Lookup<(MethodDescribeFn, Origin)>> {
    let (entry, origin) = find::<MethodKind>("method", name)?;
    match &entry.ctors {
        Ctors::Generic => Ok(Lookup::Generic),
        Ctors::PerBackend(cs) => match cs.first() {
            Some(c) => Ok(Lookup::Built((c.make.describe, origin))),
            None => Err(Error::Config {
                key: "method".into(),
                msg: format!("method '{name}' (from {origin}) has no constructor"),
            }),
        },
    }
}

/// Runs a plugin's type-erased constructor or description, turning a panic
/// into an error and a result of another type than `T` into an error
/// naming the origin.
pub fn call_erased<T: 'static>(
    what: &str,
    origin: &Origin,
    f: impl FnOnce() -> Result<Box<dyn Any>>,
) -> Result<T> {
    let any = call_ctor(what, origin, f)?;
    any.downcast::<T>().map(|b| *b).map_err(|_| {
        Error::msg(format!(
            "{what} (from {origin}) returned a value of another type than this binary expects: \
             it was built against a different build of sfda-core or of the backend; rebuild it \
             in the sfda workspace with the same profile as sfda"
        ))
    })
}

/// Builds the distillation loss `name` from its TOML options (an unknown
/// name is an [`Error::Config`] at `key` listing the registered losses).
pub fn make_loss<B: Backend>(
    key: &str,
    name: &str,
    options: &toml::Value,
) -> Result<Box<dyn DistillLoss<B>>> {
    let (entry, origin) = find::<LossKind>(key, name)?;
    match &entry.ctors {
        Ctors::Generic => builtin_distill_loss::<B>(name, options),
        Ctors::PerBackend(cs) => {
            let c = ctor_for::<B, _>(entry, cs, &origin)?;
            let what = format!("loss '{name}'");
            let any = call_ctor(&what, &origin, || (c.make)(options))?;
            downcast::<Box<dyn DistillLoss<B>>>(any, &what, &origin)
        }
    }
}

/// Builds the patch ranker `name` from its TOML options (an unknown name is
/// an [`Error::Config`] at `ranker` listing the registered rankers).
pub fn make_ranker<B: Backend>(
    name: &str,
    options: &toml::Value,
) -> Result<Box<dyn PatchRanker<B>>> {
    let (entry, origin) = find::<RankerKind>("ranker", name)?;
    match &entry.ctors {
        Ctors::Generic => builtin_patch_ranker::<B>(name, options),
        Ctors::PerBackend(cs) => {
            let c = ctor_for::<B, _>(entry, cs, &origin)?;
            let what = format!("patch ranker '{name}'");
            let any = call_ctor(&what, &origin, || (c.make)(options))?;
            downcast::<Box<dyn PatchRanker<B>>>(any, &what, &origin)
        }
    }
}

/// A generic network constructor instantiated for backend `B`.
pub type ArchFn<B> = fn(&VarPath<B>, usize) -> Result<Box<dyn SegModel<B>>>;
/// A generic loss constructor instantiated for backend `B`.
pub type LossFn<B> = fn(&toml::Value) -> Result<Box<dyn DistillLoss<B>>>;
/// A generic ranker constructor instantiated for backend `B`.
pub type RankerFn<B> = fn(&toml::Value) -> Result<Box<dyn PatchRanker<B>>>;

/// Helper for the registration macros: runs a generic network constructor
/// for backend `B` behind an [`ArchMakeFn`].
pub fn erased_arch<B: Backend>(
    vs: &dyn Any,
    num_classes: usize,
    make: ArchFn<B>,
) -> Result<Box<dyn Any + Send>> {
    let vs = vs.downcast_ref::<VarPath<B>>().ok_or_else(|| {
        Error::msg(format!(
            "a network constructor for the {} backend was handed a variable store of another \
             type (another build of sfda-core or of the backend)",
            B::NAME
        ))
    })?;
    Ok(Box::new(make(vs, num_classes)?))
}

/// Helper for the registration macros: runs a generic loss constructor for
/// backend `B` behind a [`LossMakeFn`].
pub fn erased_loss<B: Backend>(
    options: &toml::Value,
    make: LossFn<B>,
) -> Result<Box<dyn Any + Send>> {
    Ok(Box::new(make(options)?))
}

/// Helper for the registration macros: runs a generic ranker constructor for
/// backend `B` behind a [`RankerMakeFn`].
pub fn erased_ranker<B: Backend>(
    options: &toml::Value,
    make: RankerFn<B>,
) -> Result<Box<dyn Any + Send>> {
    Ok(Box::new(make(options)?))
}

/// One row of `sfda plugins`: a registered component.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComponentInfo {
    /// What it is.
    pub kind: ComponentKind,
    /// Its registered name.
    pub name: String,
    /// Version of the crate that provides it.
    pub version: String,
    /// Built in, or the plugin library it came from.
    pub origin: Origin,
    /// Backends it can be built for (empty: every backend).
    pub backends: Vec<String>,
    /// One line on what it is.
    pub summary: String,
}

fn infos_of<K: Registered>(out: &mut Vec<ComponentInfo>) {
    for (e, origin) in all_of::<K>() {
        out.push(ComponentInfo {
            kind: K::KIND,
            name: e.name.to_string(),
            version: e.version.to_string(),
            origin,
            backends: e
                .backends()
                .unwrap_or_default()
                .into_iter()
                .map(str::to_string)
                .collect(),
            summary: e.summary.to_string(),
        });
    }
}

/// Every registered component — networks, losses, rankers, methods — sorted by
/// kind, then name (`crate::dispatch::components` adds the backends).
pub fn components() -> Vec<ComponentInfo> {
    let mut out = Vec::new();
    infos_of::<ArchKind>(&mut out);
    infos_of::<LossKind>(&mut out);
    infos_of::<RankerKind>(&mut out);
    infos_of::<MethodKind>(&mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_name_is_a_config_error_listing_the_registered_ones() {
        let e = find::<LossKind>("extra_losses[0].name", "no_such_loss").unwrap_err();
        assert!(matches!(e, Error::Config { .. }));
        let msg = e.to_string();
        for needle in [
            "extra_losses[0].name",
            "no_such_loss",
            "bns, dad_ss, dad_st, mae",
            "--plugin",
        ] {
            assert!(msg.contains(needle), "{needle}: {msg}");
        }
        let msg = find::<RankerKind>("ranker", "margin")
            .unwrap_err()
            .to_string();
        assert!(msg.contains("patch rankers: entropy"), "{msg}");
    }

    #[test]
    fn components_lists_every_kind_sorted_by_name() {
        let all = components();
        for (kind, name) in [
            (ComponentKind::Arch, "segnet-vgg16"),
            (ComponentKind::Loss, "dad_st"),
            (ComponentKind::Ranker, "entropy"),
        ] {
            let c = all.iter().find(|c| c.name == name).unwrap();
            assert_eq!((c.kind, &c.origin), (kind, &Origin::BuiltIn));
            assert!(
                c.backends.is_empty(),
                "generic built-ins run on every backend"
            );
        }
        let losses: Vec<&str> = all
            .iter()
            .filter(|c| c.kind == ComponentKind::Loss)
            .map(|c| c.name.as_str())
            .collect();
        assert_eq!(losses, ["bns", "dad_ss", "dad_st", "mae"]);
    }
}
