"""The wire format, in one place: Detections <-> JSON, request options, and the error body.

A response (``application/json``)::

    {"model": {"name": "yolov3_mobilenet_v2", "version": "3f2a9c1b7e4d", "backend": "torch"},
     "latency_ms": 12.3,
     "predictions": [{"width": 1280, "height": 720,
                      "detections": [{"x1": 601.2, "y1": 311.0, "x2": 617.9, "y2": 322.4,
                                      "score": 0.91, "class": "ball", "class_id": 0}]}]}

With ``Accept: application/jsonlines`` each image is one line: its prediction plus ``model``,
``latency_ms`` and ``index``. Boxes are pixels of the image as sent (``x1, y1`` top-left, exclusive
``x2, y2``); floats are written at full float32 precision so a client gets exactly what ``predict``
returned. The server and :mod:`pigskin.client` both use this module, so the two cannot drift apart.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any

import numpy as np

from pigskin.detections import Detections
from pigskin.errors import PigskinError

JSON = "application/json"
JSON_LINES = ("application/jsonlines", "application/jsonl", "application/x-jsonlines")
CUSTOM_ATTRIBUTES = "X-Amzn-SageMaker-Custom-Attributes"


class RequestError(PigskinError):
    """A request the server refuses: an HTTP status and a message saying what to change."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def error_body(status: int, message: str) -> dict[str, Any]:
    return {"error": message, "status": status}


@dataclass(frozen=True)
class Options:
    """Per-request options; ``None`` means the server's default."""

    score_threshold: float | None = None
    max_detections: int | None = None

    def __post_init__(self) -> None:
        if self.score_threshold is not None and not 0.0 <= self.score_threshold <= 1.0:
            raise RequestError(400, f"score_threshold: expected a number in [0, 1], got "
                                    f"{self.score_threshold}")
        if self.max_detections is not None and self.max_detections < 0:
            raise RequestError(400, f"max_detections: expected an integer >= 0, got {self.max_detections}")

    def merged(self, other: Options) -> Options:
        """``other``'s set fields win."""
        changed = {f.name: getattr(other, f.name) for f in fields(other)}
        return replace(self, **{k: v for k, v in changed.items() if v is not None})

    def query(self) -> dict[str, str]:
        return {f.name: str(getattr(self, f.name)) for f in fields(self) if getattr(self, f.name) is not None}


def _option(name: str, value: Any, where: str) -> float | int:
    kind = float if name == "score_threshold" else int
    try:
        if isinstance(value, bool):
            raise ValueError
        number = kind(value)
        if kind is float and not math.isfinite(number):
            raise ValueError
        if kind is int and isinstance(value, float) and value != number:
            raise ValueError
    except (TypeError, ValueError):
        raise RequestError(400, f"{where}: {name}: expected {'a number' if kind is float else 'an integer'}, "
                                f"got {value!r}") from None
    return number


def parse_options(pairs: Iterable[tuple[str, Any]], where: str) -> Options:
    """Options from ``(name, value)`` pairs (query string, JSON body); other names are ignored, since
    SageMaker and proxies add their own."""
    known = {f.name for f in fields(Options)}
    values = {name: _option(name, value, where) for name, value in pairs if name in known}
    return Options(**values)


def parse_custom_attributes(header: str | None) -> Options:
    """SageMaker's ``CustomAttributes``: ``score_threshold=0.3,max_detections=10`` (``;`` works too)."""
    if not header:
        return Options()
    pairs = []
    for item in header.replace(";", ",").split(","):
        name, sep, value = item.partition("=")
        if sep:
            pairs.append((name.strip(), value.strip()))
    return parse_options(pairs, CUSTOM_ATTRIBUTES)


# -- detections ----------------------------------------------------------------------------------------


@dataclass
class Prediction:
    """One image's answer: detections in its pixels, its size, and each detection's class name."""

    detections: Detections
    width: int
    height: int
    class_names: list[str] = field(default_factory=list)


def prediction_to_dict(dets: Detections, classes: list[str], width: int, height: int) -> dict[str, Any]:
    scores = dets.confidence if dets.confidence is not None else np.ones(len(dets), np.float32)
    rows = [
        {"x1": float(b[0]), "y1": float(b[1]), "x2": float(b[2]), "y2": float(b[3]), "score": float(s),
         "class": classes[int(c)] if 0 <= int(c) < len(classes) else str(int(c)), "class_id": int(c)}
        for b, s, c in zip(dets.xyxy, scores, dets.class_id, strict=True)
    ]
    return {"width": int(width), "height": int(height), "detections": rows}


def prediction_from_dict(obj: Mapping[str, Any], where: str = "prediction") -> Prediction:
    """The inverse of :func:`prediction_to_dict` (raises ``ValueError`` naming the field at fault)."""
    try:
        rows = obj["detections"]
        xyxy = np.array([[r["x1"], r["y1"], r["x2"], r["y2"]] for r in rows], np.float32).reshape(-1, 4)
        dets = Detections(
            xyxy,
            np.array([r["class_id"] for r in rows], np.int64),
            np.array([r["score"] for r in rows], np.float32),
        )
        return Prediction(dets, int(obj["width"]), int(obj["height"]), [str(r["class"]) for r in rows])
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"{where}: not a pigskin prediction: {type(exc).__name__}: {exc}") from None


def response_body(
    predictions: list[dict[str, Any]], model: dict[str, Any], latency_ms: float
) -> dict[str, Any]:
    return {"model": model, "latency_ms": round(latency_ms, 3), "predictions": predictions}


def json_lines(predictions: list[dict[str, Any]], model: dict[str, Any], latency_ms: float) -> str:
    return "".join(
        json.dumps({"index": i, "model": model, "latency_ms": round(latency_ms, 3), **p}) + "\n"
        for i, p in enumerate(predictions)
    )


def predictions_from_body(body: str | bytes, content_type: str) -> list[Prediction]:
    """Parse a response (JSON or JSON lines) back into one :class:`Prediction` per image."""
    if content_type.split(";")[0].strip().lower() in JSON_LINES:
        text = body.decode() if isinstance(body, bytes) else body
        lines = [json.loads(line) for line in text.splitlines() if line.strip()]
        return [prediction_from_dict(obj, f"line {i + 1}") for i, obj in enumerate(lines)]
    obj = json.loads(body)
    return [prediction_from_dict(p, f"predictions[{i}]") for i, p in enumerate(obj["predictions"])]
