//! Dataset statistics: image counts and sizes, and per-class pixel
//! frequencies (over the 19 train ids) — what `sfda data stats` prints.

use std::collections::BTreeMap;
use std::fmt;

use indicatif::{ProgressBar, ProgressDrawTarget};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::data::classes::{IGNORE, NUM_TRAIN_IDS, TRAIN_ID_NAMES};
use crate::data::dataset::{Dataset, Layout};
use crate::error::Result;

/// Counts over a whole dataset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DatasetStats {
    /// The dataset's description.
    pub description: String,
    /// Its layout.
    pub layout: Layout,
    /// Number of images.
    pub images: usize,
    /// Number of labelled images.
    pub labelled: usize,
    /// Image sizes (`WxH`) and how many images have each.
    pub sizes: BTreeMap<String, usize>,
    /// Labelled pixels of each train id.
    pub class_pixels: Vec<u64>,
    /// Images in which each train id appears.
    pub class_images: Vec<usize>,
    /// Pixels labelled ignore (255), including the unmapped ones below.
    pub ignore_pixels: u64,
    /// Pixels of raw label ids outside the layout's id table, read as
    /// ignore, per raw id (see [`crate::data::ids`]).
    #[serde(default)]
    pub unmapped_labels: Vec<(u8, u64)>,
}

impl DatasetStats {
    fn empty(ds: &dyn Dataset) -> Self {
        DatasetStats {
            description: ds.describe(),
            layout: ds.layout(),
            images: 0,
            labelled: 0,
            sizes: BTreeMap::new(),
            class_pixels: vec![0; NUM_TRAIN_IDS],
            class_images: vec![0; NUM_TRAIN_IDS],
            ignore_pixels: 0,
            unmapped_labels: Vec::new(),
        }
    }

    fn merge(mut self, o: DatasetStats) -> Self {
        self.images += o.images;
        self.labelled += o.labelled;
        for (k, v) in o.sizes {
            *self.sizes.entry(k).or_default() += v;
        }
        for c in 0..NUM_TRAIN_IDS {
            self.class_pixels[c] += o.class_pixels[c];
            self.class_images[c] += o.class_images[c];
        }
        self.ignore_pixels += o.ignore_pixels;
        self
    }

    /// Decodes every example (in parallel, one at a time per thread) and
    /// counts; a progress bar on stderr when `progress`.
    pub fn compute(ds: &dyn Dataset, progress: bool) -> Result<Self> {
        let bar = if progress {
            ProgressBar::with_draw_target(Some(ds.len() as u64), ProgressDrawTarget::stderr())
        } else {
            ProgressBar::hidden()
        };
        let base = Self::empty(ds);
        let before = ds.unmapped_labels();
        let mut stats = (0..ds.len())
            .into_par_iter()
            .map(|i| -> Result<DatasetStats> {
                let s = ds.load(i)?;
                let mut st = base.clone();
                st.images = 1;
                st.sizes
                    .insert(format!("{}x{}", s.image.width, s.image.height), 1);
                if let Some(l) = &s.label {
                    st.labelled = 1;
                    let mut counts = [0u64; 256];
                    for &v in &l.data {
                        counts[v as usize] += 1;
                    }
                    for (c, &n) in counts.iter().take(NUM_TRAIN_IDS).enumerate() {
                        st.class_pixels[c] = n;
                        st.class_images[c] = usize::from(n > 0);
                    }
                    st.ignore_pixels = counts[IGNORE as usize];
                }
                bar.inc(1);
                Ok(st)
            })
            .try_reduce(|| base.clone(), |a, b| Ok(a.merge(b)))?;
        bar.finish_and_clear();
        stats.unmapped_labels = crate::data::ids::unmapped_since(&ds.unmapped_labels(), &before);
        Ok(stats)
    }

    /// Labelled (non-ignore) pixels.
    pub fn labelled_pixels(&self) -> u64 {
        self.class_pixels.iter().sum()
    }

    /// Number of train ids with at least one pixel.
    pub fn classes_present(&self) -> usize {
        self.class_pixels.iter().filter(|&&p| p > 0).count()
    }

    /// Fraction of labelled pixels of each train id.
    pub fn frequencies(&self) -> Vec<f64> {
        let total = self.labelled_pixels().max(1) as f64;
        self.class_pixels
            .iter()
            .map(|&p| p as f64 / total)
            .collect()
    }
}

impl fmt::Display for DatasetStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}", self.description)?;
        let sizes: Vec<String> = self
            .sizes
            .iter()
            .map(|(k, v)| format!("{k} ×{v}"))
            .collect();
        writeln!(
            f,
            "images: {}   labelled: {}   sizes: {}",
            self.images,
            self.labelled,
            sizes.join(", ")
        )?;
        if self.labelled == 0 {
            return writeln!(f, "(no labels: unlabelled set)");
        }
        let all = (self.labelled_pixels() + self.ignore_pixels).max(1) as f64;
        writeln!(
            f,
            "classes present: {} of 19   ignore: {:.2}% of all pixels",
            self.classes_present(),
            100.0 * self.ignore_pixels as f64 / all
        )?;
        writeln!(
            f,
            "{:<3} {:<14} {:>12} {:>8} {:>8}",
            "id", "class", "pixels", "freq %", "images"
        )?;
        let freq = self.frequencies();
        for c in 0..NUM_TRAIN_IDS {
            writeln!(
                f,
                "{:<3} {:<14} {:>12} {:>8.3} {:>8}",
                c,
                TRAIN_ID_NAMES[c],
                self.class_pixels[c],
                100.0 * freq[c],
                self.class_images[c]
            )?;
        }
        if !self.unmapped_labels.is_empty() {
            let n: u64 = self.unmapped_labels.iter().map(|e| e.1).sum();
            writeln!(
                f,
                "label ids outside the layout's id table, read as ignore: {n} px ({}); \
                 --strict-labels makes them an error",
                crate::data::ids::describe_unmapped(&self.unmapped_labels)
            )?;
        }
        Ok(())
    }
}
