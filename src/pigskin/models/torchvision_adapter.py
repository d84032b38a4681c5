"""torchvision's Faster R-CNN (with FPN) and SSDlite behind the pigskin detector contract.

torchvision's detectors return losses in train mode and detections in eval mode, resize images
themselves and count classes from 1. :class:`TorchvisionDetector` is the one place that knows this:
``forward`` runs the expensive shared part (backbone, and SSD's heads), ``loss`` and ``decode`` run
the mode-dependent rest with the mode they need, whatever mode the module is in. We do our own
resizing (crops at native scale, frames at ``image_size``), so torchvision's transform is never used.
"""

from __future__ import annotations

import contextlib
import math
import warnings
from collections import OrderedDict
from collections.abc import Iterator
from functools import partial
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torchvision.models.detection import FasterRCNN
from torchvision.models.detection.anchor_utils import AnchorGenerator
from torchvision.models.detection.image_list import ImageList
from torchvision.models.detection.ssd import SSD
from torchvision.models.detection.ssdlite import SSDLiteHead
from torchvision.ops import FeaturePyramidNetwork, MultiScaleRoIAlign, box_iou
from torchvision.ops.feature_pyramid_network import LastLevelMaxPool
from torchvision.ops.misc import Conv2dNormActivation

from pigskin.config import ConfigError, ModelConfig
from pigskin.detections import Detections
from pigskin.models.backbones import Taps, build_backbone
from pigskin.models.base import Normalize, Target, level_shapes, to_detections


@contextlib.contextmanager
def _mode(modules: list[nn.Module], training: bool) -> Iterator[None]:
    """Temporarily put ``modules`` in train or eval mode (torchvision branches on ``self.training``)."""
    before = [[m.training for m in mod.modules()] for mod in modules]
    for mod in modules:
        mod.train(training)
    try:
        yield
    finally:
        for mod, flags in zip(modules, before, strict=True):
            for m, flag in zip(mod.modules(), flags, strict=True):
                m.training = flag


def _shift_labels(targets: list[Target]) -> list[Target]:
    """pigskin counts classes from 0; torchvision keeps 0 for background."""
    return [{"boxes": t["boxes"].float(), "labels": t["labels"].long() + 1} for t in targets]


class TorchvisionDetector(nn.Module):
    """Adapter: pigskin's ``forward / loss / decode`` over a torchvision ``FasterRCNN`` or ``SSD``."""

    def __init__(self, model: FasterRCNN | SSD, config: ModelConfig, size_divisible: int) -> None:
        super().__init__()
        self.model = model
        self.normalize = Normalize(config)
        self.config = config
        self.size_divisible = size_divisible
        self.is_rcnn = isinstance(model, FasterRCNN)

    def forward(self, images: Tensor) -> dict[str, Any]:
        x = self.normalize(images)
        features = self.model.backbone(x)
        raw: dict[str, Any] = {"images": x, "features": features}
        if not self.is_rcnn:
            feats = list(features.values())
            raw["head"] = self.model.head(feats)
            shape = (int(x.shape[-2]), int(x.shape[-1]))
            raw["anchors"] = self.model.anchor_generator(ImageList(x, [shape] * len(x)), feats)
        return raw

    def _image_list(self, raw: dict[str, Any], sizes: list[tuple[int, int]] | None) -> ImageList:
        x = raw["images"]
        if sizes is None:
            sizes = [(int(x.shape[-2]), int(x.shape[-1]))] * len(x)
        return ImageList(x, [(int(h), int(w)) for h, w in sizes])

    def loss(self, raw: dict[str, Any], targets: list[Target]) -> dict[str, Tensor]:
        targets = _shift_labels(targets)
        if not self.is_rcnn:
            return ssd_loss(self.model, targets, raw["head"], raw["anchors"])
        images = self._image_list(raw, None)
        with _mode([self.model.rpn, self.model.roi_heads], training=True):
            proposals, rpn_losses = self.model.rpn(images, raw["features"], targets)
            _, roi_losses = self.model.roi_heads(raw["features"], proposals, images.image_sizes, targets)
        return {
            "rpn_objectness": rpn_losses["loss_objectness"],
            "rpn_box": rpn_losses["loss_rpn_box_reg"],
            "classifier": roi_losses["loss_classifier"],
            "box": roi_losses["loss_box_reg"],
        }

    def decode(self, raw: dict[str, Any], sizes: list[tuple[int, int]]) -> list[Detections]:
        images = self._image_list(raw, sizes)
        if self.is_rcnn:
            with _mode([self.model.rpn, self.model.roi_heads], training=False):
                proposals, _ = self.model.rpn(images, raw["features"])
                outs, _ = self.model.roi_heads(raw["features"], proposals, images.image_sizes)
        else:
            outs = self.model.postprocess_detections(raw["head"], raw["anchors"], images.image_sizes)
        return [to_detections(o["boxes"], o["scores"], o["labels"] - 1) for o in outs]


def ssd_loss(
    model: SSD, targets: list[Target], head: dict[str, Tensor], anchors: list[Tensor]
) -> dict[str, Tensor]:
    """SSD's loss (smooth-L1 boxes, cross-entropy with 3:1 hard-negative mining), as torchvision's
    ``SSD.compute_loss`` but with hard negatives mined in frames without a ball too: torchvision
    takes ``3 x positives`` negatives, i.e. none from a pure-negative crop, so those crops taught
    nothing. Here an image with no ball contributes ``3`` hardest negatives per missing positive."""
    box_losses, cls_targets = [], []
    num_foreground = 0
    for t, box_reg, anc in zip(targets, head["bbox_regression"], anchors, strict=True):
        if t["boxes"].numel():
            matched = model.proposal_matcher(box_iou(t["boxes"], anc))
        else:
            matched = torch.full((anc.shape[0],), -1, dtype=torch.int64, device=anc.device)
        fg = torch.where(matched >= 0)[0]
        num_foreground += fg.numel()
        target_reg = model.box_coder.encode_single(t["boxes"][matched[fg]], anc[fg])
        box_losses.append(F.smooth_l1_loss(box_reg[fg], target_reg, reduction="sum"))
        cls_t = torch.zeros(anc.shape[0], dtype=torch.int64, device=anc.device)
        cls_t[fg] = t["labels"][matched[fg]]
        cls_targets.append(cls_t)
    cls_target = torch.stack(cls_targets)
    logits = head["cls_logits"]
    cls_loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), cls_target.reshape(-1), reduction="none")
    cls_loss = cls_loss.view(cls_target.shape)
    foreground = cls_target > 0
    num_negative = model.neg_to_pos_ratio * foreground.sum(1, keepdim=True).clamp(min=1)
    negative_loss = cls_loss.detach().clone()
    negative_loss[foreground] = -float("inf")
    _, order = negative_loss.sort(1, descending=True)
    background = order.sort(1)[1] < num_negative
    n = max(1, num_foreground)
    return {
        "box": torch.stack(box_losses).sum() / n + head["bbox_regression"].sum() * 0.0,
        "classifier": (cls_loss[foreground].sum() + cls_loss[background].sum()) / n,
    }


# -- builders ---------------------------------------------------------------------------------------


class ShapeAnchors(AnchorGenerator):
    """torchvision's AnchorGenerator with explicit (w, h) shapes per level instead of sizes x ratios:
    the k-means shapes of :mod:`pigskin.models.small_objects` pair a size with its own ratio."""

    def __init__(self, shapes: list[Tensor]) -> None:
        k = len(shapes[0])
        super().__init__(tuple((1,) * k for _ in shapes), tuple((1.0,) for _ in shapes))  # k per location
        self.cell_anchors = [torch.cat([-s / 2, s / 2], 1).round() for s in shapes]


def pyramid_anchors(config: ModelConfig, sizes: tuple[tuple[int, ...], ...]) -> AnchorGenerator:
    """The anchors of a pyramid with ``len(sizes)`` levels: ``config.anchors`` (fitted shapes of the
    finest level, doubling per level) when set, else ``sizes`` x ``config.aspect_ratios``."""
    if config.anchors:
        return ShapeAnchors([level_shapes(config.anchors, level) for level in range(len(sizes))])
    return AnchorGenerator(sizes, (tuple(config.aspect_ratios),) * len(sizes))


class _WithFPN(nn.Module):
    """Backbone taps -> feature pyramid (plus a max-pooled top level), as Faster R-CNN expects."""

    def __init__(self, body: Taps, out_channels: int) -> None:
        super().__init__()
        self.body = body
        self.fpn = FeaturePyramidNetwork(body.channels, out_channels, extra_blocks=LastLevelMaxPool())
        self.out_channels = out_channels

    def forward(self, x: Tensor) -> OrderedDict[str, Tensor]:
        return self.fpn(self.body(x))


def fasterrcnn(config: ModelConfig, backbone: str) -> TorchvisionDetector:
    """Faster R-CNN with an FPN over strides 4-32 (+ pooled 64): the stride-4 level is what sees a
    6 px ball; the fitted shapes (``config.anchors``) or one size per level from ``config.anchor_sizes``."""
    if len(config.anchor_sizes) != 5:
        raise ConfigError(
            f"anchor_sizes: Faster R-CNN has 5 pyramid levels (strides 4-64), got {len(config.anchor_sizes)} "
            f"sizes {config.anchor_sizes}"
        )
    body = _WithFPN(build_backbone(backbone, config.pretrained, (4, 8, 16, 32)), config.fpn_channels)
    anchors = pyramid_anchors(config, tuple((int(s),) for s in config.anchor_sizes))
    model = FasterRCNN(
        body,
        num_classes=config.num_classes + 1,
        rpn_anchor_generator=anchors,
        box_roi_pool=MultiScaleRoIAlign(["4", "8", "16", "32"], output_size=7, sampling_ratio=2),
        rpn_fg_iou_thresh=config.rpn_fg_iou,
        rpn_pre_nms_top_n_train=2 * config.proposals_train,
        rpn_post_nms_top_n_train=config.proposals_train,
        rpn_pre_nms_top_n_test=max(1000, config.proposals_test),
        rpn_post_nms_top_n_test=config.proposals_test,
        box_score_thresh=config.min_score,
        box_nms_thresh=config.nms_iou,
        box_detections_per_img=config.max_detections,
        box_batch_size_per_image=256,
    )
    return TorchvisionDetector(model, config, size_divisible=32)


class _SSDFeatures(nn.Module):
    """MobileNetV2 at strides 8, 16, 32 plus two SSDlite extra blocks (strides 64, 128)."""

    def __init__(self, body: Taps, extra: tuple[int, ...] = (512, 256)) -> None:
        super().__init__()
        self.body = body
        norm = partial(nn.BatchNorm2d, eps=0.001, momentum=0.03)
        blocks, c_in = [], body.channels[-1]
        for c in extra:
            mid = c // 2
            blocks.append(
                nn.Sequential(
                    Conv2dNormActivation(c_in, mid, 1, norm_layer=norm, activation_layer=nn.ReLU6),
                    Conv2dNormActivation(
                        mid, mid, 3, 2, groups=mid, norm_layer=norm, activation_layer=nn.ReLU6
                    ),
                    Conv2dNormActivation(mid, c, 1, norm_layer=norm, activation_layer=nn.ReLU6),
                )
            )
            c_in = c
        self.extra = nn.ModuleList(blocks)
        self.channels = [*body.channels, *extra]

    def forward(self, x: Tensor) -> OrderedDict[str, Tensor]:
        out = self.body(x)
        y = next(reversed(out.values()))
        for i, block in enumerate(self.extra):
            y = block(y)
            out[f"extra{i}"] = y
        return out


def ssdlite(config: ModelConfig) -> TorchvisionDetector:
    """SSDlite on MobileNetV2 with anchors in pixels: the fitted shapes (``config.anchors``), or two
    sizes per level, ``s`` and ``sqrt(s*s_next)``, in every aspect ratio.

    torchvision's SSD sizes its default boxes as fractions of the input (its smallest at 320 px is
    64 px); pixel anchors keep a 10 px ball matched whatever the input size.
    """
    if config.image_size < 640:
        warnings.warn(
            f"ssdlite_mobilenet_v2 at image_size {config.image_size}: a 1280 px frame shrunk to under 640 px "
            "turns a 10 px ball into 5 px or less, below what SSD's stride-8 features resolve; "
            "use --image-size 640 or more",
            UserWarning,
            stacklevel=2,
        )
    if len(config.anchor_sizes) != 5:
        raise ConfigError(
            f"anchor_sizes: SSD has 5 levels (strides 8-128), got {len(config.anchor_sizes)} sizes"
        )
    features = _SSDFeatures(build_backbone("mobilenet_v2", config.pretrained, (8, 16, 32)))
    s = [int(v) for v in config.anchor_sizes]
    sizes = tuple((a, int(round(math.sqrt(a * b)))) for a, b in zip(s, [*s[1:], 2 * s[-1]], strict=True))
    anchors = pyramid_anchors(config, sizes)
    head = SSDLiteHead(
        features.channels,
        anchors.num_anchors_per_location(),
        config.num_classes + 1,
        partial(nn.BatchNorm2d, eps=0.001, momentum=0.03),
    )
    model = SSD(
        features,
        anchors,  # type: ignore[arg-type]  # pixel anchors instead of DefaultBoxGenerator
        (config.image_size, config.image_size),
        config.num_classes + 1,
        head=head,
        score_thresh=config.min_score,
        nms_thresh=config.nms_iou,
        detections_per_img=config.max_detections,
        topk_candidates=400,
    )
    return TorchvisionDetector(model, config, size_divisible=128)
