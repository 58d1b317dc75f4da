//! [`SynthDataset`]: the embedded benchmark as a [`Dataset`], generated on
//! the fly (nothing on disk, nothing cached).

use crate::data::classes::ClassSet;
use crate::data::dataset::{Dataset, Layout};
use crate::data::sample::Sample;
use crate::data::synth::spec::SynthSpec;
use crate::error::{Error, Result};

/// A procedural dataset of `spec.count` examples.
#[derive(Debug, Clone)]
pub struct SynthDataset {
    spec: SynthSpec,
}

impl SynthDataset {
    /// A dataset generating `spec`'s examples on demand.
    pub fn new(spec: SynthSpec) -> Self {
        SynthDataset { spec }
    }

    /// A dataset of a spec that is checked first.
    pub fn checked(spec: SynthSpec) -> Result<Self> {
        spec.validate()?;
        Ok(SynthDataset { spec })
    }

    /// The spec.
    pub fn spec(&self) -> &SynthSpec {
        &self.spec
    }
}

impl Dataset for SynthDataset {
    fn layout(&self) -> Layout {
        Layout::Synth
    }

    fn len(&self) -> usize {
        self.spec.count
    }

    fn name(&self, index: usize) -> String {
        self.spec.name(index)
    }

    fn load(&self, index: usize) -> Result<Sample> {
        if index >= self.spec.count {
            return Err(Error::msg(format!(
                "synth index {index} out of range (count {})",
                self.spec.count
            )));
        }
        self.spec.sample(index)
    }

    fn has_labels(&self) -> bool {
        true
    }

    fn class_set(&self) -> ClassSet {
        ClassSet::Cityscapes19
    }

    fn describe(&self) -> String {
        let s = &self.spec;
        format!(
            "synth {} {} ({} images, {}x{}, seed {}, severity {})",
            s.domain,
            s.split,
            s.count,
            s.width,
            s.height,
            s.seed,
            s.effective_severity()
        )
    }
}
