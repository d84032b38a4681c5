"""CenterNet-style targets for the heatmap detector: Gaussian peaks, sub-pixel offsets, log sizes.

Every box becomes one peak on the output grid (stride ``s``): the cell ``floor(centre / s)`` holds
exactly 1.0 on the box's class channel, its neighbours a Gaussian that falls off with a sigma tied
to the ball's size (a 6 px ball and a 40 px ball should not be equally forgiving), and that one cell
also carries the regression targets:

- offset ``centre / s - cell`` in [0, 1): what the grid loses, so decoding recovers the exact centre;
- size ``log(w / s), log(h / s)``: balls range 5-60 px, so an L1 in log space weighs a 2 px error on
  a 6 px ball like a 20 px error on a 60 px one.

:func:`encode` is the only place this mapping is written; :func:`decode_cells` is its inverse.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

MIN_SIGMA = 0.75  # cells: even a 4 px ball at stride 4 gets a peak its neighbours can see
SIGMA_PER_SIDE = 0.25  # sigma = this x the ball's geometric-mean side, in cells


def ball_sigma(w: Tensor, h: Tensor, stride: int) -> Tensor:
    """Gaussian sigma in output cells for boxes of ``w`` x ``h`` px."""
    side = torch.sqrt(w.clamp(min=1e-3) * h.clamp(min=1e-3)) / stride
    return (SIGMA_PER_SIDE * side).clamp(min=MIN_SIGMA)


@dataclass
class HeatmapTargets:
    """Dense heatmap targets plus one row per box for the regression heads."""

    heatmap: Tensor  # (B, C, h, w) in [0, 1], exactly 1 at each box's cell
    batch: Tensor  # (P,) int64 image of each box
    cell_y: Tensor  # (P,) int64
    cell_x: Tensor  # (P,) int64
    offset: Tensor  # (P, 2) x, y in [0, 1)
    size: Tensor  # (P, 2) log(w / stride), log(h / stride)

    @property
    def num_boxes(self) -> int:
        return int(self.batch.numel())


def encode(
    targets: list[dict[str, Tensor]], num_classes: int, out_h: int, out_w: int, stride: int
) -> HeatmapTargets:
    """Targets on an ``out_h`` x ``out_w`` grid (boxes in input pixels; ``len(targets)`` images)."""
    device = targets[0]["boxes"].device if targets else torch.device("cpu")
    heat = torch.zeros(len(targets), num_classes, out_h, out_w, device=device)
    rows: list[tuple[Tensor, ...]] = []
    ys = torch.arange(out_h, device=device, dtype=torch.float32)
    xs = torch.arange(out_w, device=device, dtype=torch.float32)
    for b, t in enumerate(targets):
        boxes = t["boxes"].float().reshape(-1, 4)
        if not boxes.numel():
            continue
        labels = t["labels"].long().reshape(-1)
        w, h = (boxes[:, 2] - boxes[:, 0]).clamp(min=1e-3), (boxes[:, 3] - boxes[:, 1]).clamp(min=1e-3)
        cx, cy = (boxes[:, 0] + boxes[:, 2]) / (2 * stride), (boxes[:, 1] + boxes[:, 3]) / (2 * stride)
        # a centre on the padded edge still belongs to the last cell
        ix = cx.floor().clamp(0, out_w - 1)
        iy = cy.floor().clamp(0, out_h - 1)
        sigma = ball_sigma(w, h, stride)
        for i in range(boxes.shape[0]):
            r = int(math.ceil(3 * float(sigma[i])))
            x0, x1 = max(0, int(ix[i]) - r), min(out_w, int(ix[i]) + r + 1)
            y0, y1 = max(0, int(iy[i]) - r), min(out_h, int(iy[i]) + r + 1)
            g = torch.exp(
                -((xs[x0:x1][None, :] - ix[i]) ** 2 + (ys[y0:y1][:, None] - iy[i]) ** 2) / (2 * sigma[i] ** 2)
            )
            patch = heat[b, labels[i], y0:y1, x0:x1]
            torch.maximum(patch, g, out=patch)
            heat[b, labels[i], int(iy[i]), int(ix[i])] = 1.0
        offset = torch.stack([cx - ix, cy - iy], 1)
        size = torch.log(torch.stack([w, h], 1) / stride)
        rows.append((torch.full_like(labels, b), iy.long(), ix.long(), offset, size))
    if not rows:
        empty = torch.zeros(0, dtype=torch.int64, device=device)
        return HeatmapTargets(heat, empty, empty, empty, torch.zeros(0, 2, device=device),
                              torch.zeros(0, 2, device=device))
    batch, cy_, cx_, offset, size = (torch.cat(parts) for parts in zip(*rows, strict=True))
    return HeatmapTargets(heat, batch, cy_, cx_, offset, size)


def decode_cells(cell_x: Tensor, cell_y: Tensor, offset: Tensor, log_size: Tensor, stride: int) -> Tensor:
    """``(N, 4)`` xyxy boxes in input pixels from cells, their offsets and log sizes."""
    cx = (cell_x.to(offset.dtype) + offset[:, 0]) * stride
    cy = (cell_y.to(offset.dtype) + offset[:, 1]) * stride
    wh = torch.exp(log_size.clamp(max=8.0)) * stride
    return torch.stack([cx - wh[:, 0] / 2, cy - wh[:, 1] / 2, cx + wh[:, 0] / 2, cy + wh[:, 1] / 2], 1)


def focal_loss(logits: Tensor, target: Tensor, alpha: float = 2.0, beta: float = 4.0) -> Tensor:
    """CenterNet's penalty-reduced pixel-wise focal loss, summed (normalise by the number of peaks).

    Peaks (target == 1) pull the score up with weight ``(1 - p)^alpha``; everything else pushes it
    down with ``p^alpha``, softened by ``(1 - target)^beta`` near a peak so that a detection one cell
    off is barely punished.
    """
    logits = logits.float()
    p = logits.sigmoid().clamp(1e-4, 1 - 1e-4)
    pos = target.eq(1).float()
    log_p, log_not_p = torch.nn.functional.logsigmoid(logits), torch.nn.functional.logsigmoid(-logits)
    pos_loss = (log_p * (1 - p) ** alpha * pos).sum()
    neg_loss = (log_not_p * p**alpha * (1 - target) ** beta * (1 - pos)).sum()
    return -(pos_loss + neg_loss)
