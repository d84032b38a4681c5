"""What a labeller saves for a frame (:class:`FrameLabel` of :class:`Box` es) and how it maps to and
from a Ground Truth :class:`~pigskin.samples.Sample`."""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from pigskin.detections import Detections
from pigskin.errors import FormatError
from pigskin.label.manifest import Frame, frame_lookup, has_label, read_manifest_lines, resolve_ref
from pigskin.samples import Sample

SOURCES = ("drawn", "accepted", "corrected")


@dataclass
class Box:
    """A labelled box; ``source`` says whether a person drew it, accepted a proposal or corrected one."""

    xyxy: tuple[float, float, float, float]
    class_id: int = 0
    source: str = "drawn"
    confidence: float = 1.0
    attrs: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        x1, y1, x2, y2 = (float(v) for v in self.xyxy)
        if not all(np.isfinite([x1, y1, x2, y2])) or x2 <= x1 or y2 <= y1:
            raise ValueError(f"box needs finite x1 < x2 and y1 < y2, got {[x1, y1, x2, y2]}")
        if self.source not in SOURCES:
            raise ValueError(f"box source must be one of {', '.join(SOURCES)}, got {self.source!r}")
        self.xyxy = (x1, y1, x2, y2)
        self.class_id = int(self.class_id)
        self.confidence = float(self.confidence)
        self.attrs = {str(k): str(v) for k, v in self.attrs.items()}

    def to_json(self) -> dict[str, Any]:
        return {
            "xyxy": [round(v, 3) for v in self.xyxy],  # 3 decimals keep 1/8 px exact
            "class_id": self.class_id,
            "source": self.source,
            "confidence": round(self.confidence, 4),
            "attrs": dict(self.attrs),
        }

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> "Box":
        return cls(
            tuple(obj["xyxy"]),
            int(obj.get("class_id", 0)),
            str(obj.get("source", "drawn")),
            float(obj.get("confidence", 1.0) if obj.get("confidence") is not None else 1.0),
            dict(obj.get("attrs") or {}),
        )


@dataclass
class FrameLabel:
    """A labelled frame; no boxes means the labeller said "no ball visible"."""

    boxes: list[Box] = field(default_factory=list)
    created: str = ""

    @property
    def human_annotated(self) -> bool:
        """False only when every box is an unchanged model/tracker proposal."""
        return not self.boxes or any(b.source != "accepted" for b in self.boxes)

    def to_json(self) -> dict[str, Any]:
        return {
            "boxes": [b.to_json() for b in self.boxes],
            "no_ball": not self.boxes,
            "created": self.created,
        }

    def detections(self) -> Detections:
        if not self.boxes:
            return Detections.empty(with_confidence=True)
        rows = [{"source": b.source, **b.attrs} for b in self.boxes]
        return Detections(
            np.array([b.xyxy for b in self.boxes], np.float32),
            np.array([b.class_id for b in self.boxes], np.int64),
            np.array([b.confidence for b in self.boxes], np.float32),
            attrs=Detections.from_attr_rows(rows),
        )


def to_sample(frame: Frame, label: FrameLabel, size: tuple[int, int]) -> Sample:
    """A labelled frame as a Sample for the Ground Truth writer.

    Per-box ``source`` and the job's attributes become ``label-category-attributes``; the frame's
    ``human-annotated`` (no only when every box is an unchanged proposal) and ``creation-date`` go to
    the line's metadata; other keys of the input line pass through unchanged.
    """
    meta = {"human-annotated": "yes" if label.human_annotated else "no", "creation-date": label.created}
    # frame.ref is relative to the output's folder, which is the Dataset's root (see LabelStore.dataset)
    return Sample(frame.ref, size[0], size[1], label.detections(), attrs={**frame.extra, "metadata": meta})


def from_sample(sample: Sample) -> FrameLabel:
    """Inverse of :func:`to_sample`; boxes written by other tools count as drawn by a person unless
    their line says ``human-annotated: no``."""
    meta = sample.attrs.get("metadata") or {}
    default_source = "accepted" if meta.get("human-annotated") == "no" else "drawn"
    d = sample.detections
    boxes = []
    for i, row in enumerate(d.attr_rows()):
        attrs = {k: v for k, v in row.items() if ":" not in k and k != "source"}
        source = str(row.get("source", default_source))
        conf = 1.0 if d.confidence is None else float(d.confidence[i])
        boxes.append(Box(tuple(d.xyxy[i].tolist()), int(d.class_id[i]), source, conf, attrs))
    return FrameLabel(boxes, str(meta.get("creation-date", "")))


def read_labels(
    path: Path, frames: list[Frame], image_root: Path | None = None, label_attribute: str | None = None
) -> tuple[dict[int, FrameLabel], list[str]]:
    """Labels of ``frames`` found in a Ground Truth manifest (read by :mod:`pigskin.formats.groundtruth`).

    Only the lines that carry a label are read (an input manifest may mix both); lines of frames not
    in ``frames`` (another shard) are ignored. Returns labels by frame position and the class names.
    """
    from pigskin.formats import groundtruth

    path = Path(path)
    lines = [obj for _, obj in read_manifest_lines(path)]
    base = path.parent.resolve()
    labelled = []
    for obj in lines:
        if not has_label(obj):
            continue
        ref = obj["source-ref"]
        if not ref.startswith("s3://"):  # absolute, so the copy below can live anywhere
            obj = {**obj, "source-ref": str(resolve_ref(ref, base, None).resolve())}
        labelled.append(obj)
    if not labelled:
        return {}, []
    with tempfile.TemporaryDirectory(prefix="pigskin-label-") as tmp:
        copy = Path(tmp) / path.name
        copy.write_text("".join(json.dumps(o) + "\n" for o in labelled), encoding="utf-8")
        try:
            ds = groundtruth.read(copy, image_root=image_root, label_attribute=label_attribute)
        except FormatError as exc:  # name the user's file, not the copy
            raise FormatError(path, exc.where, exc.message) from None
    index = frame_lookup(frames)
    out = {}
    for s in ds.samples:
        i = index(None if s.image.startswith("s3://") else Path(s.image), s.image)
        if i is not None:
            out[i] = from_sample(s)
    return out, list(ds.classes)


def track_ids(class_id: np.ndarray, num_classes: int) -> np.ndarray:
    """Object ids for a video job: the j-th box of class c in a frame is object ``1 + c + j * num_classes``
    (one ball per frame keeps id 1 through the whole video)."""
    seen: dict[int, int] = {}
    out = []
    for c in class_id.tolist():
        j = seen.get(c, 0)
        seen[c] = j + 1
        out.append(1 + c + j * max(num_classes, 1))
    return np.array(out, np.int64)
