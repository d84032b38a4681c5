"""Boxes offered to the labeller: a model's detections, a predictions file, and the tracker's carry-over.

A proposal is only a suggestion: the labeller accepts it with one key (the box is then saved with
``source: accepted`` and the proposal's score as its confidence) or corrects it (``corrected``).
"""

from __future__ import annotations

import json
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from pigskin.detections import Detections
from pigskin.errors import FormatError, PigskinError
from pigskin.label.labels import read_labels
from pigskin.label.manifest import Frame, frame_lookup


class Proposer(Protocol):
    origin: str

    def get(self, i: int) -> Detections: ...


def _class_map(source: list[str], target: list[str], what: str) -> np.ndarray:
    """Index array mapping ``source`` class ids to ``target`` ids by name (-1 = not a job class)."""
    lookup = {c: k for k, c in enumerate(target)}
    mapping = np.array([lookup.get(c, -1) for c in source], np.int64)
    if len(mapping) and (mapping < 0).all():
        raise PigskinError(f"{what}: none of its classes {source} is a class of this job {target}")
    return mapping


def _remap(d: Detections, mapping: np.ndarray) -> Detections:
    if not len(d):
        return Detections.empty(with_confidence=True)
    cid = mapping[d.class_id]
    keep = cid >= 0
    conf = np.ones(len(d), np.float32) if d.confidence is None else d.confidence
    return Detections(d.xyxy[keep], cid[keep], conf[keep])


class PredictionsProposer:
    """Precomputed predictions: a Ground Truth manifest with scores, or any format pigskin reads."""

    origin = "model"

    def __init__(self, path: Path, frames: list[Frame], classes: list[str], image_root: Path | None = None):
        path = Path(path)
        self.path = path
        self.by_frame: dict[int, Detections] = {}
        kind = _sniff(path)
        if kind == "predict":
            self.by_frame = _read_predict_lines(path, frames, classes)
        elif kind == "manifest":
            labels, names = read_labels(path, frames, image_root=image_root)
            mapping = _class_map(names, classes, str(path)) if names else np.zeros(0, np.int64)
            self.by_frame = {i: _remap(lab.detections(), mapping) for i, lab in labels.items()}
        else:
            from pigskin.formats import load

            ds = load(path, image_root=image_root)
            mapping = _class_map(list(ds.classes), classes, str(path))
            index = frame_lookup(frames)
            for s in ds.samples:
                i = index(ds.image_path(s), s.image)
                if i is not None:
                    self.by_frame[i] = _remap(s.detections, mapping)

    def get(self, i: int) -> Detections:
        return self.by_frame.get(i, Detections.empty(with_confidence=True))


def _sniff(path: Path) -> str:
    """``manifest`` (Ground Truth lines), ``predict`` (``pigskin predict`` lines) or ``other``."""
    if path.is_dir():
        return "other"
    with open(path, encoding="utf-8", errors="replace") as f:
        head = f.readline().strip()
    try:
        obj = json.loads(head)
    except ValueError:
        return "other"
    if isinstance(obj, dict) and "source-ref" in obj:
        return "manifest"
    return "predict" if isinstance(obj, dict) and "image" in obj and "detections" in obj else "other"


def _box4(values: Any) -> list[float]:
    box = [float(v) for v in values]
    if len(box) != 4 or not box[0] < box[2] or not box[1] < box[3]:
        raise ValueError(f"box must be [x1, y1, x2, y2] with x1 < x2, y1 < y2, got {values}")
    return box


def _read_predict_lines(path: Path, frames: list[Frame], classes: list[str]) -> dict[int, Detections]:
    """``pigskin predict --out`` lines: ``{"image", "detections": [{"box", "class", "confidence"}]}``."""
    index = frame_lookup(frames)
    lookup = {c: k for k, c in enumerate(classes)}
    out: dict[int, Detections] = {}
    with open(path, encoding="utf-8") as f:
        for lineno, text in enumerate(f, 1):
            if not text.strip():
                continue
            try:
                obj = json.loads(text)
                image = str(obj["image"])
                rows = [
                    (_box4(d["box"]), lookup.get(d.get("class"), -1), float(d["confidence"]))
                    for d in obj["detections"]
                ]
            except (ValueError, KeyError, TypeError) as exc:
                raise FormatError(
                    path, f"line {lineno}", f"expected a `pigskin predict` line ({exc})"
                ) from None
            candidates = [Path(image), path.parent / image]
            i = next((k for c in candidates if c.exists() and (k := index(c, image)) is not None), None)
            if i is None:
                i = index(None, image)
            rows = [r for r in rows if r[1] >= 0]  # classes this job does not label are not proposals
            if i is not None:
                out[i] = Detections(
                    np.array([r[0] for r in rows], np.float32).reshape(-1, 4),
                    np.array([r[1] for r in rows], np.int64),
                    np.array([r[2] for r in rows], np.float32),
                )
    return out


class ModelProposer:
    """A detector artifact run on demand, one frame at a time, cached and prefetched in a worker thread.

    One worker keeps the CPU free for the web server; ``prefetch`` queues the frames the labeller is
    about to open so that their proposals are ready when they get there.
    """

    origin = "model"

    def __init__(
        self, model_path: Path, frames: list[Frame], classes: list[str], score_threshold: float | None = None
    ):
        from pigskin.models.artifact import load_model

        self.predictor = load_model(model_path)
        self.frames = frames
        self.score_threshold = score_threshold
        self.mapping = _class_map(list(self.predictor.classes), classes, str(model_path))
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pigskin-label-model")
        self._futures: dict[int, Future] = {}
        self._lock = threading.Lock()

    def _predict(self, i: int) -> Detections:
        from PIL import Image

        with Image.open(self.frames[i].path) as im:
            rgb = np.asarray(im.convert("RGB"))
        (d,) = self.predictor.predict([rgb], score_threshold=self.score_threshold)
        return _remap(d, self.mapping)

    def _future(self, i: int) -> Future:
        with self._lock:
            if i not in self._futures:
                self._futures[i] = self._pool.submit(self._predict, i)
            return self._futures[i]

    def prefetch(self, indices: list[int]) -> None:
        for i in indices:
            if 0 <= i < len(self.frames):
                self._future(i)

    def get(self, i: int) -> Detections:
        return self._future(i).result()

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


def load_proposer(
    path: Path,
    frames: list[Frame],
    classes: list[str],
    image_root: Path | None = None,
    score_threshold: float | None = None,
) -> Proposer:
    """A model artifact (``*.tar.gz``) or a predictions file, told apart by name."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such model or predictions file")
    if path.name.endswith((".tar.gz", ".tgz")) or path.is_dir():
        return ModelProposer(path, frames, classes, score_threshold)
    return PredictionsProposer(path, frames, classes, image_root)


# -- the tracker's carry-over ------------------------------------------------------------------------
def track_proposal(
    history: list[Detections | None], size: tuple[int, int], ball_class: int = 0
) -> Detections:
    """Where the ball should be in the frame after ``history`` (the preceding labelled frames, oldest
    first, ``None`` or empty where the ball was not visible), by :class:`pigskin.track.tracker.BallTracker`.

    A labelled box is certain, so one sighting is enough to start the track; the returned box carries
    the tracker's score (1.0 while it has just seen the ball, lower as it coasts).
    """
    from pigskin.track.tracker import BallTracker, TrackerConfig

    tracker = BallTracker(TrackerConfig(acquire_hits=1, acquire_score=0.0, min_score=0.0), image_size=size)
    state = None
    for k, d in enumerate(history + [None]):
        if d is not None and len(d):
            ball = d[d.class_id == ball_class]
            d = ball[[int(np.argmax(ball.confidence))]] if len(ball) else None
            if d is not None:
                d = d.replace(confidence=np.ones(1, np.float32))
        state = tracker.update(d, k)
    if state is None or state.xyxy is None:
        return Detections.empty(with_confidence=True)
    box = np.asarray(state.xyxy, np.float64).reshape(1, 4)
    box[:, [0, 2]] = box[:, [0, 2]].clip(0, size[0])
    box[:, [1, 3]] = box[:, [1, 3]].clip(0, size[1])
    if box[0, 2] <= box[0, 0] or box[0, 3] <= box[0, 1]:
        return Detections.empty(with_confidence=True)
    score = 1.0 / max(state.coast, 1)
    return Detections(box, np.array([ball_class]), np.array([score], np.float32))


def proposals_json(d: Detections, origin: str) -> list[dict[str, Any]]:
    """Proposals as the page wants them, best first."""
    order = np.argsort(-d.confidence) if d.confidence is not None else np.arange(len(d))
    return [
        {
            "xyxy": [round(float(v), 2) for v in d.xyxy[k]],
            "class_id": int(d.class_id[k]),
            "score": None if d.confidence is None else round(float(d.confidence[k]), 4),
            "origin": origin,
        }
        for k in order
    ]
