"""Frames in, Detections out: the resize, batch, decode and un-resize around any detector.

Frames are resized so their long side is ``config.image_size`` (training crops are cut at the same
scale, so the ball has the size the model learnt), padded into a batch, decoded, and the boxes mapped
back to each frame's own pixels. Validation and serving both go through :func:`detect`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from PIL import Image
from torch import nn

from pigskin.boxes import clip
from pigskin.config import ModelConfig
from pigskin.detections import Detections
from pigskin.models.base import pad_batch


def resize_long_side(image: np.ndarray, size: int) -> tuple[np.ndarray, tuple[float, float]]:
    """Resize an RGB uint8 frame (or K frames stacked as ``(H, W, 3K)``) so its long side is ``size``;
    returns it and the (x, y) scale."""
    h, w = image.shape[:2]
    scale = size / max(h, w)
    new_w, new_h = max(1, round(w * scale)), max(1, round(h * scale))
    if (new_w, new_h) == (w, h):
        return image, (1.0, 1.0)
    parts = [np.asarray(Image.fromarray(np.ascontiguousarray(image[..., c : c + 3])).resize(
        (new_w, new_h), Image.BILINEAR)) for c in range(0, image.shape[2], 3)]
    resized = parts[0] if len(parts) == 1 else np.concatenate(parts, axis=2)
    return resized, (new_w / w, new_h / h)


def to_tensor(image: np.ndarray) -> torch.Tensor:
    """RGB uint8 ``(H, W, 3)`` (or K stacked frames, ``(H, W, 3K)``) -> float ``(3K, H, W)`` in [0, 1]."""
    if image.ndim != 3 or image.shape[2] % 3 or not image.shape[2] or image.dtype != np.uint8:
        raise ValueError(f"expected an RGB uint8 image (H, W, 3) or stacked frames (H, W, 3K), "
                         f"got {image.dtype} {image.shape}")
    if not image.flags.writeable:  # e.g. np.asarray of a PIL image; torch wants to own writable memory
        image = image.copy()
    return torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1).float().div_(255.0)


PRECISIONS = ("fp32", "bf16")


def _as_float(raw: Any) -> Any:
    """A model's raw output (tensor, list, tuple or dict of them) with bfloat16 tensors made float32, so
    decoding (sigmoid, exp, box arithmetic) runs at full precision."""
    if isinstance(raw, torch.Tensor):
        return raw.float() if raw.dtype == torch.bfloat16 else raw
    if isinstance(raw, dict):
        return {k: _as_float(v) for k, v in raw.items()}
    if isinstance(raw, (list, tuple)):
        return type(raw)(_as_float(v) for v in raw)
    return raw


@torch.no_grad()
def detect(
    model: nn.Module,
    images: list[np.ndarray],
    image_size: int,
    batch_size: int = 1,
    device: torch.device | str | None = None,
    precision: str = "fp32",
) -> list[Detections]:
    """Run ``model`` (in eval mode) on RGB frames; boxes in each frame's own pixels, with confidence.

    ``precision="bf16"`` runs the network under bfloat16 autocast (decoding stays float32): on CPUs with
    native bfloat16 (AVX512-BF16, AMX) oneDNN's convolutions run 1.3-2x faster; elsewhere it is emulated
    and slower. benchmarks/ball_detectors.py measures what it costs in AP."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision: expected one of {PRECISIONS}, got {precision!r}")
    if device is None:
        device = next(model.parameters()).device
    device = torch.device(device)
    out: list[Detections] = []
    for start in range(0, len(images), max(1, batch_size)):
        chunk = images[start : start + max(1, batch_size)]
        resized = [resize_long_side(im, image_size) for im in chunk]
        batch, sizes = pad_batch([to_tensor(im) for im, _ in resized], model.size_divisible)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=precision == "bf16"):
            raw = model(batch.to(device))
        dets = model.decode(_as_float(raw), sizes)
        for d, (_, (sx, sy)), im in zip(dets, resized, chunk, strict=True):
            if len(d):
                xyxy = d.xyxy / np.array([sx, sy, sx, sy], np.float32)
                d = d.replace(xyxy=clip(xyxy, im.shape[1], im.shape[0]).astype(np.float32))
                d = d[(d.xyxy[:, 2] > d.xyxy[:, 0]) & (d.xyxy[:, 3] > d.xyxy[:, 1])]
            out.append(d)
    return out


@dataclass
class Predictor:
    """A trained model ready to use: ``predict(frames)`` -> one :class:`Detections` per frame."""

    module: nn.Module
    config: ModelConfig
    classes: list[str]
    metrics: dict[str, Any] = field(default_factory=dict)
    train_config: dict[str, Any] | None = None  # the full training config, as stored
    meta: dict[str, Any] = field(default_factory=dict)  # the artifact's manifest
    precision: str = "fp32"  # "bf16": bfloat16 autocast inference (see detect)

    def __post_init__(self) -> None:
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision: expected one of {PRECISIONS}, got {self.precision!r}")
        self.module.eval()

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def torch_module(self) -> nn.Module:
        """The ``nn.Module`` (``forward(batch) -> raw``, ``decode(raw, sizes)``), e.g. for export."""
        return self.module

    @property
    def device(self) -> torch.device:
        return next(self.module.parameters()).device

    @property
    def frames(self) -> int:
        """Frames per input: ``K`` for a multi-frame model (``(H, W, 3K)`` stacks), else 1."""
        return int(getattr(self.module, "frames", 1) or 1)

    @property
    def image_size(self) -> int:
        return int(self.config.image_size)

    @property
    def score_threshold(self) -> float:
        return float(self.config.score_threshold)

    def to(self, device: torch.device | str) -> "Predictor":
        self.module.to(device)
        return self

    def predict(
        self, images: list[np.ndarray], score_threshold: float | None = None, batch_size: int = 1,
        image_size: int | None = None,
    ) -> list[Detections]:
        """Boxes in each input frame's pixels; keeps scores >= ``score_threshold``
        (default ``config.score_threshold``). ``image_size``: the long side the frames are resized to
        (default ``config.image_size``); the tracker passes a window's share of it, so a window is seen
        at the scale of its whole frame."""
        threshold = self.config.score_threshold if score_threshold is None else float(score_threshold)
        size = self.config.image_size if image_size is None else int(image_size)
        dets = detect(self.module, list(images), size, batch_size, self.device, self.precision)
        return [d[d.confidence >= threshold] for d in dets]
