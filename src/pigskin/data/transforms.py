"""Box-aware augmentation with torchvision.transforms.v2; every step has a switch in AugmentConfig.

Crop and zoom happen earlier, when the crop window is chosen (:mod:`pigskin.data.crops`), so only the
window is ever resized; normalisation is part of the model (``ModelConfig.normalize``) so an exported
model takes plain pixels. What remains here works on the uint8 crop and its boxes.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torchvision import tv_tensors
from torchvision.transforms import v2

from pigskin.config import AugmentConfig


class MotionBlur(v2.Transform):
    """Smear the image along a random direction; boxes and labels are left as they are."""

    _transformed_types = (tv_tensors.Image,)

    def __init__(self, p: float, max_length: int) -> None:
        super().__init__()
        self.p = p
        self.max_length = max(3, int(max_length))

    def make_params(self, flat_inputs: list[Any]) -> dict[str, Any]:
        if torch.rand(()) >= self.p:
            return {"kernel": None}
        length = 2 * int(torch.randint(1, self.max_length // 2 + 1, ())) + 1  # odd: keeps the size
        angle = float(torch.rand(()) * math.pi)
        k = torch.zeros(length, length)
        c = (length - 1) / 2
        for t in torch.linspace(-c, c, 2 * length):
            x = int(round(c + float(t) * math.cos(angle)))
            y = int(round(c + float(t) * math.sin(angle)))
            k[y, x] = 1.0
        return {"kernel": k / k.sum()}

    def transform(self, inpt: Any, params: dict[str, Any]) -> Any:
        kernel = params["kernel"]
        if kernel is None:
            return inpt
        x = inpt.float().unsqueeze(0)
        weight = kernel.to(x).expand(x.shape[1], 1, *kernel.shape)
        pad = kernel.shape[-1] // 2
        y = F.conv2d(F.pad(x, (pad, pad, pad, pad), mode="replicate"), weight, groups=x.shape[1])
        return tv_tensors.wrap(y.squeeze(0).round().clamp(0, 255).to(inpt.dtype), like=inpt)


def build_augment(cfg: AugmentConfig) -> v2.Compose:
    """uint8 image + boxes -> augmented uint8 image + boxes (flip, colour, blur, JPEG)."""
    steps: list[v2.Transform] = []
    if cfg.flip > 0:
        steps.append(v2.RandomHorizontalFlip(cfg.flip))
    if cfg.color_jitter > 0:
        j = cfg.color_jitter
        steps.append(v2.ColorJitter(brightness=j, contrast=j, saturation=j, hue=min(0.5, j / 10)))
    if cfg.motion_blur > 0:
        steps.append(MotionBlur(cfg.motion_blur, cfg.motion_blur_length))
    if cfg.jpeg > 0:
        steps.append(v2.RandomApply([v2.JPEG((cfg.jpeg_quality_min, 95))], p=cfg.jpeg))
    return v2.Compose(steps or [v2.Identity()])


def sample_zoom(cfg: AugmentConfig, u: float) -> float:
    """Log-uniform zoom from a uniform draw ``u`` in [0, 1)."""
    lo, hi = math.log(cfg.zoom_min), math.log(cfg.zoom_max)
    return math.exp(lo + (hi - lo) * u)
