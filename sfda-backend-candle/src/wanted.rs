//! Which operands of a fused op need a gradient.
//!
//! A fused op's backward (candle's `CustomOp::bwd`) can skip a whole GEMM
//! per image when an operand's gradient is not needed: the generator step
//! wants only `G`'s weights, yet its loss also depends on the frozen
//! teacher's. Called from sfda's tape ([`with_needed`]), the tape says which
//! operands lead to a wanted variable. Called from candle's own autodiff
//! (the tape's [`record_through_candle`](crate::tape::record::record_through_candle)
//! rules), every tracked operand is needed.

use std::cell::RefCell;
use std::collections::HashSet;

use candle_core::{Tensor, TensorId};

thread_local! {
    static NEEDED: RefCell<Option<HashSet<TensorId>>> = const { RefCell::new(None) };
}

/// Runs `f` (a fused op's backward) with the operands in `needed` (those
/// flagged `true`) as the ones that need a gradient; the previous scope is
/// restored afterwards, also on error or panic.
pub(crate) fn with_needed<T>(needed: &[(&Tensor, bool)], f: impl FnOnce() -> T) -> T {
    struct Restore(Option<HashSet<TensorId>>);
    impl Drop for Restore {
        fn drop(&mut self) {
            let prev = self.0.take();
            NEEDED.with(|w| *w.borrow_mut() = prev);
        }
    }
    let ids = needed
        .iter()
        .filter(|(_, need)| *need)
        .map(|(t, _)| t.id())
        .collect();
    let _restore = Restore(NEEDED.with(|w| w.borrow_mut().replace(ids)));
    f()
}

/// Whether the backward pass needs the gradient of operand `t`: inside a
/// [`with_needed`] scope, whether the tape flagged it; outside, whether
/// candle tracks it.
pub(crate) fn needs_grad(t: &Tensor) -> bool {
    NEEDED.with(|w| match w.borrow().as_ref() {
        Some(ids) => ids.contains(&t.id()),
        None => t.track_op(),
    })
}
