"""A toy ball dataset: brown ellipses on noisy green frames, written as PNG files.

Small enough to train on in seconds, so tests, docs and smoke runs of ``pigskin train`` need no real
footage and no renderer. Not a benchmark: :mod:`pigskin.synth` draws real-looking frames.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from pigskin.detections import Detections
from pigskin.samples import Dataset, Sample

BROWN = (139, 69, 19)


def toy_frame(
    width: int, height: int, boxes: np.ndarray, rng: np.random.Generator, noise: float = 25.0
) -> np.ndarray:
    """A noisy grass-coloured frame with a brown ellipse (white laces) filling each box."""
    base = np.array([60, 120, 50], np.float32) + rng.normal(0, 10, 3)
    arr = base + rng.normal(0, noise, (height, width, 3))
    # a few bright field lines, so the background is not pure noise
    for _ in range(2):
        x = int(rng.integers(0, width))
        arr[:, max(0, x - 1) : x + 1] = 230
    im = Image.fromarray(arr.clip(0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(im)
    for x1, y1, x2, y2 in np.asarray(boxes, float).reshape(-1, 4):
        shade = tuple(int(c * rng.uniform(0.8, 1.2)) for c in BROWN)
        draw.ellipse([x1, y1, x2 - 1, y2 - 1], fill=shade)
        cy = (y1 + y2) / 2
        draw.line([x1 + (x2 - x1) * 0.35, cy, x1 + (x2 - x1) * 0.65, cy], fill=(235, 235, 235))
    return np.asarray(im.filter(ImageFilter.GaussianBlur(0.6)))


def toy_dataset(
    root: str | os.PathLike[str],
    n: int = 4,
    width: int = 128,
    height: int = 128,
    ball: tuple[float, float] = (10.0, 18.0),
    empty: int = 0,
    seed: int = 0,
) -> Dataset:
    """``n`` frames with one ball each plus ``empty`` frames without, as ``root/images/toy_NNN.png``."""
    root = Path(root)
    rng = np.random.default_rng(seed)
    samples = []
    for i in range(n + empty):
        if i < n:
            w = float(rng.uniform(*ball))
            h = w * float(rng.uniform(0.7, 1.0))
            x1 = float(rng.uniform(1, width - w - 1))
            y1 = float(rng.uniform(1, height - h - 1))
            boxes = np.array([[x1, y1, x1 + w, y1 + h]], np.float32)
        else:
            boxes = np.zeros((0, 4), np.float32)
        name = f"images/toy_{i:03d}.png"
        (root / "images").mkdir(parents=True, exist_ok=True)
        Image.fromarray(toy_frame(width, height, boxes, rng)).save(root / name)
        samples.append(Sample(name, width, height, Detections(boxes, np.zeros(len(boxes), np.int64))))
    return Dataset(["ball"], samples, root=root)


def toy_clip(
    root: str | os.PathLike[str],
    n: int = 6,
    width: int = 128,
    height: int = 128,
    ball: float = 12.0,
    velocity: tuple[float, float] = (9.0, 4.0),
    video: str = "toy_clip",
    seed: int = 0,
) -> Dataset:
    """A clip: ``n`` frames of one ball moving ``velocity`` px per frame over a fixed background, as
    ``root/frames/<video>_NNNNNN.png`` with ``video_id`` and ``frame_index`` set, for multi-frame models."""
    root = Path(root)
    (root / "frames").mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    x0 = float(rng.uniform(1, width / 3))
    y0 = float(rng.uniform(1, height / 3))
    samples = []
    for k in range(n):
        x1 = min(max(1.0, x0 + velocity[0] * k), width - ball - 1)
        y1 = min(max(1.0, y0 + velocity[1] * k), height - ball - 1)
        boxes = np.array([[x1, y1, x1 + ball, y1 + ball * 0.8]], np.float32)
        # the same background every frame (a fixed camera): only the ball moves
        frame = toy_frame(width, height, boxes, np.random.default_rng([seed, 1]))
        name = f"frames/{video}_{k:06d}.png"
        Image.fromarray(frame).save(root / name)
        samples.append(
            Sample(
                name, width, height, Detections(boxes, np.zeros(1, np.int64)), video_id=video, frame_index=k
            )
        )
    return Dataset(["ball"], samples, root=root)
