//! # sfda-core
//!
//! The backend-neutral core of sfda, a framework for source-free domain
//! adaptation of semantic segmentation (Liu, Zhang & Wang, "Source-Free Domain
//! Adaptation for Semantic Segmentation", CVPR 2021).
//!
//! - [`tensor`]: the [`Backend`] trait (every op the losses and loops need,
//!   with autodiff) and the typed [`Tensor`]/[`Var`] handles.
//! - [`optim`]: SGD (Nesterov, weight decay), Adam, polynomial LR decay.
//! - [`registry`]: backends, networks, distillation losses and patch rankers,
//!   built in or registered by plugins; [`plugin`]: the cdylib plugin loader.
//! - [`job`]: units of work the CLI dispatches to a backend chosen at run time.
//!
//! Backends live in their own crates (`sfda-backend-tch`, `sfda-backend-candle`).

#![warn(missing_docs)]

pub mod algo;
pub mod atomic;
pub mod checkpoint;
pub mod cpu_threads;
pub mod data;
pub mod device;
pub mod dispatch;
pub mod diverged;
pub mod error;
pub mod experiment;
pub mod interrupt;
pub mod ipsm;
pub mod job;
pub mod loss;
pub mod metrics;
pub mod model;
pub mod net;
pub mod nn;
pub mod optim;
pub mod plugin;
pub mod registry;
pub mod rng;
pub mod run_dir;
pub mod tensor;
pub mod toml_file;
pub mod train;

pub use device::DeviceSpec;
pub use error::{Context, Error, Result};
pub use model::{
    BnMode, BnStat, Discriminator, ForwardOpts, Generator, NamedVar, SegModel, SegOutput,
};
pub use rng::SeedRng;
pub use tensor::{grad, Backend, CmpOp, Conv2dOpts, ConvTranspose2dOpts, Tensor, Var};

#[doc(hidden)]
pub use inventory;
