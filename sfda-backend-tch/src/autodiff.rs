//! Variables and reverse-mode gradients on libtorch's autograd engine.

use sfda_core::{Error, Result};
use tch::Tensor;

use crate::error::TchResultExt;
use crate::handle::{TchTensor, TchVar};

/// A copy of `t` with its own storage and no autodiff history.
///
/// Not `detach_copy`: libtorch records that op in the graph (with a
/// "not implemented" derivative) when its input requires grad, so its result
/// is neither a leaf nor usable in a backward pass.
pub(crate) fn detached_copy(t: &Tensor) -> std::result::Result<Tensor, tch::TchError> {
    t.f_detach()?.f_to_dtype(tch::Kind::Float, false, true)
}

/// `t` cut from the autodiff graph, in the contiguous (NCHW) layout, copied
/// only where sharing could change it or the layout differs.
///
/// A tensor that requires grad may be a variable's leaf or a view of one,
/// whose storage `var_set` overwrites in place, so it is copied. A tensor
/// that does not require grad is an op's output (fresh storage that nothing
/// writes to) or already a detached copy; it shares its storage, with no
/// copy, when it is contiguous.
///
/// Detached tensors are what sfda caches between steps and writes into a
/// run's state. A channels-last activation ([`crate::layout`]) is made
/// contiguous here, the layout a tensor read back from a file has, so that
/// the ops a cache feeds (pooling, batched matrix products) run on the same
/// layout live and after a resume, and a resumed run stays bit-identical.
pub(crate) fn detach(t: &Tensor) -> std::result::Result<Tensor, tch::TchError> {
    let cut = t.detach();
    if !cut.is_contiguous() {
        // A fresh copy, whatever `t` is.
        return cut.f_contiguous();
    }
    if t.requires_grad() {
        detached_copy(t)
    } else {
        Ok(cut)
    }
}

/// A fresh leaf with its own storage (a detached copy of `t`) that requires
/// grad; on the CPU a 4-D variable (a convolution weight) is stored
/// channels-last ([`crate::layout`]).
pub(crate) fn var_new(t: &TchTensor) -> Result<TchVar> {
    let copy = detached_copy(&t.0).op("var_new")?;
    crate::layout::for_variable(copy)?
        .f_set_requires_grad(true)
        .op("var_new")
        .map(TchVar)
}

/// Copies `t` into the variable's storage, outside autodiff.
pub(crate) fn var_set(v: &TchVar, t: &TchTensor) -> Result<()> {
    let (have, want) = (v.0.size(), t.0.size());
    if have != want {
        return Err(Error::shape(
            "var_set",
            format!("variable has shape {have:?}, new value has shape {want:?}"),
        ));
    }
    // In-place writes to a leaf that requires grad are only legal (and
    // unrecorded) under no_grad.
    let mut leaf = v.0.shallow_clone();
    tch::no_grad(|| leaf.f_copy_(&t.0)).op("var_set")
}

/// Gradients of the scalar `loss` w.r.t. `vars`; `None` for a variable that
/// `loss` does not depend on.
///
/// libtorch's engine hands back an *undefined* tensor (not an error) for an
/// input that the graph never reaches, which is mapped to `None`. A loss that
/// does not require grad at all (no variable in its history) has no graph to
/// run, so it is answered without calling the engine. The graph is kept
/// (`keep_graph = true`) so that, as with candle, several gradients may be
/// taken from one forward pass; it is freed when the tensors holding it drop.
pub(crate) fn grad(loss: &TchTensor, vars: &[&TchVar]) -> Result<Vec<Option<TchTensor>>> {
    if vars.is_empty() || !loss.0.requires_grad() {
        return Ok(vec![None; vars.len()]);
    }
    let leaves: Vec<&Tensor> = vars.iter().map(|v| &v.0).collect();
    let grads = Tensor::f_run_backward(&[&loss.0], &leaves, true, false).op("grad")?;
    Ok(grads
        .into_iter()
        .map(|g| g.defined().then_some(TchTensor(g)))
        .collect())
}
