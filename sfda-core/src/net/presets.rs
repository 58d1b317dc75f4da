//! Named architectures and their configurations: the full-size networks of
//! the paper and small presets for CPU work.

use crate::net::deeplabv3::DeepLabV3Config;
use crate::net::resnet::{BlockKind, ResNetConfig};
use crate::net::segnet::SegNetConfig;
use crate::{Error, Result};

/// The configuration behind an architecture name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ArchSpec {
    /// A DeepLabV3 network.
    DeepLabV3(DeepLabV3Config),
    /// A SegNet.
    SegNet(SegNetConfig),
}

/// Every architecture name [`super::build_seg_model`] accepts, sorted.
pub const KNOWN_ARCHS: &[&str] = &[
    "deeplabv3-mini",
    "deeplabv3-resnet101",
    "deeplabv3-resnet101-os16",
    "deeplabv3-resnet18",
    "deeplabv3-resnet18-os16",
    "deeplabv3-resnet34",
    "deeplabv3-resnet34-os16",
    "deeplabv3-resnet50",
    "deeplabv3-resnet50-os16",
    "segnet-mini",
    "segnet-vgg16",
];

/// torchvision's model-builder names accepted for the built-in networks with
/// the same weight layout and output stride (torchvision's DeepLabV3 dilates
/// layer3 and layer4: output stride 8).
pub const TORCHVISION_ALIASES: &[(&str, &str)] = &[
    ("deeplabv3_resnet101", "deeplabv3-resnet101"),
    ("deeplabv3_resnet50", "deeplabv3-resnet50"),
];

/// The built-in name behind a torchvision alias ([`TORCHVISION_ALIASES`]);
/// any other name is returned as it is.
pub fn canonical_arch(arch: &str) -> &str {
    TORCHVISION_ALIASES
        .iter()
        .find(|(alias, _)| *alias == arch)
        .map_or(arch, |(_, name)| name)
}

/// The output stride (input size / feature-map size) of a built-in DeepLabV3
/// architecture; `None` for SegNet (it decodes back to full resolution) and
/// for names that are not built in (plugins).
pub fn output_stride(arch: &str) -> Option<usize> {
    match arch_spec(canonical_arch(arch)) {
        Ok(ArchSpec::DeepLabV3(cfg)) => Some(cfg.backbone.output_stride),
        _ => None,
    }
}

/// The CPU preset of DeepLabV3: a ResNet with one basic block per stage,
/// widths 16·32·64·128, output stride 8, 64-channel ASPP with rates 2/4/6
/// (sized for 256×128 inputs, whose feature map is 32×16).
pub fn deeplabv3_mini() -> DeepLabV3Config {
    DeepLabV3Config {
        backbone: ResNetConfig {
            block: BlockKind::Basic,
            layers: [1, 1, 1, 1],
            widths: [16, 32, 64, 128],
            stem_width: 16,
            output_stride: 8,
        },
        aspp_channels: 64,
        atrous_rates: [2, 4, 6],
    }
}

/// The CPU preset of SegNet: one or two BN convolutions per stage, widths
/// 16·32·64·64·128.
pub fn segnet_mini() -> SegNetConfig {
    SegNetConfig {
        widths: [16, 32, 64, 64, 128],
        convs: [1, 1, 2, 2, 2],
        batch_norm: true,
    }
}

/// The configuration of the architecture called `arch` (see [`KNOWN_ARCHS`]).
pub fn arch_spec(arch: &str) -> Result<ArchSpec> {
    let spec = match arch {
        "deeplabv3-mini" => ArchSpec::DeepLabV3(deeplabv3_mini()),
        "segnet-mini" => ArchSpec::SegNet(segnet_mini()),
        "segnet-vgg16" => ArchSpec::SegNet(SegNetConfig::vgg16_bn()),
        _ => match arch.strip_prefix("deeplabv3-resnet") {
            Some(rest) => {
                let (depth, os) = match rest.strip_suffix("-os16") {
                    Some(d) => (d, 16),
                    None => (rest, 8),
                };
                let backbone = match depth {
                    "18" => ResNetConfig::resnet18(os),
                    "34" => ResNetConfig::resnet34(os),
                    "50" => ResNetConfig::resnet50(os),
                    "101" => ResNetConfig::resnet101(os),
                    _ => return Err(unknown(arch)),
                };
                ArchSpec::DeepLabV3(DeepLabV3Config::torchvision(backbone))
            }
            None => return Err(unknown(arch)),
        },
    };
    Ok(spec)
}

fn unknown(arch: &str) -> Error {
    Error::Config {
        key: "arch".into(),
        msg: format!(
            "unknown architecture '{arch}'; known architectures: {}",
            KNOWN_ARCHS.join(", ")
        ),
    }
}
