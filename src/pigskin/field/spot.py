"""The ball on the field: its image point through the frame's homography, and each play's spot.

Only a ball on the ground is where its image point projects. A ball in the air (a pass, a punt)
projects far behind itself, so its ground projection is not reported: from pixels alone its height
is unknown, but its projection then races across the turf faster than any runner carries a ball,
and that is the flag (``air``). The *spot* of a play is where its ball comes to rest: the last run
of at least ``still_frames`` ground positions that stay within ``still_yards`` of their mean.
"""

from __future__ import annotations

import csv
import io
import os
from collections import deque
from dataclasses import dataclass, field

import numpy as np

from pigskin.field.align import apply
from pigskin.field.model import nearest_hash, nearest_yard_line
from pigskin.field.register import Registration
from pigskin.fileio import write_text

FIELD_COLUMNS = ("field_x", "field_y", "field_state")
GROUND, AIR, NOT_REGISTERED, NO_BALL = "ground", "air", "not registered", "no ball"
SPOT_COLUMNS = ("play", "frame", "field_x", "field_y", "yard_line", "hash", "confidence")


@dataclass(frozen=True)
class SpotConfig:
    air_speed: float = 15.0  # yd/s of the ground projection above which the ball is in the air
    still_yards: float = 0.75  # a ball at rest stays this close to where it stopped ...
    still_frames: int = 8  # ... for at least this many frames


@dataclass
class _Run:
    start: int
    points: list[tuple[int, float, float, float]] = field(default_factory=list)  # frame, x, y, confidence

    def mean(self) -> np.ndarray:
        return np.mean([(x, y) for _, x, y, _ in self.points], axis=0)


class BallOnField:
    """Feed every frame's registration and ball centre; keeps each play's spot (see module doc)."""

    def __init__(self, fps: float, config: SpotConfig | None = None) -> None:
        self.fps = float(fps) if fps and fps > 0 else 30.0
        self.config = config or SpotConfig()
        self.play = 0
        self.spots: list[dict] = []
        self._recent: deque[tuple[int, np.ndarray]] = deque(maxlen=4)
        self._run: _Run | None = None
        self._rest: _Run | None = None  # the last long-enough still run of this play

    def locate(self, reg: Registration, center: np.ndarray | None) -> dict:
        """``field_x, field_y, field_state`` of this frame's ball (``center`` in image px or None)."""
        if not reg.registered or reg.homography is None:
            self._recent.clear()
            return self._row(None, NOT_REGISTERED)
        if center is None:
            return self._row(None, NO_BALL)
        xy = apply(reg.homography, np.asarray(center, float)[None])[0][0]
        old = self._recent[0] if self._recent else None
        self._recent.append((reg.frame, xy))
        if old is not None and reg.frame > old[0]:
            speed = float(np.linalg.norm(xy - old[1])) * self.fps / (reg.frame - old[0])
            if speed > self.config.air_speed:
                self._end_run()
                return self._row(None, AIR)
        self._still(reg.frame, xy, reg.confidence)
        return self._row(xy, GROUND)

    def _row(self, xy: np.ndarray | None, state: str) -> dict:
        return {"field_x": None if xy is None else round(float(xy[0]), 2),
                "field_y": None if xy is None else round(float(xy[1]), 2), "field_state": state}

    def _still(self, frame: int, xy: np.ndarray, confidence: float) -> None:
        run = self._run
        if run is not None and np.linalg.norm(run.mean() - xy) > self.config.still_yards:
            self._end_run()
            run = None
        if run is None:
            run = self._run = _Run(frame)
        run.points.append((frame, float(xy[0]), float(xy[1]), confidence))

    def _end_run(self) -> None:
        if self._run is not None and len(self._run.points) >= self.config.still_frames:
            self._rest = self._run
        self._run = None

    def resting(self) -> np.ndarray | None:
        """Where the ball rests now (after ``still_frames`` still frames), else None: for the overlay."""
        run = self._run
        return run.mean() if run is not None and len(run.points) >= self.config.still_frames else None

    def end_play(self) -> dict:
        """Close the play: its spot row (empty position when its ball never came to rest)."""
        self._end_run()
        rest, self._rest = self._rest, None
        row: dict = {"play": self.play, "frame": None, "field_x": None, "field_y": None, "yard_line": None,
                     "hash": None, "confidence": 0.0}
        if rest is not None:
            x, y = rest.mean()
            conf = float(np.mean([c for *_, c in rest.points]))
            long_enough = min(1.0, len(rest.points) / (2 * self.config.still_frames))
            row.update(frame=rest.start, field_x=round(float(x), 2), field_y=round(float(y), 2),
                       yard_line=nearest_yard_line(x), hash=nearest_hash(y),
                       confidence=round(conf * long_enough, 3))
        self.spots.append(row)
        self.play += 1
        self._recent.clear()
        return row


def write_spots(path: str | os.PathLike[str], spots: list[dict]) -> None:
    """``spots.csv`` (header ``play,frame,field_x,field_y,yard_line,hash,confidence``), atomically."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(SPOT_COLUMNS)
    for s in spots:
        w.writerow(["" if s.get(k) is None else s[k] for k in SPOT_COLUMNS])
    write_text(path, buf.getvalue())
