"""Small-ball sampling: crops keep the ball (or show none), at the right scale, deterministically."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from pigskin.config import AugmentConfig, ConfigError
from pigskin.data import CropDataset, Window, choose_window, collate, crop, crop_detections, epoch_plan
from pigskin.data.crops import FILL
from pigskin.data.toy import toy_dataset
from pigskin.data.transforms import MotionBlur, build_augment
from pigskin.detections import Detections

OFF = AugmentConfig(flip=0, zoom_min=1, zoom_max=1, color_jitter=0, motion_blur=0, jpeg=0)


def test_positive_windows_hold_the_chosen_ball_whole():
    dets = Detections(np.array([[100, 50, 112, 60], [900, 600, 930, 630]], np.float32), [0, 0])
    for seed in range(50):
        rng = np.random.default_rng(seed)
        window, negative = choose_window(dets, 1280, 720, out=256, scale=1.5, rng=rng)
        assert not negative and window.side == pytest.approx(256 / 1.5)
        inside = crop_detections(dets, window)
        assert len(inside) >= 1
        # the boxes are scaled by 1.5 and lie wholly in the 256 px crop
        assert np.allclose(inside.wh[0], dets.wh[0] * 1.5, atol=1e-3) or np.allclose(
            inside.wh[0], dets.wh[1] * 1.5, atol=1e-3
        )
        assert (inside.xyxy >= 0).all() and (inside.xyxy <= 256).all()


def test_negative_windows_show_no_ball():
    dets = Detections(np.array([[600, 300, 615, 312]], np.float32), [0])
    for seed in range(30):
        window, negative = choose_window(
            dets, 1280, 720, 200, 1.0, np.random.default_rng(seed), negative=True
        )
        assert negative and len(crop_detections(dets, window)) == 0
    # a frame full of ball: no negative exists, so the window falls back to one holding a ball
    full = Detections(np.array([[0, 0, 300, 300]], np.float32), [0])
    window, negative = choose_window(full, 300, 300, 100, 1.0, np.random.default_rng(0), negative=True)
    assert not negative


def test_crop_cuts_resizes_and_pads():
    image = np.arange(60 * 80 * 3, dtype=np.uint32).reshape(60, 80, 3).astype(np.uint8)
    exact = crop(image, Window(10, 5, 20, 20))  # scale 1, whole pixels: a plain slice
    assert np.array_equal(exact, image[5:25, 10:30])
    outside = crop(image, Window(-10, -10, 40, 40))  # the frame starts at (10, 10) of the crop
    assert (outside[:10, :] == FILL).all() and (outside[:, :10] == FILL).all()
    assert np.array_equal(outside[10:, 10:], image[:30, :30])
    half = crop(image, Window(0, 0, 80, 40))  # zoomed out 2x: 80 px of frame into 40
    assert half.shape == (40, 40, 3) and (half[30:] == FILL).all()  # only 60 of 80 rows exist
    assert crop(image, Window(500, 500, 10, 10)).min() == FILL  # entirely outside


def test_boxes_cut_by_the_edge_stay_only_when_mostly_inside():
    dets = Detections(np.array([[0, 0, 10, 10], [16, 0, 26, 10]], np.float32), [0, 0])
    kept = crop_detections(dets, Window(4, 0, 16, 16))  # first: 60 % inside, second: 0 %
    assert len(kept) == 1 and np.allclose(kept.xyxy[0], [0, 0, 6, 10])
    kept = crop_detections(dets, Window(7, 0, 16, 16))  # first: 30 %, second: 60 %
    assert len(kept) == 1 and np.allclose(kept.xyxy[0], [9, 0, 16, 10])


def test_epoch_plan_is_deterministic_and_covers_every_frame(tmp_path):
    ds = toy_dataset(tmp_path, n=30, empty=10, width=32, height=32)
    plan = epoch_plan(ds, epoch=0, seed=1, negative_fraction=0.5)
    assert plan == epoch_plan(ds, epoch=0, seed=1, negative_fraction=0.5)
    assert plan != epoch_plan(ds, epoch=1, seed=1, negative_fraction=0.5)
    assert sorted(p.sample for p in plan) == list(range(40))
    assert all(p.negative for p in plan if len(ds[p.sample].detections) == 0)
    with_ball = [p.negative for p in plan if len(ds[p.sample].detections)]
    assert 0 < sum(with_ball) < len(with_ball)


def test_crop_dataset_items(tmp_path):
    ds = toy_dataset(tmp_path, n=6, width=160, height=120, ball=(10, 14))
    plan = epoch_plan(ds, 0, 0, negative_fraction=0.0)
    items = CropDataset(ds, plan, crop_size=64, image_size=160, augment=AugmentConfig())
    images, targets = collate([items[i] for i in range(len(items))])
    assert images.shape == (6, 3, 64, 64) and images.dtype == torch.float32
    assert images.min() >= 0.0 and images.max() <= 1.0
    assert all(len(t["boxes"]) == 1 and t["labels"].tolist() == [0] for t in targets)
    # the same plan entry gives the same crop: a resumed run sees the batches it would have seen
    again = CropDataset(ds, plan, 64, 160, AugmentConfig())[3]
    assert torch.equal(again[0], images[3]) and torch.equal(again[1]["boxes"], targets[3]["boxes"])
    # no augmentation and image_size = frame width: the crop is the frame's own pixels
    plain = CropDataset(ds, plan, 64, 160, OFF)[0]
    frame = ds.load_image(ds[plan[0].sample])
    box = plain[1]["boxes"][0].numpy()
    w0, h0 = ds[plan[0].sample].detections.wh[0]
    assert np.allclose(box[2:] - box[:2], [w0, h0], atol=1e-3)
    patch = (plain[0].permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
    assert frame.shape == (120, 160, 3) and patch.shape == (64, 64, 3)


def test_whole_frames_mode_and_negative_crops(tmp_path):
    ds = toy_dataset(tmp_path, n=4, width=160, height=120)
    whole = CropDataset(ds, epoch_plan(ds, 0, 0, 0.0), crop_size=0, image_size=80, augment=OFF)
    image, target = whole[0]
    assert image.shape == (3, 80, 80)  # 160x120 at half size, padded square
    assert (image[:, 60:] == FILL / 255).all()
    negatives = CropDataset(ds, epoch_plan(ds, 0, 0, 1.0), crop_size=48, image_size=160, augment=OFF)
    assert all(len(negatives[i][1]["boxes"]) == 0 for i in range(4))


def test_flip_moves_the_box_with_the_ball(tmp_path):
    ds = toy_dataset(tmp_path, n=1, width=96, height=96, ball=(14, 16))
    plan = epoch_plan(ds, 0, 0, 0.0)
    plain = CropDataset(ds, plan, 0, 96, OFF)[0]
    flipped = CropDataset(ds, plan, 0, 96, dataclasses.replace(OFF, flip=1.0))[0]
    assert torch.equal(flipped[0], plain[0].flip(-1))
    x1, y1, x2, y2 = plain[1]["boxes"][0].tolist()
    assert np.allclose(flipped[1]["boxes"][0].tolist(), [96 - x2, y1, 96 - x1, y2], atol=1e-4)


def test_motion_blur_and_jpeg_keep_size_and_boxes():
    from torchvision import tv_tensors
    from torchvision.transforms import v2

    image = torch.zeros(3, 40, 40, dtype=torch.uint8)
    image[:, 18:22, 18:22] = 255
    torch.manual_seed(0)
    blurred = MotionBlur(p=1.0, max_length=9)(tv_tensors.Image(image))
    assert blurred.shape == image.shape and blurred.dtype == torch.uint8
    assert float(blurred.float().sum()) == pytest.approx(float(image.float().sum()), rel=0.05)  # smeared
    assert (blurred > 0).sum() > (image > 0).sum()

    boxes = tv_tensors.BoundingBoxes([[18, 18, 22, 22]], format="XYXY", canvas_size=(40, 40))
    aug = build_augment(dataclasses.replace(OFF, motion_blur=1.0, jpeg=1.0, color_jitter=0.5))
    _, out_boxes = aug(tv_tensors.Image(image), boxes)
    assert torch.equal(out_boxes, boxes)
    assert all(isinstance(t, v2.Identity) for t in build_augment(OFF).transforms)


def test_augment_config_rejects_bad_values():
    with pytest.raises(ConfigError, match="flip"):
        AugmentConfig(flip=1.5)
    with pytest.raises(ConfigError, match="zoom_min"):
        AugmentConfig(zoom_min=2.0, zoom_max=1.0)
