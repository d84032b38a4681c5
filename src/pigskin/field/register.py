"""Field registration through a video: each frame's image->field homography, or "not registered".

A frame is registered by refining a guess against its own markings (:mod:`pigskin.field.align`):
the guess is the last registered homography carried forward by the camera's latest frame-to-frame
motion (a pan or a zoom continues), or, after a miss, the last registered one as it was. Which yard
line is which is therefore *tracked* from the start homography (``FieldConfig`` needs one: from a
calibration, or the clip truth's first frame in the benchmark's known-start variant); yard lines
repeat every 5 yards, so a guess must be within about 2 yards of the truth, which frame-to-frame
motion at broadcast rates is. A fit counts only when enough of the model lies on paint: at least
``min_yard_lines`` yard lines, ``min_cross`` hash or sideline points (without them the y direction
is not fixed) and ``min_confidence`` of the model points in view; a close-up, a replay or the crowd
gives "not registered", never a homography that only looks like one.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pigskin.errors import FormatError
from pigskin.field.align import Aligner, Fit
from pigskin.field.mask import line_image

REGISTERED, NOT_REGISTERED = "registered", "not registered"


@dataclass(frozen=True)
class FieldConfig:
    work_width: int = 640  # frames are registered at this width (smaller ones as they are)
    min_confidence: float = 0.45
    min_yard_lines: int = 2
    min_cross: int = 6
    step: float = 0.5  # yards between model points along a marking


@dataclass(frozen=True)
class Registration:
    """One frame's registration; ``homography`` maps image px ``(u, v, 1)`` to field yd, None when
    not registered."""

    frame: int
    state: str
    homography: np.ndarray | None
    confidence: float
    yard_lines: int

    @property
    def registered(self) -> bool:
        return self.state == REGISTERED

    def to_dict(self) -> dict:
        h = None if self.homography is None else [[float(f"{v:.9g}") for v in r] for r in self.homography]
        return {"frame": self.frame, "state": self.state, "confidence": round(self.confidence, 3),
                "yard_lines": self.yard_lines, "homography": h}


class FieldTracker:
    """Feed frames in order; :meth:`update` registers each from the ones before."""

    def __init__(self, start: np.ndarray, config: FieldConfig | None = None) -> None:
        self.config = config or FieldConfig()
        self.aligner = Aligner(self.config.step)
        start = np.asarray(start, np.float64)
        if start.shape != (3, 3) or not np.all(np.isfinite(start)) or abs(np.linalg.det(start)) < 1e-18:
            raise ValueError(f"the start homography must be a finite, invertible 3x3 matrix, got {start}")
        self.last = start / start[2, 2]
        self.before: np.ndarray | None = None  # the registration of the frame before ``last``, if adjacent

    def guesses(self) -> list[np.ndarray]:
        out = []
        if self.before is not None:  # the camera keeps moving as it did: H_t H_{t-1}^-1 H_t
            out.append(self.last @ np.linalg.inv(self.before) @ self.last)
        out.append(self.last)
        return out

    def accept(self, fit: Fit | None) -> bool:
        c = self.config
        return (fit is not None and fit.confidence >= c.min_confidence and fit.yard_lines >= c.min_yard_lines
                and fit.cross_points >= c.min_cross)

    def update(self, rgb: np.ndarray, frame: int) -> Registration:
        img = line_image(rgb, self.config.work_width)
        best: Fit | None = None
        for guess in self.guesses():
            fit = self.aligner.refine(guess, img)
            if self.accept(fit):
                best = fit
                break
        if best is None:
            self.before = None
            return Registration(frame, NOT_REGISTERED, None, 0.0 if fit is None else fit.confidence,
                                0 if fit is None else fit.yard_lines)
        self.before, self.last = self.last, best.homography
        return Registration(frame, REGISTERED, best.homography, best.confidence, best.yard_lines)


def register_frames(frames: Iterable[np.ndarray], start: np.ndarray,
                    config: FieldConfig | None = None) -> Iterator[Registration]:
    """The library call: each frame's :class:`Registration` (its homography per frame), in order."""
    tracker = FieldTracker(start, config)
    for k, rgb in enumerate(frames):
        yield tracker.update(rgb, k)


def read_start(path: str | os.PathLike[str]) -> np.ndarray:
    """A start homography from a file: JSON ``{"homography": 3x3}`` (or a bare 3x3 list), or a clip's
    ``<id>.truth.jsonl``, whose first frame's ``field_h`` is taken (the benchmark's known start)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise FormatError(path, "file", f"cannot read the start homography: {e}") from None
    try:
        doc = json.loads(text.splitlines()[0] if path.name.endswith(".jsonl") else text)
    except (json.JSONDecodeError, IndexError) as e:
        raise FormatError(path, "line 1", f"not JSON: {e}") from None
    h = doc.get("field_h", doc.get("homography")) if isinstance(doc, dict) else doc
    try:
        arr = np.array(h, np.float64)
    except (TypeError, ValueError):
        arr = np.zeros(0)
    if arr.shape != (3, 3) or not np.all(np.isfinite(arr)):
        key = "field_h" if path.name.endswith(".jsonl") else "homography"
        raise FormatError(path, key, f"expected a 3x3 list of numbers, got {h!r}"[:200])
    return arr
