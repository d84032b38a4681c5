"""Box properties measured from geometry and pixels, for slicing when the labels do not say.

All take ``(N, 4)`` xyxy pixel boxes; pixel measures take the image's luminance (0-255). They are
deliberately simple and documented, so a slice called "low contrast" means something checkable:

- contrast: distance between the mean colour inside the box's inscribed ellipse and the mean colour
  of a ring around the box (ring width max(2 px, half the longest side)), Euclidean in RGB, 0-441.
  Colour, not just luminance: a brown ball on green turf differs little in luminance but plainly in
  colour, and a detector sees both;
- blur: an edge-width proxy ``sqrt(var(I) / var(laplacian(I)))`` over the box plus 2 px, in pixels:
  a blurred edge spreads the same contrast over more pixels, so it grows with blur;
- player distance: from the box centre to the nearest player box (0 inside one), in px;
- border: the box comes within ``margin`` px of an image edge.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage


def luminance(image: np.ndarray) -> np.ndarray:
    """ITU-R 601 luma of an RGB uint8 image, float32 (H, W)."""
    img = np.asarray(image, np.float32)
    if img.ndim == 2:
        return img
    return img[..., 0] * 0.299 + img[..., 1] * 0.587 + img[..., 2] * 0.114


def _window(xyxy: np.ndarray, pad: float, w: int, h: int) -> tuple[int, int, int, int]:
    x1, y1, x2, y2 = xyxy
    return (
        max(int(np.floor(x1 - pad)), 0),
        max(int(np.floor(y1 - pad)), 0),
        min(int(np.ceil(x2 + pad)), w),
        min(int(np.ceil(y2 + pad)), h),
    )


def contrast(rgb: np.ndarray, xyxy: np.ndarray) -> np.ndarray:
    """Object-vs-surround colour difference per box (NaN when the box or ring has no pixels)."""
    rgb = np.asarray(rgb, np.float32)
    rgb = rgb[..., None] if rgb.ndim == 2 else rgb
    h, w = rgb.shape[:2]
    out = np.full(len(xyxy), np.nan)
    for i, b in enumerate(np.asarray(xyxy, np.float64).reshape(-1, 4)):
        ring = max(2.0, 0.5 * max(b[2] - b[0], b[3] - b[1]))
        x0, y0, x1, y1 = _window(b, ring, w, h)
        if x1 <= x0 or y1 <= y0:
            continue
        ys, xs = np.mgrid[y0:y1, x0:x1] + 0.5
        cx, cy = (b[0] + b[2]) / 2, (b[1] + b[3]) / 2
        rx, ry = max((b[2] - b[0]) / 2, 0.5), max((b[3] - b[1]) / 2, 0.5)
        inner = ((xs - cx) / rx) ** 2 + ((ys - cy) / ry) ** 2 <= 1.0
        inbox = (xs >= b[0]) & (xs <= b[2]) & (ys >= b[1]) & (ys <= b[3])
        patch = rgb[y0:y1, x0:x1]
        ring_px = patch[~inbox]
        if inner.any() and ring_px.size:
            out[i] = float(np.linalg.norm(patch[inner].mean(0) - ring_px.mean(0)))
    return out


def blur(lum: np.ndarray, xyxy: np.ndarray) -> np.ndarray:
    """Edge-width proxy per box (px; larger = blurrier; NaN for flat or tiny patches)."""
    h, w = lum.shape
    out = np.full(len(xyxy), np.nan)
    for i, b in enumerate(np.asarray(xyxy, np.float64).reshape(-1, 4)):
        x0, y0, x1, y1 = _window(b, 2.0, w, h)
        if x1 - x0 < 3 or y1 - y0 < 3:
            continue
        patch = lum[y0:y1, x0:x1].astype(np.float64)
        lap = ndimage.laplace(patch)[1:-1, 1:-1]
        v_lap = float(lap.var())
        v = float(patch.var())
        if v_lap > 1e-9 and v > 1e-9:
            out[i] = float(np.sqrt(v / v_lap))
    return out


def player_distance(xyxy: np.ndarray, players: np.ndarray) -> np.ndarray:
    """Distance from each box centre to the nearest player box (0 inside one; inf with no players)."""
    xyxy = np.asarray(xyxy, np.float64).reshape(-1, 4)
    players = np.asarray(players, np.float64).reshape(-1, 4)
    if not len(players):
        return np.full(len(xyxy), np.inf)
    c = (xyxy[:, None, :2] + xyxy[:, None, 2:]) / 2
    dx = np.maximum(np.maximum(players[None, :, 0] - c[..., 0], c[..., 0] - players[None, :, 2]), 0)
    dy = np.maximum(np.maximum(players[None, :, 1] - c[..., 1], c[..., 1] - players[None, :, 3]), 0)
    return np.hypot(dx, dy).min(axis=1)


def at_border(xyxy: np.ndarray, width: int, height: int, margin: float) -> np.ndarray:
    b = np.asarray(xyxy, np.float64).reshape(-1, 4)
    return (b[:, 0] < margin) | (b[:, 1] < margin) | (b[:, 2] > width - margin) | (b[:, 3] > height - margin)
