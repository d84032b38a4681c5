"""A colour-blob ball detector: no training, numpy and scipy only.

It finds compact blobs of the ball's brown, so it works on the demo clips (``pigskin.synth.demo_clip``)
and on clean synthetic frames. It is a baseline and the stand-in detector for tests and for timing
the tracking pipeline itself; a trained model (``pigskin.track.detectors.model_detector``) replaces
it on real broadcast video, where brown skin, turf and crowds defeat a colour rule.

Like a real model it is cheaper on a small window than on the whole frame: the whole frame is
searched at ``1/full_stride`` resolution and each blob found is then measured at full resolution.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from pigskin.detections import Detections
from pigskin.track.detectors import Window, clip_window


@dataclass(frozen=True)
class BlobConfig:
    color: tuple[int, int, int] = (125, 72, 38)  # football brown, RGB
    tolerance: float = 55.0  # a pixel is "ball" within this RGB distance of ``color``
    min_area: int = 8  # px at full resolution
    max_area: int = 3000
    max_aspect: float = 4.0  # long side / short side of the blob's box
    full_stride: int = 2  # whole-frame search at this subsampling
    max_detections: int = 20


class BlobDetector:
    """``detector(frame, window) -> Detections`` (the :data:`pigskin.track.detectors.Detector` shape).

    Scores mix how close the blob's colour is to ``color`` with how ball-like its shape is
    (fill of its box near an ellipse's pi/4, size within range), so they rank blobs usefully.
    """

    def __init__(self, config: BlobConfig | None = None) -> None:
        self.config = config or BlobConfig()
        self._color = np.array(self.config.color, np.int32)

    def _mask(self, rgb: np.ndarray) -> np.ndarray:
        d = rgb.astype(np.int32) - self._color
        return np.einsum("...c,...c->...", d, d) <= self.config.tolerance**2

    def __call__(self, frame: np.ndarray, window: Window | None = None) -> Detections:
        c = self.config
        h, w = frame.shape[:2]
        x0, y0, x1, y1 = (0, 0, w, h) if window is None else clip_window(window, w, h)
        region = frame[y0:y1, x0:x1]
        stride = max(1, c.full_stride) if window is None else 1
        coarse = self._mask(region[::stride, ::stride])
        if stride > 1:  # one dilation so a ball of ~2 coarse px still forms a blob
            coarse = ndimage.binary_dilation(coarse)
        labels, n = ndimage.label(coarse)
        if n == 0:
            return Detections.empty(with_confidence=True)
        boxes, scores = [], []
        for sl in ndimage.find_objects(labels):
            ys = slice(max(sl[0].start * stride - stride, 0), min(sl[0].stop * stride + stride, y1 - y0))
            xs = slice(max(sl[1].start * stride - stride, 0), min(sl[1].stop * stride + stride, x1 - x0))
            found = self._measure(region[ys, xs])
            if found is not None:
                box, score = found
                boxes.append(box + np.array([xs.start + x0, ys.start + y0] * 2, np.float32))
                scores.append(score)
        if not boxes:
            return Detections.empty(with_confidence=True)
        order = np.argsort(-np.array(scores))[: c.max_detections]
        return Detections(np.array(boxes)[order], confidence=np.array(scores, np.float32)[order])

    def _measure(self, patch: np.ndarray) -> tuple[np.ndarray, float] | None:
        """Box and score of the largest ball-coloured blob in ``patch`` (full resolution)."""
        c = self.config
        mask = self._mask(patch)
        labels, n = ndimage.label(mask)
        if n == 0:
            return None
        sizes = np.bincount(labels.ravel())[1:]
        k = int(np.argmax(sizes)) + 1
        area = int(sizes[k - 1])
        if not c.min_area <= area <= c.max_area:
            return None
        blob_mask = labels == k
        ys, xs = ndimage.find_objects(blob_mask.astype(np.int32))[0]
        bw, bh = xs.stop - xs.start, ys.stop - ys.start
        if max(bw, bh) / min(bw, bh) > c.max_aspect:
            return None
        blob = patch[blob_mask].astype(np.float32)
        closeness = 1.0 - min(float(np.linalg.norm(blob.mean(0) - self._color)) / c.tolerance, 1.0)
        fill = area / float(bw * bh)
        shape = float(np.clip(1.0 - 2.0 * abs(fill - np.pi / 4) / (np.pi / 4), 0.0, 1.0))
        score = float(np.clip(0.5 * closeness + 0.5 * shape, 0.0, 1.0))
        return np.array([xs.start, ys.start, xs.stop, ys.stop], np.float32), score
