"""The one contract every model family honours, and the small helpers they share.

A detector is an ``nn.Module`` with

- ``forward(images) -> raw``: ``images`` is a float batch ``(B, 3, H, W)`` in [0, 1] whose sides are
  multiples of ``size_divisible``; ``raw`` is whatever the family's heads produce. Train and eval mode
  give the same raw output, so a validation loss exists.
- ``loss(raw, targets) -> {name: scalar}``: ``targets`` holds one dict per image with ``boxes``
  ``(N, 4)`` float pixels ``x1, y1, x2, y2`` and ``labels`` ``(N,)`` int64 class ids from 0. ``N`` may be
  0: an empty frame gives a finite loss.
- ``decode(raw, sizes) -> list[Detections]``: ``sizes`` are each image's ``(height, width)`` inside the
  padded batch; boxes come back in that image's pixels with ``confidence`` set.
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np
import torch
from torch import Tensor, nn

from pigskin.config import ModelConfig
from pigskin.detections import Detections

Target = dict[str, Tensor]


class Detector(Protocol):
    config: ModelConfig
    size_divisible: int

    def __call__(self, images: Tensor) -> Any: ...

    def loss(self, raw: Any, targets: list[Target]) -> dict[str, Tensor]: ...

    def decode(self, raw: Any, sizes: list[tuple[int, int]]) -> list[Detections]: ...


class Normalize(nn.Module):
    """Mean/std normalisation as part of the model, so an exported graph takes plain [0, 1] pixels."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        mean = config.mean if config.normalize else (0.0, 0.0, 0.0)
        std = config.std if config.normalize else (1.0, 1.0, 1.0)
        self.register_buffer("mean", torch.tensor(mean).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(std).view(1, 3, 1, 1), persistent=False)

    def forward(self, x: Tensor) -> Tensor:
        return (x - self.mean) / self.std


def pad_batch(
    images: list[Tensor], divisible: int, value: float = 0.0
) -> tuple[Tensor, list[tuple[int, int]]]:
    """Stack ``(C, H, W)`` images (RGB, or K frames stacked as 3K channels) into one batch padded
    (bottom/right) to a multiple of ``divisible``."""
    if not images:
        raise ValueError("pad_batch: no images")
    sizes = [(int(im.shape[-2]), int(im.shape[-1])) for im in images]
    h = -(-max(s[0] for s in sizes) // divisible) * divisible
    w = -(-max(s[1] for s in sizes) // divisible) * divisible
    batch = images[0].new_full((len(images), int(images[0].shape[0]), h, w), value)
    for i, im in enumerate(images):
        batch[i, :, : im.shape[-2], : im.shape[-1]] = im
    return batch, sizes


def to_detections(boxes: Tensor, scores: Tensor, labels: Tensor) -> Detections:
    """Tensors of one image -> Detections (drops boxes that collapsed to zero area when clipped)."""
    xyxy = boxes.detach().float().cpu().numpy().reshape(-1, 4)
    keep = (xyxy[:, 2] > xyxy[:, 0]) & (xyxy[:, 3] > xyxy[:, 1])
    return Detections(
        xyxy[keep],
        labels.detach().cpu().numpy().astype(np.int64).reshape(-1)[keep],
        scores.detach().float().cpu().numpy().reshape(-1)[keep],
    )


def detections_to_target(dets: Detections, device: torch.device | str = "cpu") -> Target:
    return {
        "boxes": torch.as_tensor(dets.xyxy, dtype=torch.float32, device=device).reshape(-1, 4),
        "labels": torch.as_tensor(dets.class_id, dtype=torch.int64, device=device).reshape(-1),
    }


def level_shapes(anchors: tuple[float, ...], level: int) -> Tensor:
    """``(A, 2)`` anchor widths/heights of pyramid ``level`` (0 = finest) from ``ModelConfig.anchors``
    (the finest level's flat w,h pairs): each level doubles the one below, as its stride does."""
    return torch.tensor(anchors, dtype=torch.float32).view(-1, 2) * 2.0**level


def zero_loss(raw_like: Tensor) -> Tensor:
    """A zero that still belongs to the graph (so DDP sees every parameter take part)."""
    return raw_like.sum() * 0.0
