"""A cause for every false positive (duplicate, wrong class, poor localisation, look-alike,
background) and every miss (occluded, tiny, low contrast, blurred, at the border, poor
localisation, low score) at the operating threshold; a miss keeps every flag that applies."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from pigskin.boxes import iou as box_iou
from pigskin.evaluate.analysis import AnalyzeConfig, ErrorCase
from pigskin.evaluate.bins import is_num, py_value
from pigskin.evaluate.matching import BoxTable, Matches
from pigskin.samples import Dataset

MISS_CAUSES = (
    "occluded",
    "tiny",
    "low contrast",
    "blurred",
    "at the border",
    "poor localisation",
    "low score",
)
FP_CAUSES = ("duplicate", "wrong class", "poor localisation", "look-alike", "background")
_NO = {"", "no", "none", "false", "0", "n", "visible", "clear", "not occluded", "sharp", "unoccluded"}


def _truthy(v: Any, numeric_above: float = 0.5) -> bool | None:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return None
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if is_num(v):
        return float(v) > numeric_above
    return str(v).strip().lower() not in _NO


def _label(dataset: Dataset, g: BoxTable, row: int, names: Sequence[str]) -> Any:
    attrs = dataset.samples[int(g.image[row])].detections.attrs
    for n in names:
        if n in attrs:
            return py_value(attrs[n][int(g.source[row])])
    return None


def _flag_extreme(
    dataset: Dataset,
    g: BoxTable,
    names: Sequence[str],
    measured: np.ndarray | None,
    low: bool,
    q: float,
    words: set[str],
) -> np.ndarray:
    """Boolean per GT row: a label says so (a word, true, or a numeric value in the worst quantile),
    else the measured value is in the worst quantile of the GT boxes. "Worst quantile" also means
    strictly worse than the median, so a common value (blur 0) is never flagged."""
    out = np.zeros(len(g), bool)
    labels = [_label(dataset, g, r, names) for r in range(len(g))]

    def rule(values: np.ndarray):
        v = values[np.isfinite(values)]
        if not v.size:
            return lambda x: False
        cut, mid = np.quantile(v, q if low else 1 - q), np.median(v)
        return (lambda x: x <= cut and x < mid) if low else (lambda x: x >= cut and x > mid)

    by_label = rule(np.array([float(v) if is_num(v) else np.nan for v in labels]))
    by_measure = rule(measured) if measured is not None else (lambda x: False)
    for r, v in enumerate(labels):
        if v is None:
            out[r] = measured is not None and math.isfinite(measured[r]) and by_measure(measured[r])
        elif is_num(v):
            out[r] = by_label(float(v))
        elif isinstance(v, (bool, np.bool_)):
            out[r] = bool(v)
        else:
            out[r] = str(v).strip().lower() in words
    return out


def _lookalikes(dataset: Dataset, i: int, targets: Sequence[int]) -> tuple[np.ndarray, list[str]]:
    """Boxes that look like a ball but are not: other classes' GT boxes, and ``Sample.attrs['lookalikes']``
    (a list of ``{"xyxy": [x1, y1, x2, y2], "kind": "helmet"}``) that a renderer or labeller recorded."""
    s = dataset.samples[i]
    found = s.lookalikes()
    boxes: list[list[float]] = [xyxy for xyxy, _ in found]
    kinds: list[str] = [kind for _, kind in found]
    other = ~np.isin(s.detections.class_id, targets)
    boxes += s.detections.xyxy[other].tolist()
    kinds += [dataset.classes[c] for c in s.detections.class_id[other].tolist()]
    return np.asarray(boxes, np.float64).reshape(-1, 4), kinds


def error_cases(
    dataset: Dataset,
    g: BoxTable,
    d: BoxTable,
    mt: Matches,
    gm: dict[str, np.ndarray],
    targets: Sequence[int],
    cfg: AnalyzeConfig,
) -> list[ErrorCase]:
    thr = cfg.score_threshold
    errors: list[ErrorCase] = []
    gxyxy, dxyxy = g.xyxy, d.xyxy
    real = ~g.crowd
    # false positives: confident, unmatched at IoU .5, not on a crowd region
    fp_rows = np.flatnonzero((d.score >= thr) & (mt.dt_gt[0, 0] < 0) & ~mt.dt_ignore[0, 0])
    for r in fp_rows.tolist():
        i = int(d.image[r])
        same = np.flatnonzero((g.image == i) & (g.class_id == d.class_id[r]) & real)
        other = np.flatnonzero((g.image == i) & (g.class_id != d.class_id[r]) & real)
        ious = box_iou(dxyxy[r : r + 1], gxyxy[same])[0] if len(same) else np.zeros(0)
        best = float(ious.max()) if len(ious) else 0.0
        o_iou = box_iou(dxyxy[r : r + 1], gxyxy[other])[0] if len(other) else np.zeros(0)
        detail = ""
        if best >= 0.5:
            cause, detail = "duplicate", "its ball was already matched by a higher-scoring box"
        elif len(o_iou) and o_iou.max() >= 0.5:
            cause = "wrong class"
            detail = f"on a {dataset.classes[int(g.class_id[other[int(np.argmax(o_iou))]])]}"
        elif best >= 0.1:
            cause, detail = "poor localisation", f"IoU {best:.2f} with a true ball"
        else:
            boxes, kinds = _lookalikes(dataset, i, targets)
            cause = "background"
            if len(boxes):
                c = (dxyxy[r, :2] + dxyxy[r, 2:]) / 2
                inside = (
                    (boxes[:, 0] <= c[0])
                    & (c[0] <= boxes[:, 2])
                    & (boxes[:, 1] <= c[1])
                    & (c[1] <= boxes[:, 3])
                )
                near = inside | (box_iou(dxyxy[r : r + 1], boxes)[0] >= 0.1)
                if near.any():
                    area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
                    j = np.flatnonzero(near)[np.argmin(area[near])]
                    cause, detail = "look-alike", kinds[j]
        errors.append(
            ErrorCase(
                "false positive",
                i,
                dataset.samples[i].image,
                dxyxy[r].tolist(),
                dataset.classes[int(d.class_id[r])],
                float(d.score[r]),
                cause,
                detail,
                [cause],
                best,
                float(d.longest[r]),
            )
        )

    # misses: real target GT boxes with no confident match at IoU .5
    det = mt.gt_dt[0, 0]
    found = (det >= 0) & (d.score[np.maximum(det, 0)] >= thr) if len(d) else np.zeros(len(g), bool)
    miss_rows = np.flatnonzero(real & ~found)
    if not len(miss_rows):
        return errors
    occl = np.array(
        [
            _truthy(_label(dataset, g, r, ("occlusion", "occluded")), cfg.occluded_above)
            for r in range(len(g))
        ],
        object,
    )
    on_player = gm.get("player_distance", np.full(len(g), np.inf)) <= 0
    blurred = _flag_extreme(
        dataset,
        g,
        ("blur", "blurred", "motion_blur"),
        gm.get("blur"),
        False,
        cfg.cause_quantile,
        {"yes", "true", "blurred", "high", "heavy", "motion"},
    )
    low_con = _flag_extreme(
        dataset,
        g,
        ("contrast",),
        gm.get("contrast"),
        True,
        cfg.cause_quantile,
        {"low", "poor", "yes", "true"},
    )
    for r in miss_rows.tolist():
        i = int(g.image[r])
        flags, notes = [], {}
        if occl[r] is True or (occl[r] is None and on_player[r]):
            flags.append("occluded")
            notes["occluded"] = (
                "labelled" if occl[r] is True else "overlaps a player box (no occlusion label)"
            )
        if g.longest[r] < cfg.tiny_px:
            flags.append("tiny")
        if low_con[r]:
            flags.append("low contrast")
        if blurred[r]:
            flags.append("blurred")
        if gm["border"][r]:
            flags.append("at the border")
        cand = np.flatnonzero((d.image == i) & (d.class_id == g.class_id[r]))
        ious = box_iou(gxyxy[r : r + 1], dxyxy[cand])[0] if len(cand) else np.zeros(0)
        confident = d.score[cand] >= thr
        best = float(ious[confident].max()) if confident.any() else 0.0
        if ((ious >= 0.1) & (ious < 0.5) & confident).any():
            flags.append("poor localisation")
        if ((ious >= 0.5) & ~confident).any():
            flags.append("low score")
        cause = flags[0] if flags else "unexplained"
        errors.append(
            ErrorCase(
                "miss",
                i,
                dataset.samples[i].image,
                gxyxy[r].tolist(),
                dataset.classes[int(g.class_id[r])],
                None,
                cause,
                notes.get(cause, ""),
                flags,
                best,
                float(g.longest[r]),
            )
        )
    return errors
