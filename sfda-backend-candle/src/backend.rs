//! [`CandleLocal`]: the [`Backend`] trait on candle-core (what
//! [`CandleBackend`](crate::CandleBackend) runs, through [`crate::route`]).
//!
//! Every op computes on untracked candle tensors ([`crate::ops`]) and
//! records its backward rule on sfda's tape ([`crate::rules`],
//! [`crate::tape`]).

use candle_core::{DType, Device};
use sfda_core::{Backend, CmpOp, Conv2dOpts, ConvTranspose2dOpts, DeviceSpec, Error, Result};

use crate::device;
use crate::error::CandleResultExt;
use crate::ops::broadcast::Arith;
use crate::rules::{elementwise, layout, nn, reduce};
use crate::tape::{Tensor, Var};

/// This crate's implementation of the ops, reached through
/// [`CandleBackend`]'s op table (see [`crate::route`]).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct CandleLocal;

impl Backend for CandleLocal {
    type Device = Device;
    type Tensor = Tensor;
    type Var = Var;

    const NAME: &'static str = crate::error::BACKEND;

    fn version() -> String {
        device::version()
    }
    fn available_devices() -> Vec<DeviceSpec> {
        device::available()
    }
    fn device(spec: DeviceSpec) -> Result<Device> {
        device::open(spec)
    }
    fn device_spec(device: &Device) -> DeviceSpec {
        device::spec_of(device)
    }
    fn synchronize(device: &Device) -> Result<()> {
        device.synchronize().op("synchronize")
    }
    /// No-op: no op of this backend draws from candle's generator (random
    /// tensors come from sfda's seeded host generator).
    fn manual_seed(_seed: u64) {}

    // ---- creation and host transfer ----

    fn from_f32(data: &[f32], shape: &[usize], device: &Device) -> Result<Tensor> {
        let n: usize = shape.iter().product();
        if n != data.len() {
            return Err(Error::shape(
                "from_f32",
                format!("{} values for shape {shape:?}", data.len()),
            ));
        }
        let v = candle_core::Tensor::from_slice(data, shape, device).op("from_f32")?;
        Ok(Tensor::constant(v))
    }
    fn to_f32(t: &Tensor) -> Result<Vec<f32>> {
        let op = "to_f32";
        let t = t.value.to_dtype(DType::F32).op(op)?;
        if t.rank() == 0 {
            return Ok(vec![t.to_scalar::<f32>().op(op)?]);
        }
        t.flatten_all().op(op)?.to_vec1::<f32>().op(op)
    }
    fn shape(t: &Tensor) -> Vec<usize> {
        t.value.dims().to_vec()
    }
    fn device_of(t: &Tensor) -> Device {
        t.value.device().clone()
    }
    fn to_device(t: &Tensor, device: &Device) -> Result<Tensor> {
        layout::to_device(t, device)
    }
    fn full(value: f32, shape: &[usize], device: &Device) -> Result<Tensor> {
        let v = candle_core::Tensor::full(value, shape, device).op("full")?;
        Ok(Tensor::constant(v))
    }

    // ---- element-wise ----

    fn add(a: &Tensor, b: &Tensor) -> Result<Tensor> {
        elementwise::arith(a, b, Arith::Add)
    }
    fn sub(a: &Tensor, b: &Tensor) -> Result<Tensor> {
        elementwise::arith(a, b, Arith::Sub)
    }
    fn mul(a: &Tensor, b: &Tensor) -> Result<Tensor> {
        elementwise::arith(a, b, Arith::Mul)
    }
    fn div(a: &Tensor, b: &Tensor) -> Result<Tensor> {
        elementwise::arith(a, b, Arith::Div)
    }
    fn maximum(a: &Tensor, b: &Tensor) -> Result<Tensor> {
        // Ties split the gradient in half, as in PyTorch.
        elementwise::extremum(a, b, true)
    }
    fn minimum(a: &Tensor, b: &Tensor) -> Result<Tensor> {
        elementwise::extremum(a, b, false)
    }
    fn affine(t: &Tensor, mul: f64, add: f64) -> Result<Tensor> {
        elementwise::affine(t, mul, add)
    }
    fn powf(t: &Tensor, e: f64) -> Result<Tensor> {
        elementwise::powf(t, e)
    }
    fn exp(t: &Tensor) -> Result<Tensor> {
        elementwise::exp(t)
    }
    fn log(t: &Tensor) -> Result<Tensor> {
        elementwise::log(t)
    }
    fn abs(t: &Tensor) -> Result<Tensor> {
        elementwise::abs(t)
    }
    fn sqrt(t: &Tensor) -> Result<Tensor> {
        elementwise::sqrt(t)
    }
    fn relu(t: &Tensor) -> Result<Tensor> {
        elementwise::leaky_relu(t, None)
    }
    fn tanh(t: &Tensor) -> Result<Tensor> {
        elementwise::tanh(t)
    }
    /// Backward `2·t·grad`.
    fn sqr(t: &Tensor) -> Result<Tensor> {
        elementwise::sqr(t)
    }
    /// Overflow-free sigmoid (see [`crate::ops::elementwise::sigmoid`]).
    fn sigmoid(t: &Tensor) -> Result<Tensor> {
        elementwise::sigmoid(t)
    }
    /// `where(t > 0, t, slope·t)`: PyTorch's value and gradient, also at 0.
    fn leaky_relu(t: &Tensor, slope: f64) -> Result<Tensor> {
        elementwise::leaky_relu(t, Some(slope))
    }
    fn cmp(a: &Tensor, b: &Tensor, op: CmpOp) -> Result<Tensor> {
        elementwise::cmp(a, b, op)
    }

    // ---- reductions ----

    fn sum_dims(t: &Tensor, dims: &[usize], keepdim: bool) -> Result<Tensor> {
        reduce::sum_dims(t, dims, keepdim)
    }
    fn max_dim(t: &Tensor, dim: usize, keepdim: bool) -> Result<Tensor> {
        reduce::max_dim(t, dim, keepdim)
    }
    fn argmax_dim(t: &Tensor, dim: usize, keepdim: bool) -> Result<Tensor> {
        reduce::argmax_dim(t, dim, keepdim)
    }
    fn argsort(t: &Tensor, dim: usize, descending: bool) -> Result<Tensor> {
        reduce::argsort(t, dim, descending)
    }
    /// The fused kernel on the CPU; elsewhere the default formula, shifted
    /// by candle's native (detached) max.
    fn softmax(t: &Tensor, dim: usize) -> Result<Tensor> {
        reduce::softmax(t, dim, false)
    }
    /// The fused kernel on the CPU; elsewhere the default formula, shifted
    /// by candle's native (detached) max.
    fn log_softmax(t: &Tensor, dim: usize) -> Result<Tensor> {
        reduce::softmax(t, dim, true)
    }

    // ---- linear algebra and layout ----

    fn matmul(a: &Tensor, b: &Tensor) -> Result<Tensor> {
        layout::matmul(a, b)
    }
    fn reshape(t: &Tensor, shape: &[usize]) -> Result<Tensor> {
        layout::reshape(t, shape)
    }
    fn permute(t: &Tensor, dims: &[usize]) -> Result<Tensor> {
        layout::permute(t, dims)
    }
    fn narrow(t: &Tensor, dim: usize, start: usize, len: usize) -> Result<Tensor> {
        layout::narrow(t, dim, start, len)
    }
    fn cat(ts: &[Tensor], dim: usize) -> Result<Tensor> {
        layout::cat(ts, dim)
    }
    fn broadcast_to(t: &Tensor, shape: &[usize]) -> Result<Tensor> {
        layout::broadcast_to(t, shape)
    }
    fn index_select(t: &Tensor, dim: usize, indices: &[usize]) -> Result<Tensor> {
        layout::index_select(t, dim, indices)
    }
    /// Cut from the graph. A variable's tensor is copied (other tensors share
    /// their immutable storage), so a detached snapshot of a weight does not
    /// change when [`Backend::var_set`] later overwrites the variable.
    fn detach(t: &Tensor) -> Result<Tensor> {
        layout::detach(t)
    }

    // ---- neural-network ops ----

    fn conv2d(x: &Tensor, w: &Tensor, bias: Option<&Tensor>, opts: Conv2dOpts) -> Result<Tensor> {
        nn::conv2d(x, w, bias, opts)
    }
    fn batch_norm_train(
        x: &Tensor,
        gamma: &Tensor,
        beta: &Tensor,
        eps: f64,
    ) -> Result<(Tensor, Tensor, Tensor)> {
        match nn::batch_norm_train(x, gamma, beta, eps)? {
            Some(out) => Ok(out),
            None => {
                sfda_core::tensor::backend::batch_norm_train_composed::<Self>(x, gamma, beta, eps)
            }
        }
    }
    /// One fused op on the CPU; the composition elsewhere.
    fn batch_norm_eval(
        x: &Tensor,
        gamma: &Tensor,
        beta: &Tensor,
        mean: &Tensor,
        var: &Tensor,
        eps: f64,
    ) -> Result<Tensor> {
        match nn::batch_norm_eval(x, gamma, beta, mean, var, eps)? {
            Some(y) => Ok(y),
            None => sfda_core::tensor::backend::batch_norm_eval_composed::<Self>(
                x, gamma, beta, mean, var, eps,
            ),
        }
    }
    /// One fused op on the CPU; the composition elsewhere.
    fn channel_moments(x: &Tensor) -> Result<(Tensor, Tensor)> {
        match nn::channel_moments(x)? {
            Some(out) => Ok(out),
            None => sfda_core::tensor::backend::channel_moments_composed::<Self>(x),
        }
    }
    fn conv_transpose2d(
        x: &Tensor,
        w: &Tensor,
        bias: Option<&Tensor>,
        opts: ConvTranspose2dOpts,
    ) -> Result<Tensor> {
        nn::conv_transpose2d(x, w, bias, opts)
    }
    fn max_pool2d(x: &Tensor, kernel: usize, stride: usize, padding: usize) -> Result<Tensor> {
        nn::max_pool2d(x, kernel, stride, padding)
    }
    fn upsample_nearest2d(x: &Tensor, size: (usize, usize)) -> Result<Tensor> {
        nn::upsample_nearest2d(x, size)
    }

    // ---- autodiff ----

    fn var_new(t: &Tensor) -> Result<Var> {
        Var::new(&t.value).op("var_new")
    }
    fn var_tensor(v: &Var) -> Tensor {
        v.tensor()
    }
    fn var_set(v: &Var, t: &Tensor) -> Result<()> {
        let op = "var_set";
        if v.var.dims() != t.value.dims() {
            return Err(Error::shape(
                op,
                format!(
                    "variable is {:?}, new value is {:?}",
                    v.var.dims(),
                    t.value.dims()
                ),
            ));
        }
        let src = t.value.to_device(v.var.device()).op(op)?.detach();
        match v.var.set(&src) {
            Ok(()) => Ok(()),
            // candle refuses a source that shares the variable's storage
            // (e.g. a view of its own tensor): copy it first.
            Err(_) => v.var.set(&src.copy().op(op)?).op(op),
        }
    }
    fn grad(loss: &Tensor, vars: &[&Var]) -> Result<Vec<Option<Tensor>>> {
        let grads = crate::tape::backward::grad(loss, vars)?;
        Ok(grads.into_iter().map(|g| g.map(Tensor::constant)).collect())
    }
}
