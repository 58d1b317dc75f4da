//! Element-wise ops: the arithmetic with NumPy broadcasting, and the
//! unary functions, each with its derivative as a formula (PyTorch's).

use candle_core::Tensor as Value;
use sfda_core::{CmpOp, Result};

use super::unary;
use crate::error::CandleResultExt;
use crate::ops::broadcast::{arith as arith_value, sum_keepdim, Arith};
use crate::ops::{activation, elementwise};
use crate::tape::record::{record1, rule1, through_candle1};
use crate::tape::Tensor;

/// `g` (shaped like a broadcast result) summed back to `shape`.
pub(crate) fn reduce_to(g: Value, shape: &[usize], op: &'static str) -> Result<Value> {
    if g.dims() == shape {
        return Ok(g);
    }
    let lead = g.rank() - shape.len().min(g.rank());
    let dims: Vec<usize> = (0..g.rank())
        .filter(|&d| d < lead || (shape[d - lead] == 1 && g.dims()[d] != 1))
        .collect();
    let summed = if dims.is_empty() {
        g
    } else {
        sum_keepdim(&g, &dims).op(op)?
    };
    summed.reshape(shape).op(op)
}

/// `a ∘ b` with broadcasting, differentiable in both.
pub(crate) fn arith(a: &Tensor, b: &Tensor, op: Arith) -> Result<Tensor> {
    let y = arith_value(&a.value, &b.value, op)?;
    let name = "arith";
    let (av, bv, yv) = (a.value.clone(), b.value.clone(), y.clone());
    Ok(record1(&[a, b], y, move || {
        rule1(move |g, needs| {
            let (sa, sb) = (av.dims(), bv.dims());
            let ga = if needs[0] {
                let d = match op {
                    Arith::Add | Arith::Sub => g.clone(),
                    Arith::Mul => arith_value(g, &bv, Arith::Mul)?,
                    Arith::Div => arith_value(g, &bv, Arith::Div)?,
                };
                Some(reduce_to(d, sa, name)?)
            } else {
                None
            };
            let gb = if needs[1] {
                let d = match op {
                    Arith::Add => g.clone(),
                    Arith::Sub => g.neg().op(name)?,
                    Arith::Mul => arith_value(g, &av, Arith::Mul)?,
                    // d b of a / b = -g · y / b
                    Arith::Div => {
                        let gy = arith_value(g, &yv, Arith::Mul)?;
                        arith_value(&gy, &bv, Arith::Div)?.neg().op(name)?
                    }
                };
                Some(reduce_to(d, sb, name)?)
            } else {
                None
            };
            Ok(vec![ga, gb])
        })
    }))
}

/// `max(a, b)` or `min(a, b)` with broadcasting (ties split the gradient,
/// as in PyTorch), through candle's autodiff.
pub(crate) fn extremum(a: &Tensor, b: &Tensor, max: bool) -> Result<Tensor> {
    let name = if max { "maximum" } else { "minimum" };
    through_candle1(&[a, b], name, move |v| {
        crate::ops::broadcast::binary(&v[0], &v[1], name, |x, y| {
            if max {
                x.maximum(y)
            } else {
                x.minimum(y)
            }
        })
    })
}

/// `t · mul + add`.
pub(crate) fn affine(t: &Tensor, mul: f64, add: f64) -> Result<Tensor> {
    let y = elementwise::affine(&t.value, mul, add)?;
    Ok(unary(t, y, move |g| g.affine(mul, 0.0).op("affine")))
}

/// `t^e`.
pub(crate) fn powf(t: &Tensor, e: f64) -> Result<Tensor> {
    if e == 0.0 {
        return affine(t, 0.0, 1.0);
    }
    let y = elementwise::powf(&t.value, e)?;
    let x = t.value.clone();
    Ok(unary(t, y, move |g| {
        let op = "powf";
        g.mul(&x.powf(e - 1.0).op(op)?)
            .op(op)?
            .affine(e, 0.0)
            .op(op)
    }))
}

/// `exp(t)`: `dx = g · y`.
pub(crate) fn exp(t: &Tensor) -> Result<Tensor> {
    let y = t.value.exp().op("exp")?;
    let yc = y.clone();
    Ok(unary(t, y, move |g| g.mul(&yc).op("exp")))
}

/// `ln(t)`: `dx = g / x`.
pub(crate) fn log(t: &Tensor) -> Result<Tensor> {
    let y = t.value.log().op("log")?;
    let x = t.value.clone();
    Ok(unary(t, y, move |g| g.div(&x).op("log")))
}

/// `|t|`: `dx = g · sign(x)` (0 at 0).
pub(crate) fn abs(t: &Tensor) -> Result<Tensor> {
    let y = elementwise::abs(&t.value)?;
    let x = t.value.clone();
    Ok(unary(t, y, move |g| g.mul(&x.sign().op("abs")?).op("abs")))
}

/// `√t`: `dx = g / (2y)`.
pub(crate) fn sqrt(t: &Tensor) -> Result<Tensor> {
    let y = t.value.sqrt().op("sqrt")?;
    let yc = y.clone();
    Ok(unary(t, y, move |g| {
        g.div(&yc).op("sqrt")?.affine(0.5, 0.0).op("sqrt")
    }))
}

/// `tanh(t)`: `dx = g · (1 − y²)`.
pub(crate) fn tanh(t: &Tensor) -> Result<Tensor> {
    let y = t.value.tanh().op("tanh")?;
    let yc = y.clone();
    Ok(unary(t, y, move |g| {
        let op = "tanh";
        g.mul(&yc.sqr().op(op)?.affine(-1.0, 1.0).op(op)?).op(op)
    }))
}

/// `t²`: `dx = 2 · x · g`.
pub(crate) fn sqr(t: &Tensor) -> Result<Tensor> {
    let y = t.value.sqr().op("sqr")?;
    let x = t.value.clone();
    Ok(unary(t, y, move |g| {
        g.mul(&x).op("sqr")?.affine(2.0, 0.0).op("sqr")
    }))
}

/// The logistic function: `dx = g · (1 − y) · y`.
pub(crate) fn sigmoid(t: &Tensor) -> Result<Tensor> {
    let y = elementwise::sigmoid(&t.value)?;
    let yc = y.clone();
    Ok(unary(t, y, move |g| {
        let op = "sigmoid";
        g.mul(&yc.affine(-1.0, 1.0).op(op)?).op(op)?.mul(&yc).op(op)
    }))
}

/// Leaky ReLU (`slope: None` for ReLU), PyTorch's gradient at 0: the fused
/// kernel and its backward on the CPU, the composition elsewhere.
pub(crate) fn leaky_relu(t: &Tensor, slope: Option<f64>) -> Result<Tensor> {
    let op = "leaky_relu";
    if let Some((y, f)) = activation::leaky_relu_cpu(&t.value, slope).op(op)? {
        let x = t.value.clone();
        return Ok(unary(t, y, move |g| f.grad(&x, g).op(op)));
    }
    through_candle1(&[t], op, move |v| match slope {
        Some(s) => elementwise::leaky_relu(&v[0], s),
        None => elementwise::relu(&v[0]),
    })
}

/// A comparison as `0.0`/`1.0`: never differentiated.
pub(crate) fn cmp(a: &Tensor, b: &Tensor, op: CmpOp) -> Result<Tensor> {
    Ok(Tensor::constant(elementwise::cmp(&a.value, &b.value, op)?))
}
