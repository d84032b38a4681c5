"""RecordIO detection labels (GluonCV layout) <-> pixel Detections.

The label vector is ``[A, B, W, H, obj0..., objN]``: header width ``A`` (4 here), object width ``B``
(5 plus extra columns), objects ``[cls, xmin, ymin, xmax, ymax, extras...]`` normalised to [0, 1].
Rows with ``cls < 0`` are padding (GluonCV pads with -1) and are skipped. Extra columns carry
confidences, track ids and numeric box attributes; the sidecar names them.
"""

from __future__ import annotations

import logging
import math
import numbers
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from pigskin.detections import Detections
from pigskin.errors import FormatError
from pigskin.formats import check_box
from pigskin.samples import Dataset, Sample

log = logging.getLogger(__name__)

HEADER_WIDTH = 4  # A, B, W, H (GluonCV tutorial layout)
_PAD_CLASS = -1.0


@dataclass(frozen=True)
class Column:
    """One extra per-object column after ``cls, xmin, ymin, xmax, ymax``; ``kind`` restores its type."""

    name: str
    kind: str  # "int" | "float" | "bool"

    def values(self, det: Detections) -> np.ndarray:
        if self.name == "confidence":
            vals = det.confidence
        elif self.name == "track_id":
            vals = det.track_id
        else:
            vals = det.attrs.get(self.name)
        if vals is None:
            return np.full(len(det), np.nan)
        return np.array([np.nan if v is None else float(v) for v in vals.tolist()], np.float64)

    def decode(self, value: float) -> Any:
        if math.isnan(value):
            return None
        return {"int": int, "bool": bool}.get(self.kind, float)(value)


KNOWN_EXTRA = {6: [Column("difficult", "int")]}  # B=6 is GluonCV's VOC layout: [..., difficult]


def _attr_kind(values: list[Any]) -> str | None:
    """Storage kind of an attribute if every value fits a float32 column exactly-enough, else None."""
    present = [v for v in values if v is not None]
    if all(isinstance(v, (bool, np.bool_)) for v in present):
        return "bool"
    if all(isinstance(v, numbers.Integral) and not isinstance(v, bool) and abs(v) < 2**24 for v in present):
        return "int"
    if all(isinstance(v, numbers.Real) and not isinstance(v, bool) for v in present):
        return "float"
    return None


def extra_columns(dataset: Dataset) -> list[Column]:
    """Columns a dataset needs after the five standard ones: confidence, track_id, numeric attrs."""
    dets = [s.detections for s in dataset if len(s.detections)]
    cols = []
    if any(d.confidence is not None for d in dets):
        cols.append(Column("confidence", "float"))
    if any(d.track_id is not None for d in dets):
        cols.append(Column("track_id", "int"))
    names = sorted(set().union(*(set(d.attrs) for d in dets))) if dets else []
    for name in names:
        values = [v for d in dets if name in d.attrs for v in d.attrs[name].tolist()]
        kind = _attr_kind(values)
        if kind is None:
            log.warning("recordio: box attribute %r is not numeric; RecordIO cannot store it, dropped", name)
            continue
        cols.append(Column(name, kind))
    return cols


def detection_label(
    sample: Sample, columns: list[Column], *, pad_empty: bool = True, normalized: bool = True
) -> np.ndarray:
    """The float32 label vector ``[4, B, W, H, cls, x1/W, y1/H, x2/W, y2/H, extras...] * N``."""
    det, w, h = sample.detections, float(sample.width), float(sample.height)
    width = 5 + len(columns)
    rows = np.empty((len(det), width), np.float64)
    rows[:, 0] = det.class_id
    scale = np.array([w, h, w, h]) if normalized else np.ones(4)
    rows[:, 1:5] = det.xyxy.astype(np.float64) / scale
    for j, col in enumerate(columns):
        rows[:, 5 + j] = col.values(det)
    if not len(det) and pad_empty:
        rows = np.full((1, width), _PAD_CLASS)
    head = np.array([HEADER_WIDTH, width, w, h], np.float64)
    return np.concatenate([head, rows.ravel()]).astype(np.float32)


def integral(v: float) -> bool:
    return math.isfinite(v) and v == int(v)


def parse_detection_label(
    label: np.ndarray,
    *,
    path: str | os.PathLike[str],
    where: str,
    columns: list[Column] | None,
    size_from_image: Callable[[], tuple[int, int]],
    strict: bool,
    problems: list[str],
    normalized: bool = True,
) -> tuple[int, int, Detections]:
    """Pixel boxes from a label vector ``[A, B, (W, H), objects...]``; size from the image when not in it."""
    label = np.asarray(label, np.float64).ravel()
    if label.size < 2:
        raise FormatError(path, where, f"label has {label.size} values; need at least [A, B]")
    a, b = float(label[0]), float(label[1])
    if not integral(a) or a < 2:
        raise FormatError(path, where, f"header width A={a:g} must be an integer >= 2")
    if not integral(b) or b < 5:
        raise FormatError(
            path, where, f"object width B={b:g} must be an integer >= 5 ([cls, x1, y1, x2, y2, ...])"
        )
    a_, b_ = int(a), int(b)
    if label.size < a_ or (label.size - a_) % b_:
        raise FormatError(
            path, where, f"label length {label.size} does not fit header {a_} + N objects x {b_} values"
        )
    if a_ == HEADER_WIDTH and all(integral(v) and v > 0 for v in label[2:4]):
        width, height = int(label[2]), int(label[3])
    else:
        width, height = size_from_image()
    rows = label[a_:].reshape(-1, b_)
    cols = columns if columns is not None else KNOWN_EXTRA.get(b_, [])
    if len(cols) not in (0, b_ - 5):
        raise FormatError(path, where, f"{b_ - 5} extra columns per object but {len(cols)} column names")
    keep, boxes = [], []
    scale = np.array([width, height, width, height], np.float64) if normalized else np.ones(4)
    for j, row in enumerate(rows):
        if row[0] < 0:  # -1 rows are GluonCV/MXNet padding
            continue
        if not integral(row[0]):
            raise FormatError(path, f"{where}, object {j}", f"class id {row[0]:g} is not an integer")
        box = check_box(
            row[1:5] * scale,
            width,
            height,
            path=path,
            where=f"{where}, object {j}",
            strict=strict,
            problems=problems,
        )
        if box is not None:
            keep.append(j)
            boxes.append(box)
    rows = rows[keep]
    fields: dict[str, Any] = {"attrs": {}}
    for j, col in enumerate(cols):
        values = [col.decode(v) for v in rows[:, 5 + j]]
        if all(v is None for v in values):
            continue
        if col.name in ("confidence", "track_id"):
            if any(v is None for v in values):
                raise FormatError(path, where, f"column {col.name!r} is missing for some objects")
            fields[col.name] = values
        else:
            fields["attrs"][col.name] = values
    det = Detections(np.array(boxes, np.float32).reshape(-1, 4), rows[:, 0].astype(np.int64), **fields)
    return width, height, det
