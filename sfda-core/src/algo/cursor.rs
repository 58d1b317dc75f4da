//! A resumable position in a shuffled data set: (epoch, batch index). Driving
//! the loader by explicit batches, instead of an iterator, makes a resumed
//! run see exactly the batches an uninterrupted one would have seen.

use serde::{Deserialize, Serialize};

use crate::data::{Batch, DataLoader};
use crate::Result;

/// Where the next batch comes from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    /// Epoch of the next batch.
    pub epoch: u64,
    /// Index of the next batch within the epoch.
    pub batch: usize,
}

impl Cursor {
    /// Loads the batch at the cursor and advances it (to the next epoch after
    /// the last full batch).
    pub fn next_batch(&mut self, loader: &DataLoader) -> Result<Batch> {
        let bs = loader.config().batch_size;
        loop {
            let order = loader.order(self.epoch);
            let start = self.batch * bs;
            if start + bs <= order.len() {
                self.batch += 1;
                return loader.load_batch(&order[start..start + bs], self.epoch);
            }
            self.epoch += 1;
            self.batch = 0;
        }
    }
}
