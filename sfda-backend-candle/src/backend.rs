//! [`CandleLocal`]: the [`Backend`] trait on candle-core (what
//! [`CandleBackend`](crate::CandleBackend) runs, through [`crate::route`]).
//!
//! Most ops are one candle call with the error mapped; the ones where candle
//! differs from PyTorch (value or gradient) live in [`crate::ops`].

use candle_core::{DType, Device, Tensor, Var};
use sfda_core::{Backend, CmpOp, Conv2dOpts, ConvTranspose2dOpts, DeviceSpec, Error, Result};

use crate::device;
use crate::error::{no_panic, CandleResultExt};
use crate::ops::{
    batch_norm, batch_norm_eval, broadcast, conv, elementwise, layout, pool, reduce, resize,
};

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
        Tensor::from_slice(data, shape, device).op("from_f32")
    }
    fn to_f32(t: &Tensor) -> Result<Vec<f32>> {
        let op = "to_f32";
        let t = t.to_dtype(DType::F32).op(op)?;
        if t.rank() == 0 {
            return Ok(vec![t.to_scalar::<f32>().op(op)?]);
        }
        t.flatten_all().op(op)?.to_vec1::<f32>().op(op)
    }
    fn shape(t: &Tensor) -> Vec<usize> {
        t.dims().to_vec()
    }
    fn device_of(t: &Tensor) -> Device {
        t.device().clone()
    }
    fn to_device(t: &Tensor, device: &Device) -> Result<Tensor> {
        t.to_device(device).op("to_device")
    }
    fn full(value: f32, shape: &[usize], device: &Device) -> Result<Tensor> {
        Tensor::full(value, shape, device).op("full")
    }

    // ---- element-wise ----

    fn add(a: &Tensor, b: &Tensor) -> Result<Tensor> {
        broadcast::arith(a, b, broadcast::Arith::Add)
    }
    fn sub(a: &Tensor, b: &Tensor) -> Result<Tensor> {
        broadcast::arith(a, b, broadcast::Arith::Sub)
    }
    fn mul(a: &Tensor, b: &Tensor) -> Result<Tensor> {
        broadcast::arith(a, b, broadcast::Arith::Mul)
    }
    fn div(a: &Tensor, b: &Tensor) -> Result<Tensor> {
        broadcast::arith(a, b, broadcast::Arith::Div)
    }
    fn maximum(a: &Tensor, b: &Tensor) -> Result<Tensor> {
        // Ties split the gradient in half, as in PyTorch.
        broadcast::binary(a, b, "maximum", |a, b| a.maximum(b))
    }
    fn minimum(a: &Tensor, b: &Tensor) -> Result<Tensor> {
        broadcast::binary(a, b, "minimum", |a, b| a.minimum(b))
    }
    fn affine(t: &Tensor, mul: f64, add: f64) -> Result<Tensor> {
        elementwise::affine(t, mul, add)
    }
    fn powf(t: &Tensor, e: f64) -> Result<Tensor> {
        elementwise::powf(t, e)
    }
    fn exp(t: &Tensor) -> Result<Tensor> {
        t.exp().op("exp")
    }
    fn log(t: &Tensor) -> Result<Tensor> {
        t.log().op("log")
    }
    fn abs(t: &Tensor) -> Result<Tensor> {
        elementwise::abs(t)
    }
    fn sqrt(t: &Tensor) -> Result<Tensor> {
        t.sqrt().op("sqrt")
    }
    fn relu(t: &Tensor) -> Result<Tensor> {
        elementwise::relu(t)
    }
    fn tanh(t: &Tensor) -> Result<Tensor> {
        t.tanh().op("tanh")
    }
    /// candle's native square (backward `2·t·grad`, exact).
    fn sqr(t: &Tensor) -> Result<Tensor> {
        t.sqr().op("sqr")
    }
    /// Overflow-free sigmoid (see [`elementwise::sigmoid`]).
    fn sigmoid(t: &Tensor) -> Result<Tensor> {
        elementwise::sigmoid(t)
    }
    /// `where(t > 0, t, slope·t)`: PyTorch's value and gradient, also at 0.
    fn leaky_relu(t: &Tensor, slope: f64) -> Result<Tensor> {
        elementwise::leaky_relu(t, slope)
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
    /// The default formula, shifted by candle's native (detached) max.
    fn softmax(t: &Tensor, dim: usize) -> Result<Tensor> {
        reduce::softmax(t, dim)
    }
    /// The default formula, shifted by candle's native (detached) max.
    fn log_softmax(t: &Tensor, dim: usize) -> Result<Tensor> {
        reduce::log_softmax(t, dim)
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
        if t.is_variable() {
            return Ok(t.copy().op("detach")?.detach());
        }
        Ok(t.detach())
    }

    // ---- neural-network ops ----

    fn conv2d(x: &Tensor, w: &Tensor, bias: Option<&Tensor>, opts: Conv2dOpts) -> Result<Tensor> {
        conv::conv2d(x, w, bias, opts)
    }
    fn batch_norm_train(
        x: &Tensor,
        gamma: &Tensor,
        beta: &Tensor,
        eps: f64,
    ) -> Result<(Tensor, Tensor, Tensor)> {
        match batch_norm::batch_norm_train_cpu(x, gamma, beta, eps).op("batch_norm_train")? {
            Some(out) => Ok(out),
            None => {
                sfda_core::tensor::backend::batch_norm_train_composed::<Self>(x, gamma, beta, eps)
            }
        }
    }
    /// One fused op on the CPU ([`batch_norm_eval`]); the composition
    /// elsewhere.
    fn batch_norm_eval(
        x: &Tensor,
        gamma: &Tensor,
        beta: &Tensor,
        mean: &Tensor,
        var: &Tensor,
        eps: f64,
    ) -> Result<Tensor> {
        let op = "batch_norm_eval";
        match batch_norm_eval::batch_norm_eval_cpu(x, gamma, beta, mean, var, eps).op(op)? {
            Some(y) => Ok(y),
            None => sfda_core::tensor::backend::batch_norm_eval_composed::<Self>(
                x, gamma, beta, mean, var, eps,
            ),
        }
    }
    /// One fused op on the CPU ([`batch_norm_eval`]); the composition
    /// elsewhere.
    fn channel_moments(x: &Tensor) -> Result<(Tensor, Tensor)> {
        match batch_norm_eval::channel_moments_cpu(x).op("channel_moments")? {
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
        conv::conv_transpose2d(x, w, bias, opts)
    }
    fn max_pool2d(x: &Tensor, kernel: usize, stride: usize, padding: usize) -> Result<Tensor> {
        pool::max_pool2d(x, kernel, stride, padding)
    }
    fn upsample_nearest2d(x: &Tensor, size: (usize, usize)) -> Result<Tensor> {
        resize::upsample_nearest2d(x, size)
    }

    // ---- autodiff ----

    fn var_new(t: &Tensor) -> Result<Var> {
        // `detach` never returns a variable, so `from_tensor` always copies.
        Var::from_tensor(&t.detach()).op("var_new")
    }
    fn var_tensor(v: &Var) -> Tensor {
        v.as_tensor().clone()
    }
    fn var_set(v: &Var, t: &Tensor) -> Result<()> {
        let op = "var_set";
        if v.dims() != t.dims() {
            return Err(Error::shape(
                op,
                format!("variable is {:?}, new value is {:?}", v.dims(), t.dims()),
            ));
        }
        let src = t.to_device(v.device()).op(op)?.detach();
        match v.set(&src) {
            Ok(()) => Ok(()),
            // candle refuses a source that shares the variable's storage
            // (e.g. a view of its own tensor): copy it first.
            Err(_) => v.set(&src.copy().op(op)?).op(op),
        }
    }
    fn grad(loss: &Tensor, vars: &[&Var]) -> Result<Vec<Option<Tensor>>> {
        let wanted: Vec<&Tensor> = vars.iter().map(|v| v.as_tensor()).collect();
        let store = no_panic("grad", || {
            crate::wanted::with_wanted(&wanted, || loss.backward().op("grad"))
        })?;
        Ok(vars
            .iter()
            .map(|v| store.get(v.as_tensor()).map(Tensor::detach))
            .collect())
    }
}
