"""Validation during training: whole frames through :func:`pigskin.models.predictor.detect`, scored
with COCO AP at IoU 0.5 by :mod:`pigskin.evaluate.metrics`, overall and for balls under 16 px."""

from __future__ import annotations

import torch
from torch import nn

from pigskin.detections import Detections
from pigskin.models.predictor import detect
from pigskin.samples import Dataset

SMALL = 16.0  # px: "a ball under 16 px" = its longer side is under 16 px


def ap50(preds: list[Detections], gts: list[Detections], num_classes: int) -> dict[str, float]:
    """COCO AP at IoU 0.5 (pycocotools-equal, :mod:`pigskin.evaluate.metrics`), overall and for boxes
    whose longer side is under 16 px; NaN where there is nothing to find."""
    from pigskin.evaluate.metrics import SizeRange, coco_eval

    ranges = (SizeRange("all", 0, 1e10), SizeRange("small", 0, SMALL, "longest", False))
    res = coco_eval(gts, preds, num_classes, ranges, (100,))
    return {"ap50": res.mean(iou=0.5), "ap50_small": res.mean(iou=0.5, rng="small")}


@torch.no_grad()
def validate(
    model: nn.Module,
    dataset: Dataset,
    image_size: int,
    max_images: int = 0,
    batch_size: int = 1,
    progress: bool = False,
) -> dict[str, float]:
    """AP50 over (at most ``max_images``) whole frames, and AP50 of balls under 16 px."""
    from tqdm import tqdm

    from pigskin.data.clips import frame_stacks, load_stack, stack_frames
    from pigskin.data.torch_dataset import load_checked

    samples = dataset.samples[:max_images] if max_images else dataset.samples
    frames = int(getattr(model, "frames", 1))  # a multi-frame model sees each frame with its predecessors
    stacks = frame_stacks(dataset, frames) if frames > 1 else None
    was_training = model.training
    model.eval()
    preds, gts = [], []
    try:
        for start in tqdm(
            range(0, len(samples), batch_size), desc="validate", disable=not progress, leave=False
        ):
            chunk = samples[start : start + batch_size]
            if stacks is None:
                images = [load_checked(dataset, s) for s in chunk]
            else:
                images = [stack_frames(load_stack(dataset, stacks[start + j])) for j in range(len(chunk))]
            preds.extend(detect(model, images, image_size, batch_size))
            gts.extend(s.detections for s in chunk)
    finally:
        model.train(was_training)
    return {**ap50(preds, gts, len(dataset.classes)), "images": float(len(samples))}
