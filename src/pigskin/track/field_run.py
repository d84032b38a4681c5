"""Field registration beside the tracker (``pigskin track --field``): per frame the homography, the
ball's field position and state (three more ``tracks.csv`` columns), per play the spot; plays are
split at scene cuts (:mod:`pigskin.track.scenes`). Writes ``spots.csv`` and ``field.jsonl``."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw

from pigskin.field import BallOnField, FieldConfig, FieldTracker, Registration, read_start, write_spots
from pigskin.field.align import to_image
from pigskin.field.model import WIDTH, YARD_LINES
from pigskin.fileio import write_text
from pigskin.track.scenes import CutDetector
from pigskin.track.tracker import TrackState

FIELD_OUTPUTS = ("spots.csv", "field.jsonl")


@dataclass(frozen=True)
class FieldOverlay:
    """An annotator: the registered yard lines, and the ball's spot once it rests (see track.draw)."""

    registration: Registration
    resting: np.ndarray | None
    color: tuple[int, int, int] = (0, 230, 255)

    def annotate(self, image: Image.Image, state: TrackState, trail: Any) -> None:
        h = self.registration.homography
        draw = ImageDraw.Draw(image)
        if h is None:
            draw.text((6, image.height - 22), "field: not registered", fill=(255, 120, 0))
            return
        ys = np.linspace(0.0, WIDTH, 24)
        for x in YARD_LINES:
            uv, ok = to_image(h, np.c_[np.full(len(ys), float(x)), ys])
            pts = [(float(u), float(v)) for (u, v), k in zip(uv, ok, strict=True) if k]
            if len(pts) > 1:
                draw.line(pts, fill=self.color, width=1)
        if self.resting is not None:
            uv, _ = to_image(h, self.resting[None])
            u, v = float(uv[0, 0]), float(uv[0, 1])
            spot = (255, 0, 255)
            draw.line((u - 8, v, u + 8, v), fill=spot, width=2)
            draw.line((u, v - 8, u, v + 8), fill=spot, width=2)
            draw.text((u + 10, v - 18), f"spot {self.resting[0]:.1f}, {self.resting[1]:.1f} yd", fill=spot)


class FieldRun:
    """Everything ``--field`` adds to one tracking run."""

    def __init__(self, start: str, fps: float, config: FieldConfig | None = None) -> None:
        self.tracker = FieldTracker(read_start(start), config)
        self.ball = BallOnField(fps)
        self.cuts = CutDetector()
        self.registrations: list[Registration] = []
        self.cut_frames: set[int] = set()  # frames that start a new play

    def step(self, image: np.ndarray, index: int, state: TrackState) -> tuple[dict, FieldOverlay]:
        """This frame's field columns and its overlay."""
        if self.cuts.push(index, image) and index > 0:
            self.ball.end_play()
            self.cut_frames.add(index)
        reg = self.tracker.update(image, index)
        self.registrations.append(reg)
        cols = self.ball.locate(reg, state.center)
        return cols, FieldOverlay(reg, self.ball.resting())

    def columns(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The field columns of another track of the same frames (the smoothed one, whose centres
        moved and whose gaps are filled), located the way :meth:`step` located the online ones:
        the same homographies, the same play cuts, a fresh in-air test on the new positions."""
        if len(rows) != len(self.registrations):
            raise ValueError(f"{len(rows)} rows for {len(self.registrations)} registered frames")
        ball = BallOnField(self.ball.fps, self.ball.config)
        out = []
        for reg, row in zip(self.registrations, rows, strict=True):
            if reg.frame in self.cut_frames:
                ball.end_play()
            out.append(ball.locate(reg, None if row.get("cx") is None else (row["cx"], row["cy"])))
        return out

    def finish(self, out: Path) -> None:
        """Close the last play and write ``spots.csv`` and ``field.jsonl`` (homography per frame)."""
        if self.registrations:
            self.ball.end_play()
        write_spots(out / "spots.csv", self.ball.spots)
        write_text(out / "field.jsonl",
                   "".join(json.dumps(r.to_dict(), separators=(",", ":")) + "\n" for r in self.registrations))
