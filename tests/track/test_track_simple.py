"""The colour-blob detector on demo frames: finds the ball, not the players or the turf."""

from __future__ import annotations

import numpy as np

from pigskin.synth.demo_clip import DemoConfig, demo_frames, trajectory
from pigskin.track.simple import BlobConfig, BlobDetector


def test_blob_detector_finds_the_visible_ball():
    det = BlobDetector()
    hits = misses = false = visible = 0
    for img, t in demo_frames(DemoConfig(frames=30, seed=1)):
        d = det(img)
        assert d.confidence is not None and np.all((d.confidence >= 0) & (d.confidence <= 1))
        dist = np.hypot(d.centers[:, 0] - t["cx"], d.centers[:, 1] - t["cy"]) if len(d) else np.zeros(0)
        visible += t["visible"]
        if t["visible"]:
            if dist.size and dist.min() < 2.0:
                hits += 1
            else:
                misses += 1
        false += int((dist > 5).sum())
    assert visible >= 15 and hits >= visible - 1 and false <= 2


def test_window_search_matches_the_full_frame_at_full_resolution():
    det = BlobDetector()
    img, t = next((f, t) for f, t in demo_frames(DemoConfig(frames=5, seed=2)) if t["visible"])
    full = det(img)
    cx, cy = int(t["cx"]), int(t["cy"])
    win = det(img, (cx - 50, cy - 50, cx + 50, cy + 50))
    assert len(win) == 1
    i = int(np.argmin(np.hypot(*(full.centers - win.centers[0]).T)))
    assert np.allclose(full.xyxy[i], win.xyxy[0], atol=0.5)
    assert len(det(img, (0, 0, 20, 20))) == 0


def test_colour_and_size_limits():
    img = np.full((100, 100, 3), (50, 120, 50), np.uint8)
    img[40:50, 40:54] = (125, 72, 38)
    assert len(BlobDetector()(img)) == 1
    assert len(BlobDetector(BlobConfig(color=(255, 255, 255)))(img)) == 0
    assert len(BlobDetector(BlobConfig(max_area=50))(img)) == 0


def test_demo_trajectory_is_reproducible_and_inside_the_picture():
    cfg = DemoConfig(frames=120, seed=4)
    a, b = trajectory(cfg), trajectory(cfg)
    assert np.array_equal(a, b) and a.shape == (120, 2)
    assert a[:, 0].min() >= 0 and a[:, 0].max() <= cfg.width and a[:, 1].max() <= cfg.height
