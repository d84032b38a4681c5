"""The torch side of a Dataset: an epoch's plan of crops, the crops themselves, and batching.

Each epoch has a plan (which frame, positive or negative, which random seed) fixed by
``(seed, epoch)``; an item's crop and augmentation depend only on its plan entry. So a run resumed
mid-epoch sees exactly the batches it would have seen, and data-parallel ranks can split a plan.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torchvision import tv_tensors

from pigskin.config import AugmentConfig
from pigskin.data.clips import frame_stacks, load_stack, lookalike_boxes
from pigskin.data.crops import choose_window, crop, crop_detections
from pigskin.data.images import load_checked
from pigskin.data.transforms import build_augment, sample_zoom
from pigskin.models.base import Target
from pigskin.samples import Dataset


@dataclass(frozen=True)
class PlanItem:
    sample: int  # index into the Dataset
    negative: bool  # aim for a crop with no ball
    seed: int  # seeds the crop position, zoom and augmentation


def epoch_plan(dataset: Dataset, epoch: int, seed: int, negative_fraction: float) -> list[PlanItem]:
    """Every frame once, shuffled; a frame with a ball becomes a pure negative with
    ``negative_fraction`` probability, a frame without one always is."""
    rng = np.random.default_rng([seed, epoch])
    items = []
    for i in rng.permutation(len(dataset)):
        has_ball = len(dataset[int(i)].detections) > 0
        negative = (not has_ball) or bool(rng.random() < negative_fraction)
        items.append(PlanItem(int(i), negative, int(rng.integers(2**31 - 1))))
    return items


class CropDataset(torch.utils.data.Dataset):
    """Training items: ``(image (3, S, S) float in [0, 1], {"boxes", "labels"})`` per plan entry.

    ``crop_size`` 0 means whole frames (resized so the long side is ``image_size``, zoom applied).
    ``frames`` > 1: the image is the frame and its ``frames - 1`` predecessors
    (:func:`pigskin.data.clips.frame_stacks`), ``(3 * frames, S, S)`` oldest first, all cut with the
    same window and augmented alike; the boxes are the current frame's. ``hard_negatives``: share of
    negative crops centred on a recorded look-alike (``Sample.attrs["lookalikes"]``) instead of at random.
    """

    def __init__(
        self,
        dataset: Dataset,
        plan: list[PlanItem],
        crop_size: int,
        image_size: int,
        augment: AugmentConfig,
        frames: int = 1,
        hard_negatives: float = 0.0,
    ) -> None:
        self.dataset = dataset
        self.stacks = frame_stacks(dataset, frames) if frames > 1 else None
        self.hard_negatives = hard_negatives
        self.plan = plan
        self.crop_size = crop_size
        self.image_size = image_size
        self.augment_config = augment
        self.augment = build_augment(augment)

    def __len__(self) -> int:
        return len(self.plan)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, Target]:
        item = self.plan[index]
        sample = self.dataset[item.sample]
        images = (
            load_stack(self.dataset, self.stacks[item.sample])
            if self.stacks
            else [load_checked(self.dataset, sample)]
        )
        h, w = images[-1].shape[:2]
        rng = np.random.default_rng(item.seed)
        zoom = sample_zoom(self.augment_config, float(rng.random()))
        out = self.crop_size or self.image_size
        scale = self.image_size / max(w, h) * zoom
        negative = item.negative and self.crop_size > 0
        lookalikes = lookalike_boxes(sample) if negative and self.hard_negatives > 0 else None
        if lookalikes is not None and len(lookalikes) and rng.random() < self.hard_negatives:
            window, _ = choose_window(lookalikes, w, h, out, scale, rng)  # a ball nearby stays labelled
        else:
            window, _ = choose_window(sample.detections, w, h, out, scale, rng, negative)
        dets = crop_detections(sample.detections, window)
        layers = []
        for image in images:
            img = tv_tensors.Image(torch.from_numpy(crop(image, window)).permute(2, 0, 1))
            boxes = tv_tensors.BoundingBoxes(
                torch.from_numpy(dets.xyxy).reshape(-1, 4), format="XYXY", canvas_size=(out, out)
            )
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(item.seed)  # the same flip, colour, blur and JPEG for every frame
                img, boxes = self.augment(img, boxes)
            layers.append(img.as_subclass(torch.Tensor))
        target = {
            "boxes": boxes.as_subclass(torch.Tensor).float().reshape(-1, 4),
            "labels": torch.from_numpy(dets.class_id).long(),
        }
        return torch.cat(layers).float().div_(255.0), target


def collate(batch: list[tuple[torch.Tensor, Target]]) -> tuple[torch.Tensor, list[Target]]:
    images, targets = zip(*batch, strict=True)
    return torch.stack(images), list(targets)
