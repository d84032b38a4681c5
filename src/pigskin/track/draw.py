"""Small composable annotators (in the spirit of roboflow supervision) for the tracking video.

Each annotator draws one thing onto a PIL image in place: ``annotator.annotate(image, state, trail)``.
:func:`render` converts the frame once and runs a list of them, so adding a new overlay is a new
small class, not a new flag in a big drawing function.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from pigskin.track.tracker import TrackState

Color = tuple[int, int, int]
STATE_COLORS: dict[str, Color] = {
    "detected": (255, 64, 64), "predicted": (255, 200, 0), "lost": (160, 160, 160),
}


class Annotator(Protocol):
    def annotate(self, image: Image.Image, state: TrackState, trail: Sequence[np.ndarray | None]) -> None: ...


class Trail:
    """The last ``length`` centres (None where the track was lost), for :class:`TrailAnnotator`."""

    def __init__(self, length: int = 20) -> None:
        self.points: deque[np.ndarray | None] = deque(maxlen=max(1, length))

    def push(self, state: TrackState) -> None:
        self.points.append(state.center)


@dataclass(frozen=True)
class BoxAnnotator:
    """The ball's box, red when detected and amber when predicted; padded so a 8 px ball shows."""

    thickness: int = 2
    pad: int = 3

    def annotate(self, image: Image.Image, state: TrackState, trail: Sequence[np.ndarray | None]) -> None:
        if state.xyxy is None:
            return
        x1, y1, x2, y2 = state.xyxy.tolist()
        p = self.pad
        ImageDraw.Draw(image).rectangle(
            (x1 - p, y1 - p, x2 + p, y2 + p), outline=STATE_COLORS[state.state], width=self.thickness
        )


@dataclass(frozen=True)
class TrailAnnotator:
    """Recent positions joined by a line; gaps where the track was lost stay gaps."""

    color: Color = (0, 220, 255)
    width: int = 2
    dot: int = 2

    def annotate(self, image: Image.Image, state: TrackState, trail: Sequence[np.ndarray | None]) -> None:
        draw = ImageDraw.Draw(image)
        run: list[tuple[float, float]] = []
        for p in list(trail) + [None]:
            if p is not None:
                run.append((float(p[0]), float(p[1])))
                continue
            if len(run) > 1:
                draw.line(run, fill=self.color, width=self.width)
            for x, y in run:
                draw.ellipse((x - self.dot, y - self.dot, x + self.dot, y + self.dot), fill=self.color)
            run = []


@dataclass(frozen=True)
class LabelAnnotator:
    """Frame number, state and score in the top-left corner, on a dark band so it reads anywhere."""

    size: int = 16

    def annotate(self, image: Image.Image, state: TrackState, trail: Sequence[np.ndarray | None]) -> None:
        text = f"frame {state.frame}  {state.state}"
        if state.score is not None:
            text += f"  score {state.score:.2f}"
        draw = ImageDraw.Draw(image)
        font = _font(self.size)
        x1, y1, x2, y2 = draw.textbbox((6, 4), text, font=font)
        draw.rectangle((0, 0, x2 + 6, y2 + 4), fill=(0, 0, 0))
        draw.text((6, 4), text, fill=STATE_COLORS[state.state], font=font)


_FONTS: dict[int, ImageFont.ImageFont] = {}


def _font(size: int):
    if size not in _FONTS:
        try:
            _FONTS[size] = ImageFont.load_default(size=size)
        except TypeError:  # Pillow without FreeType: fixed bitmap font
            _FONTS[size] = ImageFont.load_default()
    return _FONTS[size]


DEFAULT_ANNOTATORS: tuple[Annotator, ...] = (TrailAnnotator(), BoxAnnotator(), LabelAnnotator())


def render(
    frame: np.ndarray,
    state: TrackState,
    trail: Sequence[np.ndarray | None] = (),
    annotators: Sequence[Annotator] = DEFAULT_ANNOTATORS,
) -> Image.Image:
    """The frame as a PIL image with every annotator applied (the input array is not modified)."""
    image = Image.fromarray(frame)
    for a in annotators:
        a.annotate(image, state, trail)
    return image
