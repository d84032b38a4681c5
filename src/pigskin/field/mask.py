"""Where the painted markings are in a frame: thin bright structures that add light to every colour
channel alike (white paint over turf), found without a fixed colour or width.

A white top-hat (the frame minus its grey opening) per channel keeps structures narrower than the
opening; the smallest of the three channels' top-hats keeps only those that brighten red, green and
blue together, which drops the yellow first-down line, the blue line of scrimmage, green stripes
and most team colours. The threshold comes from the frame's own noise (median absolute deviation),
so exposure, paint tint and line width do not need to be known.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image
from scipy import ndimage


@dataclass(frozen=True)
class LineImage:
    """The markings of one frame at working resolution; ``scale`` = frame px per working px."""

    response: np.ndarray  # float32 0..1, softened: highest on a line's centre
    distance: np.ndarray  # float32 working px to the nearest marking pixel
    scale: float
    gradient: tuple[np.ndarray, np.ndarray]  # d(response)/d(row), d(response)/d(column)

    @property
    def shape(self) -> tuple[int, int]:
        return self.response.shape  # type: ignore[return-value]


def line_image(rgb: np.ndarray, work_width: int = 640) -> LineImage:
    """Markings of ``rgb`` (H, W, 3 uint8) at ``work_width`` wide (smaller frames stay as they are)."""
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"expected an (H, W, 3) RGB frame, got shape {rgb.shape}")
    h, w = rgb.shape[:2]
    scale = max(1.0, w / float(work_width))
    if scale > 1.0:
        size = (int(round(w / scale)), int(round(h / scale)))
        rgb = np.asarray(Image.fromarray(rgb).resize(size, Image.BOX))
        scale = w / size[0]
    img = rgb.astype(np.float32)
    k = max(5, int(round(img.shape[1] / 90)) | 1)  # wider than any line at working size
    hat = np.min([img[..., c] - ndimage.grey_opening(img[..., c], size=(k, k)) for c in range(3)], axis=0)
    med = float(np.median(hat))
    noise = 1.4826 * float(np.median(np.abs(hat - med))) + 1e-3
    on = hat > max(12.0, med + 6.0 * noise)
    strong = float(np.percentile(hat[on], 75)) if on.sum() > 20 else 60.0
    soft = np.clip((hat - med) / max(strong - med, 1.0), 0.0, 1.0)
    response = ndimage.gaussian_filter(soft, 0.8).astype(np.float32)
    distance = ndimage.distance_transform_edt(~on).astype(np.float32) if on.any() else np.full(
        on.shape, 1e3, np.float32)
    return LineImage(response, distance, float(scale), tuple(np.gradient(response)))  # type: ignore[arg-type]
