#!/usr/bin/env python3
"""The demo-scale SFDA iteration that `sfda bench` times, written in plain
PyTorch eager as a PyTorch user would write it, and timed the same way.

One iteration (Liu, Zhang & Wang, CVPR 2021; sfda-core/src/algo/methods/sfda/steps.rs):

1. generator step, only G moves (eq. 11):
   min_G  L_BNS - a*L_MAE - b*L_DAD^ss + t*L_DAD^st
2. student step, only S moves (eq. 16 without D's part), fakes detached:
   min_S  L_TAR + a*L_MAE + b*L_DAD^ss + g*L_ADV
3. discriminator step, only D moves (eq. 15): IPSM labels the KxK patches of
   the student's target predictions easy/hard by entropy ranking and D
   learns to tell them apart.

Networks, shapes, batch sizes, optimizers, loss definitions and options are
those of the demo preset (sfda-core/presets/demo.toml) and sfda's defaults
for everything the preset leaves out; README.md beside this file lists every
place where this script differs from sfda.

    python sfda_iteration.py --iters 5 --warmup 1            # time it
    python sfda_iteration.py --iters 5 --warmup 1 --threads 1
    python sfda_iteration.py --check                          # counts + 1 iteration

It prints the parameter count of each network (and fails when one differs
from sfda's), a table close to `sfda bench`'s and one machine-readable line
starting with `json: `.
"""

import argparse
import contextlib
import copy
import json
import math
import os
import struct
import sys
import time
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

REPO = Path(__file__).resolve().parents[2]
DEMO_PRESET = REPO / "sfda-core" / "presets" / "demo.toml"

# Parameter counts of sfda's networks (trainable tensors; BN running
# statistics are buffers and not counted), worked out from sfda-core/src/net.
# The issue quotes the generator at the fake size the demo preset had then
# (64x128: fc 256 -> 64*4*8); the preset now makes fakes at 128x256 (fc
# 256 -> 64*8*16), which the same generator widths give 2,132,331.
# The paper-scale counts were checked by loading sfda's own files with
# --source / --state (every name and shape must match): a deeplabv3-resnet50
# checkpoint of `sfda train-source`, and the state of an `sfda adapt` with
# net_size = "paper" (README.md beside this file).
EXPECTED_SEG = {                  # student and teacher, 19 classes
    "deeplabv3-mini": 606_499,
    "deeplabv3-resnet50": 39_638_355,
}
EXPECTED_DISC = {("mini", 4): 219_009, ("paper", 4): 2_925_057}   # (net_size, K) -> count
EXPECTED_GEN = {                  # (net_size, fake H, fake W) -> count
    ("mini", 64, 128): 553_323,
    ("mini", 128, 256): 2_132_331,
    ("paper", 128, 256): 4_456_083,
}
NUM_CLASSES = 19
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


# --------------------------------------------------------------------------
# configuration: the demo preset, over sfda's defaults (sfda-core/src/algo/config.rs)

DEFAULTS = {
    "batch_size": 8,
    "fake_batch_size": 8,
    "fake_size": [128, 256],
    "latent_dim": 256,
    "net_size": "paper",
    "generator_every": 1,
    "generator_steps": 1,
    "discriminator_steps": 1,
    "k": 4,
    "poly_power": 0.9,
    "diagnostics_every": 10,
    "student_bn_on_fake": "batch",
    "weights": {"alpha": 1.0, "beta": 0.5, "tau": 0.5, "gamma": 0.01, "bns": 1.0, "target": 1.0},
    "student_optim": {"lr": 2.5e-4, "momentum": 0.9, "nesterov": True, "weight_decay": 1e-4},
    "generator_optim": {"lr": 1e-3, "beta1": 0.5, "beta2": 0.999, "eps": 1e-8, "weight_decay": 0.0},
    "discriminator_optim": {"lr": 1e-4, "beta1": 0.5, "beta2": 0.999, "eps": 1e-8, "weight_decay": 0.0},
}
# Keys that do not change the timed computation (the bench overrides
# iterations and generator_warmup; the rest are about logging and files).
IGNORED_KEYS = {"iterations", "generator_warmup", "checkpoint_every", "eval_every", "seed",
                "plugins", "target_size", "source_estimate"}


def load_preset(path):
    cfg = copy.deepcopy(DEFAULTS)
    if path is None:
        return cfg
    try:
        import tomllib
    except ModuleNotFoundError:  # Python < 3.11
        sys.exit(f"error: reading {path} needs Python >= 3.11 (tomllib); pass --preset none "
                 "to use the built-in copy of the demo preset")
    with open(path, "rb") as f:
        raw = tomllib.load(f)
    for key, value in raw.items():
        if key in IGNORED_KEYS:
            continue
        if key not in cfg:
            sys.exit(f"error: {path}: key '{key}' changes the iteration and is not modelled "
                     "by this script (see README.md)")
        if isinstance(cfg[key], dict):
            unknown = set(value) - set(cfg[key])
            if unknown:
                sys.exit(f"error: {path}: [{key}] {sorted(unknown)} not modelled by this script")
            cfg[key].update(value)
        else:
            cfg[key] = value
    return check_modelled(cfg)


def check_modelled(cfg):
    if cfg["student_bn_on_fake"] != "batch":
        sys.exit("error: only student_bn_on_fake = \"batch\" (sfda's default) is modelled")
    zero = [k for k, v in cfg["weights"].items() if v == 0]
    if zero:
        # sfda drops a term whose weight is 0 (and its forward, for gamma);
        # this script always computes every term.
        sys.exit(f"error: zero loss weights {zero} are not modelled by this script")
    if cfg["net_size"] not in GEN_CHANNELS:
        sys.exit(f"error: net_size {cfg['net_size']!r} unknown")
    return cfg


# The demo preset itself (sfda-core/presets/demo.toml), for --preset none.
BUILTIN_DEMO = {
    "batch_size": 8, "fake_batch_size": 8, "fake_size": [128, 256], "net_size": "mini",
    "generator_every": 1, "generator_steps": 1, "discriminator_steps": 1, "k": 4,
    "poly_power": 0.9,
    "weights": {"alpha": 1.0, "beta": 0.5, "tau": 0.5, "gamma": 0.01},
    "student_optim": {"lr": 0.005, "momentum": 0.9, "nesterov": True, "weight_decay": 1e-4},
    "generator_optim": {"lr": 1e-3, "beta1": 0.5},
    "discriminator_optim": {"lr": 1e-4, "beta1": 0.5},
}


# --------------------------------------------------------------------------
# networks (sfda-core/src/net/*.rs), with sfda's (= torchvision's) names so an
# sfda safetensors file loads with load_state_dict

class BatchNorm2d(nn.BatchNorm2d):
    """nn.BatchNorm2d that can normalise with batch statistics in training
    mode without moving its running statistics (sfda's student on fakes:
    `BnMode::Train { update_running: false }`)."""

    update_running = True

    def forward(self, x):
        if self.training and not self.update_running:
            return F.batch_norm(x, None, None, self.weight, self.bias, True, 0.0, self.eps)
        return super().forward(x)


@contextlib.contextmanager
def batch_stats_only(model):
    """Train-mode BN on batch statistics, running statistics left alone."""
    bns = [m for m in model.modules() if isinstance(m, BatchNorm2d)]
    for m in bns:
        m.update_running = False
    try:
        yield
    finally:
        for m in bns:
            m.update_running = True


class BNStatistics:
    """Forward pre-hooks on every BN layer recording the batch mean and
    (biased) variance of its input, kept in the graph, for L_BNS (eq. 4), as
    DeepInversion's public code does."""

    def __init__(self, model):
        self.stats = None
        self.handles = [m.register_forward_pre_hook(self._hook)
                        for m in model.modules() if isinstance(m, nn.BatchNorm2d)]

    def _hook(self, module, inputs):
        if self.stats is not None:
            var, mean = torch.var_mean(inputs[0], dim=(0, 2, 3), correction=0)
            self.stats.append((mean, var, module.running_mean, module.running_var))

    @contextlib.contextmanager
    def collect(self):
        self.stats = []
        try:
            yield self.stats
        finally:
            self.stats = None


def conv3x3(cin, cout, stride=1, dilation=1):
    return nn.Conv2d(cin, cout, 3, stride, padding=dilation, dilation=dilation, bias=False)


class BasicBlock(nn.Module):
    """ResNet basic block; unlike torchvision's it accepts a dilation (both
    3x3 convs dilated alike), as sfda's does."""

    expansion = 1

    def __init__(self, inplanes, planes, stride, dilation, downsample):
        super().__init__()
        self.conv1 = conv3x3(inplanes, planes, stride, dilation)
        self.bn1 = BatchNorm2d(planes)
        self.conv2 = conv3x3(planes, planes, 1, dilation)
        self.bn2 = BatchNorm2d(planes)
        self.downsample = nn.Sequential(
            nn.Conv2d(inplanes, planes, 1, stride, bias=False), BatchNorm2d(planes)
        ) if downsample else None

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        identity = x if self.downsample is None else self.downsample(x)
        return F.relu(out + identity)


class Bottleneck(nn.Module):
    """torchvision's ResNet bottleneck (1x1, 3x3 with stride and dilation,
    1x1 to 4x the width), as sfda's."""

    expansion = 4

    def __init__(self, inplanes, planes, stride, dilation, downsample):
        super().__init__()
        out = planes * self.expansion
        self.conv1 = nn.Conv2d(inplanes, planes, 1, bias=False)
        self.bn1 = BatchNorm2d(planes)
        self.conv2 = conv3x3(planes, planes, stride, dilation)
        self.bn2 = BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, out, 1, bias=False)
        self.bn3 = BatchNorm2d(out)
        self.downsample = nn.Sequential(
            nn.Conv2d(inplanes, out, 1, stride, bias=False), BatchNorm2d(out)
        ) if downsample else None

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = F.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        identity = x if self.downsample is None else self.downsample(x)
        return F.relu(out + identity)


class ResNet(nn.Module):
    """sfda's (torchvision's) ResNet backbone at output stride 8: layer3 and
    layer4 dilated, torchvision's `replace_stride_with_dilation` rule (the
    first block of a stage keeps the previous dilation). deeplabv3-mini is
    one basic block per stage, widths 16/32/64/128, stem 16; ResNet-50 is
    bottlenecks [3, 4, 6, 3], widths 64/128/256/512, stem 64."""

    def __init__(self, block=BasicBlock, layers=(1, 1, 1, 1), widths=(16, 32, 64, 128),
                 stem=16, dilate=(False, True, True)):
        super().__init__()
        self.conv1 = nn.Conv2d(3, stem, 7, 2, 3, bias=False)
        self.bn1 = BatchNorm2d(stem)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        inplanes, dilation = stem, 1
        for i, (planes, n) in enumerate(zip(widths, layers)):
            stride = 1 if i == 0 else 2
            previous = dilation
            if i > 0 and dilate[i - 1]:
                dilation *= stride
                stride = 1
            ds = stride != 1 or inplanes != planes * block.expansion
            blocks = [block(inplanes, planes, stride, previous, ds)]
            inplanes = planes * block.expansion
            blocks += [block(inplanes, planes, 1, dilation, False) for _ in range(n - 1)]
            setattr(self, f"layer{i + 1}", nn.Sequential(*blocks))
        self.out_channels = inplanes
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x):
        x = self.maxpool(F.relu(self.bn1(self.conv1(x))))
        return self.layer4(self.layer3(self.layer2(self.layer1(x))))


def conv_bn_relu(cin, cout, k=1, dilation=1):
    return nn.Sequential(
        nn.Conv2d(cin, cout, k, padding=dilation * (k - 1) // 2, dilation=dilation, bias=False),
        BatchNorm2d(cout), nn.ReLU())


class ASPPPooling(nn.Sequential):
    def __init__(self, cin, cout):
        super().__init__(nn.AdaptiveAvgPool2d(1), nn.Conv2d(cin, cout, 1, bias=False),
                         BatchNorm2d(cout), nn.ReLU())

    def forward(self, x):
        size = x.shape[-2:]
        for mod in self:
            x = mod(x)
        return F.interpolate(x, size=size, mode="bilinear", align_corners=False)


class ASPP(nn.Module):
    """torchvision's ASPP without the final Dropout(0.5) (sfda leaves it out)."""

    def __init__(self, cin, cout, rates):
        super().__init__()
        self.convs = nn.ModuleList(
            [conv_bn_relu(cin, cout)] + [conv_bn_relu(cin, cout, 3, r) for r in rates]
            + [ASPPPooling(cin, cout)])
        self.project = conv_bn_relu(5 * cout, cout)

    def forward(self, x):
        return self.project(torch.cat([c(x) for c in self.convs], dim=1))


class DeepLabV3(nn.Module):
    """sfda's DeepLabV3 in torchvision's DeepLabHead layout: ASPP, 3x3 conv +
    BN + ReLU, 1x1 classifier. deeplabv3-mini: the mini backbone, 64-channel
    ASPP at rates 2/4/6; deeplabv3-resnet50: ResNet-50, 256 channels at
    12/24/36 (torchvision's, without the auxiliary head). Returns (logits at
    the input size, backbone features) - the features are what DAD reads."""

    def __init__(self, backbone, aspp, rates, num_classes=NUM_CLASSES):
        super().__init__()
        self.backbone = backbone
        self.classifier = nn.Sequential(
            ASPP(backbone.out_channels, aspp, rates),
            nn.Conv2d(aspp, aspp, 3, padding=1, bias=False),
            BatchNorm2d(aspp), nn.ReLU(), nn.Conv2d(aspp, num_classes, 1))

    def forward(self, x):
        features = self.backbone(x)
        y = self.classifier(features)
        logits = F.interpolate(y, size=x.shape[-2:], mode="bilinear", align_corners=False)
        return logits, features


def seg_model(arch):
    if arch == "deeplabv3-mini":
        return DeepLabV3(ResNet(), 64, (2, 4, 6))
    if arch == "deeplabv3-resnet50":
        return DeepLabV3(ResNet(Bottleneck, (3, 4, 6, 3), (64, 128, 256, 512), 64), 256,
                         (12, 24, 36))
    sys.exit(f"error: --arch {arch!r} is not modelled (deeplabv3-mini, deeplabv3-resnet50)")


class UpBlock(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 3, padding=1, bias=False)
        self.bn = BatchNorm2d(cout)
        nn.init.kaiming_normal_(self.conv.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x):
        return F.relu(self.bn(self.conv(F.interpolate(x, scale_factor=2, mode="nearest"))))


class Generator(nn.Module):
    """sfda's DCGAN-style generator: fc -> reshape -> BN -> ReLU, then per
    stage nearest x2 + 3x3 conv + BN + ReLU, a 3x3 conv to RGB and tanh."""

    def __init__(self, image_size, channels, latent_dim=256):
        super().__init__()
        n = len(channels) - 1
        self.c0 = channels[0]
        self.base = (image_size[0] >> n, image_size[1] >> n)
        assert self.base[0] << n == image_size[0] and self.base[1] << n == image_size[1]
        self.fc = nn.Linear(latent_dim, self.c0 * self.base[0] * self.base[1])
        self.bn0 = BatchNorm2d(self.c0)
        self.blocks = nn.ModuleList(UpBlock(a, b) for a, b in zip(channels, channels[1:]))
        self.out = nn.Conv2d(channels[-1], 3, 3, padding=1)

    def forward(self, z):
        y = self.fc(z).view(z.shape[0], self.c0, *self.base)
        y = F.relu(self.bn0(y))
        for b in self.blocks:
            y = b(y)
        return torch.tanh(self.out(y))


class PatchDiscriminator(nn.Module):
    """sfda's position-conditioned patch discriminator: strided 4x4 convs with
    leaky ReLU 0.2, the position embedded (256) and injected as a bias after
    the first conv and as a projection term at the output."""

    def __init__(self, num_classes, num_positions, channels, embed_dim=256):
        super().__init__()
        self.embed = nn.Embedding(num_positions, embed_dim)
        self.cond = nn.Linear(embed_dim, channels[0])
        cins = [num_classes] + list(channels[:-1])
        self.convs = nn.ModuleList(nn.Conv2d(a, b, 4, 2, 1) for a, b in zip(cins, channels))
        self.proj = nn.Linear(embed_dim, channels[-1], bias=False)
        self.fc = nn.Linear(channels[-1], 1)

    def forward(self, patches, positions):
        e = self.embed(positions)
        h = F.leaky_relu(self.convs[0](patches) + self.cond(e)[:, :, None, None], 0.2)
        for conv in self.convs[1:]:
            h = F.leaky_relu(conv(h), 0.2)
        g = h.mean(dim=(2, 3))
        return self.fc(g).squeeze(1) + (g * self.proj(e)).sum(1)


GEN_CHANNELS = {"mini": [64, 32, 16, 16, 8], "paper": [128, 128, 64, 32, 16]}
DISC_CHANNELS = {"mini": [32, 64, 128], "paper": [64, 128, 256, 512]}


def n_params(model):
    return sum(p.numel() for p in model.parameters())


# --------------------------------------------------------------------------
# losses (sfda-core/src/loss/*.rs, sfda-core/src/ipsm/*.rs), sfda's defaults

def bns_loss(stats):
    """eq. 4: sum over BN layers of ||mu - mu_run||^2 + ||var - var_run||^2."""
    return sum(((m - rm) ** 2).sum() + ((v - rv) ** 2).sum() for m, v, rm, rv in stats)


class DualAttention:
    """eq. 8-10 on cosine similarities / 0.1 (sfda's default feature scale)."""

    def __init__(self, features, temperature=0.1):
        b, c, h, w = features.shape
        f = features.permute(0, 2, 3, 1).reshape(b, h * w, c)            # [B, N, C]
        fq = f / (f.pow(2).sum(2, keepdim=True) + 1e-12).sqrt()
        fc = f / (f.pow(2).sum(1, keepdim=True) + 1e-12).sqrt()
        self.f = f
        self.spatial_logits = fq @ fq.transpose(1, 2) / temperature      # [B, N, N]
        self.channel_logits = fc.transpose(1, 2) @ fc / temperature      # [B, C, C]

    def map(self):
        spatial = self.spatial_logits.softmax(2) @ self.f
        channel = self.f @ self.channel_logits.softmax(2).transpose(1, 2)
        return torch.cat([spatial, channel], 2)                          # [B, N, 2C]


def dad_ss_loss(teacher_features, student_features):
    """eq. 6: mean |A(teacher) - A(student)| on the same fakes, no pooling."""
    return (DualAttention(teacher_features).map() - DualAttention(student_features).map()
            ).abs().mean()


def row_kl(p, log_p, log_q):
    return (p * (log_p - log_q)).sum(-1).mean()


def dad_st_loss(teacher_fake, student_target, pool=(8, 16)):
    """eq. 7: KL between the teacher's attention on fakes and the student's on
    target images, both adaptive-average pooled to 8x16, fake i paired with
    target i mod B_t."""
    p = DualAttention(F.adaptive_avg_pool2d(teacher_fake, pool))
    q = DualAttention(F.adaptive_avg_pool2d(student_target, pool))
    idx = torch.arange(teacher_fake.shape[0], device=teacher_fake.device) % student_target.shape[0]
    kl_s = row_kl(p.spatial_logits.softmax(2), p.spatial_logits.log_softmax(2),
                  q.spatial_logits.log_softmax(2)[idx])
    kl_r = row_kl(p.channel_logits.softmax(2), p.channel_logits.log_softmax(2),
                  q.channel_logits.log_softmax(2)[idx])
    return kl_s + kl_r


def maxsquare_loss(logits):
    """eq. 2: -(1/HW) sum_hw sum_c p^2, averaged over the batch."""
    return -logits.softmax(1).pow(2).sum(1).mean()


def patch_entropy(logits, k):
    """eq. 13: mean pixel entropy of each of the KxK patches, [B, K*K]."""
    b, _, h, w = logits.shape
    ph, pw = h // k, w // k
    logp = logits.log_softmax(1)
    e = -(logp.exp() * logp).sum(1)[:, :k * ph, :k * pw]
    return e.reshape(b, k, ph, k, pw).mean(dim=(2, 4)).reshape(b, k * k)


def rank_hard(logits, k):
    """eq. 14: per position, the lower-entropy half of the batch is easy, the
    rest hard (stable: ties by image index; NaN ranks last). [B, K*K] bool."""
    scores = patch_entropy(logits, k).nan_to_num(nan=float("inf"))
    order = scores.sort(dim=0, stable=True).indices          # [B, K*K]
    b = logits.shape[0]
    hard = torch.zeros_like(scores, dtype=torch.bool)
    hard.scatter_(0, order[b // 2:], True)
    return hard


def split_patches(maps, k):
    """[B, C, H, W] -> [B*K*K, C, H//K, W//K], row b*K*K + pos (remainder cropped)."""
    b, c, h, w = maps.shape
    ph, pw = h // k, w // k
    return (maps[:, :, :k * ph, :k * pw].reshape(b, c, k, ph, k, pw)
            .permute(0, 2, 4, 1, 3, 5).reshape(b * k * k, c, ph, pw))


# --------------------------------------------------------------------------
# safetensors (sfda writes F32 only); the `safetensors` package when present

def read_safetensors(path):
    try:
        from safetensors.torch import load_file
        return load_file(str(path))
    except ImportError:
        pass
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        if info["dtype"] != "F32":
            sys.exit(f"error: {path}: {name} is {info['dtype']}, expected F32")
        a, b = info["data_offsets"]
        t = torch.frombuffer(bytearray(data[8 + n + a:8 + n + b]), dtype=torch.float32)
        out[name] = t.reshape(info["shape"])
    return out


def load_exact(model, tensors, what):
    """load_state_dict that fails on any name or shape mismatch (only
    PyTorch's num_batches_tracked, which sfda does not keep, may be missing)."""
    missing, unexpected = model.load_state_dict(tensors, strict=False)
    missing = [m for m in missing if not m.endswith("num_batches_tracked")]
    if missing or unexpected:
        sys.exit(f"error: {what}: missing {missing[:5]}..., unexpected {unexpected[:5]}...")
    print(f"loaded {what}: {len(tensors)} tensors")


# --------------------------------------------------------------------------
# the iteration

class SfdaIteration:
    def __init__(self, cfg, seed, source=None, state=None, max_iter=1,
                 arch="deeplabv3-mini", device="cpu"):
        self.cfg = cfg
        self.device = torch.device(device)
        self.max_iter = max_iter   # of the poly schedule (sfda bench: warm-up + timed)
        torch.manual_seed(seed)
        net = cfg["net_size"]
        fh, fw = cfg["fake_size"]
        k = cfg["k"]
        self.teacher = seg_model(arch)
        if source is not None:
            load_exact(self.teacher, read_safetensors(source), f"source model {source}")
        self.student = copy.deepcopy(self.teacher)        # sfda: the student starts as the source
        self.generator = Generator((fh, fw), GEN_CHANNELS[net], cfg["latent_dim"])
        self.disc = PatchDiscriminator(NUM_CLASSES, k * k, DISC_CHANNELS[net])
        if state is not None:
            t = read_safetensors(state)
            for prefix, model in (("student.", self.student), ("generator.", self.generator),
                                  ("discriminator.", self.disc)):
                sub = {n[len(prefix):]: v for n, v in t.items() if n.startswith(prefix)}
                load_exact(model, sub, f"{prefix[:-1]} from {state}")
        for model in (self.teacher, self.student, self.generator, self.disc):
            model.to(self.device)
        self.teacher.eval().requires_grad_(False)         # frozen source model
        self.student.train()
        self.generator.train()
        self.disc.train()
        self.bn_stats = BNStatistics(self.teacher)

        w = cfg["weights"]
        self.w = w
        so, go, do = cfg["student_optim"], cfg["generator_optim"], cfg["discriminator_optim"]
        self.base_lr = so["lr"]
        self.opt_s = torch.optim.SGD(self.student.parameters(), lr=so["lr"],
                                     momentum=so["momentum"], nesterov=so["nesterov"],
                                     weight_decay=so["weight_decay"])
        self.opt_g = torch.optim.Adam(self.generator.parameters(), lr=go["lr"],
                                      betas=(go["beta1"], go["beta2"]), eps=go["eps"],
                                      weight_decay=go["weight_decay"])
        self.opt_d = torch.optim.Adam(self.disc.parameters(), lr=do["lr"],
                                      betas=(do["beta1"], do["beta2"]), eps=do["eps"],
                                      weight_decay=do["weight_decay"])
        self.latents = torch.Generator().manual_seed(seed + 1)
        mean = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
        std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
        self.fake_scale = (0.5 / std).to(self.device)
        self.fake_shift = ((0.5 - mean) / std).to(self.device)
        self.target_features = None   # student on the last target batch (detached), for L_DAD^st
        self.target_logits = None     # ... its logits, for the discriminator step
        self.iteration = 0

    def fakes(self):
        z = torch.randn(self.cfg["fake_batch_size"], self.cfg["latent_dim"],
                        generator=self.latents).to(self.device)
        img = self.generator(z)
        return img, img * self.fake_scale + self.fake_shift   # [-1, 1] -> normalised RGB

    def diagnose_now(self):
        every = self.cfg["diagnostics_every"]
        return every > 0 and self.iteration % every == 0

    @staticmethod
    def grad_norm(loss, params):
        grads = torch.autograd.grad(loss, params, retain_graph=True, allow_unused=True)
        return math.sqrt(sum(g.pow(2).sum().item() for g in grads if g is not None))

    def generator_step(self, log):
        w = self.w
        self.student.requires_grad_(False)                 # only G moves
        img, x = self.fakes()
        with self.bn_stats.collect() as stats:
            t_logits, t_feat = self.teacher(x)
        with batch_stats_only(self.student):
            s_logits, s_feat = self.student(x)
        losses = {
            "bns": bns_loss(stats),
            "mae": (s_logits - t_logits).abs().mean(),
            "dad_ss": dad_ss_loss(t_feat, s_feat),
            "dad_st": dad_st_loss(t_feat, self.target_features),
        }
        weights = {"bns": w["bns"], "mae": -w["alpha"], "dad_ss": -w["beta"], "dad_st": w["tau"]}
        parts = {name: weights[name] * v for name, v in losses.items()}
        total = sum(parts.values())
        for name, v in losses.items():
            log[f"g_{name}"] = v.item()
        log["g_total"] = total.item()
        if not math.isfinite(log["g_total"]):
            raise FloatingPointError(f"generator step diverged: {log}")
        if self.diagnose_now():
            params = list(self.generator.parameters())
            for name, v in parts.items():
                log[f"g_gn_{name}"] = self.grad_norm(v, params)
            with torch.no_grad():
                log["g_teacher_conf"] = t_logits.softmax(1).amax(1).mean().item()
                log["g_fake_mean"] = img.mean().item()
                log["g_fake_std"] = img.std(correction=0).item()
                log["g_bns_eq4"] = sum(((m - rm) ** 2).sum().item() + ((v - rv) ** 2).sum().item()
                                       for m, v, rm, rv in stats)
        self.opt_g.zero_grad()
        total.backward()
        self.opt_g.step()
        self.student.requires_grad_(True)

    def student_step(self, xt, log):
        w, k = self.w, self.cfg["k"]
        with torch.no_grad():                              # G and the teacher do not move
            _, x = self.fakes()
            t_logits, t_feat = self.teacher(x)
        with batch_stats_only(self.student):
            s_logits, s_feat = self.student(x)
        losses = {
            "mae": (s_logits - t_logits).abs().mean(),
            "dad_ss": dad_ss_loss(t_feat, s_feat),
        }
        st_logits, st_feat = self.student(xt)              # train mode, running stats move
        losses["tar"] = maxsquare_loss(st_logits)
        logits = st_logits.detach()
        # L_ADV: D's logits on the hard patches pushed towards "easy" (0).
        self.disc.requires_grad_(False)                    # only S moves
        hard = rank_hard(logits, k).flatten()
        hard_idx = hard.nonzero().squeeze(1)
        patches = split_patches(st_logits.softmax(1), k)[hard_idx]
        out = self.disc(patches, hard_idx % (k * k))
        losses["adv"] = F.binary_cross_entropy_with_logits(out, torch.zeros_like(out))
        self.disc.requires_grad_(True)
        self.target_logits = logits
        self.target_features = st_feat.detach()
        weights = {"mae": w["alpha"], "dad_ss": w["beta"], "tar": w["target"], "adv": w["gamma"]}
        parts = {name: weights[name] * v for name, v in losses.items()}
        total = sum(parts.values())
        for name, v in losses.items():
            log[f"s_{name}"] = v.item()
        log["s_total"] = total.item()
        if not math.isfinite(log["s_total"]):
            raise FloatingPointError(f"student step diverged: {log}")
        if self.diagnose_now():
            params = list(self.student.parameters())
            for name, v in parts.items():
                log[f"s_gn_{name}"] = self.grad_norm(v, params)
        lr = self.base_lr * (1 - self.iteration / self.max_iter) ** self.cfg["poly_power"]
        for g in self.opt_s.param_groups:
            g["lr"] = lr
        self.opt_s.zero_grad()
        total.backward()
        self.opt_s.step()

    def discriminator_step(self, log):
        k = self.cfg["k"]
        logits = self.target_logits
        hard = rank_hard(logits, k).flatten().float()      # eq. 13-14
        patches = split_patches(logits.softmax(1), k)
        positions = torch.arange(patches.shape[0], device=patches.device) % (k * k)
        loss = F.binary_cross_entropy_with_logits(self.disc(patches, positions), hard)  # eq. 15
        log["d_d"] = loss.item()
        if not math.isfinite(log["d_d"]):
            raise FloatingPointError(f"discriminator step diverged: {log}")
        self.opt_d.zero_grad()
        loss.backward()
        self.opt_d.step()

    def sync(self):
        """Waits for the GPU, so a step's time is its work (a no-op on the CPU)."""
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)

    def iterate(self, xt):
        """One iteration; returns (seconds of g, s, d; loss values)."""
        log = {}
        self.sync()
        t0 = time.perf_counter()
        if self.target_features is None:
            # the first generator step needs student features on a target batch
            with torch.no_grad(), batch_stats_only(self.student):
                st_logits, st_feat = self.student(xt)
            self.target_features, self.target_logits = st_feat, st_logits
        if self.iteration % self.cfg["generator_every"] == 0:
            for _ in range(self.cfg["generator_steps"]):
                self.generator_step(log)
        self.sync()
        t1 = time.perf_counter()
        self.student_step(xt, log)
        self.sync()
        t2 = time.perf_counter()
        for _ in range(self.cfg["discriminator_steps"]):
            self.discriminator_step(log)
        self.sync()
        t3 = time.perf_counter()
        self.iteration += 1
        return (t1 - t0, t2 - t1, t3 - t2), log


def target_batch(gen, cfg, size):
    """A batch of 'target images': uniform RGB, ImageNet-normalised (sfda's
    loader renders synthetic street scenes here; `sfda bench` times that as
    `data`, which the comparison leaves out)."""
    w, h = size
    x = torch.rand(cfg["batch_size"], 3, h, w, generator=gen)
    mean = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
    return (x - mean) / std


def peak_rss_mib():
    try:
        for line in open("/proc/self/status"):
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def check_counts(it, cfg, arch):
    counts = {
        "student": n_params(it.student),
        "teacher": n_params(it.teacher),
        "generator": n_params(it.generator),
        "discriminator": n_params(it.disc),
    }
    fh, fw = cfg["fake_size"]
    expected = {"student": EXPECTED_SEG.get(arch), "teacher": EXPECTED_SEG.get(arch),
                "generator": EXPECTED_GEN.get((cfg["net_size"], fh, fw)),
                "discriminator": EXPECTED_DISC.get((cfg["net_size"], cfg["k"]))}
    bad = []
    for name, n in counts.items():
        e = expected[name]
        note = "no reference count for this shape" if e is None else (
            "= sfda" if n == e else f"!= sfda's {e:,}")
        print(f"parameters {name:<13} {n:>10,}  ({note})")
        if e is not None and n != e:
            bad.append(name)
    if bad:
        sys.exit(f"error: parameter counts differ from sfda's for {', '.join(bad)}")
    return counts


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--preset", default=str(DEMO_PRESET),
                    help="sfda adaptation config to read (default: the demo preset; "
                         "'none': the built-in copy of it)")
    ap.add_argument("--size", default="256x128", help="target image size WIDTHxHEIGHT")
    ap.add_argument("--fake-size", default=None,
                    help="override the preset's fake size, HEIGHTxWIDTH (the issue's "
                         "553,323-parameter generator is 64x128)")
    ap.add_argument("--iters", type=int, default=5, help="timed iterations")
    ap.add_argument("--warmup", type=int, default=1, help="untimed warm-up iterations")
    ap.add_argument("--threads", type=int, default=0,
                    help="torch.set_num_threads(T) (0: PyTorch's default)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--source", help="an sfda source checkpoint (.safetensors) for the teacher "
                                     "and student")
    ap.add_argument("--state", help="an sfda run state (state/state.safetensors): student, "
                                    "generator and discriminator weights")
    ap.add_argument("--diagnostics-every", type=int, default=None,
                    help="as sfda's diagnostics_every (default: the preset's, else 10): "
                         "iterations whose index (warm-up included, from 0) is a multiple "
                         "pay the per-term gradient norms; 0: never")
    ap.add_argument("--check", action="store_true",
                    help="parameter counts and one iteration with its losses, no timing")
    ap.add_argument("--params-only", action="store_true",
                    help="build the networks, print and check their parameter counts, exit")
    ap.add_argument("--verbose", action="store_true", help="print every iteration's losses")
    ap.add_argument("--label", default="pytorch", help="backend name in the output")
    ap.add_argument("--arch", default="deeplabv3-mini",
                    help="student/teacher network: deeplabv3-mini (the demo) or "
                         "deeplabv3-resnet50 (the paper's; with the gta5-cityscapes-deeplabv3 "
                         "preset and --size 512x256 for the paper-scale iteration)")
    ap.add_argument("--device", default="cpu", help="cpu or cuda[:N]")
    a = ap.parse_args()

    if a.preset == "none":
        cfg = copy.deepcopy(DEFAULTS)
        for key, v in BUILTIN_DEMO.items():
            if isinstance(v, dict):
                cfg[key].update(v)
            else:
                cfg[key] = v
        check_modelled(cfg)
    else:
        cfg = load_preset(a.preset)
    if a.fake_size:
        h, w = (int(s) for s in a.fake_size.lower().split("x"))
        cfg["fake_size"] = [h, w]
    if a.diagnostics_every is not None:
        cfg["diagnostics_every"] = a.diagnostics_every
    size = tuple(int(s) for s in a.size.lower().split("x"))
    if a.check:
        a.warmup, a.iters = 0, 1
    if a.threads > 0:
        torch.set_num_threads(a.threads)

    # sfda bench: cfg.iterations = warmup + iters, the poly schedule's end
    it = SfdaIteration(cfg, a.seed, a.source, a.state, max_iter=a.warmup + a.iters,
                       arch=a.arch, device=a.device)
    counts = check_counts(it, cfg, a.arch)
    if a.params_only:
        return
    data = torch.Generator().manual_seed(a.seed + 2)

    sums = [0.0, 0.0, 0.0, 0.0]
    log = {}
    for i in range(a.warmup + a.iters):
        t = time.perf_counter()
        xt = target_batch(data, cfg, size).to(it.device)
        data_s = time.perf_counter() - t
        (g, s, d), log = it.iterate(xt)
        if a.verbose or a.check:
            vals = " ".join(f"{k}={v:.4g}" for k, v in log.items())
            print(f"iteration {i} ({'warm-up' if i < a.warmup else 'timed'}): "
                  f"g {g:.3f} s, s {s:.3f} s, d {d:.3f} s; {vals}")
        if i >= a.warmup:
            for j, v in enumerate((data_s, g, s, d)):
                sums[j] += v
    bad = {k: v for k, v in log.items() if not math.isfinite(v)}
    if bad:
        sys.exit(f"error: non-finite values {bad}")

    n = a.iters
    parts = [(name, v / n) for name, v in zip(("data", "g", "s", "d"), sums)]
    compute = sum(v for name, v in parts if name != "data")
    iteration = compute + parts[0][1]
    threads = torch.get_num_threads()
    malloc = {k: v for k, v in os.environ.items()
              if k.startswith("MALLOC_") or k == "GLIBC_TUNABLES"}
    fh, fw = cfg["fake_size"]
    dev = str(it.device)
    gpu_mib = (torch.cuda.max_memory_reserved(it.device) / 2**20
               if it.device.type == "cuda" else None)
    print(f"SFDA iteration, {a.arch} at {size[0]}x{size[1]}, batch {cfg['batch_size']} "
          f"target + {cfg['fake_batch_size']} fakes at {fw}x{fh} ({n} timed iterations after "
          f"{a.warmup} warm-up), PyTorch {torch.__version__} eager, {threads} threads")
    print(f"{'backend':<8} {'device':<7} {'data s':>9} {'gen s':>9} {'student s':>9} "
          f"{'disc s':>9} {'iter s':>10} {'compute s':>10} {'img/s':>9} {'peak RSS MiB':>12}")
    p = dict(parts)
    rss = peak_rss_mib()
    print(f"{a.label:<8} {dev:<7} {p['data']:>9.3f} {p['g']:>9.3f} {p['s']:>9.3f} "
          f"{p['d']:>9.3f} {iteration:>10.3f} {compute:>10.3f} "
          f"{cfg['batch_size'] / max(compute, 1e-12):>9.2f} "
          f"{'n/a' if rss is None else f'{rss:.0f}':>12}")
    if gpu_mib is not None:
        print(f"peak GPU memory reserved by PyTorch's caching allocator: {gpu_mib:.0f} MiB")
    print("compute = gen + student + disc (what the comparison uses; data is this script's "
          "random batch, not sfda's loader)")
    result = {
        "backend": a.label, "device": dev, "arch": a.arch, "parts": parts, "iteration": iteration,
        "compute": compute, "images_per_sec": cfg["batch_size"] / max(compute, 1e-12),
        "peak_rss_mib": rss, "cpu_threads": threads, "torch": torch.__version__,
        "malloc_env": malloc, "iters": n, "warmup": a.warmup, "params": counts,
        "fake_size": cfg["fake_size"], "peak_gpu_mib": gpu_mib, "last_losses": log,
    }
    print("json: " + json.dumps(result))


if __name__ == "__main__":
    main()
