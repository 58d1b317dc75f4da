//! `impl Backend for TchBackend`: every primitive on a native libtorch op,
//! and native overrides of the composite ops libtorch has a kernel for.

use sfda_core::{Backend, CmpOp, Conv2dOpts, ConvTranspose2dOpts, DeviceSpec, Error, Result};
use tch::{Device, Kind, Tensor};

use crate::error::TchResultExt;
use crate::handle::{TchTensor, TchVar};
use crate::{autodiff, device, layout, TchBackend, BACKEND_NAME};

/// `usize` sizes as libtorch's `i64` sizes.
fn i64s(xs: &[usize]) -> Vec<i64> {
    xs.iter().map(|&x| x as i64).collect()
}

/// Wraps a tch result as a backend tensor.
fn wrap(r: std::result::Result<Tensor, tch::TchError>, op: &'static str) -> Result<TchTensor> {
    r.op(op).map(TchTensor)
}

/// Integer results (argmax, argsort, comparisons) as `f32`, per the trait.
fn as_f32(t: Tensor, op: &'static str) -> Result<TchTensor> {
    wrap(t.f_to_kind(Kind::Float), op)
}

/// Largest input plane (`H·W`) that [`Backend::upsample_bilinear2d`] resizes
/// by two GEMMs instead of libtorch's kernel on the CPU. Forward + backward,
/// one thread, ×8 upsampling of 19 channels (`docs/performance.md`): 16×32
/// 2.0× faster, 32×64 1.8×, 64×128 1.05×, 128×256 0.74× (slower); the
/// bound sits at the last size measured clearly faster.
pub const BILINEAR_BY_MATMUL_MAX_PIXELS: usize = 32 * 64;

impl Backend for TchBackend {
    type Device = Device;
    type Tensor = TchTensor;
    type Var = TchVar;

    const NAME: &'static str = BACKEND_NAME;

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
        device::synchronize(device)
    }
    fn manual_seed(seed: u64) {
        // Wraps into i64; torch reinterprets it as the same 64 bits.
        tch::manual_seed(seed as i64);
    }
    fn set_cpu_threads(n: usize) {
        tch::set_num_threads(n.clamp(1, i32::MAX as usize) as i32);
    }
    fn cpu_threads() -> Option<usize> {
        usize::try_from(tch::get_num_threads()).ok()
    }

    // ---- creation and host transfer ----

    fn from_f32(data: &[f32], shape: &[usize], device: &Device) -> Result<TchTensor> {
        let n: usize = shape.iter().product();
        if n != data.len() {
            return Err(Error::shape(
                "from_f32",
                format!("{} values for shape {shape:?} ({n} elements)", data.len()),
            ));
        }
        let host = Tensor::f_from_slice(data)
            .and_then(|t| t.f_reshape(i64s(shape)))
            .op("from_f32")?;
        wrap(host.f_to(*device), "from_f32")
    }
    fn to_f32(t: &TchTensor) -> Result<Vec<f32>> {
        let host =
            t.0.f_detach()
                .and_then(|x| x.f_to(Device::Cpu))
                .and_then(|x| x.f_to_kind(Kind::Float))
                .and_then(|x| x.f_contiguous())
                .op("to_f32")?;
        let n = host.numel();
        let mut out = vec![0f32; n];
        host.f_copy_data(&mut out, n).op("to_f32")?;
        Ok(out)
    }
    fn shape(t: &TchTensor) -> Vec<usize> {
        t.0.size().into_iter().map(|d| d as usize).collect()
    }
    fn device_of(t: &TchTensor) -> Device {
        t.0.device()
    }
    fn to_device(t: &TchTensor, device: &Device) -> Result<TchTensor> {
        wrap(t.0.f_to(*device), "to_device")
    }
    fn full(value: f32, shape: &[usize], device: &Device) -> Result<TchTensor> {
        wrap(
            Tensor::f_full(i64s(shape), f64::from(value), (Kind::Float, *device)),
            "full",
        )
    }

    // ---- element-wise ----

    fn add(a: &TchTensor, b: &TchTensor) -> Result<TchTensor> {
        wrap(a.0.f_add(&b.0), "add")
    }
    fn sub(a: &TchTensor, b: &TchTensor) -> Result<TchTensor> {
        wrap(a.0.f_sub(&b.0), "sub")
    }
    fn mul(a: &TchTensor, b: &TchTensor) -> Result<TchTensor> {
        wrap(a.0.f_mul(&b.0), "mul")
    }
    fn div(a: &TchTensor, b: &TchTensor) -> Result<TchTensor> {
        wrap(a.0.f_div(&b.0), "div")
    }
    fn maximum(a: &TchTensor, b: &TchTensor) -> Result<TchTensor> {
        wrap(a.0.f_maximum(&b.0), "maximum")
    }
    fn minimum(a: &TchTensor, b: &TchTensor) -> Result<TchTensor> {
        wrap(a.0.f_minimum(&b.0), "minimum")
    }
    fn affine(t: &TchTensor, mul: f64, add: f64) -> Result<TchTensor> {
        wrap(
            t.0.f_mul_scalar(mul).and_then(|x| x.f_add_scalar(add)),
            "affine",
        )
    }
    fn powf(t: &TchTensor, e: f64) -> Result<TchTensor> {
        wrap(t.0.f_pow_tensor_scalar(e), "powf")
    }
    fn exp(t: &TchTensor) -> Result<TchTensor> {
        wrap(t.0.f_exp(), "exp")
    }
    fn log(t: &TchTensor) -> Result<TchTensor> {
        wrap(t.0.f_log(), "log")
    }
    fn abs(t: &TchTensor) -> Result<TchTensor> {
        wrap(t.0.f_abs(), "abs")
    }
    fn sqrt(t: &TchTensor) -> Result<TchTensor> {
        wrap(t.0.f_sqrt(), "sqrt")
    }
    fn relu(t: &TchTensor) -> Result<TchTensor> {
        wrap(t.0.f_relu(), "relu")
    }
    fn tanh(t: &TchTensor) -> Result<TchTensor> {
        wrap(t.0.f_tanh(), "tanh")
    }
    fn sqr(t: &TchTensor) -> Result<TchTensor> {
        wrap(t.0.f_square(), "sqr")
    }
    fn sigmoid(t: &TchTensor) -> Result<TchTensor> {
        wrap(t.0.f_sigmoid(), "sigmoid")
    }
    // leaky_relu keeps the default: tch's `leaky_relu` has a fixed slope of 0.01.
    fn leaky_relu(t: &TchTensor, slope: f64) -> Result<TchTensor> {
        // libtorch's `leaky_relu` binding takes no slope; PReLU with one
        // constant weight is the same function as one native op.
        let w = Tensor::f_from_slice(&[slope as f32])
            .and_then(|w| w.f_to(t.0.device()))
            .op("leaky_relu")?;
        wrap(t.0.f_prelu(&w), "leaky_relu")
    }
    fn cmp(a: &TchTensor, b: &TchTensor, op: CmpOp) -> Result<TchTensor> {
        let mask = match op {
            CmpOp::Eq => a.0.f_eq_tensor(&b.0),
            CmpOp::Gt => a.0.f_gt_tensor(&b.0),
            CmpOp::Ge => a.0.f_ge_tensor(&b.0),
            CmpOp::Lt => a.0.f_lt_tensor(&b.0),
        }
        .op("cmp")?;
        as_f32(mask, "cmp")
    }

    // ---- reductions ----

    fn sum_dims(t: &TchTensor, dims: &[usize], keepdim: bool) -> Result<TchTensor> {
        // libtorch reads an empty dim list as "all dims"; the trait means none.
        if dims.is_empty() {
            return Ok(t.clone());
        }
        wrap(
            t.0.f_sum_dim_intlist(i64s(dims), keepdim, Kind::Float),
            "sum_dims",
        )
    }
    fn mean_dims(t: &TchTensor, dims: &[usize], keepdim: bool) -> Result<TchTensor> {
        if dims.is_empty() {
            return Ok(t.clone());
        }
        wrap(
            t.0.f_mean_dim(i64s(dims), keepdim, Kind::Float),
            "mean_dims",
        )
    }
    fn max_dim(t: &TchTensor, dim: usize, keepdim: bool) -> Result<TchTensor> {
        let (values, _) = t.0.f_max_dim(dim as i64, keepdim).op("max_dim")?;
        Ok(TchTensor(values))
    }
    fn argmax_dim(t: &TchTensor, dim: usize, keepdim: bool) -> Result<TchTensor> {
        let idx = t.0.f_argmax(dim as i64, keepdim).op("argmax_dim")?;
        as_f32(idx, "argmax_dim")
    }
    fn argsort(t: &TchTensor, dim: usize, descending: bool) -> Result<TchTensor> {
        // Stable: equal values keep their index order in both directions.
        let idx =
            t.0.f_argsort_stable(true, dim as i64, descending)
                .op("argsort")?;
        as_f32(idx, "argsort")
    }
    fn softmax(t: &TchTensor, dim: usize) -> Result<TchTensor> {
        wrap(t.0.f_softmax(dim as i64, Kind::Float), "softmax")
    }
    fn log_softmax(t: &TchTensor, dim: usize) -> Result<TchTensor> {
        wrap(t.0.f_log_softmax(dim as i64, Kind::Float), "log_softmax")
    }

    // ---- linear algebra and layout ----

    fn matmul(a: &TchTensor, b: &TchTensor) -> Result<TchTensor> {
        wrap(a.0.f_matmul(&b.0), "matmul")
    }
    fn reshape(t: &TchTensor, shape: &[usize]) -> Result<TchTensor> {
        wrap(t.0.f_reshape(i64s(shape)), "reshape")
    }
    fn permute(t: &TchTensor, dims: &[usize]) -> Result<TchTensor> {
        wrap(t.0.f_permute(i64s(dims)), "permute")
    }
    fn narrow(t: &TchTensor, dim: usize, start: usize, len: usize) -> Result<TchTensor> {
        wrap(t.0.f_narrow(dim as i64, start as i64, len as i64), "narrow")
    }
    fn cat(ts: &[TchTensor], dim: usize) -> Result<TchTensor> {
        let parts: Vec<&Tensor> = ts.iter().map(|t| &t.0).collect();
        if dim == 1 && layout::keeps_channels_last(&parts) {
            return wrap(layout::cat_channels_last(&parts), "cat");
        }
        wrap(Tensor::f_cat(&parts, dim as i64), "cat")
    }
    fn broadcast_to(t: &TchTensor, shape: &[usize]) -> Result<TchTensor> {
        // A stride-0 view: every op reads it correctly and `to_f32` makes it
        // contiguous, so no copy is made here.
        wrap(t.0.f_broadcast_to(i64s(shape)), "broadcast_to")
    }
    fn index_select(t: &TchTensor, dim: usize, indices: &[usize]) -> Result<TchTensor> {
        // Checked on the host: an out-of-range index is a device-side assert
        // (a poisoned CUDA context) on the GPU.
        let size = Self::shape(t).get(dim).copied().unwrap_or(0);
        if let Some(bad) = indices.iter().find(|&&i| i >= size) {
            return Err(Error::shape(
                "index_select",
                format!("index {bad} out of range for dim {dim} of size {size}"),
            ));
        }
        let idx = Tensor::f_from_slice(&i64s(indices))
            .and_then(|i| i.f_to(t.0.device()))
            .op("index_select")?;
        wrap(t.0.f_index_select(dim as i64, &idx), "index_select")
    }
    fn detach(t: &TchTensor) -> Result<TchTensor> {
        wrap(autodiff::detach(&t.0), "detach")
    }

    // ---- neural-network ops ----

    fn conv2d(
        x: &TchTensor,
        w: &TchTensor,
        bias: Option<&TchTensor>,
        opts: Conv2dOpts,
    ) -> Result<TchTensor> {
        let (s, p, d) = (
            opts.stride as i64,
            opts.padding as i64,
            opts.dilation as i64,
        );
        wrap(
            x.0.f_conv2d(
                &w.0,
                bias.map(|b| &b.0),
                [s, s],
                [p, p],
                [d, d],
                opts.groups as i64,
            ),
            "conv2d",
        )
    }
    fn conv_transpose2d(
        x: &TchTensor,
        w: &TchTensor,
        bias: Option<&TchTensor>,
        opts: ConvTranspose2dOpts,
    ) -> Result<TchTensor> {
        let (s, p, op) = (
            opts.stride as i64,
            opts.padding as i64,
            opts.output_padding as i64,
        );
        wrap(
            x.0.f_conv_transpose2d(
                &w.0,
                bias.map(|b| &b.0),
                [s, s],
                [p, p],
                [op, op],
                1,
                [1, 1],
            ),
            "conv_transpose2d",
        )
    }
    fn max_pool2d(
        x: &TchTensor,
        kernel: usize,
        stride: usize,
        padding: usize,
    ) -> Result<TchTensor> {
        // libtorch pads max pooling with -inf, as the trait asks.
        let (k, s, p) = (kernel as i64, stride as i64, padding as i64);
        wrap(
            x.0.f_max_pool2d([k, k], [s, s], [p, p], [1, 1], false),
            "max_pool2d",
        )
    }
    fn batch_norm_train(
        x: &TchTensor,
        gamma: &TchTensor,
        beta: &TchTensor,
        eps: f64,
    ) -> Result<(TchTensor, TchTensor, TchTensor)> {
        // One native op in the graph (libtorch's fused kernel and its
        // backward); the statistics it saves for that backward are the
        // batch mean and 1/√(σ² + ε), from which σ² is recovered.
        let (y, mean, invstd) =
            x.0.f_internal_native_batch_norm_legit_no_stats(
                Some(&gamma.0),
                Some(&beta.0),
                true,
                0.0,
                eps,
            )
            .op("batch_norm_train")?;
        let _guard = tch::no_grad_guard();
        let var = invstd
            .f_pow_tensor_scalar(-2.0)
            .and_then(|v| v.f_sub_scalar(eps))
            .and_then(|v| v.f_clamp_min(0.0))
            .op("batch_norm_train")?;
        Ok((TchTensor(y), TchTensor(mean.detach()), TchTensor(var)))
    }
    fn batch_norm_train_moments(
        x: &TchTensor,
        gamma: &TchTensor,
        beta: &TchTensor,
        eps: f64,
    ) -> Result<(TchTensor, TchTensor, TchTensor)> {
        // The fused kernel for y (its statistics stay inside its backward)
        // and one differentiable moments pass for the statistics L_BNS reads.
        let (y, _, _) =
            x.0.f_internal_native_batch_norm_legit_no_stats(
                Some(&gamma.0),
                Some(&beta.0),
                true,
                0.0,
                eps,
            )
            .op("batch_norm_train_moments")?;
        let (mean, var) = Self::channel_moments(x)?;
        Ok((TchTensor(y), mean, var))
    }
    fn batch_norm_eval(
        x: &TchTensor,
        gamma: &TchTensor,
        beta: &TchTensor,
        mean: &TchTensor,
        var: &TchTensor,
        eps: f64,
    ) -> Result<TchTensor> {
        wrap(
            x.0.f_batch_norm(
                Some(&gamma.0),
                Some(&beta.0),
                Some(&mean.0),
                Some(&var.0),
                false,
                0.0,
                eps,
                true,
            ),
            "batch_norm_eval",
        )
    }
    fn channel_moments(x: &TchTensor) -> Result<(TchTensor, TchTensor)> {
        let (var, mean) =
            x.0.f_var_mean_correction(Some([0i64, 2, 3].as_slice()), 0i64, true)
                .op("channel_moments")?;
        Ok((TchTensor(mean), TchTensor(var)))
    }
    fn no_grad<R>(f: impl FnOnce() -> R) -> R {
        // The guard restores the previous mode however `f` returns.
        let _guard = tch::no_grad_guard();
        f()
    }
    fn upsample_nearest2d(x: &TchTensor, size: (usize, usize)) -> Result<TchTensor> {
        wrap(
            x.0.f_upsample_nearest2d(i64s(&[size.0, size.1]), None, None),
            "upsample_nearest2d",
        )
    }
    fn adaptive_avg_pool2d(x: &TchTensor, size: (usize, usize)) -> Result<TchTensor> {
        wrap(
            x.0.f_adaptive_avg_pool2d(i64s(&[size.0, size.1])),
            "adaptive_avg_pool2d",
        )
    }
    /// Native on CUDA and for large inputs; on the CPU, inputs of at most
    /// `BILINEAR_BY_MATMUL_MAX_PIXELS` per plane take the core's two-GEMM
    /// composition, whose backward is 2–3.5× faster than libtorch's
    /// (a scatter loop) at the sizes a segmentation head upsamples.
    fn upsample_bilinear2d(x: &TchTensor, size: (usize, usize)) -> Result<TchTensor> {
        let s = x.0.size();
        if x.0.device() == Device::Cpu
            && s.len() == 4
            && (s[2] * s[3]) as usize <= BILINEAR_BY_MATMUL_MAX_PIXELS
        {
            return sfda_core::tensor::backend::upsample_bilinear2d_by_matmul::<Self>(x, size);
        }
        wrap(
            x.0.f_upsample_bilinear2d(i64s(&[size.0, size.1]), false, None, None),
            "upsample_bilinear2d",
        )
    }

    // ---- autodiff ----

    fn var_new(t: &TchTensor) -> Result<TchVar> {
        autodiff::var_new(t)
    }
    fn var_tensor(v: &TchVar) -> TchTensor {
        TchTensor(v.0.shallow_clone())
    }
    fn var_set(v: &TchVar, t: &TchTensor) -> Result<()> {
        autodiff::var_set(v, t)
    }
    fn grad(loss: &TchTensor, vars: &[&TchVar]) -> Result<Vec<Option<TchTensor>>> {
        autodiff::grad(loss, vars)
    }
}
