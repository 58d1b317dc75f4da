//! The built-in networks, distillation losses and patch rankers of sfda-core,
//! registered like any other component so that one lookup serves all.

use crate::registry::components::{ArchEntry, Ctors, LossEntry, RankerEntry};

macro_rules! builtin {
    ($entry:ident, $name:expr, $summary:expr) => {
        inventory::submit! {
            $entry {
                name: $name,
                version: env!("CARGO_PKG_VERSION"),
                summary: $summary,
                ctors: Ctors::Generic,
            }
        }
    };
}

builtin!(
    ArchEntry,
    "deeplabv3-mini",
    "DeepLabV3, CPU preset (ResNet 1-1-1-1, widths 16..128, OS 8)"
);
builtin!(
    ArchEntry,
    "deeplabv3-resnet18",
    "DeepLabV3-ResNet18, output stride 8"
);
builtin!(
    ArchEntry,
    "deeplabv3-resnet18-os16",
    "DeepLabV3-ResNet18, output stride 16"
);
builtin!(
    ArchEntry,
    "deeplabv3-resnet34",
    "DeepLabV3-ResNet34, output stride 8"
);
builtin!(
    ArchEntry,
    "deeplabv3-resnet34-os16",
    "DeepLabV3-ResNet34, output stride 16"
);
builtin!(
    ArchEntry,
    "deeplabv3-resnet50",
    "DeepLabV3-ResNet50, output stride 8 (the paper's network)"
);
builtin!(
    ArchEntry,
    "deeplabv3-resnet50-os16",
    "DeepLabV3-ResNet50, output stride 16"
);
builtin!(
    ArchEntry,
    "deeplabv3-resnet101",
    "DeepLabV3-ResNet101, output stride 8"
);
builtin!(
    ArchEntry,
    "deeplabv3-resnet101-os16",
    "DeepLabV3-ResNet101, output stride 16"
);
builtin!(
    ArchEntry,
    "segnet-mini",
    "SegNet, CPU preset (widths 16..128)"
);
builtin!(
    ArchEntry,
    "segnet-vgg16",
    "SegNet on VGG16-BN (the paper's second network)"
);

builtin!(
    LossEntry,
    "mae",
    "L_MAE (eq. 5): mean absolute error between student and teacher outputs"
);
builtin!(
    LossEntry,
    "dad_ss",
    "L_DAD^ss (eq. 6): dual attention distillation, teacher vs student on fakes"
);
builtin!(
    LossEntry,
    "dad_st",
    "L_DAD^st (eq. 7): KL of teacher attention on fakes vs student on targets"
);
builtin!(
    LossEntry,
    "bns",
    "L_BNS (eq. 4): fake-batch BN statistics vs the teacher's running statistics"
);

builtin!(
    RankerEntry,
    "entropy",
    "IPSM entropy ranking (eq. 13-14): lower half of mean patch entropy is easy"
);

#[cfg(test)]
mod tests {
    use crate::ipsm::BUILTIN_PATCH_RANKERS;
    use crate::loss::BUILTIN_DISTILL_LOSSES;
    use crate::registry::{loss_names, ranker_names};

    /// (The networks' list is checked in `crate::net`, which owns it.)
    #[test]
    fn every_builtin_is_registered_once() {
        assert_eq!(loss_names(), BUILTIN_DISTILL_LOSSES.to_vec());
        assert_eq!(ranker_names(), BUILTIN_PATCH_RANKERS.to_vec());
    }
}
