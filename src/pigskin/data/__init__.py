"""Training data on the torch side: crops around the ball, box-aware augmentation, batching."""

from pigskin.config import AugmentConfig
from pigskin.data.crops import Window, choose_window, crop, crop_detections
from pigskin.data.torch_dataset import CropDataset, PlanItem, collate, epoch_plan
from pigskin.data.transforms import build_augment

__all__ = [
    "AugmentConfig",
    "CropDataset",
    "PlanItem",
    "Window",
    "build_augment",
    "choose_window",
    "collate",
    "crop",
    "crop_detections",
    "epoch_plan",
]
