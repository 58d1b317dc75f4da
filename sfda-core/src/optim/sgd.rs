//! Stochastic gradient descent with momentum (optionally Nesterov) and L2
//! weight decay, with PyTorch's update rule:
//! `g ← g + wd·p; v ← μ·v + g; d = g + μ·v (Nesterov) or v; p ← p − lr·d`.

use serde::{Deserialize, Serialize};

use super::{check_grad_count, find_state, Optimizer};
use crate::tensor::{Backend, Tensor, Var};
use crate::Result;

/// SGD hyper-parameters (the paper's segmentation-network values by default).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SgdConfig {
    /// Learning rate.
    pub lr: f64,
    /// Momentum μ.
    pub momentum: f64,
    /// Nesterov momentum.
    pub nesterov: bool,
    /// L2 weight decay.
    pub weight_decay: f64,
}

impl Default for SgdConfig {
    fn default() -> Self {
        SgdConfig {
            lr: 2.5e-4,
            momentum: 0.9,
            nesterov: true,
            weight_decay: 1e-4,
        }
    }
}

/// SGD over a list of variables.
pub struct Sgd<B: Backend> {
    vars: Vec<Var<B>>,
    cfg: SgdConfig,
    velocity: Vec<Option<Tensor<B>>>,
}

impl<B: Backend> Sgd<B> {
    /// SGD for `vars`.
    pub fn new(vars: Vec<Var<B>>, cfg: SgdConfig) -> Self {
        let velocity = vec![None; vars.len()];
        Sgd {
            vars,
            cfg,
            velocity,
        }
    }
}

impl<B: Backend> Optimizer<B> for Sgd<B> {
    fn step(&mut self, grads: &[Option<Tensor<B>>]) -> Result<()> {
        check_grad_count(self.vars.len(), grads)?;
        let c = self.cfg;
        for (i, (var, g)) in self.vars.iter().zip(grads).enumerate() {
            let Some(g) = g else { continue };
            let p = var.tensor().detach()?;
            let mut g = g.detach()?;
            if c.weight_decay != 0.0 {
                g = g.add(&p.scale(c.weight_decay)?)?;
            }
            let d = if c.momentum != 0.0 {
                let v = match &self.velocity[i] {
                    Some(v) => v.scale(c.momentum)?.add(&g)?,
                    None => g.clone(),
                };
                let d = if c.nesterov {
                    g.add(&v.scale(c.momentum)?)?
                } else {
                    v.clone()
                };
                self.velocity[i] = Some(v);
                d
            } else {
                g
            };
            var.set(&p.sub(&d.scale(c.lr)?)?)?;
        }
        Ok(())
    }
    fn lr(&self) -> f64 {
        self.cfg.lr
    }
    fn set_lr(&mut self, lr: f64) {
        self.cfg.lr = lr;
    }
    fn vars(&self) -> &[Var<B>] {
        &self.vars
    }
    fn state(&self) -> Result<Vec<(String, Tensor<B>)>> {
        Ok(self
            .velocity
            .iter()
            .enumerate()
            .filter_map(|(i, v)| v.as_ref().map(|v| (format!("velocity.{i}"), v.clone())))
            .collect())
    }
    fn load_state(&mut self, state: &[(String, Tensor<B>)]) -> Result<()> {
        for i in 0..self.vars.len() {
            self.velocity[i] = find_state(state, &format!("velocity.{i}")).cloned();
        }
        Ok(())
    }
}
