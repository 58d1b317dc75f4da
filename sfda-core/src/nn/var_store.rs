//! [`VarStore`] and [`VarPath`]: where a network's parameters and buffers
//! live, under dotted names that mirror the module tree (tch's `nn::Path`).

use std::collections::HashMap;
use std::fmt;
use std::ops::Div;
use std::sync::{Arc, Mutex, MutexGuard};

use crate::model::NamedVar;
use crate::nn::init::Init;
use crate::rng::SeedRng;
use crate::tensor::{Backend, Tensor, Var};
use crate::{Error, Result};

struct StoreInner<B: Backend> {
    vars: Vec<NamedVar<B>>,
    index: HashMap<String, usize>,
}

/// A shared, ordered collection of named variables on one device.
///
/// Cloning is cheap and shares the collection. Initial values are drawn on
/// the host from a [`SeedRng`] derived from the store's seed and the
/// variable's full name, so the same seed gives the same weights on every
/// backend, independently of creation order.
pub struct VarStore<B: Backend> {
    inner: Arc<Mutex<StoreInner<B>>>,
    device: B::Device,
    seed: u64,
}

impl<B: Backend> Clone for VarStore<B> {
    fn clone(&self) -> Self {
        VarStore {
            inner: Arc::clone(&self.inner),
            device: self.device.clone(),
            seed: self.seed,
        }
    }
}

impl<B: Backend> fmt::Debug for VarStore<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VarStore")
            .field("backend", &B::NAME)
            .field("device", &self.device)
            .field("seed", &self.seed)
            .field("len", &self.len())
            .finish()
    }
}

impl<B: Backend> VarStore<B> {
    /// An empty store on `device`; `seed` drives every initialiser.
    pub fn new(device: B::Device, seed: u64) -> Self {
        VarStore {
            inner: Arc::new(Mutex::new(StoreInner {
                vars: Vec::new(),
                index: HashMap::new(),
            })),
            device,
            seed,
        }
    }
    /// The root path (empty prefix).
    pub fn root(&self) -> VarPath<B> {
        VarPath {
            store: self.clone(),
            prefix: Vec::new(),
        }
    }
    /// The device the variables live on.
    pub fn device(&self) -> &B::Device {
        &self.device
    }
    /// The initialisation seed.
    pub fn seed(&self) -> u64 {
        self.seed
    }
    /// Number of variables.
    pub fn len(&self) -> usize {
        self.lock().vars.len()
    }
    /// Whether the store holds no variable.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Every variable in creation order, with full names.
    pub fn named_vars(&self) -> Vec<NamedVar<B>> {
        self.lock().vars.clone()
    }
    /// The trainable variables in creation order.
    pub fn trainable_vars(&self) -> Vec<Var<B>> {
        self.lock()
            .vars
            .iter()
            .filter(|v| v.trainable)
            .map(|v| v.var.clone())
            .collect()
    }
    /// The variable called `name`, if any.
    pub fn get(&self, name: &str) -> Option<NamedVar<B>> {
        let g = self.lock();
        g.index.get(name).map(|&i| g.vars[i].clone())
    }

    fn lock(&self) -> MutexGuard<'_, StoreInner<B>> {
        // A poisoned lock only means another thread panicked while pushing;
        // the vector itself is still consistent.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn insert(&self, name: String, var: Var<B>, trainable: bool) -> Result<()> {
        let mut g = self.lock();
        if g.index.contains_key(&name) {
            return Err(Error::msg(format!(
                "variable '{name}' is defined twice in the same VarStore \
                 (build each network under its own path)"
            )));
        }
        let i = g.vars.len();
        g.index.insert(name.clone(), i);
        g.vars.push(NamedVar {
            name,
            var,
            trainable,
        });
        Ok(())
    }
}

/// A position in a [`VarStore`]: a dotted name prefix.
///
/// ```
/// # fn demo<B: sfda_core::Backend>(vs: &sfda_core::nn::VarStore<B>) {
/// let p = vs.root().pp("backbone").pp("layer1").pp(0);
/// assert_eq!(p.name("conv1"), "backbone.layer1.0.conv1");
/// let q = &(&vs.root() / "classifier") / 4;
/// assert_eq!(q.prefix(), "classifier.4");
/// # }
/// ```
pub struct VarPath<B: Backend> {
    store: VarStore<B>,
    prefix: Vec<String>,
}

impl<B: Backend> Clone for VarPath<B> {
    fn clone(&self) -> Self {
        VarPath {
            store: self.store.clone(),
            prefix: self.prefix.clone(),
        }
    }
}

impl<B: Backend> fmt::Debug for VarPath<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VarPath")
            .field("prefix", &self.prefix())
            .finish()
    }
}

impl<B: Backend> VarPath<B> {
    /// The sub-path `self.<name>`.
    pub fn pp(&self, name: impl ToString) -> VarPath<B> {
        let mut prefix = self.prefix.clone();
        prefix.push(name.to_string());
        VarPath {
            store: self.store.clone(),
            prefix,
        }
    }
    /// The dotted prefix of this path (`""` at the root).
    pub fn prefix(&self) -> String {
        self.prefix.join(".")
    }
    /// The full name of the entry `leaf` under this path.
    pub fn name(&self, leaf: &str) -> String {
        if self.prefix.is_empty() {
            leaf.to_string()
        } else {
            format!("{}.{leaf}", self.prefix())
        }
    }
    /// The store this path points into.
    pub fn store(&self) -> &VarStore<B> {
        &self.store
    }
    /// The device of the store.
    pub fn device(&self) -> &B::Device {
        self.store.device()
    }

    /// A new trainable variable `self.<name>` of `shape`, initialised by `init`.
    pub fn var(&self, name: &str, shape: &[usize], init: Init) -> Result<Var<B>> {
        self.create(name, shape, init, true)
    }
    /// A new non-trainable buffer `self.<name>` (e.g. BN running statistics).
    pub fn buffer(&self, name: &str, shape: &[usize], init: Init) -> Result<Var<B>> {
        self.create(name, shape, init, false)
    }

    /// The variables whose names start with this path, in creation order,
    /// with names relative to this path (so a model built under `student`
    /// still reports `backbone.conv1.weight`).
    pub fn named_vars(&self) -> Vec<NamedVar<B>> {
        let all = self.store.named_vars();
        if self.prefix.is_empty() {
            return all;
        }
        let head = format!("{}.", self.prefix());
        all.into_iter()
            .filter_map(|mut v| {
                let rel = v.name.strip_prefix(&head)?.to_string();
                v.name = rel;
                Some(v)
            })
            .collect()
    }

    fn create(&self, name: &str, shape: &[usize], init: Init, trainable: bool) -> Result<Var<B>> {
        if name.is_empty() || name.contains('.') {
            return Err(Error::msg(format!(
                "invalid variable name '{name}' under '{}': use pp() for nesting",
                self.prefix()
            )));
        }
        let full = self.name(name);
        let mut rng = SeedRng::derive(self.store.seed, &full);
        let data = init.sample(shape, &mut rng);
        let t = Tensor::<B>::from_f32(&data, shape, self.store.device())?;
        let var = Var::new(&t)?;
        self.store.insert(full, var.clone(), trainable)?;
        Ok(var)
    }
}

impl<B: Backend> Div<&str> for &VarPath<B> {
    type Output = VarPath<B>;
    fn div(self, rhs: &str) -> VarPath<B> {
        self.pp(rhs)
    }
}

impl<B: Backend> Div<usize> for &VarPath<B> {
    type Output = VarPath<B>;
    fn div(self, rhs: usize) -> VarPath<B> {
        self.pp(rhs)
    }
}

/// Copies values from `src` into `dst` by name (e.g. the student from the
/// source model's weights). Every `dst` entry must exist in `src` with the
/// same shape; values go through the device, not the host.
pub fn copy_vars<B: Backend>(src: &[NamedVar<B>], dst: &[NamedVar<B>]) -> Result<()> {
    let by_name: HashMap<&str, &NamedVar<B>> = src.iter().map(|v| (v.name.as_str(), v)).collect();
    // Check everything before writing anything.
    let mut pairs = Vec::with_capacity(dst.len());
    for d in dst {
        let s = by_name
            .get(d.name.as_str())
            .ok_or_else(|| Error::msg(format!("copy_vars: source has no variable '{}'", d.name)))?;
        let (ss, ds) = (s.var.shape(), d.var.shape());
        if ss != ds {
            return Err(Error::shape(
                "copy_vars",
                format!("'{}': source {ss:?}, destination {ds:?}", d.name),
            ));
        }
        pairs.push((s, d));
    }
    for (s, d) in pairs {
        let dev = d.var.tensor().device();
        let t = s.var.tensor().detach()?.to_device(&dev)?;
        d.var.set(&t)?;
    }
    Ok(())
}
