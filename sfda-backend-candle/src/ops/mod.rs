//! The candle implementations of the ops that need more than a one-line
//! call: each file groups ops by concern and says which candle behaviour it
//! works around to match PyTorch.

pub(crate) mod activation;
pub(crate) mod batch_norm;
pub(crate) mod batch_norm_eval;
pub(crate) mod broadcast;
pub(crate) mod conv;
pub(crate) mod conv_gemm;
pub(crate) mod elementwise;
pub(crate) mod im2col;
pub(crate) mod layout;
pub(crate) mod parallel;
pub(crate) mod pool;
pub(crate) mod reduce;
pub(crate) mod resize;
pub(crate) mod softmax;
pub(crate) mod storage;
