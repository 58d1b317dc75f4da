//! Which variables the running backward pass was asked for.
//!
//! candle's `backward` differentiates with respect to every tracked
//! variable, while [`Backend::grad`](sfda_core::Backend::grad) asks for a
//! few: the generator step wants only `G`'s weights, yet its loss also
//! depends on the frozen teacher's and the student's weights. libtorch
//! prunes those paths; here the fused ops' backward consults this scope and
//! skips the weight gradient of any variable outside it (for a convolution,
//! a whole GEMM per image). Input gradients are always computed: they may
//! lead to a wanted variable.

use std::cell::RefCell;
use std::collections::HashSet;

use candle_core::{Tensor, TensorId};

thread_local! {
    static WANTED: RefCell<Option<HashSet<TensorId>>> = const { RefCell::new(None) };
}

/// Runs `f` (a backward pass) with `vars` as the wanted variables; the
/// previous scope is restored afterwards, also on error or panic.
pub(crate) fn with_wanted<T>(vars: &[&Tensor], f: impl FnOnce() -> T) -> T {
    struct Restore(Option<HashSet<TensorId>>);
    impl Drop for Restore {
        fn drop(&mut self) {
            let prev = self.0.take();
            WANTED.with(|w| *w.borrow_mut() = prev);
        }
    }
    let ids = vars.iter().map(|t| t.id()).collect();
    let _restore = Restore(WANTED.with(|w| w.borrow_mut().replace(ids)));
    f()
}

/// Whether the backward pass needs the gradient of operand `t`: it is
/// tracked, and either not a variable (an intermediate that may lead to a
/// wanted one) or a wanted variable. Outside a [`with_wanted`] scope every
/// tracked operand is needed.
pub(crate) fn needs_grad(t: &Tensor) -> bool {
    if !t.track_op() {
        return false;
    }
    if !t.is_variable() {
        return true;
    }
    WANTED.with(|w| w.borrow().as_ref().is_none_or(|ids| ids.contains(&t.id())))
}
