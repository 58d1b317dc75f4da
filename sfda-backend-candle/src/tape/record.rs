//! Recording ops on the tape: an op runs its forward on the untracked
//! candle values, and when any input is tracked its outputs get one node
//! with the op's backward rule.

use candle_core::Tensor as Value;
use sfda_core::Result;

use super::tensor::{BackwardFn, Grads, Node, Origin, Tensor};
use crate::error::CandleResultExt;

/// Wraps the `outputs` of an op on `inputs`: untracked when no input is
/// tracked (the backward rule is then never built), else one new node whose
/// backward is `backward()`.
pub(crate) fn record(
    inputs: &[&Tensor],
    outputs: Vec<Value>,
    backward: impl FnOnce() -> BackwardFn,
) -> Vec<Tensor> {
    if !inputs.iter().any(|t| t.is_tracked()) {
        return outputs.into_iter().map(Tensor::constant).collect();
    }
    let node = std::sync::Arc::new(Node {
        inputs: inputs.iter().map(|t| t.origin.clone()).collect(),
        outputs: outputs.len(),
        backward: Some(backward()),
    });
    outputs
        .into_iter()
        .enumerate()
        .map(|(output, value)| Tensor {
            value,
            origin: Some(Origin {
                node: node.clone(),
                output,
            }),
        })
        .collect()
}

/// [`record`] for an op with one output.
pub(crate) fn record1(
    inputs: &[&Tensor],
    output: Value,
    backward: impl FnOnce() -> BackwardFn,
) -> Tensor {
    record(inputs, vec![output], backward)
        .pop()
        .expect("one output recorded")
}

/// A backward rule for a one-output op from `f(output gradient, needs)`;
/// no gradient flows when the output got none.
pub(crate) fn rule1(
    f: impl Fn(&Value, &[bool]) -> Result<Grads> + Send + Sync + 'static,
) -> BackwardFn {
    Box::new(move |grads, needs| match &grads[0] {
        Some(g) => f(g, needs),
        None => Ok(vec![None; needs.len()]),
    })
}

/// Records an op whose backward is taken from candle's own autodiff: its
/// forward `f` has run once on the untracked values (giving `outputs`), and
/// runs again at backward time on copies of the inputs that need a
/// gradient, made candle variables, whose gradients of
/// `Σ outputs · output gradients` are the input gradients.
///
/// This costs a copy and a second forward, so it serves the ops that are
/// rare or small (and devices without sfda's fused kernels); the ops of the
/// networks' hot path have their own rules.
pub(crate) fn record_through_candle(
    inputs: &[&Tensor],
    outputs: Vec<Value>,
    op: &'static str,
    f: impl Fn(&[Value]) -> Result<Vec<Value>> + Send + Sync + 'static,
) -> Vec<Tensor> {
    let values: Vec<Value> = inputs.iter().map(|t| t.value.clone()).collect();
    record(inputs, outputs, move || {
        Box::new(move |grads, needs| candle_vjp(op, &f, &values, grads, needs))
    })
}

/// The vector–Jacobian product of `f` at `values` by candle's autodiff.
fn candle_vjp(
    op: &'static str,
    f: &impl Fn(&[Value]) -> Result<Vec<Value>>,
    values: &[Value],
    grads: &[Option<Value>],
    needs: &[bool],
) -> Result<Grads> {
    let vars = values
        .iter()
        .zip(needs)
        .map(|(v, &need)| {
            need.then(|| candle_core::Var::from_tensor(&v.detach()))
                .transpose()
        })
        .collect::<candle_core::Result<Vec<_>>>()
        .op(op)?;
    let args: Vec<Value> = values
        .iter()
        .zip(&vars)
        .map(|(v, var)| {
            var.as_ref()
                .map_or_else(|| v.clone(), |x| x.as_tensor().clone())
        })
        .collect();
    let outputs = f(&args)?;
    let mut total: Option<Value> = None;
    for (y, g) in outputs.iter().zip(grads) {
        let Some(g) = g else { continue };
        let s = y.mul(&g.detach()).op(op)?.sum_all().op(op)?;
        total = Some(match total {
            None => s,
            Some(t) => t.add(&s).op(op)?,
        });
    }
    let Some(total) = total else {
        return Ok(vec![None; values.len()]);
    };
    let store = crate::error::no_panic(op, || total.backward().op(op))?;
    Ok(vars
        .iter()
        .map(|v| {
            v.as_ref()
                .and_then(|v| store.get(v.as_tensor()).map(Value::detach))
        })
        .collect())
}

/// [`record_through_candle`] for an op with one output, running its
/// forward.
pub(crate) fn through_candle1(
    inputs: &[&Tensor],
    op: &'static str,
    f: impl Fn(&[Value]) -> Result<Value> + Send + Sync + 'static,
) -> Result<Tensor> {
    let values: Vec<Value> = inputs.iter().map(|t| t.value.clone()).collect();
    let y = f(&values)?;
    Ok(record_through_candle1(inputs, y, op, f))
}

/// [`record_through_candle`] for an op with one output `y`, already
/// computed (where no fused kernel applies).
pub(crate) fn record_through_candle1(
    inputs: &[&Tensor],
    y: Value,
    op: &'static str,
    f: impl Fn(&[Value]) -> Result<Value> + Send + Sync + 'static,
) -> Tensor {
    let f = move |v: &[Value]| Ok(vec![f(v)?]);
    record_through_candle(inputs, vec![y], op, f)
        .pop()
        .expect("one output recorded")
}
