//! [`DataLoader`]: streams batches from a [`Dataset`]. Each epoch's order is
//! a [`SeedRng`] shuffle of `(seed, epoch)`; the examples of a batch are
//! decoded and augmented in parallel with rayon, each with its own
//! generator derived from `(seed, epoch, index)`, so batches are identical
//! whatever the thread count. Only the batches in flight are in memory; with
//! `prefetch > 0` a background thread prepares the next ones while the
//! caller trains on the current one.
//!
//! ```
//! use std::sync::Arc;
//! use sfda_core::data::{DataLoader, Domain, LoaderConfig, Split, SynthDataset, SynthSpec};
//! let ds = SynthDataset::new(SynthSpec::new(Domain::Source, Split::Train, 6).with_size(32, 16));
//! let loader = DataLoader::new(Arc::new(ds), LoaderConfig::eval(4)).unwrap();
//! let batches: Vec<_> = loader.epoch(0).collect::<Result<_, _>>().unwrap();
//! assert_eq!(batches[0].shape, [4, 3, 16, 32]);
//! assert_eq!(batches[1].len(), 2);
//! ```

use std::sync::mpsc::{sync_channel, Receiver};
use std::sync::Arc;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::data::dataset::Dataset;
use crate::data::sample::{Batch, Sample};
use crate::data::transform::Transform;
use crate::error::{Error, Result};
use crate::rng::SeedRng;

/// How a [`DataLoader`] batches and preprocesses.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoaderConfig {
    /// Examples per batch.
    pub batch_size: usize,
    /// Shuffle the order every epoch.
    pub shuffle: bool,
    /// Drop the last, smaller batch of an epoch.
    pub drop_last: bool,
    /// Seed of the shuffles and augmentations.
    pub seed: u64,
    /// Load labels when the dataset has them (`false`: unlabelled use).
    pub labels: bool,
    /// Batches prepared ahead on a background thread (0: none).
    pub prefetch: usize,
    /// Per-example preprocessing.
    pub transform: Transform,
}

impl LoaderConfig {
    /// Evaluation: in order, keep the last batch, labels, no augmentation.
    pub fn eval(batch_size: usize) -> Self {
        LoaderConfig {
            batch_size,
            shuffle: false,
            drop_last: false,
            seed: 0,
            labels: true,
            prefetch: 0,
            transform: Transform::eval(None),
        }
    }

    /// Training: shuffled, drop the last batch, random crop and flip,
    /// one batch prefetched.
    pub fn train(batch_size: usize, seed: u64, crop: Option<[u32; 2]>) -> Self {
        LoaderConfig {
            batch_size,
            shuffle: true,
            drop_last: true,
            seed,
            labels: true,
            prefetch: 1,
            transform: Transform::train(None, crop),
        }
    }
}

/// Streams batches of a dataset.
#[derive(Clone)]
pub struct DataLoader {
    dataset: Arc<dyn Dataset>,
    config: LoaderConfig,
}

impl std::fmt::Debug for DataLoader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DataLoader")
            .field("dataset", &self.dataset.describe())
            .field("config", &self.config)
            .finish()
    }
}

fn mix(seed: u64, epoch: u64, index: u64) -> u64 {
    let mut z = seed
        ^ epoch.wrapping_mul(0x9E37_79B9_7F4A_7C15)
        ^ index.wrapping_mul(0xD6E8_FEB8_6659_FD93);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl DataLoader {
    /// A loader over `dataset`; fails on an empty dataset or a zero batch size.
    pub fn new(dataset: Arc<dyn Dataset>, config: LoaderConfig) -> Result<Self> {
        if config.batch_size == 0 {
            return Err(Error::Config {
                key: "batch_size".into(),
                msg: "must be at least 1".into(),
            });
        }
        if dataset.is_empty() {
            return Err(Error::Data {
                path: dataset.describe().into(),
                msg: "the dataset has no example".into(),
            });
        }
        if config.drop_last && dataset.len() < config.batch_size {
            return Err(Error::Config {
                key: "batch_size".into(),
                msg: format!(
                    "batch size {} exceeds the {} examples of {} and drop_last is on, \
                     so an epoch would be empty",
                    config.batch_size,
                    dataset.len(),
                    dataset.describe()
                ),
            });
        }
        Ok(DataLoader { dataset, config })
    }

    /// The dataset read.
    pub fn dataset(&self) -> &Arc<dyn Dataset> {
        &self.dataset
    }

    /// The configuration.
    pub fn config(&self) -> &LoaderConfig {
        &self.config
    }

    /// Batches in one epoch.
    pub fn batches_per_epoch(&self) -> usize {
        let (n, b) = (self.dataset.len(), self.config.batch_size);
        if self.config.drop_last {
            n / b
        } else {
            n.div_ceil(b)
        }
    }

    /// The example order of `epoch`.
    pub fn order(&self, epoch: u64) -> Vec<usize> {
        let mut idx: Vec<usize> = (0..self.dataset.len()).collect();
        if self.config.shuffle {
            SeedRng::derive(mix(self.config.seed, epoch, u64::MAX), "loader/shuffle")
                .shuffle(&mut idx);
        }
        idx
    }

    /// Decodes, augments and stacks the examples `indices` (in parallel).
    pub fn load_batch(&self, indices: &[usize], epoch: u64) -> Result<Batch> {
        let labels = self.config.labels && self.dataset.has_labels();
        let samples: Vec<Sample> = indices
            .par_iter()
            .map(|&i| {
                let s = if labels {
                    self.dataset.load(i)?
                } else {
                    self.dataset.load_image(i)?
                };
                let mut rng = SeedRng::derive(mix(self.config.seed, epoch, i as u64), "loader/aug");
                Ok(self.config.transform.apply(s, &mut rng))
            })
            .collect::<Result<_>>()?;
        stack(samples, &self.config.transform, self.dataset.as_ref())
    }

    /// The batches of one epoch, in order.
    pub fn epoch(&self, epoch: u64) -> Batches {
        let order = self.order(epoch);
        let b = self.config.batch_size;
        let mut chunks: Vec<Vec<usize>> = order.chunks(b).map(<[usize]>::to_vec).collect();
        if self.config.drop_last && chunks.last().is_some_and(|c| c.len() < b) {
            chunks.pop();
        }
        let inner = if self.config.prefetch == 0 {
            Inner::Direct {
                loader: self.clone(),
                epoch,
                chunks: chunks.into_iter(),
                failed: false,
            }
        } else {
            let (tx, rx) = sync_channel(self.config.prefetch);
            let loader = self.clone();
            std::thread::spawn(move || {
                for c in chunks {
                    let r = loader.load_batch(&c, epoch);
                    let stop = r.is_err();
                    if tx.send(r).is_err() || stop {
                        break;
                    }
                }
            });
            Inner::Prefetch { rx }
        };
        Batches { inner }
    }

    /// An endless stream of batches, epoch after epoch from `start_epoch`
    /// (for loops counted in iterations).
    pub fn stream(&self, start_epoch: u64) -> Stream {
        Stream {
            current: self.epoch(start_epoch),
            loader: self.clone(),
            epoch: start_epoch,
        }
    }
}

fn stack(samples: Vec<Sample>, t: &Transform, ds: &dyn Dataset) -> Result<Batch> {
    let first = samples
        .first()
        .ok_or_else(|| Error::msg("cannot build an empty batch"))?;
    let (w, h) = (first.image.width, first.image.height);
    let n = samples.len();
    let with_labels = samples.iter().all(|s| s.label.is_some());
    let mut images = Vec::with_capacity(n * 3 * (w * h) as usize);
    let mut labels = with_labels.then(|| Vec::with_capacity(n * (w * h) as usize));
    let mut names = Vec::with_capacity(n);
    for s in samples {
        if (s.image.width, s.image.height) != (w, h) {
            return Err(Error::Data {
                path: ds.describe().into(),
                msg: format!(
                    "example '{}' is {}x{} but '{}' is {w}x{h}; examples of a batch must \
                     share a size: set a resize or crop in the loader's transform",
                    s.name, s.image.width, s.image.height, names[0]
                ),
            });
        }
        t.normalize.extend_chw(&s.image, &mut images);
        if let (Some(all), Some(l)) = (labels.as_mut(), s.label) {
            all.extend_from_slice(&l.data);
        }
        names.push(s.name);
    }
    Ok(Batch {
        images,
        labels,
        shape: [n, 3, h as usize, w as usize],
        names,
    })
}

enum Inner {
    Direct {
        loader: DataLoader,
        epoch: u64,
        chunks: std::vec::IntoIter<Vec<usize>>,
        failed: bool,
    },
    Prefetch {
        rx: Receiver<Result<Batch>>,
    },
}

/// The batches of one epoch (see [`DataLoader::epoch`]). After an error the
/// iterator ends.
pub struct Batches {
    inner: Inner,
}

impl Iterator for Batches {
    type Item = Result<Batch>;
    fn next(&mut self) -> Option<Self::Item> {
        match &mut self.inner {
            Inner::Direct {
                loader,
                epoch,
                chunks,
                failed,
            } => {
                if *failed {
                    return None;
                }
                let c = chunks.next()?;
                let r = loader.load_batch(&c, *epoch);
                *failed = r.is_err();
                Some(r)
            }
            Inner::Prefetch { rx } => rx.recv().ok(),
        }
    }
}

/// An endless stream of batches over successive epochs.
pub struct Stream {
    loader: DataLoader,
    current: Batches,
    epoch: u64,
}

impl Stream {
    /// The epoch being read (it advances when the next batch is drawn
    /// after an epoch's last one).
    pub fn epoch(&self) -> u64 {
        self.epoch
    }
}

impl Iterator for Stream {
    type Item = Result<Batch>;
    fn next(&mut self) -> Option<Self::Item> {
        loop {
            match self.current.next() {
                Some(b) => return Some(b),
                None => {
                    self.epoch += 1;
                    self.current = self.loader.epoch(self.epoch);
                }
            }
        }
    }
}
