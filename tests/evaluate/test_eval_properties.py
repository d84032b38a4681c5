"""Measured box properties: contrast, blur, distance to a player, border."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from pigskin.evaluate import properties


def scene(ball_rgb: tuple[int, int, int], bg_rgb: tuple[int, int, int], sigma: float = 0.0) -> np.ndarray:
    img = np.zeros((80, 80, 3), np.float64) + bg_rgb
    yy, xx = np.mgrid[0:80, 0:80] + 0.5  # pixel centres
    img[(xx - 40) ** 2 / 64 + (yy - 40) ** 2 / 36 <= 1] = ball_rgb  # 16 x 12 ellipse at (40, 40)
    if sigma:
        img = ndimage.gaussian_filter(img, (sigma, sigma, 0))
    return img.astype(np.uint8)


BOX = np.array([[32, 34, 48, 46]], np.float64)


def test_contrast_is_the_colour_difference_to_the_ring():
    strong = properties.contrast(scene((140, 80, 40), (50, 120, 50)), BOX)[0]
    weak = properties.contrast(scene((140, 80, 40), (130, 85, 50)), BOX)[0]
    assert strong == pytest.approx(np.linalg.norm([90, -40, -10]), rel=0.05)
    assert weak < 20 < strong
    assert np.isnan(properties.contrast(scene((0, 0, 0), (0, 0, 0)), np.array([[90, 90, 99, 99]]))[0])


def test_blur_estimate_grows_with_blur():
    values = [
        properties.blur(properties.luminance(scene((140, 80, 40), (50, 160, 50), s)), BOX)[0]
        for s in (0.0, 1.0, 2.5)
    ]
    assert values[0] < values[1] < values[2]


def test_player_distance_and_border():
    boxes = np.array([[10, 10, 20, 20], [100, 100, 110, 110]], np.float64)
    players = np.array([[0, 0, 30, 60]], np.float64)
    d = properties.player_distance(boxes, players)
    assert d[0] == 0.0 and d[1] == pytest.approx(np.hypot(105 - 30, 105 - 60))
    assert np.isinf(properties.player_distance(boxes, np.zeros((0, 4)))).all()
    assert properties.at_border(boxes, 112, 200, margin=4).tolist() == [False, True]
