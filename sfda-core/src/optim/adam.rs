//! Adam (Kingma & Ba, 2015) with bias correction, PyTorch's update rule.

use serde::{Deserialize, Serialize};

use super::{check_grad_count, find_state, Optimizer};
use crate::tensor::{Backend, Tensor, Var};
use crate::Result;

/// Adam hyper-parameters.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AdamConfig {
    /// Learning rate.
    pub lr: f64,
    /// β₁.
    pub beta1: f64,
    /// β₂.
    pub beta2: f64,
    /// ε.
    pub eps: f64,
    /// L2 weight decay (added to the gradient).
    pub weight_decay: f64,
}

impl Default for AdamConfig {
    fn default() -> Self {
        AdamConfig {
            lr: 1e-3,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.0,
        }
    }
}

/// Adam over a list of variables.
pub struct Adam<B: Backend> {
    vars: Vec<Var<B>>,
    cfg: AdamConfig,
    m: Vec<Option<Tensor<B>>>,
    v: Vec<Option<Tensor<B>>>,
    t: Vec<u64>,
}

impl<B: Backend> Adam<B> {
    /// Adam for `vars`.
    pub fn new(vars: Vec<Var<B>>, cfg: AdamConfig) -> Self {
        let n = vars.len();
        Adam {
            vars,
            cfg,
            m: vec![None; n],
            v: vec![None; n],
            t: vec![0; n],
        }
    }
}

impl<B: Backend> Optimizer<B> for Adam<B> {
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
            let m = match &self.m[i] {
                Some(m) => m.scale(c.beta1)?.add(&g.scale(1.0 - c.beta1)?)?,
                None => g.scale(1.0 - c.beta1)?,
            };
            let g2 = g.sqr()?;
            let v = match &self.v[i] {
                Some(v) => v.scale(c.beta2)?.add(&g2.scale(1.0 - c.beta2)?)?,
                None => g2.scale(1.0 - c.beta2)?,
            };
            self.t[i] += 1;
            let t = self.t[i] as i32;
            let bc1 = 1.0 - c.beta1.powi(t);
            let bc2 = 1.0 - c.beta2.powi(t);
            let denom = v.scale(1.0 / bc2)?.sqrt()?.add_scalar(c.eps)?;
            let upd = m.div(&denom)?.scale(c.lr / bc1)?;
            var.set(&p.sub(&upd)?)?;
            self.m[i] = Some(m);
            self.v[i] = Some(v);
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
        let mut out = Vec::new();
        for i in 0..self.vars.len() {
            if let (Some(m), Some(v)) = (&self.m[i], &self.v[i]) {
                let dev = m.device();
                out.push((format!("m.{i}"), m.clone()));
                out.push((format!("v.{i}"), v.clone()));
                out.push((format!("t.{i}"), Tensor::scalar(self.t[i] as f32, &dev)?));
            }
        }
        Ok(out)
    }
    fn load_state(&mut self, state: &[(String, Tensor<B>)]) -> Result<()> {
        for i in 0..self.vars.len() {
            self.m[i] = find_state(state, &format!("m.{i}")).cloned();
            self.v[i] = find_state(state, &format!("v.{i}")).cloned();
            self.t[i] = match find_state(state, &format!("t.{i}")) {
                Some(t) => t.to_scalar()? as u64,
                None => 0,
            };
        }
        Ok(())
    }
}
