"""Factories for the evaluation tests: random COCO-like cases and small scripted datasets."""

from __future__ import annotations

import numpy as np
import pytest

from pigskin.detections import Detections
from pigskin.samples import Dataset, Sample


def random_case(seed: int, n_images: int = 40, n_classes: int = 3) -> tuple[Dataset, list[Detections]]:
    """Random GT and detections: normal, crowded, empty and single-box images, crowd boxes, tied scores,
    and boxes of every COCO size, so every branch of the matching rule is exercised."""
    rng = np.random.default_rng(seed)
    samples, preds = [], []
    for i in range(n_images):
        kind = rng.choice(4, p=[0.5, 0.2, 0.15, 0.15])  # normal, crowded, empty, single
        ng = [int(rng.integers(1, 6)), int(rng.integers(15, 30)), 0, 1][kind]
        nd = [
            int(rng.integers(0, 10)),
            int(rng.integers(20, 130)),
            int(rng.integers(0, 4)),
            int(rng.integers(0, 3)),
        ][kind]
        xy = rng.uniform(0, 560, (ng, 2))
        wh = rng.uniform(2, 120, (ng, 2)) * rng.choice([0.1, 1.0, 3.0], (ng, 1))
        gb = np.concatenate([xy, xy + np.maximum(wh, 1)], 1)
        gc = rng.integers(0, n_classes, ng)
        crowd = (rng.random(ng) < 0.08).astype(int)
        xy2 = rng.uniform(0, 560, (nd, 2))
        db = np.concatenate([xy2, xy2 + rng.uniform(2, 100, (nd, 2))], 1)
        dc = rng.integers(0, n_classes, nd)
        if ng:
            src = rng.integers(0, ng, nd)
            near = rng.random(nd) < 0.7
            jitter = rng.normal(0, 0.15, (nd, 4)) * np.repeat(gb[src, 2:] - gb[src, :2], 2, axis=1)
            db[near] = (gb[src] + jitter)[near]
            dc[near] = np.where(rng.random(near.sum()) < 0.85, gc[src][near], dc[near])
        db[:, 2:] = np.maximum(db[:, 2:], db[:, :2] + 0.5)
        samples.append(Sample(f"img{i}.jpg", 640, 480, Detections(gb, gc, attrs={"iscrowd": crowd})))
        preds.append(Detections(db, dc, np.round(rng.random(nd), 2)))  # rounding makes ties
    return Dataset([f"c{k}" for k in range(n_classes)], samples), preds


@pytest.fixture
def make_random():
    return random_case


def square(cx: float, cy: float, size: float) -> list[float]:
    return [cx - size / 2, cy - size / 2, cx + size / 2, cy + size / 2]


@pytest.fixture
def sq():
    return square
