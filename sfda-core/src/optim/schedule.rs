//! Learning-rate schedules.

/// Polynomial decay: `lr = base · (1 − iter / max_iter)^power` (the paper uses
/// power 0.9 for the segmentation network).
///
/// ```
/// let s = sfda_core::optim::PolyLr { base: 1.0, max_iter: 10, power: 1.0 };
/// assert_eq!(s.lr(0), 1.0);
/// assert!((s.lr(5) - 0.5).abs() < 1e-12);
/// assert_eq!(s.lr(10), 0.0);
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PolyLr {
    /// Learning rate at iteration 0.
    pub base: f64,
    /// Iteration at which the rate reaches 0.
    pub max_iter: usize,
    /// Decay power.
    pub power: f64,
}

impl PolyLr {
    /// Learning rate at `iter` (0 at and after `max_iter`).
    pub fn lr(&self, iter: usize) -> f64 {
        if self.max_iter == 0 || iter >= self.max_iter {
            return 0.0;
        }
        self.base * (1.0 - iter as f64 / self.max_iter as f64).powf(self.power)
    }
}
