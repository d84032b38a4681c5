"""Small-object settings derived from the training data: the one place all three box detectors get
their anchors from.

A ball is 5-20 px at the training scale (frames shrunk so the long side is ``image_size``, crops cut at
that scale). Anchors sized for COCO, or for another camera, leave the ball matched to a box twice its
size or to nothing. So :func:`fit_small_objects` clusters the training boxes *at the training scale*
with k-means under the ``1 - IoU`` distance (YOLOv2/v3's recipe, Redmon & Farhadi) into ``k`` shapes,
and every box detector takes them as ``ModelConfig.anchors``: the shapes of its finest level (YOLOv3's
stride 8, Faster R-CNN's stride 4, SSD's stride 8: the level that sees a 6-15 px ball as 1-3 cells),
each coarser level twice as big, as its stride is (for the rare near ball). The plain YOLOv3 split of
9 clusters, 3 per level by area, would put a third of the balls on stride 32, where a 13 px ball is
under half a cell; one size per pyramid level times shared ratios cannot pair a size with its shape.

It also says how big the ball is at that scale, and which ``image_size`` would make the small balls at
least ``min_px`` (the input-scale half of the recipe; the train loop prints it, it does not change it).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np

from pigskin.config import ModelConfig
from pigskin.samples import Dataset

ANCHOR_FAMILIES = ("yolov3", "fasterrcnn", "ssdlite")
MIN_BOXES = 3  # fewer training boxes than clusters: keep the configured anchors


def training_boxes(dataset: Dataset, image_size: int) -> np.ndarray:
    """``(N, 2)`` widths and heights of every box, in px at the training scale (the frame's long side
    resized to ``image_size``, as crops and predict see it)."""
    out = [
        (s.detections.xyxy[:, 2:] - s.detections.xyxy[:, :2]) * (image_size / max(s.width, s.height))
        for s in dataset
        if len(s.detections)
    ]
    wh = np.concatenate(out).astype(np.float64) if out else np.zeros((0, 2))
    return wh[(wh > 0).all(1)]


def shape_iou(wh: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """``(N, K)`` IoU of boxes and cluster shapes with their centres aligned (only the shape counts)."""
    inter = np.minimum(wh[:, None], centres[None]).prod(-1)
    return inter / (wh.prod(-1)[:, None] + centres.prod(-1)[None] - inter)


def kmeans_anchors(wh: np.ndarray, k: int, iters: int = 100) -> np.ndarray:
    """``k`` anchor shapes ``(k, 2)``, smallest area first: k-means with distance ``1 - IoU``.

    Deterministic: the centres start at evenly spaced area quantiles (the sorted boxes' ``(i + 0.5) / k``
    points), so the same data always gives the same anchors (a resumed run checks its config).
    """
    if len(wh) < k:
        raise ValueError(f"kmeans_anchors: {len(wh)} boxes for {k} clusters")
    order = np.argsort(wh.prod(1), kind="stable")
    centres = wh[order[((np.arange(k) + 0.5) * len(wh) / k).astype(int)]].copy()
    for _ in range(iters):
        nearest = shape_iou(wh, centres).argmax(1)
        moved = np.array([wh[nearest == j].mean(0) if (nearest == j).any() else centres[j] for j in range(k)])
        if np.allclose(moved, centres):
            break
        centres = moved
    return centres[np.argsort(centres.prod(1), kind="stable")]


@dataclass(frozen=True)
class SmallObjects:
    """What the data says about its boxes at ``image_size``, and the anchors derived from it."""

    image_size: int
    boxes: int  # training boxes measured
    median_wh: tuple[float, float]  # px at image_size
    small_side: float  # 10th percentile of the boxes' shorter side, px at image_size
    clusters: tuple[tuple[float, float], ...]  # k-means (w, h) shapes, smallest first
    mean_iou: float  # average IoU of a box with its best cluster: how well the shapes fit

    @property
    def anchors(self) -> tuple[float, ...]:
        """``ModelConfig.anchors``: the clusters as flat (w, h) pairs (the finest level's shapes)."""
        return tuple(v for c in self.clusters for v in c)

    def image_size_for(self, min_px: float) -> int:
        """The ``image_size`` (a multiple of 32) that makes the small balls (``small_side``) ``min_px``."""
        return int(math.ceil(self.image_size * max(1.0, min_px / self.small_side) / 32) * 32)

    def apply(self, config: ModelConfig) -> ModelConfig:
        """``config`` with the fitted anchors for a box detector; anchor-free families come back unchanged."""
        if config.name.split("_")[0] in ANCHOR_FAMILIES:
            return dataclasses.replace(config, anchors=self.anchors)
        return config

    def describe(self) -> str:
        shapes = ", ".join(f"{w:.1f}x{h:.1f}" for w, h in self.clusters)
        return (
            f"{self.boxes} training boxes at image_size {self.image_size}: median "
            f"{self.median_wh[0]:.1f}x{self.median_wh[1]:.1f} px, 10% have a side under "
            f"{self.small_side:.1f} px; "
            f"k-means anchors {shapes} (mean IoU {self.mean_iou:.2f})"
        )


def fit_small_objects(dataset: Dataset, image_size: int, k: int = 3) -> SmallObjects | None:
    """The box statistics and ``k`` k-means anchor shapes of ``dataset`` at ``image_size``; None when
    it has fewer than ``max(k, MIN_BOXES)`` boxes (too few to fit anything)."""
    wh = training_boxes(dataset, image_size)
    if len(wh) < max(k, MIN_BOXES):
        return None
    centres = kmeans_anchors(wh, k)
    median = np.median(wh, 0)
    return SmallObjects(
        image_size=image_size,
        boxes=len(wh),
        median_wh=(float(median[0]), float(median[1])),
        small_side=float(np.percentile(wh.min(1), 10)),
        clusters=tuple((round(float(w), 2), round(float(h), 2)) for w, h in centres),
        mean_iou=float(shape_iou(wh, centres).max(1).mean()),
    )
