"""Shared helpers for the tracking tests: scripted detections and small real demo videos."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from pigskin.detections import Detections
from pigskin.synth.demo_clip import DemoConfig, write_demo_clip
from pigskin.track.tracker import BallTracker, TrackerConfig, TrackState


def _boxes_at(points: list, scores: list[float], size: float = 10.0) -> Detections:
    """Detections with square boxes centred on ``points`` (None entries are skipped)."""
    kept = [(p, s) for p, s in zip(points, scores, strict=True) if p is not None]
    if not kept:
        return Detections.empty(with_confidence=True)
    p = np.array([k[0] for k in kept], np.float64)
    return Detections(np.c_[p - size / 2, p + size / 2], confidence=np.array([k[1] for k in kept]))


def _run_tracker(
    truth: np.ndarray,
    hidden: set[int] = frozenset(),
    still: tuple[float, float] | None = None,
    still_score: float = 0.95,
    noise: float = 1.0,
    seed: int = 0,
    image_size: tuple[int, int] | None = (1280, 720),
    **config,
) -> list[TrackState]:
    """Feed a scripted ball (plus optionally a still look-alike) through a fresh tracker."""
    rng = np.random.default_rng(seed)
    tracker = BallTracker(TrackerConfig(**config), image_size=image_size)
    states = []
    for t, p in enumerate(truth):
        points, scores = [], []
        if t not in hidden:
            points.append(p + rng.normal(0, noise, 2))
            scores.append(0.8)
        if still is not None:
            points.append(np.array(still, float))
            scores.append(still_score)
        states.append(tracker.update(_boxes_at(points, scores), t))
    return states


def _errors(states: list[TrackState], truth: np.ndarray) -> np.ndarray:
    """Centre error per frame (NaN where the track has no position)."""
    return np.array([np.nan if s.center is None else float(np.linalg.norm(s.center - truth[s.frame]))
                     for s in states])


@pytest.fixture
def demo_video(tmp_path: Path) -> tuple[Path, list[dict]]:
    """A real 320x180 H.264 clip of 45 frames with one occlusion, and its truth rows."""
    path = tmp_path / "clip.mp4"
    truth = write_demo_clip(path, DemoConfig(width=320, height=180, frames=45, occlusions=1, seed=5))
    return path, truth


@pytest.fixture
def boxes_at():
    return _boxes_at


@pytest.fixture
def run_tracker():
    return _run_tracker


@pytest.fixture
def errors():
    return _errors
