//! [`ConfusionMatrix`]: counts of (ground truth, prediction) pixel pairs.

use serde::{Deserialize, Serialize};

use crate::data::classes::{ClassSet, IGNORE};
use crate::error::{Error, Result};

/// An `n × n` confusion matrix; rows are ground truth, columns predictions.
/// Pixels whose label is 255 (ignore) are skipped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfusionMatrix {
    n: usize,
    counts: Vec<u64>,
}

impl ConfusionMatrix {
    /// An empty matrix over `n` classes.
    ///
    /// # Panics
    /// When `n` is 0 or above 255 (labels are `u8` with 255 = ignore): a
    /// programming error, not a data error.
    pub fn new(n: usize) -> Self {
        assert!(
            (1..=255).contains(&n),
            "number of classes must be in 1..=255"
        );
        ConfusionMatrix {
            n,
            counts: vec![0; n * n],
        }
    }

    /// An empty matrix over the classes of `set` (labels and predictions
    /// given as the set's indices, see [`ClassSet::remap_labels`]).
    pub fn for_set(set: ClassSet) -> Self {
        Self::new(set.len())
    }

    /// Number of classes.
    pub fn n(&self) -> usize {
        self.n
    }

    /// Adds the pixels of one prediction/label pair (same length). A label
    /// `>= n` other than 255, or a prediction `>= n`, is an error.
    pub fn accumulate(&mut self, pred: &[u8], label: &[u8]) -> Result<()> {
        if pred.len() != label.len() {
            return Err(Error::shape(
                "ConfusionMatrix::accumulate",
                format!(
                    "prediction has {} pixels, label has {}",
                    pred.len(),
                    label.len()
                ),
            ));
        }
        let n = self.n;
        let mut local = vec![0u64; n * n];
        for (i, (&p, &l)) in pred.iter().zip(label).enumerate() {
            if l == IGNORE {
                continue;
            }
            let (p, l) = (p as usize, l as usize);
            if l >= n || p >= n {
                return Err(Error::msg(format!(
                    "pixel {i}: label {l} / prediction {p} outside the {n} classes \
                     (labels must be train ids < {n} or 255)"
                )));
            }
            local[l * n + p] += 1;
        }
        for (c, v) in self.counts.iter_mut().zip(local) {
            *c += v;
        }
        Ok(())
    }

    /// Adds another matrix of the same size (e.g. from another worker).
    pub fn merge(&mut self, other: &ConfusionMatrix) -> Result<()> {
        if other.n != self.n {
            return Err(Error::shape(
                "ConfusionMatrix::merge",
                format!("{} classes vs {}", self.n, other.n),
            ));
        }
        for (a, b) in self.counts.iter_mut().zip(&other.counts) {
            *a += b;
        }
        Ok(())
    }

    /// Pixels of class `gt` predicted as `pred`.
    pub fn get(&self, gt: usize, pred: usize) -> u64 {
        self.counts[gt * self.n + pred]
    }

    /// Ground-truth pixels of class `c` (row sum).
    pub fn gt_count(&self, c: usize) -> u64 {
        self.counts[c * self.n..(c + 1) * self.n].iter().sum()
    }

    /// Pixels predicted as class `c` (column sum).
    pub fn pred_count(&self, c: usize) -> u64 {
        (0..self.n).map(|r| self.get(r, c)).sum()
    }

    /// All counted pixels.
    pub fn total(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// Row-major counts.
    pub fn counts(&self) -> &[u64] {
        &self.counts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_rows_columns_and_refuses_bad_ids() {
        let mut cm = ConfusionMatrix::new(3);
        cm.accumulate(&[0, 1, 2, 2], &[0, 2, 2, 255]).unwrap();
        assert_eq!(cm.get(2, 1), 1);
        assert_eq!(cm.gt_count(2), 2);
        assert_eq!(cm.pred_count(2), 1);
        assert_eq!(cm.total(), 3);
        assert!(cm.accumulate(&[0], &[3]).is_err());
        assert!(cm.accumulate(&[3], &[0]).is_err());
        assert!(cm.accumulate(&[0, 0], &[0]).is_err());
        assert_eq!(cm.total(), 3, "a failed accumulate adds nothing");
        assert!(cm.merge(&ConfusionMatrix::new(4)).is_err());
    }
}
