"""Anchors fitted to the training boxes at the training scale: the one source all box detectors use."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from torchvision.models.detection.image_list import ImageList

from pigskin.config import ConfigError, ModelConfig, from_dict, to_dict
from pigskin.detections import Detections
from pigskin.models import build_model
from pigskin.models.small_objects import fit_small_objects, kmeans_anchors, shape_iou, training_boxes
from pigskin.samples import Dataset, Sample

SHAPES = np.array([[6.0, 5.0], [10.0, 10.0], [16.0, 12.0]])  # px at the frame's own scale


def boxes_dataset(shapes: np.ndarray, per_shape: int = 20, width: int = 1920, height: int = 1080) -> Dataset:
    """Frames (no image files: only the labels are read) with one box each, jittered around ``shapes``."""
    rng = np.random.default_rng(0)
    samples = []
    for i, (w, h) in enumerate(np.repeat(shapes, per_shape, axis=0)):
        w, h = w * rng.uniform(0.95, 1.05), h * rng.uniform(0.95, 1.05)
        x, y = rng.uniform(0, width - w), rng.uniform(0, height - h)
        samples.append(Sample(f"f{i}.jpg", width, height, Detections(np.array([[x, y, x + w, y + h]]), [0])))
    samples.append(Sample("empty.jpg", width, height))  # a frame without a ball counts for nothing
    return Dataset(["ball"], samples)


def test_boxes_are_measured_at_the_training_scale():
    ds = boxes_dataset(SHAPES, per_shape=2)
    wh = training_boxes(ds, 1280)  # 1920 px frames shrunk to 1280: two thirds
    assert wh.shape == (6, 2)
    assert np.median(wh[:2], 0) == pytest.approx(SHAPES[0] * 1280 / 1920, rel=0.06)


def test_kmeans_finds_the_shapes_smallest_first_and_is_deterministic():
    ds = boxes_dataset(SHAPES)
    wh = training_boxes(ds, 1920)
    centres = kmeans_anchors(wh, 3)
    assert centres == pytest.approx(SHAPES, rel=0.05)
    assert np.array_equal(centres, kmeans_anchors(wh, 3))
    assert shape_iou(wh, centres).max(1).mean() > 0.9
    with pytest.raises(ValueError, match="2 boxes for 3 clusters"):
        kmeans_anchors(wh[:2], 3)


def test_each_family_gets_its_anchors_from_the_same_fit():
    ds = boxes_dataset(SHAPES)
    fit = fit_small_objects(ds, 1280)
    assert fit is not None and fit.boxes == 60
    scaled = SHAPES * 1280 / 1920
    assert np.array(fit.clusters) == pytest.approx(scaled, rel=0.05)
    assert fit.median_wh == pytest.approx(tuple(scaled[1]), rel=0.06)

    # every box detector's finest level gets the fitted shapes, each coarser level twice as big
    clusters = torch.tensor(fit.clusters, dtype=torch.float32)
    yolo = build_model(fit.apply(ModelConfig(name="yolov3_mobilenet_v2", pretrained=False, width=0.25)))
    assert torch.allclose(yolo.anchors[0], clusters) and torch.allclose(yolo.anchors[2], 4 * clusters)
    image = ImageList(torch.zeros(1, 3, 128, 128), [(128, 128)])
    pyramids = {"fasterrcnn_mobilenet_v2": (4, 8, 16, 32, 64), "ssdlite_mobilenet_v2": (8, 16, 32, 64, 128)}
    for name, strides in pyramids.items():
        detector = build_model(fit.apply(ModelConfig(name=name, pretrained=False)))
        generator = detector.model.rpn.anchor_generator if "rcnn" in name else detector.model.anchor_generator
        features = [torch.zeros(1, 8, 128 // s, 128 // s) for s in strides]
        anchors = generator(image, features)[0].view(-1, 3, 4)  # (cells of every level, 3 shapes, xyxy)
        first = anchors[0]  # the finest level's first cell, centred at (0, 0)
        assert torch.allclose(first[:, 2:] - first[:, :2], clusters, atol=1.0), name
        coarsest = anchors[-1]
        assert torch.allclose(coarsest[:, 2:] - coarsest[:, :2], clusters * 2 ** (len(strides) - 1), atol=1.0)
        assert generator.num_anchors_per_location() == [3] * len(strides)

    heatmap = ModelConfig(name="heatmap_mobilenet_v2")
    assert fit.apply(heatmap) == heatmap  # anchor-free
    # the input scale: the size at which the 10 % smallest balls reach 8 px
    assert fit.image_size_for(8.0) % 32 == 0
    assert fit.small_side * fit.image_size_for(8.0) / 1280 >= 8.0 > fit.small_side


def test_too_few_boxes_keep_the_configured_anchors():
    assert fit_small_objects(boxes_dataset(SHAPES[:1], per_shape=2), 1280) is None
    fitted = fit_small_objects(boxes_dataset(SHAPES), 1280)
    # the fitted config survives the artifact's plain-dict round trip
    cfg = fitted.apply(ModelConfig(name="yolov3_darknet53"))
    assert from_dict(ModelConfig, to_dict(cfg)) == cfg and len(cfg.anchors) == 6
    with pytest.raises(ConfigError, match="positive w,h pairs"):
        dataclasses.replace(cfg, anchors=cfg.anchors[:3])
