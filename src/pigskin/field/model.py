"""The field as broadcast conventions draw it, in field yards.

Field coordinates: ``x`` = yards from the left goal line (0-100, end zones -10..0 and 100..110),
``y`` = yards from the near sideline (0-53.33). Yard lines every 5 yards, hash marks at every other
yard in two rows 70 ft 9 in from each sideline, short marks along both sidelines: the markings that
registration aligns with the picture (the yard numbers and logos are left out: they differ from
stadium to stadium).
"""

from __future__ import annotations

import numpy as np

LENGTH = 100.0  # goal line to goal line
END_ZONE = 10.0
WIDTH = 160.0 / 3.0
HASH_Y = (23.58, WIDTH - 23.58)  # near and far hash rows
HASH_LEN = 0.67
BORDER = 2.0  # the white border outside the sidelines and end lines (6 ft)
YARD_LINES = tuple(range(0, 101, 5))
KINDS = ("yard", "side", "hash")  # what a model point lies on (the index is its kind code)


def model_points(step: float = 0.5) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Points ``(N, 2)`` on the markings, their kind codes ``(N,)`` and, for yard-line points, which
    yard line (its x; NaN elsewhere): what a homography is scored against."""
    pts, kind, line = [], [], []

    def add(xy: np.ndarray, k: int, which: float = np.nan) -> None:
        pts.append(xy)
        kind.append(np.full(len(xy), k))
        line.append(np.full(len(xy), which))

    ys = np.arange(0.0, WIDTH + 1e-6, step)
    for x in YARD_LINES:
        add(np.c_[np.full(len(ys), float(x)), ys], 0, float(x))
    # the borders, along their middles: where the top-hat finds one when it is thin in the picture
    # (a border seen wide is a plateau, not a line, and its points simply go unmatched)
    half = BORDER / 2
    for x in (-END_ZONE - half, LENGTH + END_ZONE + half):  # end lines
        add(np.c_[np.full(len(ys), x), ys], 1)
    xs = np.arange(-END_ZONE - BORDER, LENGTH + END_ZONE + BORDER + 1e-6, step)
    for y in (-half, WIDTH + half):
        add(np.c_[xs, np.full(len(xs), y)], 1)
    marks = np.array([x for x in range(1, 100) if x % 5], float)
    for y0 in (HASH_Y[0] - HASH_LEN, HASH_Y[1], 0.2, WIDTH - 0.87):
        for t in np.linspace(0.0, HASH_LEN, 3):
            add(np.c_[marks, np.full(len(marks), y0 + t)], 2)
    return np.concatenate(pts), np.concatenate(kind), np.concatenate(line)


def nearest_yard_line(x: float) -> str:
    """The 5-yard line nearest ``x`` as a broadcast names it: ``L35`` (left half), ``50``, ``R20``,
    ``L G`` / ``R G`` for the goal lines, ``L EZ`` / ``R EZ`` inside an end zone."""
    if x < 0:
        return "L EZ"
    if x > LENGTH:
        return "R EZ"
    k = int(round(x / 5.0)) * 5
    if k == 50:
        return "50"
    side, yards = ("L", k) if k < 50 else ("R", 100 - k)
    return f"{side} G" if yards == 0 else f"{side}{yards}"


def nearest_hash(y: float) -> str:
    """Where across the field ``y`` is: by a sideline, on or outside a hash, or between the hashes."""
    if y < 0 or y > WIDTH:
        return "out of bounds"
    near, far = HASH_Y
    if abs(y - near) <= 1.0:
        return "near hash"
    if abs(y - far) <= 1.0:
        return "far hash"
    if near < y < far:
        return "between hashes"
    return "near side" if y < near else "far side"
