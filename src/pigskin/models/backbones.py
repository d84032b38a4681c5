"""Backbones as a plain ``nn.Sequential`` plus the indices whose outputs feed the heads ("taps").

Every backbone here exposes features at strides 4, 8, 16 and 32; a family picks the strides it needs.
ImageNet weights come only from torchvision's local cache: nothing downloads at run time, and a
missing file means training from scratch, with a warning that says which file to put where.
"""

from __future__ import annotations

import math
import os
import warnings
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torchvision
from torch import Tensor, nn
from torchvision.ops.misc import FrozenBatchNorm2d


class MissingWeightsWarning(UserWarning):
    """ImageNet weights were asked for but are not in the local cache: the backbone starts from scratch."""


class Taps(nn.Module):
    """Run a Sequential and return the outputs of chosen blocks, keyed by stride as a string."""

    def __init__(self, body: nn.Sequential, taps: dict[int, int], channels: dict[int, int]) -> None:
        super().__init__()
        self.body = body[: max(taps.values()) + 1]
        self.strides = sorted(taps)
        self.channels = [channels[s] for s in self.strides]
        self._names = {taps[s]: str(s) for s in self.strides}

    def forward(self, x: Tensor) -> OrderedDict[str, Tensor]:
        out: OrderedDict[str, Tensor] = OrderedDict()
        for i, block in enumerate(self.body):
            x = block(x)
            if i in self._names:
                out[self._names[i]] = x
        return out


# -- Darknet-53 (YOLOv3's backbone; no ImageNet weights are available offline) ------------------


def conv_bn(c_in: int, c_out: int, k: int = 3, stride: int = 1) -> nn.Sequential:
    """Darknet's unit: convolution without bias, batch norm, leaky ReLU 0.1."""
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, k, stride, k // 2, bias=False),
        nn.BatchNorm2d(c_out),
        nn.LeakyReLU(0.1, inplace=True),
    )


class Residual(nn.Module):
    def __init__(self, c: int) -> None:
        super().__init__()
        self.block = nn.Sequential(conv_bn(c, c // 2, 1), conv_bn(c // 2, c, 3))

    def forward(self, x: Tensor) -> Tensor:
        return x + self.block(x)


def darknet53(width: float = 1.0) -> nn.Sequential:
    """Darknet-53: a 3x3 stem, then five stride-2 stages of 1, 2, 8, 8 and 4 residual blocks."""

    def ch(c: int) -> int:
        return max(8, int(round(c * width / 8)) * 8)

    stages: list[nn.Module] = [conv_bn(3, ch(32))]
    c_in = ch(32)
    for c, repeats in ((64, 1), (128, 2), (256, 8), (512, 8), (1024, 4)):
        layers = [conv_bn(c_in, ch(c), 3, 2)] + [Residual(ch(c)) for _ in range(repeats)]
        stages.append(nn.Sequential(*layers))
        c_in = ch(c)
    return nn.Sequential(*stages)


def darknet_channels(width: float) -> dict[int, int]:
    def ch(c: int) -> int:
        return max(8, int(round(c * width / 8)) * 8)

    return {4: ch(128), 8: ch(256), 16: ch(512), 32: ch(1024)}


# -- the table --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BackboneSpec:
    make: Callable[[Any, Any], nn.Module]  # (weights or None, norm_layer) -> torchvision model
    weights: str | None  # torchvision weights enum member, e.g. "MobileNet_V2_Weights.IMAGENET1K_V1"
    taps: dict[int, int]  # stride -> index in the Sequential
    channels: dict[int, int]  # stride -> channels
    frozen: int  # leading blocks kept frozen when starting from ImageNet weights


def _resnet_seq(m: nn.Module) -> nn.Sequential:
    stem = nn.Sequential(m.conv1, m.bn1, m.relu, m.maxpool)
    return nn.Sequential(stem, m.layer1, m.layer2, m.layer3, m.layer4)


SPECS: dict[str, BackboneSpec] = {
    "mobilenet_v2": BackboneSpec(
        lambda w, norm: torchvision.models.mobilenet_v2(weights=w, norm_layer=norm).features,
        "MobileNet_V2_Weights.IMAGENET1K_V1",
        {4: 3, 8: 6, 16: 13, 32: 18},
        {4: 24, 8: 32, 16: 96, 32: 1280},
        2,
    ),
    "mobilenet_v3": BackboneSpec(
        lambda w, norm: torchvision.models.mobilenet_v3_large(weights=w, norm_layer=norm).features,
        "MobileNet_V3_Large_Weights.IMAGENET1K_V1",
        {4: 3, 8: 6, 16: 12, 32: 16},
        {4: 24, 8: 40, 16: 112, 32: 960},
        2,
    ),
    "resnet50": BackboneSpec(
        lambda w, norm: _resnet_seq(torchvision.models.resnet50(weights=w, norm_layer=norm)),
        "ResNet50_Weights.IMAGENET1K_V1",
        {4: 1, 8: 2, 16: 3, 32: 4},
        {4: 256, 8: 512, 16: 1024, 32: 2048},
        1,
    ),
    "resnet101": BackboneSpec(
        lambda w, norm: _resnet_seq(torchvision.models.resnet101(weights=w, norm_layer=norm)),
        "ResNet101_Weights.IMAGENET1K_V1",
        {4: 1, 8: 2, 16: 3, 32: 4},
        {4: 256, 8: 512, 16: 1024, 32: 2048},
        1,
    ),
}


def weights_file(weights_name: str) -> Path:
    """Where torchvision looks for a weights enum member's file (``$TORCH_HOME/hub/checkpoints/...``)."""
    from pigskin.weights import checkpoint_dir

    enum_name, member = weights_name.split(".")
    return checkpoint_dir() / os.path.basename(getattr(torchvision.models, enum_name)[member].url)


def backbone_weights() -> dict[str, Path | None]:
    """Every backbone and the ImageNet file it starts from (None: no weights exist, e.g. Darknet-53)."""
    files = {n: weights_file(s.weights) if s.weights else None for n, s in SPECS.items()}
    return {"darknet53": None, **files}


def cached_weights(weights_name: str, who: str) -> Any | None:
    """The torchvision weights enum member if its file is in the local cache, else None (+ a warning
    that names the missing file and how to get it there)."""
    from pigskin.weights import FILENAME

    enum_name, member = weights_name.split(".")
    path = weights_file(weights_name)
    if path.exists():
        return getattr(torchvision.models, enum_name)[member]
    how = ("`pigskin weights fetch` puts it there" if path.name == FILENAME else
           f"copy torchvision's {path.name} there (pigskin never downloads; `pigskin weights status` lists "
           "what each backbone needs)")
    warnings.warn(
        f"{who}: ImageNet weights {weights_name} are not in torchvision's cache: {path} is missing; the "
        f"backbone starts from scratch, which needs far more data and time. {how}, or pass "
        "--pretrained false to start from scratch on purpose.",
        MissingWeightsWarning,
        stacklevel=3,
    )
    return None


def build_backbone(name: str, pretrained: bool, strides: tuple[int, ...], width: float = 1.0) -> Taps:
    """Backbone ``name`` returning features at ``strides`` (any of 4, 8, 16, 32)."""
    if name == "darknet53":
        if pretrained:
            warnings.warn(
                "darknet53: no ImageNet weights exist offline for Darknet-53; training from scratch",
                MissingWeightsWarning,
                stacklevel=2,
            )
        body = darknet53(width)
        taps = {4: 2, 8: 3, 16: 4, 32: 5}
        return Taps(body, {s: taps[s] for s in strides}, darknet_channels(width))
    spec = SPECS[name]
    weights = cached_weights(spec.weights, name) if pretrained and spec.weights else None
    # torchvision's convention: frozen batch norm on top of pre-trained weights (small detection
    # batches give poor batch statistics); trainable batch norm from scratch
    norm = FrozenBatchNorm2d if weights is not None else nn.BatchNorm2d
    body = spec.make(weights, norm)
    if weights is not None:
        for block in list(body)[: spec.frozen]:
            block.requires_grad_(False)
    return Taps(body, {s: spec.taps[s] for s in strides}, spec.channels)


def prior_bias(probability: float) -> float:
    """Logit bias so a fresh head predicts ``probability`` everywhere (RetinaNet's trick): keeps the
    huge number of background cells from swamping the first steps."""
    return -math.log((1 - probability) / probability)

