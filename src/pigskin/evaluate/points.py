"""Ball-point metrics as TrackNet and WASB report them (a hit is a centre within ``d`` px).

One ball per frame, so per frame we keep only the top-scoring ball prediction at or above the score
threshold (WASB keeps the highest-scoring blob; TrackNet takes the heatmap peak). Then:

- TP: ball visible, predicted, centre within ``d`` px of the nearest true centre;
- FP1: ball visible, predicted, but farther than ``d``;  FP2: predicted on a frame with no ball;
- FN: ball visible, nothing predicted;  TN: no ball, nothing predicted.

precision = TP / (TP + FP1 + FP2), recall = TP / (TP + FN), accuracy = (TP + TN) / frames, and the
RMSE is over the hits (TP) only. ``d`` is in the pixels of the original image (TrackNet's 4 px are
at 512x288, so scale it for other resolutions). ``AP`` ranks the frames' top predictions by score
(ignoring the threshold) and takes the VOC all-point area.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from pigskin.detections import Detections
from pigskin.evaluate.pr import f1_score, voc_ap


@dataclass
class PointMetrics:
    distance: float
    score_threshold: float
    frames: int
    visible: int
    tp: int
    fp1: int
    fp2: int
    tn: int
    fn: int
    precision: float
    recall: float
    f1: float
    accuracy: float
    rmse: float
    ap: float

    def to_dict(self) -> dict[str, Any]:
        return {
            k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in asdict(self).items()
        }


def _ratio(a: float, b: float) -> float:
    return a / b if b else math.nan


def _ball_centres(dets: Detections, classes: Sequence[int]) -> np.ndarray:
    keep = np.isin(dets.class_id, classes)
    crowd = dets.attrs.get("iscrowd")
    if crowd is not None:
        keep &= ~np.array([bool(x) for x in crowd.tolist()], bool)
    return dets.centers[keep].astype(np.float64)


def frame_outcomes(
    gt: Sequence[Detections], predictions: Sequence[Detections], classes: Sequence[int], distance: float = 4.0
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per frame: ball visible?, top prediction's score (NaN if none), its distance to the nearest true
    centre (NaN if no ball or no prediction), and whether that is a hit. No score threshold yet."""
    n = len(gt)
    visible = np.zeros(n, bool)
    score = np.full(n, np.nan)
    dist = np.full(n, np.nan)
    for i, (g, p) in enumerate(zip(gt, predictions, strict=True)):
        true = _ball_centres(g, classes)
        visible[i] = len(true) > 0
        mine = np.isin(p.class_id, classes)
        if not mine.any():
            continue
        conf = np.ones(len(p)) if p.confidence is None else p.confidence.astype(np.float64)
        idx = np.flatnonzero(mine)
        best = idx[np.argmax(conf[idx])]  # first of equal scores
        score[i] = conf[best]
        if visible[i]:
            dist[i] = float(np.min(np.linalg.norm(true - p.centers[best].astype(np.float64), axis=1)))
    hit = np.nan_to_num(dist, nan=np.inf) <= distance
    return visible, score, dist, hit


def point_metrics(
    gt: Sequence[Detections],
    predictions: Sequence[Detections],
    classes: Sequence[int],
    distance: float = 4.0,
    score_threshold: float = 0.5,
) -> PointMetrics:
    """TrackNet / WASB counts and rates over all frames, frames without a ball included."""
    return _at_threshold(frame_outcomes(gt, predictions, classes, distance), distance, score_threshold)


def best_threshold(
    gt: Sequence[Detections], predictions: Sequence[Detections], classes: Sequence[int], distance: float = 4.0
) -> PointMetrics:
    """The operating point: :func:`point_metrics` at the score threshold with the highest F1 (ties: the
    higher threshold, fewer false alarms). Predictions should be made with a low threshold (the
    model's ``min_score``); the candidates are the frames' top scores."""
    outcomes = frame_outcomes(gt, predictions, classes, distance)
    score = outcomes[1]
    best = _at_threshold(outcomes, distance, math.inf)
    for t in np.unique(score[np.isfinite(score)])[::-1]:
        m = _at_threshold(outcomes, distance, float(t))
        if math.isfinite(m.f1) and m.f1 > (best.f1 if math.isfinite(best.f1) else -1.0):
            best = m
    return best


def _at_threshold(
    outcomes: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray], distance: float, score_threshold: float
) -> PointMetrics:
    visible, score, dist, hit = outcomes
    predicted = np.nan_to_num(score, nan=-np.inf) >= score_threshold
    tp = int((predicted & visible & hit).sum())
    fp1 = int((predicted & visible & ~hit).sum())
    fp2 = int((predicted & ~visible).sum())
    fn = int((~predicted & visible).sum())
    tn = int((~predicted & ~visible).sum())
    p, r = _ratio(tp, tp + fp1 + fp2), _ratio(tp, tp + fn)
    hits = dist[predicted & visible & hit]
    return PointMetrics(
        distance=float(distance),
        score_threshold=float(score_threshold),
        frames=len(visible),
        visible=int(visible.sum()),
        tp=tp,
        fp1=fp1,
        fp2=fp2,
        tn=tn,
        fn=fn,
        precision=p,
        recall=r,
        f1=f1_score(p, r),
        accuracy=_ratio(tp + tn, len(visible)),
        rmse=float(np.sqrt(np.mean(hits**2))) if hits.size else math.nan,
        ap=_point_ap(visible, score, hit),
    )


def _point_ap(visible: np.ndarray, score: np.ndarray, hit: np.ndarray) -> float:
    n_pos = int(visible.sum())
    if n_pos == 0:
        return math.nan
    has = np.isfinite(score)
    order = np.flatnonzero(has)[np.argsort(-score[has], kind="mergesort")]
    good = (visible & hit)[order]
    tp, fp = np.cumsum(good), np.cumsum(~good)
    if not len(order):
        return 0.0
    return voc_ap(tp / n_pos, tp / (tp + fp))

