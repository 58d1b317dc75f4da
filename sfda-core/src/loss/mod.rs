//! The loss functions of SFDA (Liu, Zhang & Wang, CVPR 2021), one formula per
//! file, each written once against [`Backend`](crate::Backend) and returning a
//! 0-dimensional [`Tensor`](crate::Tensor):
//!
//! | paper | function | file |
//! |---|---|---|
//! | eq. 2, MaxSquare `L_TAR` | [`maxsquare_loss`] | `maxsquare.rs` |
//! | eq. 4, `L_BNS` | [`bns_loss`] | `bns.rs` |
//! | eq. 5, `L_MAE` | [`mae_loss`] | `mae.rs` |
//! | eq. 6, `L_DAD^ss` | [`dad_ss_loss`] | `dad.rs` |
//! | eq. 7, `L_DAD^st` | [`dad_st_loss`] | `dad.rs` |
//! | eq. 8–10, dual attention module | [`DualAttention`], [`dual_attention`] | `attention.rs` |
//! | eq. 13, pixel entropy (the patch mean is [`crate::ipsm::patch_mean_entropy`]) | [`pixel_entropy`] | `entropy.rs` |
//! | eq. 15/16, `L_ADV` | [`discriminator_loss`], [`fool_loss`], [`bce_with_logits`] | `adversarial.rs` |
//! | baselines: MinEnt / TENT entropy, SHOT's information maximisation | [`entropy_loss`], [`information_maximization`] | `info_max.rs` |
//! | baseline: CBST class-balanced pseudo-labels | [`class_balanced_thresholds`], [`class_balanced_pseudo_labels`] | `pseudo_label.rs` |
//!
//! The four distillation terms the generator and the student share are also
//! available behind the object-safe [`DistillLoss`] trait (`distill.rs`,
//! `builtin.rs`), so the SFDA loop can run a configured list of them and
//! plugins can add more; [`builtin_distill_loss`] builds one by name from its
//! TOML options.
//!
//! No loss here detaches anything: which model receives a gradient is decided
//! by the variables the caller differentiates with respect to (the generator
//! step needs the gradient of MAE, DAD and BNS to flow through the frozen
//! teacher into the generator).

mod adversarial;
mod attention;
mod bns;
mod builtin;
mod dad;
mod distill;
mod entropy;
mod info_max;
mod mae;
mod maxsquare;
mod pseudo_label;

/// The `toml` crate whose [`toml::Value`] carries loss options, re-exported so
/// that callers build options with the same version.
pub use toml;

pub use adversarial::{bce_with_logits, discriminator_loss, fool_loss, AdvReduction};
pub use attention::{dual_attention, DualAttention, FeatureScale};
pub use bns::{bns_loss, BnsNorm, LayerReduction};
pub use builtin::{
    builtin_distill_loss, BnsLoss, BnsOptions, DadSsLoss, DadSsOptions, DadStLoss, DadStOptions,
    MaeLoss, MaeOptions, BUILTIN_DISTILL_LOSSES,
};
pub use dad::{dad_ss_loss, dad_st_loss, StPairing};
pub use distill::{DistillInputs, DistillLoss};
pub use entropy::pixel_entropy;
pub use info_max::{entropy_loss, information_maximization, InfoMax};
pub use mae::{mae_loss, OutputSpace};
pub use maxsquare::{maxsquare_loss, maxsquare_loss_with_probs, MaxSquareOptions};
pub use pseudo_label::{class_balanced_pseudo_labels, class_balanced_thresholds, ClassConfidences};
