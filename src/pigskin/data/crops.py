"""Small-ball sampling: square training crops cut at inference scale that keep a ball, or none.

Shrinking a 1920x1080 frame to a 512 px network input leaves a 10 px ball at under 3 px. Instead each
training item is a ``crop_size`` square cut from the frame at the scale predict will use
(``image_size / long side``, jittered by a zoom factor), placed at random so that a chosen ball lies
wholly inside, or (a "pure negative") so that no ball touches it. Windows may reach past the frame's
edge (small frames, zoomed out); the outside is grey, as padding is at inference.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

from pigskin.detections import Detections

FILL = 114  # grey for the part of a window outside the frame
MIN_VISIBLE = 0.5  # a box cut by the window edge stays a target if this much of it is inside


@dataclass(frozen=True)
class Window:
    """A square ``side`` x ``side`` window of the source frame at ``(x0, y0)``, resized to ``out`` px."""

    x0: float
    y0: float
    side: float
    out: int

    @property
    def scale(self) -> float:
        return self.out / self.side


def _place(lo: float, hi: float, rng: np.random.Generator) -> float:
    return float(rng.uniform(lo, hi)) if hi > lo else float((lo + hi) / 2)


def choose_window(
    dets: Detections,
    width: int,
    height: int,
    out: int,
    scale: float,
    rng: np.random.Generator,
    negative: bool = False,
    tries: int = 20,
) -> tuple[Window, bool]:
    """A window for one training item; returns it and whether it is a pure negative.

    ``scale`` maps source px to output px (``out / side``). A positive window holds one randomly chosen
    box wholly (when the box fits); a negative window touches no box, falling back to a positive window
    when ``tries`` random windows all touch one (a frame full of balls).
    """
    side = out / scale
    # window corners may range over the frame; if the window is larger than the frame, it may slide
    # so that the frame sits anywhere inside it
    x_lo, x_hi = sorted((0.0, width - side))
    y_lo, y_hi = sorted((0.0, height - side))
    if negative or len(dets) == 0:
        for _ in range(tries):
            x0, y0 = _place(x_lo, x_hi, rng), _place(y_lo, y_hi, rng)
            b = dets.xyxy
            touches = (b[:, 2] > x0) & (b[:, 0] < x0 + side) & (b[:, 3] > y0) & (b[:, 1] < y0 + side)
            if not touches.any():
                return Window(x0, y0, side, out), True
    box = dets.xyxy[int(rng.integers(len(dets)))]
    # keep the box inside: x0 <= x1 and x0 + side >= x2
    x0 = (
        _place(max(x_lo, box[2] - side), min(x_hi, box[0]), rng)
        if box[2] - box[0] <= side
        else ((box[0] + box[2] - side) / 2)
    )
    y0 = (
        _place(max(y_lo, box[3] - side), min(y_hi, box[1]), rng)
        if box[3] - box[1] <= side
        else ((box[1] + box[3] - side) / 2)
    )
    return Window(float(x0), float(y0), side, out), False


def crop(image: np.ndarray, window: Window) -> np.ndarray:
    """Cut ``window`` out of an RGB uint8 frame and resize it (antialiased) to ``window.out`` square."""
    h, w = image.shape[:2]
    out, s = window.out, window.scale
    canvas = np.full((out, out, 3), FILL, np.uint8)
    # the part of the window inside the frame, in output pixels (whole pixels)
    dx0 = max(0, round(-window.x0 * s))
    dy0 = max(0, round(-window.y0 * s))
    dx1 = min(out, round((w - window.x0) * s))
    dy1 = min(out, round((h - window.y0) * s))
    if dx1 <= dx0 or dy1 <= dy0:
        return canvas
    # the source rectangle that maps exactly onto it
    bx0, by0 = max(0.0, window.x0 + dx0 / s), max(0.0, window.y0 + dy0 / s)
    bx1, by1 = min(float(w), window.x0 + dx1 / s), min(float(h), window.y0 + dy1 / s)
    ix0, iy0 = int(np.floor(bx0)), int(np.floor(by0))
    ix1, iy1 = min(w, int(np.ceil(bx1))), min(h, int(np.ceil(by1)))
    region = Image.fromarray(np.ascontiguousarray(image[iy0:iy1, ix0:ix1]))
    box = (bx0 - ix0, by0 - iy0, bx1 - ix0, by1 - iy0)
    canvas[dy0:dy1, dx0:dx1] = np.asarray(region.resize((dx1 - dx0, dy1 - dy0), Image.BILINEAR, box=box))
    return canvas


def crop_detections(dets: Detections, window: Window, min_visible: float = MIN_VISIBLE) -> Detections:
    """Boxes in the window's output pixels; boxes mostly outside the window are dropped."""
    if len(dets) == 0:
        return Detections.empty()
    s = window.scale
    xyxy = (dets.xyxy.astype(np.float64) - [window.x0, window.y0, window.x0, window.y0]) * s
    clipped = xyxy.clip(0, window.out)
    area = np.prod(np.clip(xyxy[:, 2:] - xyxy[:, :2], 0, None), axis=1)
    inside = np.prod(np.clip(clipped[:, 2:] - clipped[:, :2], 0, None), axis=1)
    keep = (
        (inside >= min_visible * np.maximum(area, 1e-9))
        & (clipped[:, 2] > clipped[:, 0] + 0.5)
        & (clipped[:, 3] > clipped[:, 1] + 0.5)
    )
    return Detections(clipped[keep].astype(np.float32), dets.class_id[keep])
