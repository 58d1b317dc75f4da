//! Jobs: the unit of work the CLI hands to a backend picked at run time. A
//! [`Job`] is plain data; [`Job::run`] instantiates the generic code for the
//! chosen backend, so everything below it is statically dispatched.

use std::time::Instant;

use crate::device::DeviceSpec;
use crate::rng::SeedRng;
use crate::tensor::{grad, Backend, Tensor, Var};
use crate::Result;

/// Work that can run on any registered backend.
#[derive(Debug, Clone)]
pub enum Job {
    /// Opens the device and runs a small forward/backward (softmax of a
    /// matmul) to prove the backend works there.
    Probe,
}

/// What a job returns to the CLI.
#[derive(Debug, Clone)]
pub enum JobOutput {
    /// Result of [`Job::Probe`].
    Probe {
        /// The device that ran it.
        device: DeviceSpec,
        /// Loss value of the probe computation.
        value: f32,
        /// Wall time in milliseconds.
        millis: f64,
    },
}

impl Job {
    /// Runs this job with backend `B` on `device`.
    pub fn run<B: Backend>(&self, device: DeviceSpec) -> Result<JobOutput> {
        let dev = B::device(device)?;
        match self {
            Job::Probe => probe::<B>(&dev),
        }
    }
}

fn probe<B: Backend>(dev: &B::Device) -> Result<JobOutput> {
    let t0 = Instant::now();
    let mut rng = SeedRng::new(0);
    let w = Var::new(&Tensor::<B>::randn(&[16, 16], 0.0, 0.1, &mut rng, dev)?)?;
    let x = Tensor::<B>::randn(&[4, 16], 0.0, 1.0, &mut rng, dev)?;
    let loss = x.matmul(&w.tensor())?.softmax(1)?.sqr()?.sum_all()?;
    let g = grad(&loss, &[&w])?;
    if g[0].is_none() {
        crate::bail!("{} backend returned no gradient in the probe", B::NAME);
    }
    B::synchronize(dev)?;
    Ok(JobOutput::Probe {
        device: B::device_spec(dev),
        value: loss.to_scalar()?,
        millis: t0.elapsed().as_secs_f64() * 1e3,
    })
}
