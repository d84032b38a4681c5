"""Detection models: one plain name -> builder table, every model honouring :mod:`pigskin.models.base`.

A builder takes a :class:`ModelConfig` and returns an ``nn.Module`` with ``forward / loss / decode``.
To add a family, write its module and add its names here; nothing else needs to change.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from torch import nn

from pigskin.config import ConfigError, ModelConfig
from pigskin.models.heatmap import heatmap
from pigskin.models.torchvision_adapter import fasterrcnn, ssdlite
from pigskin.models.yolo import yolov3

MODELS: dict[str, Callable[[ModelConfig], nn.Module]] = {
    "fasterrcnn_mobilenet_v2": partial(fasterrcnn, backbone="mobilenet_v2"),
    "fasterrcnn_mobilenet_v3": partial(fasterrcnn, backbone="mobilenet_v3"),
    "fasterrcnn_resnet50": partial(fasterrcnn, backbone="resnet50"),
    "fasterrcnn_resnet101": partial(fasterrcnn, backbone="resnet101"),
    "ssdlite_mobilenet_v2": ssdlite,
    "yolov3_darknet53": partial(yolov3, backbone="darknet53"),
    "yolov3_mobilenet_v2": partial(yolov3, backbone="mobilenet_v2", neck=0.5),
    "heatmap_mobilenet_v2": partial(heatmap, motion=True),
    "heatmap_mobilenet_v2_nomotion": heatmap,
    "heatmap_mobilenet_v2_late": partial(heatmap, fusion="late"),
}

DESCRIPTIONS: dict[str, str] = {
    "fasterrcnn_mobilenet_v2": "Faster R-CNN + FPN (strides 4-64), MobileNetV2 backbone, ImageNet weights",
    "fasterrcnn_mobilenet_v3": "Faster R-CNN + FPN, MobileNetV3-Large backbone (ImageNet if cached)",
    "fasterrcnn_resnet50": "Faster R-CNN + FPN, ResNet-50 backbone (ImageNet if cached)",
    "fasterrcnn_resnet101": "Faster R-CNN + FPN, ResNet-101 backbone (ImageNet if cached)",
    "ssdlite_mobilenet_v2": "SSDlite, MobileNetV2 backbone, pixel anchors; use image_size >= 640",
    "yolov3_darknet53": "YOLOv3, Darknet-53 backbone (from scratch), three scales (strides 8-32)",
    "yolov3_mobilenet_v2": "YOLOv3 heads (half-width neck) on MobileNetV2 (ImageNet weights), three scales",
    "heatmap_mobilenet_v2": "ball heatmap at stride 4 (CenterNet heads) from K frames (--frames, default 3) "
                            "fused early with motion maps; MobileNetV2 to stride 16, ImageNet weights",
    "heatmap_mobilenet_v2_nomotion": "ball heatmap, K frames fused early, without the motion maps",
    "heatmap_mobilenet_v2_late": "ball heatmap, K frames through a shared backbone, fused late (slower)",
}


def build_model(config: ModelConfig) -> nn.Module:
    """The model ``config.name`` names, freshly initialised (ImageNet backbone if ``pretrained``)."""
    if config.name not in MODELS:
        raise ConfigError(f"unknown model {config.name!r}; known: {', '.join(MODELS)}")
    return MODELS[config.name](config)


__all__ = ["MODELS", "DESCRIPTIONS", "ModelConfig", "build_model"]
