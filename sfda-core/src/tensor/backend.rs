//! The backend trait: the exact set of tensor ops the SFDA losses, networks
//! and loops need, plus reverse-mode differentiation.
//!
//! Backends (tch, candle) implement the primitive ops; composite ops
//! (softmax, bilinear resize, adaptive pooling, ...) have default
//! implementations built from primitives, in the style of burn, and a
//! backend may override any of them with a faster native kernel. The
//! equivalence suite (`tests/backend_equivalence.rs`) checks every op and its
//! gradient across backends, so an override must agree with the default.
//!
//! Conventions: all tensors are `f32`, row-major; images and feature maps are
//! `[B, C, H, W]`; binary ops broadcast like NumPy; index results (argmax,
//! argsort) are returned as `f32` tensors holding integers (exact below 2²⁴).

use std::fmt::Debug;

use crate::device::DeviceSpec;
use crate::tensor::interp;
use crate::Result;

/// Options of a 2-D convolution (same value for both spatial axes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Conv2dOpts {
    /// Stride.
    pub stride: usize,
    /// Zero padding on each side.
    pub padding: usize,
    /// Dilation of the kernel.
    pub dilation: usize,
    /// Number of groups (1 = dense).
    pub groups: usize,
}

impl Default for Conv2dOpts {
    fn default() -> Self {
        Conv2dOpts {
            stride: 1,
            padding: 0,
            dilation: 1,
            groups: 1,
        }
    }
}

/// Options of a 2-D transposed convolution (same value for both axes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConvTranspose2dOpts {
    /// Stride.
    pub stride: usize,
    /// Padding removed from each side of the output.
    pub padding: usize,
    /// Extra rows/columns added to one side of the output.
    pub output_padding: usize,
}

impl Default for ConvTranspose2dOpts {
    fn default() -> Self {
        ConvTranspose2dOpts {
            stride: 1,
            padding: 0,
            output_padding: 0,
        }
    }
}

/// Element-wise comparison used by [`Backend::cmp`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    /// `a == b`
    Eq,
    /// `a > b`
    Gt,
    /// `a >= b`
    Ge,
    /// `a < b`
    Lt,
}

/// A tensor backend: primitive ops, default composite ops, autodiff.
///
/// Functions are associated (no `self`) so that the generic SFDA code is
/// instantiated once per backend and statically dispatched.
pub trait Backend: Copy + Clone + Debug + Default + Send + Sync + 'static {
    /// The backend's device handle.
    type Device: Clone + Debug + Send + Sync;
    /// The backend's tensor handle (cheap to clone: a reference count).
    type Tensor: Clone + Debug + Send;
    /// A trainable tensor: a leaf of the autodiff graph that can be updated in place.
    type Var: Clone + Debug + Send;

    /// Short name used on the command line (`tch`, `candle`).
    const NAME: &'static str;

    /// Version of the underlying library, e.g. `tch 0.24 / libtorch 2.11.0`.
    fn version() -> String;
    /// Devices this backend can use on this machine right now.
    fn available_devices() -> Vec<DeviceSpec>;
    /// Opens a device, or explains why it cannot be used.
    fn device(spec: DeviceSpec) -> Result<Self::Device>;
    /// The user-facing name of a device.
    fn device_spec(device: &Self::Device) -> DeviceSpec;
    /// Waits until all queued work on `device` has finished (for timing).
    fn synchronize(device: &Self::Device) -> Result<()>;
    /// Seeds the backend's own random generator (for ops that use it).
    fn manual_seed(seed: u64);
    /// Sets the number of threads the backend's CPU kernels use, where it
    /// can change at run time (the default ignores it). Called by
    /// [`crate::cpu_threads::tick`].
    fn set_cpu_threads(n: usize) {
        let _ = n;
    }
    /// The number of threads the backend's CPU kernels use, where it can
    /// change at run time (`None` by default: the count is fixed).
    fn cpu_threads() -> Option<usize> {
        None
    }

    // ---- creation and host transfer ----

    /// Tensor from row-major host data.
    fn from_f32(data: &[f32], shape: &[usize], device: &Self::Device) -> Result<Self::Tensor>;
    /// Row-major host copy of `t`.
    fn to_f32(t: &Self::Tensor) -> Result<Vec<f32>>;
    /// Shape of `t`.
    fn shape(t: &Self::Tensor) -> Vec<usize>;
    /// Device of `t`.
    fn device_of(t: &Self::Tensor) -> Self::Device;
    /// Moves `t` to `device` (differentiable).
    fn to_device(t: &Self::Tensor, device: &Self::Device) -> Result<Self::Tensor>;
    /// A tensor filled with `value`.
    fn full(value: f32, shape: &[usize], device: &Self::Device) -> Result<Self::Tensor> {
        let n = shape.iter().product::<usize>();
        Self::from_f32(&vec![value; n], shape, device)
    }

    // ---- element-wise ----

    /// `a + b` (broadcasting).
    fn add(a: &Self::Tensor, b: &Self::Tensor) -> Result<Self::Tensor>;
    /// `a - b` (broadcasting).
    fn sub(a: &Self::Tensor, b: &Self::Tensor) -> Result<Self::Tensor>;
    /// `a * b` (broadcasting).
    fn mul(a: &Self::Tensor, b: &Self::Tensor) -> Result<Self::Tensor>;
    /// `a / b` (broadcasting).
    fn div(a: &Self::Tensor, b: &Self::Tensor) -> Result<Self::Tensor>;
    /// Element-wise maximum (broadcasting).
    fn maximum(a: &Self::Tensor, b: &Self::Tensor) -> Result<Self::Tensor>;
    /// Element-wise minimum (broadcasting).
    fn minimum(a: &Self::Tensor, b: &Self::Tensor) -> Result<Self::Tensor>;
    /// `t * mul + add` with scalars.
    fn affine(t: &Self::Tensor, mul: f64, add: f64) -> Result<Self::Tensor>;
    /// `t ^ e` element-wise (for `t > 0`, or integer `e`).
    fn powf(t: &Self::Tensor, e: f64) -> Result<Self::Tensor>;
    /// `exp(t)`.
    fn exp(t: &Self::Tensor) -> Result<Self::Tensor>;
    /// Natural logarithm.
    fn log(t: &Self::Tensor) -> Result<Self::Tensor>;
    /// `|t|`.
    fn abs(t: &Self::Tensor) -> Result<Self::Tensor>;
    /// `sqrt(t)`.
    fn sqrt(t: &Self::Tensor) -> Result<Self::Tensor>;
    /// `max(t, 0)`.
    fn relu(t: &Self::Tensor) -> Result<Self::Tensor>;
    /// `tanh(t)`.
    fn tanh(t: &Self::Tensor) -> Result<Self::Tensor>;
    /// `t²`.
    fn sqr(t: &Self::Tensor) -> Result<Self::Tensor> {
        Self::mul(t, t)
    }
    /// `1 / (1 + exp(-t))`.
    fn sigmoid(t: &Self::Tensor) -> Result<Self::Tensor> {
        let e = Self::exp(&Self::affine(t, -1.0, 0.0)?)?;
        let one = Self::full(1.0, &[], &Self::device_of(t))?;
        Self::div(&one, &Self::affine(&e, 1.0, 1.0)?)
    }
    /// Leaky ReLU with slope `slope` for negative inputs.
    fn leaky_relu(t: &Self::Tensor, slope: f64) -> Result<Self::Tensor> {
        leaky_relu_composed::<Self>(t, slope)
    }
    /// Comparison mask (1.0 where true, 0.0 elsewhere); not differentiable.
    fn cmp(a: &Self::Tensor, b: &Self::Tensor, op: CmpOp) -> Result<Self::Tensor>;

    // ---- reductions ----

    /// Sum over `dims`, keeping them as size 1 if `keepdim`.
    fn sum_dims(t: &Self::Tensor, dims: &[usize], keepdim: bool) -> Result<Self::Tensor>;
    /// Mean over `dims`.
    fn mean_dims(t: &Self::Tensor, dims: &[usize], keepdim: bool) -> Result<Self::Tensor> {
        let shape = Self::shape(t);
        let n: usize = dims.iter().map(|&d| shape[d]).product();
        let s = Self::sum_dims(t, dims, keepdim)?;
        Self::affine(&s, 1.0 / n.max(1) as f64, 0.0)
    }
    /// Maximum over one dim (values; differentiable).
    fn max_dim(t: &Self::Tensor, dim: usize, keepdim: bool) -> Result<Self::Tensor>;
    /// Index of the maximum over one dim, as `f32`; not differentiable.
    fn argmax_dim(t: &Self::Tensor, dim: usize, keepdim: bool) -> Result<Self::Tensor>;
    /// Indices that sort `t` along `dim`, as `f32`; not differentiable.
    /// Ties are broken by index (stable), so results are backend-independent.
    fn argsort(t: &Self::Tensor, dim: usize, descending: bool) -> Result<Self::Tensor>;

    /// Softmax over `dim`.
    fn softmax(t: &Self::Tensor, dim: usize) -> Result<Self::Tensor> {
        let m = Self::detach(&Self::max_dim(t, dim, true)?)?;
        let e = Self::exp(&Self::sub(t, &m)?)?;
        let s = Self::sum_dims(&e, &[dim], true)?;
        Self::div(&e, &s)
    }
    /// Log-softmax over `dim`.
    fn log_softmax(t: &Self::Tensor, dim: usize) -> Result<Self::Tensor> {
        let m = Self::detach(&Self::max_dim(t, dim, true)?)?;
        let shifted = Self::sub(t, &m)?;
        let lse = Self::log(&Self::sum_dims(&Self::exp(&shifted)?, &[dim], true)?)?;
        Self::sub(&shifted, &lse)
    }

    // ---- linear algebra and layout ----

    /// Matrix product over the last two dims; leading (batch) dims broadcast.
    fn matmul(a: &Self::Tensor, b: &Self::Tensor) -> Result<Self::Tensor>;
    /// Same data, new shape (element count must match).
    fn reshape(t: &Self::Tensor, shape: &[usize]) -> Result<Self::Tensor>;
    /// Reorders dims.
    fn permute(t: &Self::Tensor, dims: &[usize]) -> Result<Self::Tensor>;
    /// Slice `len` entries of `dim` starting at `start`.
    fn narrow(t: &Self::Tensor, dim: usize, start: usize, len: usize) -> Result<Self::Tensor>;
    /// Concatenation along `dim`.
    fn cat(ts: &[Self::Tensor], dim: usize) -> Result<Self::Tensor>;
    /// Broadcast to `shape` (NumPy rules).
    fn broadcast_to(t: &Self::Tensor, shape: &[usize]) -> Result<Self::Tensor>;
    /// Selects entries `indices` of `dim` (differentiable w.r.t. `t`).
    fn index_select(t: &Self::Tensor, dim: usize, indices: &[usize]) -> Result<Self::Tensor>;
    /// A copy that is cut from the autodiff graph.
    fn detach(t: &Self::Tensor) -> Result<Self::Tensor>;

    // ---- neural-network ops ----

    /// 2-D convolution, `x [B,Cin,H,W]`, `w [Cout,Cin/groups,kh,kw]`, `bias [Cout]`.
    fn conv2d(
        x: &Self::Tensor,
        w: &Self::Tensor,
        bias: Option<&Self::Tensor>,
        opts: Conv2dOpts,
    ) -> Result<Self::Tensor>;
    /// 2-D transposed convolution, `w [Cin,Cout,kh,kw]`, `bias [Cout]`.
    fn conv_transpose2d(
        x: &Self::Tensor,
        w: &Self::Tensor,
        bias: Option<&Self::Tensor>,
        opts: ConvTranspose2dOpts,
    ) -> Result<Self::Tensor>;
    /// Max pooling with square `kernel`, `stride`, and `-inf` padding.
    fn max_pool2d(
        x: &Self::Tensor,
        kernel: usize,
        stride: usize,
        padding: usize,
    ) -> Result<Self::Tensor>;
    /// Training-mode batch normalisation of `x [B,C,H,W]` with scale and
    /// shift `gamma`, `beta` `[C]`: `y = (x − μ)·γ/√(σ² + ε) + β` with the
    /// mean `μ` and biased variance `σ²` of each channel over batch and
    /// space. `y` is differentiable in `x` (through `μ` and `σ²` too),
    /// `gamma` and `beta`; the returned `μ` and `σ²` `[C]` are **detached**
    /// (they feed the running statistics). Callers that need differentiable
    /// batch statistics compose them from primitives. The default composes
    /// primitives; a backend overrides it with a fused kernel.
    fn batch_norm_train(
        x: &Self::Tensor,
        gamma: &Self::Tensor,
        beta: &Self::Tensor,
        eps: f64,
    ) -> Result<(Self::Tensor, Self::Tensor, Self::Tensor)> {
        batch_norm_train_composed::<Self>(x, gamma, beta, eps)
    }
    /// Training-mode batch normalisation whose batch statistics stay in the
    /// autodiff graph: `(y, μ, σ²)` as [`Backend::batch_norm_train`], with
    /// `μ` and the biased `σ²` shaped `[1,C,1,1]` and differentiable in `x`
    /// (L_BNS, eq. 4, backpropagates through them to the generated image).
    /// The default composes primitives; a backend overrides it with a fused
    /// kernel for `y` and one moments pass.
    fn batch_norm_train_moments(
        x: &Self::Tensor,
        gamma: &Self::Tensor,
        beta: &Self::Tensor,
        eps: f64,
    ) -> Result<(Self::Tensor, Self::Tensor, Self::Tensor)> {
        batch_norm_train_moments_composed::<Self>(x, gamma, beta, eps)
    }
    /// Eval-mode batch normalisation of `x [B,C,H,W]` with the running
    /// statistics `mean`, `var` `[C]`: `y = (x − μ_r)·γ/√(σ_r² + ε) + β`,
    /// differentiable in `x`, `gamma` and `beta` (not in the statistics).
    /// The default is a multiply and an add with a per-channel scale and
    /// shift; a backend overrides it with a fused kernel.
    fn batch_norm_eval(
        x: &Self::Tensor,
        gamma: &Self::Tensor,
        beta: &Self::Tensor,
        mean: &Self::Tensor,
        var: &Self::Tensor,
        eps: f64,
    ) -> Result<Self::Tensor> {
        batch_norm_eval_composed::<Self>(x, gamma, beta, mean, var, eps)
    }
    /// Per-channel mean and biased variance of `x [B,C,H,W]` over batch and
    /// space, both `[1,C,1,1]` and differentiable in `x` (the statistics
    /// L_BNS compares, eq. 4). The default composes primitives; a backend
    /// overrides it with a one-pass kernel.
    fn channel_moments(x: &Self::Tensor) -> Result<(Self::Tensor, Self::Tensor)> {
        channel_moments_composed::<Self>(x)
    }
    /// Runs `f` without recording autodiff history, for forward passes
    /// whose outputs are only used detached (a frozen teacher's targets,
    /// fakes for the student step, evaluation). Values are the same as
    /// outside; only the bookkeeping for a backward pass is skipped. The
    /// default runs `f` as it is (a backend whose graph is built per
    /// variable, like candle's, has nothing global to switch off).
    fn no_grad<R>(f: impl FnOnce() -> R) -> R {
        f()
    }
    /// Nearest-neighbour resize to `(h, w)` (PyTorch's `nearest` rule).
    fn upsample_nearest2d(x: &Self::Tensor, size: (usize, usize)) -> Result<Self::Tensor>;

    /// Adaptive average pooling of `[B,C,H,W]` to `(h, w)` (PyTorch's bins).
    fn adaptive_avg_pool2d(x: &Self::Tensor, size: (usize, usize)) -> Result<Self::Tensor> {
        let s = Self::shape(x);
        let dev = Self::device_of(x);
        let ph = interp::adaptive_pool_matrix(s[2], size.0);
        let pw = interp::adaptive_pool_matrix(s[3], size.1);
        separable_resample::<Self>(x, &ph, &pw, size, &dev)
    }
    /// Bilinear resize of `[B,C,H,W]` to `(h, w)` with `align_corners = false`.
    fn upsample_bilinear2d(x: &Self::Tensor, size: (usize, usize)) -> Result<Self::Tensor> {
        upsample_bilinear2d_by_matmul::<Self>(x, size)
    }

    // ---- autodiff ----

    /// Makes a trainable leaf from a tensor (copied, detached).
    fn var_new(t: &Self::Tensor) -> Result<Self::Var>;
    /// The tensor of a variable, tracked by autodiff.
    fn var_tensor(v: &Self::Var) -> Self::Tensor;
    /// Overwrites a variable's value (not recorded by autodiff).
    fn var_set(v: &Self::Var, t: &Self::Tensor) -> Result<()>;
    /// Gradients of the scalar `loss` w.r.t. `vars`; `None` where `loss` does
    /// not depend on a variable.
    fn grad(loss: &Self::Tensor, vars: &[&Self::Var]) -> Result<Vec<Option<Self::Tensor>>>;
}

/// [`Backend::batch_norm_train`] composed from primitives: the trait's
/// default, and the fallback of backends whose fused kernel covers only
/// some devices.
pub fn batch_norm_train_composed<B: Backend>(
    x: &B::Tensor,
    gamma: &B::Tensor,
    beta: &B::Tensor,
    eps: f64,
) -> Result<(B::Tensor, B::Tensor, B::Tensor)> {
    let c = B::shape(x).get(1).copied().unwrap_or(0);
    let per_channel = [1, c, 1, 1];
    let mean = B::mean_dims(x, &[0, 2, 3], true)?;
    let xc = B::sub(x, &mean)?;
    let var = B::mean_dims(&B::sqr(&xc)?, &[0, 2, 3], true)?;
    let std = B::sqrt(&B::affine(&var, 1.0, eps)?)?;
    let scale = B::div(&B::reshape(gamma, &per_channel)?, &std)?;
    let y = B::add(&B::mul(&xc, &scale)?, &B::reshape(beta, &per_channel)?)?;
    let mean = B::reshape(&B::detach(&mean)?, &[c])?;
    let var = B::reshape(&B::detach(&var)?, &[c])?;
    Ok((y, mean, var))
}

/// [`Backend::leaky_relu`] composed from primitives (the trait's default):
/// `max(t, 0) + slope·min(t, 0)`.
pub fn leaky_relu_composed<B: Backend>(t: &B::Tensor, slope: f64) -> Result<B::Tensor> {
    let zero = B::full(0.0, &[], &B::device_of(t))?;
    let pos = B::relu(t)?;
    let neg = B::minimum(t, &zero)?;
    B::add(&pos, &B::affine(&neg, slope, 0.0)?)
}

/// [`Backend::batch_norm_train_moments`] composed from primitives (the
/// trait's default).
pub fn batch_norm_train_moments_composed<B: Backend>(
    x: &B::Tensor,
    gamma: &B::Tensor,
    beta: &B::Tensor,
    eps: f64,
) -> Result<(B::Tensor, B::Tensor, B::Tensor)> {
    let c = B::shape(x).get(1).copied().unwrap_or(0);
    let per_channel = [1, c, 1, 1];
    let (mean, xc, var) = centred_moments::<B>(x)?;
    let std = B::sqrt(&B::affine(&var, 1.0, eps)?)?;
    let scale = B::div(&B::reshape(gamma, &per_channel)?, &std)?;
    let y = B::add(&B::mul(&xc, &scale)?, &B::reshape(beta, &per_channel)?)?;
    Ok((y, mean, var))
}

/// [`Backend::batch_norm_eval`] composed from primitives (the trait's
/// default): `y = x·s + (β − μ_r·s)` with `s = γ/√(σ_r² + ε)`.
pub fn batch_norm_eval_composed<B: Backend>(
    x: &B::Tensor,
    gamma: &B::Tensor,
    beta: &B::Tensor,
    mean: &B::Tensor,
    var: &B::Tensor,
    eps: f64,
) -> Result<B::Tensor> {
    let c = B::shape(x).get(1).copied().unwrap_or(0);
    let per_channel = [1, c, 1, 1];
    let gamma = B::reshape(gamma, &per_channel)?;
    let std = B::sqrt(&B::affine(&B::reshape(var, &per_channel)?, 1.0, eps)?)?;
    let scale = B::div(&gamma, &std)?;
    let shift = B::sub(
        &B::reshape(beta, &per_channel)?,
        &B::mul(&B::reshape(mean, &per_channel)?, &scale)?,
    )?;
    B::add(&B::mul(x, &scale)?, &shift)
}

/// [`Backend::channel_moments`] composed from primitives (the trait's
/// default).
pub fn channel_moments_composed<B: Backend>(x: &B::Tensor) -> Result<(B::Tensor, B::Tensor)> {
    let (mean, _, var) = centred_moments::<B>(x)?;
    Ok((mean, var))
}

/// Mean `[1,C,1,1]`, centred input and biased variance `[1,C,1,1]` over
/// batch and space (dims 0, 2, 3); all differentiable.
fn centred_moments<B: Backend>(x: &B::Tensor) -> Result<(B::Tensor, B::Tensor, B::Tensor)> {
    let mean = B::mean_dims(x, &[0, 2, 3], true)?;
    let xc = B::sub(x, &mean)?;
    let var = B::mean_dims(&B::sqr(&xc)?, &[0, 2, 3], true)?;
    Ok((mean, xc, var))
}

/// [`Backend::upsample_bilinear2d`] as two matmuls with the dense
/// interpolation matrices of [`interp::bilinear_matrix`] (the trait's
/// default).
///
/// Public so that a backend with a native kernel can still take this path
/// where it is faster: on the CPU, for the small inputs a segmentation head
/// upsamples (the DeepLabV3 logits, `[8, 19, 16, 32]` to `128×256` in the
/// demo), libtorch's native bilinear backward is a scatter loop, and the
/// two GEMMs take a third of its time (`docs/performance.md`). The dense
/// matrices cost `in_h + in_w` multiply-adds per output against the
/// native kernel's 4, so for large inputs the native kernel wins.
///
/// Unlike a two-tap kernel, a matmul lets a non-finite input reach a whole
/// output row (`0 · ∞ = NaN`); a finite input gives the same values as
/// PyTorch's kernel to rounding.
pub fn upsample_bilinear2d_by_matmul<B: Backend>(
    x: &B::Tensor,
    size: (usize, usize),
) -> Result<B::Tensor> {
    let s = B::shape(x);
    if s.len() != 4 {
        return Err(crate::Error::shape(
            "upsample_bilinear2d",
            format!("expected [B,C,H,W], got {s:?}"),
        ));
    }
    let dev = B::device_of(x);
    let mh = interp::bilinear_matrix(s[2], size.0);
    let mw = interp::bilinear_matrix(s[3], size.1);
    separable_resample::<B>(x, &mh, &mw, size, &dev)
}

/// `out = M_h · x · M_wᵀ` per `[H, W]` plane: how bilinear resize and adaptive
/// pooling are written from matmuls (exact and differentiable everywhere).
///
/// The width pass goes first, as one GEMM over every row of every plane
/// (`[B·C·H, W] · M_wᵀ`); the height pass is then a batched product with
/// `M_h`. The other order (height first, a batched product per plane on the
/// narrower input) measured 2× slower forward and backward on the CPU.
fn separable_resample<B: Backend>(
    x: &B::Tensor,
    mh: &[f32],
    mw: &[f32],
    size: (usize, usize),
    dev: &B::Device,
) -> Result<B::Tensor> {
    let s = B::shape(x);
    if s.len() != 4 {
        return Err(crate::Error::shape(
            "resample",
            format!("expected [B,C,H,W], got {s:?}"),
        ));
    }
    let (b, c, h, w) = (s[0], s[1], s[2], s[3]);
    let mh = B::from_f32(mh, &[size.0, h], dev)?;
    // Mᵀ_w laid out row-major, not a transposed view: one contiguous GEMM operand.
    let mw_t = B::from_f32(&transpose(mw, size.1, w), &[w, size.1], dev)?;
    let rows = B::reshape(x, &[b * c * h, w])?;
    let cols = B::matmul(&rows, &mw_t)?; // [bc·h, ow]
    let planes = B::reshape(&cols, &[b * c, h, size.1])?;
    let out = B::matmul(&mh, &planes)?; // [bc, oh, ow]
    B::reshape(&out, &[b, c, size.0, size.1])
}

/// The `[cols, rows]` transpose of a row-major `[rows, cols]` matrix.
fn transpose(m: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    let mut t = vec![0f32; m.len()];
    for r in 0..rows {
        for c in 0..cols {
            t[c * rows + r] = m[r * cols + c];
        }
    }
    t
}
