//! The probe job: a tiny forward/backward that proves a backend works on a device.

use std::time::Instant;

use crate::dispatch::JobOutput;
use crate::rng::SeedRng;
use crate::tensor::{grad, Backend, Tensor, Var};
use crate::Result;

/// Softmax of a matmul, squared and summed; differentiated w.r.t. the weights.
pub fn probe<B: Backend>(dev: &B::Device) -> Result<JobOutput> {
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
