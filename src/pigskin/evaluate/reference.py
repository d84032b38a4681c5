"""Our data as COCO dicts, and pycocotools' COCOeval on them: the reference our metrics must equal.

Image ids are ``index + 1`` and category ids ``class index + 1``; GT ``area`` is ``w * h`` (what
pycocotools computes for detections), so both sides measure boxes the same way. pycocotools is
imported lazily: it is a test/benchmark dependency, not a runtime one.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Sequence
from typing import Any

import numpy as np

from pigskin.detections import Detections
from pigskin.evaluate.matching import is_crowd
from pigskin.samples import Dataset


def _xywh(d: Detections) -> np.ndarray:
    xyxy = d.xyxy.astype(np.float64)
    return np.concatenate([xyxy[:, :2], xyxy[:, 2:] - xyxy[:, :2]], axis=1)


def to_coco_gt(dataset: Dataset) -> dict[str, Any]:
    """A COCO ground-truth dict (instances format, bbox only)."""
    images, anns = [], []
    for i, s in enumerate(dataset.samples):
        images.append({"id": i + 1, "file_name": s.image, "width": s.width, "height": s.height})
        crowd = is_crowd(s.detections)
        for b, c, cr in zip(
            _xywh(s.detections).tolist(), s.detections.class_id.tolist(), crowd.tolist(), strict=True
        ):
            anns.append(
                {
                    "id": len(anns) + 1,
                    "image_id": i + 1,
                    "category_id": c + 1,
                    "bbox": b,
                    "area": b[2] * b[3],
                    "iscrowd": int(cr),
                }
            )
    cats = [{"id": k + 1, "name": n} for k, n in enumerate(dataset.classes)]
    return {"images": images, "annotations": anns, "categories": cats}


def to_coco_results(predictions: Sequence[Detections]) -> list[dict[str, Any]]:
    """COCO results list ``[{image_id, category_id, bbox, score}]`` for predictions aligned with a dataset."""
    out = []
    for i, d in enumerate(predictions):
        conf = np.ones(len(d)) if d.confidence is None else d.confidence.astype(np.float64)
        for b, c, s in zip(_xywh(d).tolist(), d.class_id.tolist(), conf.tolist(), strict=True):
            out.append({"image_id": i + 1, "category_id": c + 1, "bbox": b, "score": s})
    return out


def pycocotools_eval(gt: dict[str, Any], results: list[dict[str, Any]], quiet: bool = True) -> Any:
    """Run COCO + COCOeval (bbox) evaluate/accumulate/summarize and return the COCOeval object."""
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    sink = io.StringIO() if quiet else None
    with contextlib.redirect_stdout(sink) if quiet else contextlib.nullcontext():
        coco = COCO()
        coco.dataset = gt
        coco.createIndex()
        dt = coco.loadRes(results) if results else COCO()
        if not results:  # loadRes rejects an empty list; an empty result set is still a valid input
            dt.dataset = {"images": gt["images"], "categories": gt["categories"], "annotations": []}
            dt.createIndex()
        ev = COCOeval(coco, dt, "bbox")
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return ev


STAT_NAMES = (
    "AP",
    "AP50",
    "AP75",
    "AP_small",
    "AP_medium",
    "AP_large",
    "AR1",
    "AR10",
    "AR100",
    "AR_small",
    "AR_medium",
    "AR_large",
)


def pycocotools_stats(dataset: Dataset, predictions: Sequence[Detections]) -> dict[str, float]:
    """pycocotools' 12 summary numbers by our names, NaN where it writes -1."""
    ev = pycocotools_eval(to_coco_gt(dataset), to_coco_results(predictions))
    return {k: (float(v) if v > -1 else float("nan")) for k, v in zip(STAT_NAMES, ev.stats, strict=True)}
