"""One labelling session: the frames, the store, where proposals come from, and the order to walk.

Kept apart from the web app so that everything the page can do is plain Python, testable without
a server.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from pigskin.detections import Detections
from pigskin.errors import PigskinError
from pigskin.label.labels import Box, FrameLabel, read_labels
from pigskin.label.manifest import (
    has_label,
    label_attribute_of,
    list_frames,
    read_manifest_lines,
    shard_path,
    video_path,
)
from pigskin.label.proposals import Proposer, load_proposer, proposals_json, track_proposal
from pigskin.label.review import Disagreement, disagreements
from pigskin.label.store import LabelStore

DEFAULT_ATTRIBUTES = {"occlusion": ["none", "partial", "heavy"]}
TRACK_HISTORY = 8  # labelled frames fed to the tracker before the one it proposes for


@dataclass
class LabelConfig:
    """What ``pigskin label`` was asked to do."""

    data: Path
    out: Path | None = None  # default: output.manifest beside the frames
    classes: list[str] | None = None  # default: the input manifest's class-map, else ["football"]
    attributes: dict[str, list[str]] = field(default_factory=lambda: dict(DEFAULT_ATTRIBUTES))
    label_attribute: str | None = None  # default: the input's, else "bounding-box"
    model: Path | None = None  # a detector artifact, or a predictions file, whose boxes are proposals
    review: Path | None = None  # review mode: walk only frames where labels and these predictions disagree
    shard: tuple[int, int] | None = None  # (i, n): this labeller gets frames i::n
    image_root: Path | None = None  # local mirror for s3:// references
    score_threshold: float = 0.3  # proposals below this are not shown
    review_score_threshold: float = 0.5
    review_iou: float = 0.5
    track: bool = True  # carry the ball into the next video frame with the tracker


def default_out(data: Path) -> Path:
    data = Path(data)
    return (data if data.is_dir() else data.parent) / "output.manifest"


class Job:
    """Everything the page asks for, in frame positions (indices into ``store.frames``)."""

    def __init__(self, config: LabelConfig) -> None:
        self.config = config
        out = shard_path(Path(config.out or default_out(config.data)), config.shard)
        frames, manifest = list_frames(
            config.data, out.parent.resolve(), config.image_root, exclude=(out, video_path(out))
        )
        if config.shard is not None:
            i, n = config.shard
            frames = frames[i::n]
            if not frames:
                raise PigskinError(
                    f"--shard {i}/{n}: this shard has no frames (the input has fewer than {i + 1})"
                )
        initial: dict[int, FrameLabel] = {}
        names: list[str] = []
        attr = config.label_attribute
        if manifest is not None:
            initial, names = read_labels(manifest, frames, config.image_root)
            if attr is None:
                attr = next(
                    (label_attribute_of(o) for _, o in read_manifest_lines(manifest) if has_label(o)), None
                )
        classes = list(config.classes or names or ["football"])
        if names and config.classes and set(names) - set(classes):
            raise PigskinError(f"{manifest}: its classes {names} are not all in --classes {classes}")
        if names and config.classes:  # labels were read with the manifest's ids: map them by name
            remap = [classes.index(n) for n in names]
            for lab in initial.values():
                for b in lab.boxes:
                    b.class_id = remap[b.class_id]
        self.attributes = {k: list(v) for k, v in config.attributes.items()}
        self.store = LabelStore(frames, out, classes, attr or "bounding-box", initial)
        self.frames = frames
        self.proposer: Proposer | None = None
        source = config.review or config.model
        if source is not None:
            threshold = min(config.score_threshold, config.review_score_threshold)
            self.proposer = load_proposer(source, frames, classes, config.image_root, threshold)
        self.notes: dict[int, str] = {}
        self.order = list(range(len(frames)))
        if config.review is not None:
            self.order = [d.index for d in self._disagreements()]
        self._track_lock = threading.Lock()
        if config.track and self.store.is_video:
            import pigskin.track.tracker  # noqa: F401 - imported now, not on the first frame switch

    # -- review --------------------------------------------------------------------------------
    def _disagreements(self) -> list[Disagreement]:
        assert self.proposer is not None
        labels = {i: lab.detections() for i, lab in self.store.labels.items()}
        if hasattr(self.proposer, "prefetch"):
            self.proposer.prefetch(sorted(labels))
        preds = {i: self.proposer.get(i) for i in labels}
        found = disagreements(labels, preds, self.config.review_iou, self.config.review_score_threshold)
        self.notes = {d.index: d.note for d in found}
        return found

    # -- what the page reads ---------------------------------------------------------------------
    @property
    def start(self) -> int:
        """Where the page opens: the first unlabelled frame (review mode: the first disagreement)."""
        return 0 if self.config.review is not None else self.store.first_unlabelled(self.order)

    def summary(self) -> dict[str, Any]:
        s = self.store
        return {
            "classes": s.classes,
            "attributes": self.attributes,
            "frames": [
                {
                    "index": i,
                    "name": s.frames[i].name,
                    "labelled": i in s.labels,
                    "no_ball": i in s.labels and not s.labels[i].boxes,
                    "note": self.notes.get(i, ""),
                }
                for i in self.order
            ],
            "start": self.start,
            "review": self.config.review is not None,
            "proposals": self.proposer is not None,
            "out": str(s.out),
            "shard": None if self.config.shard is None else list(self.config.shard),
            "total_frames": len(s.frames),
            "labelled": len(s.labels),
            "version": s.version,
        }

    def frame(self, i: int) -> dict[str, Any]:
        self._check(i)
        if hasattr(self.proposer, "prefetch"):
            k = self.order.index(i) if i in self.order else 0
            self.proposer.prefetch(self.order[k + 1 : k + 4])
        w, h = self.store.size(i)
        label = self.store.labels.get(i)
        return {
            "index": i,
            "name": self.frames[i].name,
            "width": w,
            "height": h,
            "label": None if label is None else label.to_json(),
            "proposals": self.proposals(i),
            "note": self.notes.get(i, ""),
        }

    def proposals(self, i: int) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        if self.proposer is not None:
            d = self.proposer.get(i)
            c = self.config
            threshold = (
                c.score_threshold if c.review is None else min(c.score_threshold, c.review_score_threshold)
            )
            if d.confidence is not None:
                d = d[d.confidence >= threshold]
            out += proposals_json(d, self.proposer.origin)
        if self.config.track:
            out += proposals_json(self._tracked(i), "tracker")
        return out

    def _tracked(self, i: int) -> Detections:
        """The tracker's box for frame i from the run of labelled frames just before it in the same video."""
        frames, labels = self.frames, self.store.labels
        video = frames[i].video_id
        history: list[Detections | None] = []
        j = i - 1
        while j >= 0 and len(history) < TRACK_HISTORY and video is not None and frames[j].video_id == video:
            if j not in labels:
                break
            history.append(labels[j].detections())
            j -= 1
        if not history or not any(len(d) for d in history):
            return Detections.empty(with_confidence=True)
        with self._track_lock:
            return track_proposal(history[::-1], self.store.size(i))

    # -- what the page writes --------------------------------------------------------------------
    def save(self, i: int, body: dict[str, Any]) -> dict[str, Any]:
        """Store the page's state of frame i: boxes, or "no ball visible", or neither (unlabelled)."""
        self._check(i)
        boxes = [self._box(i, k, b) for k, b in enumerate(body.get("boxes") or [])]
        boxes = [b for b in boxes if b is not None]
        label = FrameLabel(boxes) if boxes or body.get("no_ball") else None
        version = self.store.set(i, label)
        return {
            "index": i,
            "version": version,
            "labelled": len(self.store.labels),
            "label": None if label is None else label.to_json(),
        }

    def _box(self, i: int, k: int, obj: dict[str, Any]) -> Box | None:
        where = f"frame {i}, box {k}"
        try:
            box = Box.from_json(obj)
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"{where}: {exc}") from None
        if not 0 <= box.class_id < len(self.store.classes):
            raise ValueError(
                f"{where}: class_id {box.class_id} is not one of 0..{len(self.store.classes) - 1}"
            )
        for name, value in box.attrs.items():
            allowed = self.attributes.get(name)
            if allowed is None:
                raise ValueError(
                    f"{where}: unknown attribute {name!r} (this job has {sorted(self.attributes)})"
                )
            if value not in allowed:
                raise ValueError(f"{where}: {name}={value!r} is not one of {allowed}")
        box.attrs = {**{k: v[0] for k, v in self.attributes.items()}, **box.attrs}
        w, h = self.store.size(i)
        # 1/8 px steps are exact in float32 (Detections' dtype): the manifest shows 593.375, not 593.3750153
        xyxy = np.round(np.clip(np.array(box.xyxy), 0, [w, h, w, h]) * 8) / 8
        if xyxy[2] - xyxy[0] < 0.5 or xyxy[3] - xyxy[1] < 0.5:
            return None  # entirely outside the image after clipping
        box.xyxy = tuple(float(v) for v in xyxy)
        return box

    def _check(self, i: int) -> None:
        if not 0 <= i < len(self.frames):
            raise IndexError(f"frame {i} out of range (0..{len(self.frames) - 1})")

    def close(self) -> None:
        if hasattr(self.proposer, "close"):
            self.proposer.close()
        self.store.close()
