//! [`CandleBackend`] runs every op through a table of function pointers,
//! which by default points at this crate's own implementation.
//!
//! Why: a cdylib plugin built for candle carries its own copy of this crate
//! and of candle-core, with their own process-global state: candle numbers
//! every tensor from a global counter (the fused ops' backward identifies
//! the operands the tape needs by that number, in a thread-local scope of
//! this crate), and each copy would start its own thread pools. Tape nodes
//! recorded by the plugin's copy (a plugin network's activations, a plugin
//! loss's intermediates) would run their backward rules against the
//! plugin's state, not the host's. So when a plugin is loaded, the host
//! hands its table to the plugin ([`host_ops`] →
//! `sfda_core::plugin::PluginRegistrar` → [`install_host_ops`] in the
//! plugin's copy), and from then on every op of the plugin runs, and
//! records its backward, in the host's copy: one counter, one scope, one
//! thread pool. Outside plugins the indirection costs one load per op.

use std::sync::atomic::{AtomicPtr, Ordering};

use candle_core::Device;

use crate::tape::{Tensor, Var};
use sfda_core::{Backend, CmpOp, Conv2dOpts, ConvTranspose2dOpts, DeviceSpec, Result};

use crate::backend::CandleLocal;

macro_rules! routed_backend {
    ($( fn $name:ident ( $($arg:ident : $ty:ty),* ) -> $ret:ty ; )*) => {
        /// The op table [`CandleBackend`] dispatches through (one field per
        /// op of [`Backend`] that this crate implements).
        #[doc(hidden)]
        pub struct CandleOps {
            $( $name: fn($($ty),*) -> $ret, )*
        }

        static LOCAL_OPS: CandleOps = CandleOps {
            $( $name: <CandleLocal as Backend>::$name, )*
        };

        /// The candle backend: `f32` candle tensors on the CPU, or on CUDA
        /// when built with the `cuda` feature, with sfda's own reverse-mode
        /// tape ([`crate::tape`]). Every op is dispatched through the crate's
        /// op table (see the `route` module: plugins run their candle ops in
        /// the host's copy of candle).
        ///
        /// ```
        /// use sfda_backend_candle::CandleBackend;
        /// use sfda_core::{grad, Backend, DeviceSpec, Tensor, Var};
        ///
        /// let dev = CandleBackend::device(DeviceSpec::Cpu)?;
        /// let x = Var::<CandleBackend>::new(&Tensor::from_f32(&[1.0, -2.0], &[2], &dev)?)?;
        /// let y = x.tensor().sqr()?.sum_all()?; // y = Σ x², dy/dx = 2x
        /// let g = grad(&y, &[&x])?;
        /// assert_eq!(g[0].as_ref().unwrap().to_vec()?, vec![2.0, -4.0]);
        /// # Ok::<(), sfda_core::Error>(())
        /// ```
        #[derive(Debug, Clone, Copy, Default)]
        pub struct CandleBackend;

        impl Backend for CandleBackend {
            type Device = Device;
            type Tensor = Tensor;
            type Var = Var;

            const NAME: &'static str = <CandleLocal as Backend>::NAME;

            $(
                #[inline]
                fn $name($($arg: $ty),*) -> $ret {
                    (ops().$name)($($arg),*)
                }
            )*
        }
    };
}

routed_backend! {
    fn version() -> String;
    fn available_devices() -> Vec<DeviceSpec>;
    fn device(spec: DeviceSpec) -> Result<Device>;
    fn device_spec(device: &Device) -> DeviceSpec;
    fn synchronize(device: &Device) -> Result<()>;
    fn manual_seed(seed: u64) -> ();
    fn from_f32(data: &[f32], shape: &[usize], device: &Device) -> Result<Tensor>;
    fn to_f32(t: &Tensor) -> Result<Vec<f32>>;
    fn shape(t: &Tensor) -> Vec<usize>;
    fn device_of(t: &Tensor) -> Device;
    fn to_device(t: &Tensor, device: &Device) -> Result<Tensor>;
    fn full(value: f32, shape: &[usize], device: &Device) -> Result<Tensor>;
    fn add(a: &Tensor, b: &Tensor) -> Result<Tensor>;
    fn sub(a: &Tensor, b: &Tensor) -> Result<Tensor>;
    fn mul(a: &Tensor, b: &Tensor) -> Result<Tensor>;
    fn div(a: &Tensor, b: &Tensor) -> Result<Tensor>;
    fn maximum(a: &Tensor, b: &Tensor) -> Result<Tensor>;
    fn minimum(a: &Tensor, b: &Tensor) -> Result<Tensor>;
    fn affine(t: &Tensor, mul: f64, add: f64) -> Result<Tensor>;
    fn powf(t: &Tensor, e: f64) -> Result<Tensor>;
    fn exp(t: &Tensor) -> Result<Tensor>;
    fn log(t: &Tensor) -> Result<Tensor>;
    fn abs(t: &Tensor) -> Result<Tensor>;
    fn sqrt(t: &Tensor) -> Result<Tensor>;
    fn relu(t: &Tensor) -> Result<Tensor>;
    fn tanh(t: &Tensor) -> Result<Tensor>;
    fn sqr(t: &Tensor) -> Result<Tensor>;
    fn sigmoid(t: &Tensor) -> Result<Tensor>;
    fn leaky_relu(t: &Tensor, slope: f64) -> Result<Tensor>;
    fn cmp(a: &Tensor, b: &Tensor, op: CmpOp) -> Result<Tensor>;
    fn sum_dims(t: &Tensor, dims: &[usize], keepdim: bool) -> Result<Tensor>;
    fn mean_dims(t: &Tensor, dims: &[usize], keepdim: bool) -> Result<Tensor>;
    fn max_dim(t: &Tensor, dim: usize, keepdim: bool) -> Result<Tensor>;
    fn argmax_dim(t: &Tensor, dim: usize, keepdim: bool) -> Result<Tensor>;
    fn argsort(t: &Tensor, dim: usize, descending: bool) -> Result<Tensor>;
    fn softmax(t: &Tensor, dim: usize) -> Result<Tensor>;
    fn log_softmax(t: &Tensor, dim: usize) -> Result<Tensor>;
    fn matmul(a: &Tensor, b: &Tensor) -> Result<Tensor>;
    fn reshape(t: &Tensor, shape: &[usize]) -> Result<Tensor>;
    fn permute(t: &Tensor, dims: &[usize]) -> Result<Tensor>;
    fn narrow(t: &Tensor, dim: usize, start: usize, len: usize) -> Result<Tensor>;
    fn cat(ts: &[Tensor], dim: usize) -> Result<Tensor>;
    fn broadcast_to(t: &Tensor, shape: &[usize]) -> Result<Tensor>;
    fn index_select(t: &Tensor, dim: usize, indices: &[usize]) -> Result<Tensor>;
    fn detach(t: &Tensor) -> Result<Tensor>;
    fn conv2d(x: &Tensor, w: &Tensor, bias: Option<&Tensor>, opts: Conv2dOpts) -> Result<Tensor>;
    fn batch_norm_train(x: &Tensor, gamma: &Tensor, beta: &Tensor, eps: f64) -> Result<(Tensor, Tensor, Tensor)>;
    fn batch_norm_eval(
        x: &Tensor,
        gamma: &Tensor,
        beta: &Tensor,
        mean: &Tensor,
        var: &Tensor,
        eps: f64
    ) -> Result<Tensor>;
    fn channel_moments(x: &Tensor) -> Result<(Tensor, Tensor)>;
    fn conv_transpose2d(
        x: &Tensor,
        w: &Tensor,
        bias: Option<&Tensor>,
        opts: ConvTranspose2dOpts
    ) -> Result<Tensor>;
    fn max_pool2d(x: &Tensor, kernel: usize, stride: usize, padding: usize) -> Result<Tensor>;
    fn upsample_nearest2d(x: &Tensor, size: (usize, usize)) -> Result<Tensor>;
    fn adaptive_avg_pool2d(x: &Tensor, size: (usize, usize)) -> Result<Tensor>;
    fn upsample_bilinear2d(x: &Tensor, size: (usize, usize)) -> Result<Tensor>;
    fn var_new(t: &Tensor) -> Result<Var>;
    fn var_tensor(v: &Var) -> Tensor;
    fn var_set(v: &Var, t: &Tensor) -> Result<()>;
    fn grad(loss: &Tensor, vars: &[&Var]) -> Result<Vec<Option<Tensor>>>;
}

static OPS: AtomicPtr<CandleOps> = AtomicPtr::new(&LOCAL_OPS as *const CandleOps as *mut CandleOps);

#[inline]
fn ops() -> &'static CandleOps {
    // SAFETY: OPS only ever holds LOCAL_OPS or a host's table installed by
    // `install_host_ops`, both 'static and never written through.
    unsafe { &*OPS.load(Ordering::Acquire) }
}

/// The op table this copy of the crate dispatches through, for the plugin
/// loader to hand to plugins (`BackendEntry::host_ops`).
#[doc(hidden)]
pub fn host_ops() -> *const () {
    ops() as *const CandleOps as *const ()
}

/// Makes this copy of the crate (inside a plugin) dispatch every op through
/// the host's table. A null pointer is ignored.
///
/// # Safety
///
/// `table` must come from [`host_ops`] of a build of this crate with the
/// same compiler, version, features and dependencies (the plugin loader
/// checks this before it lets a plugin install it), and stay valid for the
/// rest of the process.
#[doc(hidden)]
pub unsafe fn install_host_ops(table: *const ()) {
    if !table.is_null() {
        OPS.store(table as *mut CandleOps, Ordering::Release);
    }
}
