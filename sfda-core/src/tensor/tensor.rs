//! [`Tensor<B>`]: the typed, method-call face of a backend tensor, used by
//! every loss, network and loop in sfda-core.

use crate::rng::SeedRng;
use crate::tensor::backend::{Backend, CmpOp, Conv2dOpts, ConvTranspose2dOpts};
use crate::{Error, Result};

/// A tensor of backend `B` (cheap to clone).
///
/// ```
/// # fn demo<B: sfda_core::Backend>(dev: &B::Device) -> sfda_core::Result<()> {
/// use sfda_core::Tensor;
/// let x = Tensor::<B>::from_f32(&[1.0, 2.0, 3.0, 4.0], &[2, 2], dev)?;
/// let p = x.softmax(1)?;
/// assert_eq!(p.shape(), vec![2, 2]);
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct Tensor<B: Backend> {
    inner: B::Tensor,
}

macro_rules! unary {
    ($($(#[$m:meta])* $name:ident),* $(,)?) => {$(
        $(#[$m])*
        pub fn $name(&self) -> Result<Self> {
            B::$name(&self.inner).map(Self::wrap)
        }
    )*};
}

macro_rules! binary {
    ($($(#[$m:meta])* $name:ident),* $(,)?) => {$(
        $(#[$m])*
        pub fn $name(&self, rhs: &Self) -> Result<Self> {
            B::$name(&self.inner, &rhs.inner).map(Self::wrap)
        }
    )*};
}

impl<B: Backend> Tensor<B> {
    /// Wraps a backend tensor.
    pub fn wrap(inner: B::Tensor) -> Self {
        Tensor { inner }
    }
    /// The backend tensor.
    pub fn inner(&self) -> &B::Tensor {
        &self.inner
    }
    /// Unwraps into the backend tensor.
    pub fn into_inner(self) -> B::Tensor {
        self.inner
    }

    /// Tensor from row-major host data; errors if `data.len()` does not match `shape`.
    pub fn from_f32(data: &[f32], shape: &[usize], dev: &B::Device) -> Result<Self> {
        let n: usize = shape.iter().product();
        if n != data.len() {
            return Err(Error::shape(
                "from_f32",
                format!("{} values for shape {shape:?} ({n} elements)", data.len()),
            ));
        }
        B::from_f32(data, shape, dev).map(Self::wrap)
    }
    /// A tensor filled with `value`.
    pub fn full(value: f32, shape: &[usize], dev: &B::Device) -> Result<Self> {
        B::full(value, shape, dev).map(Self::wrap)
    }
    /// A tensor of zeros.
    pub fn zeros(shape: &[usize], dev: &B::Device) -> Result<Self> {
        Self::full(0.0, shape, dev)
    }
    /// A tensor of ones.
    pub fn ones(shape: &[usize], dev: &B::Device) -> Result<Self> {
        Self::full(1.0, shape, dev)
    }
    /// A 0-dimensional tensor.
    pub fn scalar(value: f32, dev: &B::Device) -> Result<Self> {
        Self::full(value, &[], dev)
    }
    /// Normal samples `N(mean, std²)` drawn from the seeded host generator,
    /// so every backend sees the same numbers for the same seed.
    pub fn randn(
        shape: &[usize],
        mean: f32,
        std: f32,
        rng: &mut SeedRng,
        dev: &B::Device,
    ) -> Result<Self> {
        let n = shape.iter().product();
        Self::from_f32(&rng.normal_vec(n, mean, std), shape, dev)
    }
    /// Uniform samples in `[lo, hi)` from the seeded host generator.
    pub fn rand_uniform(
        shape: &[usize],
        lo: f32,
        hi: f32,
        rng: &mut SeedRng,
        dev: &B::Device,
    ) -> Result<Self> {
        let n = shape.iter().product();
        Self::from_f32(&rng.uniform_vec(n, lo, hi), shape, dev)
    }

    /// Row-major host copy.
    pub fn to_vec(&self) -> Result<Vec<f32>> {
        B::to_f32(&self.inner)
    }
    /// The single value of a one-element tensor.
    pub fn to_scalar(&self) -> Result<f32> {
        let v = self.to_vec()?;
        if v.len() != 1 {
            return Err(Error::shape(
                "to_scalar",
                format!(
                    "tensor of shape {:?} has {} elements",
                    self.shape(),
                    v.len()
                ),
            ));
        }
        Ok(v[0])
    }
    /// Shape.
    pub fn shape(&self) -> Vec<usize> {
        B::shape(&self.inner)
    }
    /// Number of dims.
    pub fn rank(&self) -> usize {
        self.shape().len()
    }
    /// Size of dim `d`, with a shape error if out of range.
    pub fn dim(&self, d: usize) -> Result<usize> {
        let s = self.shape();
        s.get(d)
            .copied()
            .ok_or_else(|| Error::shape("dim", format!("dim {d} out of range for shape {s:?}")))
    }
    /// Number of elements.
    pub fn elem_count(&self) -> usize {
        self.shape().iter().product()
    }
    /// Device.
    pub fn device(&self) -> B::Device {
        B::device_of(&self.inner)
    }
    /// Moves to `dev`.
    pub fn to_device(&self, dev: &B::Device) -> Result<Self> {
        B::to_device(&self.inner, dev).map(Self::wrap)
    }

    binary!(
        /// `self + rhs` (broadcasting).
        add,
        /// `self - rhs` (broadcasting).
        sub,
        /// `self * rhs` (broadcasting).
        mul,
        /// `self / rhs` (broadcasting).
        div,
        /// Element-wise maximum.
        maximum,
        /// Element-wise minimum.
        minimum,
        /// Matrix product over the last two dims (batch dims broadcast).
        matmul,
    );
    unary!(
        /// `exp`.
        exp,
        /// Natural log.
        log,
        /// Absolute value.
        abs,
        /// Square root.
        sqrt,
        /// Square.
        sqr,
        /// ReLU.
        relu,
        /// tanh.
        tanh,
        /// Logistic sigmoid.
        sigmoid,
        /// Cut from the autodiff graph.
        detach,
    );

    /// `self * mul + add`.
    pub fn affine(&self, mul: f64, add: f64) -> Result<Self> {
        B::affine(&self.inner, mul, add).map(Self::wrap)
    }
    /// `self * s`.
    pub fn scale(&self, s: f64) -> Result<Self> {
        self.affine(s, 0.0)
    }
    /// `self + s`.
    pub fn add_scalar(&self, s: f64) -> Result<Self> {
        self.affine(1.0, s)
    }
    /// `-self`.
    pub fn neg(&self) -> Result<Self> {
        self.affine(-1.0, 0.0)
    }
    /// `self ^ e`.
    pub fn powf(&self, e: f64) -> Result<Self> {
        B::powf(&self.inner, e).map(Self::wrap)
    }
    /// Leaky ReLU.
    pub fn leaky_relu(&self, slope: f64) -> Result<Self> {
        B::leaky_relu(&self.inner, slope).map(Self::wrap)
    }
    /// Comparison mask (1/0), not differentiable.
    pub fn cmp(&self, rhs: &Self, op: CmpOp) -> Result<Self> {
        B::cmp(&self.inner, &rhs.inner, op).map(Self::wrap)
    }

    /// Sum over `dims`.
    pub fn sum_dims(&self, dims: &[usize], keepdim: bool) -> Result<Self> {
        self.check_dims("sum_dims", dims)?;
        B::sum_dims(&self.inner, dims, keepdim).map(Self::wrap)
    }
    /// Mean over `dims`.
    pub fn mean_dims(&self, dims: &[usize], keepdim: bool) -> Result<Self> {
        self.check_dims("mean_dims", dims)?;
        B::mean_dims(&self.inner, dims, keepdim).map(Self::wrap)
    }
    /// Sum of all elements (0-dim).
    pub fn sum_all(&self) -> Result<Self> {
        let dims: Vec<usize> = (0..self.rank()).collect();
        if dims.is_empty() {
            return Ok(self.clone());
        }
        self.sum_dims(&dims, false)
    }
    /// Mean of all elements (0-dim).
    pub fn mean_all(&self) -> Result<Self> {
        let dims: Vec<usize> = (0..self.rank()).collect();
        if dims.is_empty() {
            return Ok(self.clone());
        }
        self.mean_dims(&dims, false)
    }
    /// Max over `dim` (values).
    pub fn max_dim(&self, dim: usize, keepdim: bool) -> Result<Self> {
        self.check_dims("max_dim", &[dim])?;
        B::max_dim(&self.inner, dim, keepdim).map(Self::wrap)
    }
    /// Argmax over `dim`, as `f32` indices.
    pub fn argmax_dim(&self, dim: usize, keepdim: bool) -> Result<Self> {
        self.check_dims("argmax_dim", &[dim])?;
        B::argmax_dim(&self.inner, dim, keepdim).map(Self::wrap)
    }
    /// Stable argsort over `dim`, as `f32` indices.
    pub fn argsort(&self, dim: usize, descending: bool) -> Result<Self> {
        self.check_dims("argsort", &[dim])?;
        B::argsort(&self.inner, dim, descending).map(Self::wrap)
    }
    /// Softmax over `dim`.
    pub fn softmax(&self, dim: usize) -> Result<Self> {
        self.check_dims("softmax", &[dim])?;
        B::softmax(&self.inner, dim).map(Self::wrap)
    }
    /// Log-softmax over `dim`.
    pub fn log_softmax(&self, dim: usize) -> Result<Self> {
        self.check_dims("log_softmax", &[dim])?;
        B::log_softmax(&self.inner, dim).map(Self::wrap)
    }

    /// New shape with the same element count.
    pub fn reshape(&self, shape: &[usize]) -> Result<Self> {
        let n: usize = shape.iter().product();
        if n != self.elem_count() {
            return Err(Error::shape(
                "reshape",
                format!("cannot reshape {:?} into {shape:?}", self.shape()),
            ));
        }
        B::reshape(&self.inner, shape).map(Self::wrap)
    }
    /// Flattens dims `from..` into one.
    pub fn flatten_from(&self, from: usize) -> Result<Self> {
        let s = self.shape();
        if from >= s.len() {
            return Err(Error::shape("flatten_from", format!("dim {from} of {s:?}")));
        }
        let mut ns = s[..from].to_vec();
        ns.push(s[from..].iter().product());
        self.reshape(&ns)
    }
    /// Reorders dims.
    pub fn permute(&self, dims: &[usize]) -> Result<Self> {
        let r = self.rank();
        let mut seen = vec![false; r];
        if dims.len() != r
            || dims
                .iter()
                .any(|&d| d >= r || std::mem::replace(&mut seen[d], true))
        {
            return Err(Error::shape(
                "permute",
                format!(
                    "{dims:?} is not a permutation of the dims of {:?}",
                    self.shape()
                ),
            ));
        }
        B::permute(&self.inner, dims).map(Self::wrap)
    }
    /// Swaps two dims.
    pub fn transpose(&self, a: usize, b: usize) -> Result<Self> {
        let mut p: Vec<usize> = (0..self.rank()).collect();
        self.check_dims("transpose", &[a, b])?;
        p.swap(a, b);
        self.permute(&p)
    }
    /// Slice of `dim`.
    pub fn narrow(&self, dim: usize, start: usize, len: usize) -> Result<Self> {
        let s = self.shape();
        self.check_dims("narrow", &[dim])?;
        if start + len > s[dim] {
            return Err(Error::shape(
                "narrow",
                format!("[{start}, {}) out of dim {dim} of {s:?}", start + len),
            ));
        }
        B::narrow(&self.inner, dim, start, len).map(Self::wrap)
    }
    /// Concatenation along `dim`.
    pub fn cat(ts: &[Self], dim: usize) -> Result<Self> {
        if ts.is_empty() {
            return Err(Error::shape("cat", "no tensors to concatenate"));
        }
        let inner: Vec<B::Tensor> = ts.iter().map(|t| t.inner.clone()).collect();
        B::cat(&inner, dim).map(Self::wrap)
    }
    /// Broadcast to `shape`.
    pub fn broadcast_to(&self, shape: &[usize]) -> Result<Self> {
        B::broadcast_to(&self.inner, shape).map(Self::wrap)
    }
    /// Entries `indices` of `dim`.
    pub fn index_select(&self, dim: usize, indices: &[usize]) -> Result<Self> {
        self.check_dims("index_select", &[dim])?;
        let n = self.shape()[dim];
        if let Some(bad) = indices.iter().find(|&&i| i >= n) {
            return Err(Error::shape(
                "index_select",
                format!("index {bad} out of range for dim {dim} of size {n}"),
            ));
        }
        B::index_select(&self.inner, dim, indices).map(Self::wrap)
    }

    /// Training-mode batch normalisation of `[B,C,H,W]` with `gamma`, `beta`
    /// `[C]`: `(y, mean, biased var)`, the statistics detached (see
    /// [`Backend::batch_norm_train`]).
    pub fn batch_norm_train(
        &self,
        gamma: &Self,
        beta: &Self,
        eps: f64,
    ) -> Result<(Self, Self, Self)> {
        let (y, m, v) = B::batch_norm_train(&self.inner, &gamma.inner, &beta.inner, eps)?;
        Ok((Self::wrap(y), Self::wrap(m), Self::wrap(v)))
    }
    /// Training-mode batch normalisation with differentiable batch
    /// statistics: `(y, mean, biased var)`, the statistics `[1,C,1,1]` (see
    /// [`Backend::batch_norm_train_moments`]).
    pub fn batch_norm_train_moments(
        &self,
        gamma: &Self,
        beta: &Self,
        eps: f64,
    ) -> Result<(Self, Self, Self)> {
        let (y, m, v) = B::batch_norm_train_moments(&self.inner, &gamma.inner, &beta.inner, eps)?;
        Ok((Self::wrap(y), Self::wrap(m), Self::wrap(v)))
    }
    /// Eval-mode batch normalisation with running statistics `mean`, `var`
    /// `[C]` (see [`Backend::batch_norm_eval`]).
    pub fn batch_norm_eval(
        &self,
        gamma: &Self,
        beta: &Self,
        mean: &Self,
        var: &Self,
        eps: f64,
    ) -> Result<Self> {
        B::batch_norm_eval(
            &self.inner,
            &gamma.inner,
            &beta.inner,
            &mean.inner,
            &var.inner,
            eps,
        )
        .map(Self::wrap)
    }
    /// Per-channel mean and biased variance over batch and space,
    /// differentiable, each `[1,C,1,1]` (see [`Backend::channel_moments`]).
    pub fn channel_moments(&self) -> Result<(Self, Self)> {
        let (m, v) = B::channel_moments(&self.inner)?;
        Ok((Self::wrap(m), Self::wrap(v)))
    }
    /// 2-D convolution.
    pub fn conv2d(&self, w: &Self, bias: Option<&Self>, opts: Conv2dOpts) -> Result<Self> {
        B::conv2d(&self.inner, &w.inner, bias.map(|b| &b.inner), opts).map(Self::wrap)
    }
    /// 2-D transposed convolution.
    pub fn conv_transpose2d(
        &self,
        w: &Self,
        bias: Option<&Self>,
        opts: ConvTranspose2dOpts,
    ) -> Result<Self> {
        B::conv_transpose2d(&self.inner, &w.inner, bias.map(|b| &b.inner), opts).map(Self::wrap)
    }
    /// Max pooling.
    pub fn max_pool2d(&self, kernel: usize, stride: usize, padding: usize) -> Result<Self> {
        B::max_pool2d(&self.inner, kernel, stride, padding).map(Self::wrap)
    }
    /// Nearest-neighbour resize.
    pub fn upsample_nearest2d(&self, size: (usize, usize)) -> Result<Self> {
        self.check_rank("upsample_nearest2d", 4)?;
        B::upsample_nearest2d(&self.inner, size).map(Self::wrap)
    }
    /// Bilinear resize (`align_corners = false`).
    pub fn upsample_bilinear2d(&self, size: (usize, usize)) -> Result<Self> {
        self.check_rank("upsample_bilinear2d", 4)?;
        B::upsample_bilinear2d(&self.inner, size).map(Self::wrap)
    }
    /// Adaptive average pooling.
    pub fn adaptive_avg_pool2d(&self, size: (usize, usize)) -> Result<Self> {
        self.check_rank("adaptive_avg_pool2d", 4)?;
        B::adaptive_avg_pool2d(&self.inner, size).map(Self::wrap)
    }

    fn check_dims(&self, op: &'static str, dims: &[usize]) -> Result<()> {
        let r = self.rank();
        if let Some(d) = dims.iter().find(|&&d| d >= r) {
            return Err(Error::shape(
                op,
                format!("dim {d} out of range for shape {:?}", self.shape()),
            ));
        }
        Ok(())
    }
    fn check_rank(&self, op: &'static str, rank: usize) -> Result<()> {
        if self.rank() != rank {
            return Err(Error::shape(
                op,
                format!("expected rank {rank}, got shape {:?}", self.shape()),
            ));
        }
        Ok(())
    }
}
