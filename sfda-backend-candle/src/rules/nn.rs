//! The networks' ops: convolutions, BatchNorm, pooling and resizing, each
//! with its fused CPU kernel's analytic backward, or candle's autodiff on a
//! recomputation where the kernel does not apply.

use candle_core::{CustomOp2, Tensor as Value};
use sfda_core::{Conv2dOpts, ConvTranspose2dOpts, Result};

use super::elementwise::arith;
use super::layout::reshape;
use crate::error::CandleResultExt;
use crate::ops::broadcast::Arith;
use crate::ops::{batch_norm, batch_norm_eval, conv, pool, resize};
use crate::tape::record::{record, record1, record_through_candle1, rule1};
use crate::tape::{BackwardFn, Tensor};

/// The backward rule of a fused two-operand op `(x, w) → y` whose candle
/// `bwd` skips the operands the tape does not need.
fn rule_op2<C: CustomOp2 + Send + Sync + 'static>(
    gemm: C,
    x: Value,
    w: Value,
    op: &'static str,
) -> BackwardFn {
    rule1(move |g, needs| {
        let needed = [(&x, needs[0]), (&w, needs[1])];
        // The convolutions' `bwd` never reads the output: `x` stands in.
        let (dx, dw) = crate::wanted::with_needed(&needed, || gemm.bwd(&x, &w, &x, g)).op(op)?;
        Ok(vec![dx, dw])
    })
}

/// Adds `bias [C]` over `[B, C, H, W]` on the tape.
fn add_bias(y: Tensor, bias: Option<&Tensor>, op: &'static str) -> Result<Tensor> {
    let Some(b) = bias else { return Ok(y) };
    let c = y.value.dim(1).op(op)?;
    conv::check_bias(b.value.dims(), c, op)?;
    arith(&y, &reshape(b, &[1, c, 1, 1])?, Arith::Add)
}

/// Records a convolution `(x, w) → y` that ran as `y`, by the fused kernel
/// `gemm` (whose analytic backward becomes the rule) or without one (then
/// candle's autodiff on `recompute`), and adds the bias.
fn record_conv<C: CustomOp2 + Send + Sync + 'static>(
    (x, w, bias): (&Tensor, &Tensor, Option<&Tensor>),
    (y, gemm): (Value, Option<C>),
    op: &'static str,
    recompute: impl Fn(&Value, &Value) -> Result<Value> + Send + Sync + 'static,
) -> Result<Tensor> {
    let y = match gemm {
        Some(gemm) => {
            let (xv, wv) = (x.value.contiguous().op(op)?, w.value.contiguous().op(op)?);
            record1(&[x, w], y, move || rule_op2(gemm, xv, wv, op))
        }
        None => record_through_candle1(&[x, w], y, op, move |v| recompute(&v[0], &v[1])),
    };
    add_bias(y, bias, op)
}

/// PyTorch's `conv2d`.
pub(crate) fn conv2d(
    x: &Tensor,
    w: &Tensor,
    bias: Option<&Tensor>,
    o: Conv2dOpts,
) -> Result<Tensor> {
    let ran = conv::conv2d(&x.value, &w.value, o)?;
    record_conv((x, w, bias), ran, "conv2d", move |x, w| {
        Ok(conv::conv2d(x, w, o)?.0)
    })
}

/// PyTorch's `conv_transpose2d` (weight `[Cin, Cout, kh, kw]`).
pub(crate) fn conv_transpose2d(
    x: &Tensor,
    w: &Tensor,
    bias: Option<&Tensor>,
    o: ConvTranspose2dOpts,
) -> Result<Tensor> {
    let ran = conv::conv_transpose2d(&x.value, &w.value, o)?;
    record_conv((x, w, bias), ran, "conv_transpose2d", move |x, w| {
        Ok(conv::conv_transpose2d(x, w, o)?.0)
    })
}

/// Training-mode BatchNorm: `(y, batch mean, biased batch variance)`, the
/// statistics detached. `None` where the fused kernel does not apply (the
/// caller composes it).
pub(crate) fn batch_norm_train(
    x: &Tensor,
    gamma: &Tensor,
    beta: &Tensor,
    eps: f64,
) -> Result<Option<(Tensor, Tensor, Tensor)>> {
    let op = "batch_norm_train";
    let Some(bn) =
        batch_norm::batch_norm_train_cpu(&x.value, &gamma.value, &beta.value, eps).op(op)?
    else {
        return Ok(None);
    };
    let (mean, var) = (
        Tensor::constant(bn.mean.clone()),
        Tensor::constant(bn.var.clone()),
    );
    let y = bn.y.clone();
    let y = record1(&[x, gamma, beta], y, move || {
        rule1(move |g, needs| {
            let (dx, dgamma, dbeta) = bn.grad(g, needs[0], needs[1] || needs[2]).op(op)?;
            Ok(vec![dx, dgamma, dbeta])
        })
    });
    Ok(Some((y, mean, var)))
}

/// Eval-mode BatchNorm with running statistics (not differentiated). `None`
/// where the fused kernel does not apply.
pub(crate) fn batch_norm_eval(
    x: &Tensor,
    gamma: &Tensor,
    beta: &Tensor,
    mean: &Tensor,
    var: &Tensor,
    eps: f64,
) -> Result<Option<Tensor>> {
    let op = "batch_norm_eval";
    let ran = batch_norm_eval::batch_norm_eval_cpu(
        &x.value,
        &gamma.value,
        &beta.value,
        &mean.value,
        &var.value,
        eps,
    );
    let Some(bn) = ran.op(op)? else {
        return Ok(None);
    };
    let y = bn.y.clone();
    Ok(Some(record1(&[x, gamma, beta], y, move || {
        rule1(move |g, needs| {
            let (dx, dgamma, dbeta) = bn.grad(g, [needs[0], needs[1], needs[2]]).op(op)?;
            Ok(vec![dx, dgamma, dbeta])
        })
    })))
}

/// Differentiable per-channel `(mean, biased variance)`, each `[1, C, 1, 1]`.
/// `None` where the fused kernel does not apply.
pub(crate) fn channel_moments(x: &Tensor) -> Result<Option<(Tensor, Tensor)>> {
    let op = "channel_moments";
    let Some((xc, stats)) = batch_norm_eval::channel_moments_cpu(&x.value).op(op)? else {
        return Ok(None);
    };
    let c = stats.dim(1).op(op)?;
    let mean = stats.get(0).op(op)?.reshape((1, c, 1, 1)).op(op)?;
    let var = stats.get(1).op(op)?.reshape((1, c, 1, 1)).op(op)?;
    let mut out = record(&[x], vec![mean, var], move || {
        Box::new(move |grads: &[Option<Value>], _needs: &[bool]| {
            let row = |g: &Option<Value>| match g {
                Some(g) => g.reshape(c).op(op),
                None => Value::zeros(c, stats.dtype(), stats.device()).op(op),
            };
            let dstats = Value::stack(&[row(&grads[0])?, row(&grads[1])?], 0).op(op)?;
            let dx = batch_norm_eval::channel_moments_grad(&xc, &stats, &dstats).op(op)?;
            Ok(vec![dx])
        })
    });
    let var = out.pop().expect("two outputs recorded");
    let mean = out.pop().expect("two outputs recorded");
    Ok(Some((mean, var)))
}

/// Max pooling (the gradient goes to each window's first maximum).
pub(crate) fn max_pool2d(
    x: &Tensor,
    kernel: usize,
    stride: usize,
    padding: usize,
) -> Result<Tensor> {
    let op = "max_pool2d";
    let (y, fused) = pool::max_pool2d(&x.value, kernel, stride, padding)?;
    match fused {
        Some(f) => {
            let xv = x.value.contiguous().op(op)?;
            Ok(super::unary(x, y, move |g| f.grad(&xv, g).op(op)))
        }
        None => Ok(record_through_candle1(&[x], y, op, move |v| {
            Ok(pool::max_pool2d(&v[0], kernel, stride, padding)?.0)
        })),
    }
}

/// Nearest-neighbour resize with PyTorch's index rule.
pub(crate) fn upsample_nearest2d(x: &Tensor, size: (usize, usize)) -> Result<Tensor> {
    let op = "upsample_nearest2d";
    let (y, fused) = resize::upsample_nearest2d(&x.value, size)?;
    match fused {
        Some(f) => {
            let xv = x.value.clone();
            Ok(super::unary(x, y, move |g| f.grad(&xv, g).op(op)))
        }
        None => Ok(record_through_candle1(&[x], y, op, move |v| {
            Ok(resize::upsample_nearest2d(&v[0], size)?.0)
        })),
    }
}
