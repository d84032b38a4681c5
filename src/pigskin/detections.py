"""One frame's boxes: the single type every reader, model, tracker and writer speaks.

Coordinates are pixels, ``x1, y1, x2, y2``, origin top-left, in the original image.
Parallel numpy arrays (not a list of objects) so that box maths stays vectorised.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np


def _as_attr_array(values: Any, n: int, name: str) -> np.ndarray:
    arr = np.asarray(values)
    if arr.dtype.kind in "US":  # keep strings as Python objects: no silent truncation
        arr = arr.astype(object)
    if arr.ndim == 0 or arr.shape[0] != n:
        raise ValueError(f"attribute {name!r}: expected {n} values, got shape {arr.shape}")
    return arr


@dataclass(eq=False)
class Detections:
    """Boxes of one frame as parallel arrays; empty is a normal value.

    ``attrs`` holds per-box attributes (occlusion, who labelled it, ...) as arrays of length N.
    """

    xyxy: np.ndarray
    class_id: np.ndarray = None  # type: ignore[assignment]
    confidence: np.ndarray | None = None
    track_id: np.ndarray | None = None
    attrs: dict[str, np.ndarray] = field(default_factory=dict)

    def __post_init__(self) -> None:
        xyxy = np.asarray(self.xyxy, dtype=np.float32)
        if xyxy.size == 0:
            xyxy = xyxy.reshape(0, 4)
        if xyxy.ndim != 2 or xyxy.shape[1] != 4:
            raise ValueError(f"xyxy: expected shape (N, 4), got {xyxy.shape}")
        n = xyxy.shape[0]
        if not np.isfinite(xyxy).all():
            bad = int(np.where(~np.isfinite(xyxy).all(axis=1))[0][0])
            raise ValueError(f"xyxy: box {bad} is not finite: {xyxy[bad].tolist()}")
        bad_rows = np.where((xyxy[:, 2] <= xyxy[:, 0]) | (xyxy[:, 3] <= xyxy[:, 1]))[0]
        if bad_rows.size:
            i = int(bad_rows[0])
            raise ValueError(f"xyxy: box {i} needs x1 < x2 and y1 < y2, got {xyxy[i].tolist()}")
        self.xyxy = xyxy
        cid = np.zeros(n, np.int64) if self.class_id is None else np.asarray(self.class_id)
        if cid.size == 0:
            cid = cid.reshape(0)
        if cid.shape != (n,):
            raise ValueError(f"class_id: expected shape ({n},), got {cid.shape}")
        if cid.dtype.kind not in "iu":
            if cid.dtype.kind == "f" and np.all(cid == np.round(cid)):
                cid = cid.astype(np.int64)
            else:
                raise ValueError(f"class_id: expected integers, got dtype {cid.dtype}")
        if n and cid.min() < 0:
            raise ValueError(f"class_id: negative id {int(cid.min())}")
        self.class_id = cid.astype(np.int64)
        if self.confidence is not None:
            conf = np.asarray(self.confidence, dtype=np.float32).reshape(-1)
            if conf.shape != (n,):
                raise ValueError(f"confidence: expected shape ({n},), got {conf.shape}")
            if not np.isfinite(conf).all():
                raise ValueError("confidence: values must be finite")
            self.confidence = conf
        if self.track_id is not None:
            tid = np.asarray(self.track_id, dtype=np.int64).reshape(-1)
            if tid.shape != (n,):
                raise ValueError(f"track_id: expected shape ({n},), got {tid.shape}")
            self.track_id = tid
        self.attrs = {str(k): _as_attr_array(v, n, str(k)) for k, v in dict(self.attrs).items()}

    # -- construction -------------------------------------------------------------------
    @classmethod
    def empty(cls, with_confidence: bool = False) -> "Detections":
        return cls(
            np.zeros((0, 4), np.float32),
            np.zeros(0, np.int64),
            np.zeros(0, np.float32) if with_confidence else None,
        )

    @classmethod
    def from_xywh(cls, xywh: Any, class_id: Any = None, **kw: Any) -> "Detections":
        from pigskin.boxes import xywh_to_xyxy

        return cls(xywh_to_xyxy(np.asarray(xywh, np.float64).reshape(-1, 4)), class_id, **kw)

    @classmethod
    def concat(cls, parts: Iterable["Detections"]) -> "Detections":
        """Join several frames' or windows' boxes; optional fields survive only if all parts have them."""
        parts = list(parts)
        if not parts:
            return cls.empty()
        conf = (
            np.concatenate([p.confidence for p in parts])
            if all(p.confidence is not None for p in parts)
            else None
        )
        tid = (
            np.concatenate([p.track_id for p in parts])
            if all(p.track_id is not None for p in parts)
            else None
        )
        keys = set().union(*(set(p.attrs) for p in parts))
        attrs = {
            k: np.concatenate(
                [p.attrs[k].astype(object) if k in p.attrs else np.full(len(p), None) for p in parts]
            )
            for k in keys
        }
        return cls(
            np.concatenate([p.xyxy for p in parts]),
            np.concatenate([p.class_id for p in parts]),
            conf,
            tid,
            attrs,
        )

    # -- views ----------------------------------------------------------------------------
    def __len__(self) -> int:
        return int(self.xyxy.shape[0])

    def __getitem__(self, index: Any) -> "Detections":
        """Select boxes by integer array, slice or boolean mask; always returns Detections."""
        if isinstance(index, (int, np.integer)):
            index = [int(index)]
        return Detections(
            self.xyxy[index],
            self.class_id[index],
            None if self.confidence is None else self.confidence[index],
            None if self.track_id is None else self.track_id[index],
            {k: v[index] for k, v in self.attrs.items()},
        )

    def __repr__(self) -> str:
        extra = [] if self.confidence is None else ["confidence"]
        extra += [] if self.track_id is None else ["track_id"]
        extra += sorted(self.attrs)
        return f"Detections(n={len(self)}, fields={extra})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Detections):
            return NotImplemented
        return self.equals(other)

    def equals(self, other: "Detections", atol: float = 0.0) -> bool:
        """Field-by-field equality; ``atol`` allows for pixel rounding in lossy formats."""
        if len(self) != len(other) or set(self.attrs) != set(other.attrs):
            return False
        if not np.allclose(self.xyxy, other.xyxy, atol=atol, rtol=0):
            return False
        if not np.array_equal(self.class_id, other.class_id):
            return False
        for mine, theirs in ((self.confidence, other.confidence), (self.track_id, other.track_id)):
            if (mine is None) != (theirs is None):
                return False
            if mine is not None and not np.allclose(mine, theirs, atol=1e-6):
                return False
        return all(list(self.attrs[k]) == list(other.attrs[k]) for k in self.attrs)

    @property
    def xywh(self) -> np.ndarray:
        out = self.xyxy.copy()
        out[:, 2:] -= out[:, :2]
        return out

    @property
    def wh(self) -> np.ndarray:
        return self.xyxy[:, 2:] - self.xyxy[:, :2]

    @property
    def area(self) -> np.ndarray:
        wh = self.wh
        return wh[:, 0] * wh[:, 1]

    @property
    def centers(self) -> np.ndarray:
        return (self.xyxy[:, :2] + self.xyxy[:, 2:]) / 2

    def replace(self, **changes: Any) -> "Detections":
        """A copy with some fields changed (like ``dataclasses.replace``, but validated)."""
        fields = dict(
            xyxy=self.xyxy,
            class_id=self.class_id,
            confidence=self.confidence,
            track_id=self.track_id,
            attrs=dict(self.attrs),
        )
        fields.update(changes)
        return Detections(**fields)

    def with_attr(self, name: str, values: Any) -> "Detections":
        attrs = dict(self.attrs)
        attrs[name] = values
        return self.replace(attrs=attrs)

    def attr_rows(self) -> list[dict[str, Any]]:
        """Per-box attribute dicts with plain Python values (for writers); ``None`` means absent."""
        rows: list[dict[str, Any]] = [{} for _ in range(len(self))]
        for k, arr in self.attrs.items():
            for i, v in enumerate(arr.tolist()):
                if v is not None:
                    rows[i][k] = v
        return rows

    @classmethod
    def from_attr_rows(cls, rows: list[Mapping[str, Any]]) -> dict[str, list[Any]]:
        """Inverse of :meth:`attr_rows`: every key seen becomes a column, ``None`` where absent."""
        keys = sorted(set().union(*(set(r) for r in rows))) if rows else []
        return {k: [r.get(k) for r in rows] for k in keys}
