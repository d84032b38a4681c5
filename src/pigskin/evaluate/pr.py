"""Single numbers from precision and recall, shared by the box metrics and the ball-point metrics
(below both, so neither imports the other)."""

from __future__ import annotations

import math

import numpy as np


def voc_ap(recall: np.ndarray, precision: np.ndarray, eleven_point: bool = False) -> float:
    """VOC AP from a raw PR curve: area under the precision envelope, or the 11-point mean (VOC2007)."""
    recall, precision = np.asarray(recall, np.float64), np.asarray(precision, np.float64)
    if eleven_point:
        return float(
            np.mean(
                [precision[recall >= t].max() if (recall >= t).any() else 0.0 for t in np.linspace(0, 1, 11)]
            )
        )
    mrec = np.r_[0.0, recall, 1.0]
    mpre = np.r_[0.0, precision, 0.0]
    mpre = np.maximum.accumulate(mpre[::-1])[::-1]
    i = np.flatnonzero(mrec[1:] != mrec[:-1])
    return float(np.sum((mrec[i + 1] - mrec[i]) * mpre[i + 1]))


def f1_score(p: float, r: float) -> float:
    """Harmonic mean; 0 when nothing was found (recall 0), NaN when either side is undefined."""
    if math.isfinite(r) and r == 0:
        return 0.0
    if not (math.isfinite(p) and math.isfinite(r)):
        return math.nan
    return 2 * p * r / (p + r)
