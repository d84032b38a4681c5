"""AP50, AP and recall of one slice, with 95% percentile-bootstrap intervals over images (resampled
with replacement, seeded): every resample reweights the same matches, nothing is matched again."""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from pigskin.evaluate.analysis import SliceStats
from pigskin.evaluate.matching import BoxTable, Matches
from pigskin.evaluate.metrics import REC_THRESHOLDS, precision_recall


def _nanmean(a: np.ndarray, axis: int) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmean(a, axis=axis)


def _ci(samples: np.ndarray) -> tuple[float, float]:
    s = samples[np.isfinite(samples)]
    if s.size < 2:
        return (math.nan, math.nan)
    lo, hi = np.percentile(s, [2.5, 97.5])
    return (float(lo), float(hi))


def region_scores(
    mt: Matches,
    g: BoxTable,
    d: BoxTable,
    a: int,
    classes: Sequence[int],
    fp_weight: float,
    threshold: float,
    n_images: int,
    resamples: np.ndarray | None,
) -> dict[str, Any]:
    """AP50, AP, recall (and their bootstrap samples) for region ``a``."""
    n_rep = 0 if resamples is None else len(resamples)
    ap50 = np.full((len(classes), 1 + n_rep), np.nan)
    ap = np.full((len(classes), 1 + n_rep), np.nan)
    curve = np.full((len(classes), len(REC_THRESHOLDS)), np.nan)
    T = mt.dt_gt.shape[1]
    for ci, k in enumerate(classes):
        rows = np.flatnonzero(d.class_id == k)
        rows = rows[np.argsort(-d.score[rows], kind="mergesort")]
        ig = mt.dt_ignore[a][:, rows]
        keep = ~ig.all(0)  # rows ignored at every threshold change nothing
        rows, ig = rows[keep], ig[:, keep]
        matched = mt.dt_gt[a][:, rows] >= 0
        tp = (matched & ~ig).astype(np.float64)
        fp = (~matched & ~ig) * fp_weight
        pos = (g.class_id == k) & ~mt.gt_ignore[a]
        per_img = np.bincount(g.image[pos], minlength=n_images).astype(np.float64)
        q, _, _ = precision_recall(tp, fp, per_img.sum())
        ap50[ci, 0], ap[ci, 0] = q[0].mean(), q.mean()
        curve[ci] = q[0]
        if n_rep and len(rows):
            chunk = max(1, 2_000_000 // max(1, T * len(rows)))
            img = d.image[rows]
            for s in range(0, n_rep, chunk):
                w = resamples[s : s + chunk][:, img][:, None, :]  # (r, 1, n)
                npos = (resamples[s : s + chunk] @ per_img)[:, None]
                qb, _, _ = precision_recall(tp[None] * w, fp[None] * w, npos, exact=False)
                ap50[ci, 1 + s : 1 + s + len(w)] = qb[:, 0].mean(-1)
                ap[ci, 1 + s : 1 + s + len(w)] = qb.mean((-2, -1))
        elif n_rep:  # no detections: AP is 0 wherever the resample has positives
            has = (resamples @ per_img) > 0
            ap50[ci, 1:] = np.where(has, 0.0, np.nan)
            ap[ci, 1:] = np.where(has, 0.0, np.nan)
    # recall at the operating point, pooled over classes
    pos = np.isin(g.class_id, classes) & ~mt.gt_ignore[a]
    det = mt.gt_dt[a, 0]
    hit = pos & (det >= 0) & (d.score[np.maximum(det, 0)] >= threshold) if len(d) else np.zeros(len(g), bool)
    n_per = np.bincount(g.image[pos], minlength=n_images).astype(np.float64)
    hit_per = np.bincount(g.image[hit], minlength=n_images).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        rec = np.r_[
            hit_per.sum() / n_per.sum() if n_per.sum() else math.nan,
            (resamples @ hit_per) / (resamples @ n_per) if n_rep else np.zeros(0),
        ]
    return {
        "ap50": _nanmean(ap50, 0),
        "ap": _nanmean(ap, 0),
        "recall": rec,
        "curve": _nanmean(curve, 0),
        "count": int(pos.sum()),
        "images": int((n_per > 0).sum()),
    }


def slice_stats(attr: str, value: str, source: str, r: dict[str, Any]) -> SliceStats:
    return SliceStats(
        attr,
        value,
        source,
        r["count"],
        r["images"],
        float(r["ap50"][0]),
        float(r["ap"][0]),
        float(r["recall"][0]),
        _ci(r["ap50"][1:]),
        _ci(r["ap"][1:]),
        _ci(r["recall"][1:]),
        [float(x) for x in r["curve"]],
    )
