"""Frames with a known field homography for the field tests: synthetic clip frames, and a clean
drawing of the markings alone through an exact camera."""

from __future__ import annotations

import functools

import numpy as np
from PIL import Image, ImageDraw

from pigskin.field.align import apply, to_image
from pigskin.field.model import HASH_LEN, HASH_Y, WIDTH, YARD_LINES
from pigskin.synth.camera import look_at
from pigskin.synth.clips import clip_frames
from pigskin.synth.config import preset

W, H = 640, 360


def exact_camera_homography(target_x: float = 45.0) -> np.ndarray:
    """Image->field homography of a sideline camera (world x = field x + 10) aimed at ``target_x``."""
    cam = look_at((70.0, -60.0, 28.0), (target_x + 10, 24.0, 0.0), 1500.0, W, H, "sideline")
    shift = np.array([[1.0, 0, -10.0], [0, 1, 0], [0, 0, 1]])
    h = shift @ np.linalg.inv(cam.ground_homography)
    return h / h[2, 2]


def draw_markings(h_if: np.ndarray, width_yd: float = 0.11, seed: int = 0) -> np.ndarray:
    """Turf with only the painted markings (yard lines, sidelines, hash marks) through ``h_if``."""
    rng = np.random.default_rng(seed)
    turf = np.array([70, 120, 60]) + rng.normal(0, 3, (H, W, 3))
    img = Image.fromarray(turf.clip(0, 255).astype(np.uint8))
    d = ImageDraw.Draw(img)
    r = width_yd / 2

    def rect(x0: float, y0: float, x1: float, y1: float) -> None:
        uv, ok = to_image(h_if, np.array([(x0, y0), (x1, y0), (x1, y1), (x0, y1)]))
        if ok.all():
            d.polygon([(float(u), float(v)) for u, v in uv], fill=(238, 240, 236))

    for x in YARD_LINES:
        rect(x - r, 0, x + r, WIDTH)
    rect(-12, -1 - r, 112, -1 + r)  # the sideline borders as lines along their middles
    rect(-12, WIDTH + 1 - r, 112, WIDTH + 1 + r)
    for x in (k for k in range(1, 100) if k % 5):
        for y0 in (HASH_Y[0] - HASH_LEN, HASH_Y[1], 0.2, WIDTH - 0.87):
            rect(x - r, y0, x + r, y0 + HASH_LEN)
    return np.asarray(img)


def field_error(h_est: np.ndarray, h_true: np.ndarray, region: tuple[int, int, int, int]) -> np.ndarray:
    """Yards between the two homographies' field points over a grid of image pixels in ``region``
    that show the field between the goal lines."""
    x0, y0, x1, y1 = region
    uv = np.mgrid[x0:x1:20, y0:y1:20].reshape(2, -1).T + 0.5
    true, ok = apply(h_true, uv)
    on = ok & (true[:, 0] >= 0) & (true[:, 0] <= 100) & (true[:, 1] >= 0) & (true[:, 1] <= WIDTH)
    return np.linalg.norm(apply(h_est, uv[on])[0] - true[on], axis=1)


@functools.lru_cache(maxsize=4)
def synth_frames(index: int, n: int = 2, seed: int = 11) -> tuple[tuple[np.ndarray, np.ndarray, dict], ...]:
    """The first ``n`` frames of a 640x360 synthetic clip: (rgb, true homography, truth attrs)."""
    cfg = preset("broadcast", width=W, height=H, seed=seed, endzone_p=0.5)
    out = []
    for k, (frame, _) in enumerate(clip_frames(cfg, index, n / 30.0 + 1e-6, 30.0)):
        if k < n:
            out.append((frame.rgb, np.array(frame.attrs["synth"]["field_h"]), dict(frame.attrs)))
    return tuple(out)


def nudged(h_if: np.ndarray, dx: float = 0.6, dy: float = 0.3, zoom: float = 1.01) -> np.ndarray:
    """``h_if`` off by a field shift and a zoom: a previous frame's registration of a moving camera."""
    return np.array([[zoom, 0, dx], [0, 1 / zoom, dy], [0, 0, 1.0]]) @ h_if
