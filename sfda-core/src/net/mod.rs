//! The networks of sfda, written once against [`Backend`] so every backend
//! runs them, and the architecture factory.
//!
//! - [`DeepLabV3`] on a dilated [`ResNet`] (Chen et al., 2017) — the main
//!   network of Liu, Zhang & Wang, "Source-Free Domain Adaptation for Semantic
//!   Segmentation", CVPR 2021 — with torchvision's weight names.
//! - [`SegNet`] on VGG16-BN (Badrinarayanan et al., TPAMI 2017) — the paper's
//!   second network.
//! - [`DcganGenerator`], the fake-image generator, and [`PatchDiscriminator`],
//!   the position-conditioned patch discriminator of IPSM.
//!
//! ```
//! # fn demo<B: sfda_core::Backend>(dev: &B::Device) -> sfda_core::Result<()> {
//! use sfda_core::{net::build_seg_model, nn::VarStore, ForwardOpts, Tensor};
//! let vs = VarStore::<B>::new(dev.clone(), 42);
//! let model = build_seg_model::<B>("deeplabv3-mini", 19, &vs.root())?;
//! let x = Tensor::<B>::zeros(&[2, 3, 128, 256], dev)?;
//! let out = model.forward(&x, ForwardOpts::EVAL)?;
//! assert_eq!(out.logits.shape(), vec![2, 19, 128, 256]);
//! # Ok(()) }
//! ```

mod aspp;
mod deeplabv3;
mod discriminator;
mod generator;
mod presets;
mod resnet;
mod segnet;

pub use aspp::Aspp;
pub use deeplabv3::{DeepLabV3, DeepLabV3Config};
pub use discriminator::{DiscriminatorConfig, PatchDiscriminator};
pub use generator::{DcganGenerator, GeneratorConfig};
pub use presets::{
    arch_spec, canonical_arch, deeplabv3_mini, output_stride, segnet_mini, ArchSpec, KNOWN_ARCHS,
    TORCHVISION_ALIASES,
};
pub use resnet::{BlockKind, ResNet, ResNetConfig};
pub use segnet::{SegNet, SegNetConfig};

use crate::model::SegModel;
use crate::nn::VarPath;
use crate::tensor::{Backend, Tensor};
use crate::{Error, Result};

/// Builds the segmentation network called `arch` with `num_classes` outputs
/// under `vs`, from the architecture registry: the built-ins
/// ([`KNOWN_ARCHS`]), networks registered statically and networks of loaded
/// plugins. torchvision's names ([`TORCHVISION_ALIASES`], e.g.
/// `deeplabv3_resnet50`) build the matching built-in network. An unknown
/// name is a [`Error::Config`] listing the registered ones.
pub fn build_seg_model<B: Backend>(
    arch: &str,
    num_classes: usize,
    vs: &VarPath<B>,
) -> Result<Box<dyn SegModel<B>>> {
    let arch = canonical_arch(arch);
    match crate::registry::lookup_arch::<B>(arch, num_classes, vs)? {
        crate::registry::Lookup::Generic => build_builtin_seg_model::<B>(arch, num_classes, vs),
        crate::registry::Lookup::Built(model) => Ok(model),
    }
}

/// Builds one of the built-in networks ([`KNOWN_ARCHS`]): what
/// [`build_seg_model`] does for the registry's generic entries.
pub fn build_builtin_seg_model<B: Backend>(
    arch: &str,
    num_classes: usize,
    vs: &VarPath<B>,
) -> Result<Box<dyn SegModel<B>>> {
    Ok(match arch_spec(arch)? {
        ArchSpec::DeepLabV3(cfg) => Box::new(DeepLabV3::new(vs, arch, &cfg, num_classes)?),
        ArchSpec::SegNet(cfg) => Box::new(SegNet::new(vs, arch, &cfg, num_classes)?),
    })
}

fn check_num_classes(n: usize) -> Result<()> {
    if n == 0 {
        return Err(Error::Config {
            key: "num_classes".into(),
            msg: "a segmentation network needs at least one class".into(),
        });
    }
    Ok(())
}

/// Checks `x` is `[B, 3, H, W]` and returns `(H, W)`.
fn check_image<B: Backend>(x: &Tensor<B>, net: &'static str) -> Result<(usize, usize)> {
    let s = x.shape();
    if s.len() != 4 || s[1] != 3 || s[0] == 0 {
        return Err(Error::shape(
            net,
            format!("expected images [B, 3, H, W], got {s:?}"),
        ));
    }
    Ok((s[2], s[3]))
}

#[cfg(test)]
mod registry_tests {
    use super::KNOWN_ARCHS;

    #[test]
    fn every_builtin_network_is_registered_once() {
        let mut known = KNOWN_ARCHS.to_vec();
        known.sort();
        assert_eq!(crate::registry::arch_names(), known);
    }
}
