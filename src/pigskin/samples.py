"""Samples (one labelled frame) and Datasets (class names plus samples).

Every format reader returns a :class:`Dataset`; every writer takes one. Image references are
strings: a path (absolute, or relative to ``Dataset.root``), an ``s3://bucket/key`` URI resolved
against ``image_root``, or ``<file.rec>#<key>`` for an image stored inside a RecordIO file.
"""

from __future__ import annotations

import io
import random
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from pigskin.detections import Detections
from pigskin.recordio import read_image_bytes


@dataclass(eq=False)
class Sample:
    """One frame: where its image is, its size, its boxes, and where it sits in a video."""

    image: str
    width: int
    height: int
    detections: Detections = field(default_factory=Detections.empty)
    video_id: str | None = None
    frame_index: int | None = None
    attrs: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if int(self.width) <= 0 or int(self.height) <= 0:
            raise ValueError(f"{self.image}: image size must be positive, got {self.width}x{self.height}")
        self.width, self.height = int(self.width), int(self.height)

    def replace(self, **changes: Any) -> "Sample":
        return replace(self, **changes)

    def lookalikes(self) -> list[tuple[list[float], str]]:
        """``(xyxy, kind)`` of things recorded as looking like a ball but not being one (flags, helmets,
        shoes), from ``attrs["lookalikes"]`` (stills) or the frame attribute of the same name (clip
        frames read from SeqLabel.json): ``[{"xyxy": [x1, y1, x2, y2], "kind": "flag"}, ...]``
        (``box``/``bbox`` and ``label``/``name`` are accepted too). Malformed or empty boxes are skipped:
        these hints steer training and error analysis, they are not labels."""
        frame = self.attrs.get("frame-attributes")
        rows = self.attrs.get("lookalikes", frame.get("lookalikes") if isinstance(frame, dict) else None)
        out = []
        for row in rows if isinstance(rows, list) else []:
            if not isinstance(row, dict):
                continue
            box = row.get("xyxy", row.get("box", row.get("bbox")))
            try:
                xyxy = [float(v) for v in box] if isinstance(box, (list, tuple)) and len(box) == 4 else None
            except (TypeError, ValueError):
                xyxy = None
            if xyxy is not None and xyxy[2] > xyxy[0] and xyxy[3] > xyxy[1]:
                out.append((xyxy, str(row.get("kind", row.get("label", row.get("name", "look-alike"))))))
        return out

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sample):
            return NotImplemented
        return self.equals(other)

    def equals(self, other: "Sample", atol: float = 0.0, images: bool = True) -> bool:
        return (
            (not images or self.image == other.image)
            and (self.width, self.height) == (other.width, other.height)
            and self.detections.equals(other.detections, atol=atol)
            and self.video_id == other.video_id
            and self.frame_index == other.frame_index
            and self.attrs == other.attrs
        )


def _group_key(sample: Sample) -> str:
    """Frames of one video or clip share a key, so a split never separates near-duplicates."""
    if sample.video_id is not None:
        return f"video:{sample.video_id}"
    return f"image:{sample.image}"


def frame_run_groups(samples: list[Sample], max_gap: int = 1) -> list[str]:
    """Group keys for datasets whose frames are named ``<prefix>_<number>``: consecutive numbers
    (gap <= ``max_gap``) form one run. Use it for frame dumps that carry no video id."""
    pat = re.compile(r"^(.*?)(\d+)(\D*)$")
    parsed = []
    for i, s in enumerate(samples):
        stem = Path(s.image.split("#")[0]).stem.split(".rf.")[0]
        m = pat.match(stem)
        parsed.append((m.group(1), int(m.group(2)), i) if m else (stem, -1, i))
    keys = [""] * len(samples)
    run = 0
    prev: tuple[str, int] | None = None
    for prefix, num, i in sorted(parsed):
        if prev is None or prefix != prev[0] or num < 0 or num - prev[1] > max_gap:
            run += 1
        keys[i] = f"run:{prefix}:{run}"
        prev = (prefix, num)
    return keys


@dataclass(eq=False)
class Dataset:
    """Class names plus samples; ``root`` anchors relative image paths."""

    classes: list[str]
    samples: list[Sample] = field(default_factory=list)
    root: Path | None = None
    image_root: Path | None = None  # where s3://bucket/key references are looked up
    meta: dict[str, Any] = field(default_factory=dict)  # format details kept for round trips

    def __len__(self) -> int:
        return len(self.samples)

    def __iter__(self) -> Iterator[Sample]:
        return iter(self.samples)

    def __getitem__(self, i: int) -> Sample:
        return self.samples[i]

    def replace(self, **changes: Any) -> "Dataset":
        return replace(self, **changes)

    @property
    def num_boxes(self) -> int:
        return sum(len(s.detections) for s in self.samples)

    def equals(self, other: "Dataset", atol: float = 0.0, images: bool = True) -> bool:
        return (
            list(self.classes) == list(other.classes)
            and len(self) == len(other)
            and all(a.equals(b, atol=atol, images=images) for a, b in zip(self, other, strict=True))
        )

    # -- images --------------------------------------------------------------------------------
    def image_path(self, sample: Sample) -> Path:
        """Local path of a sample's image (s3:// needs ``image_root``)."""
        ref = sample.image
        if ref.startswith("s3://"):
            if self.image_root is None:
                raise FileNotFoundError(f"{ref}: an s3:// image needs a local --image-root to resolve it")
            return Path(self.image_root) / ref[len("s3://") :].split("/", 1)[-1]
        p = Path(ref.split(".rec#")[0] + ".rec" if ".rec#" in ref else ref)
        if not p.is_absolute() and self.root is not None:
            p = Path(self.root) / p
        return p

    def image_bytes(self, sample: Sample) -> bytes:
        """Encoded bytes of a sample's image (file, s3:// mirror or RecordIO record)."""
        if ".rec#" in sample.image:
            return read_image_bytes(self.image_path(sample), sample.image.rsplit("#", 1)[1])
        return self.image_path(sample).read_bytes()

    def load_image(self, sample: Sample) -> np.ndarray:
        """RGB uint8 array (H, W, 3)."""
        from PIL import Image

        with Image.open(io.BytesIO(self.image_bytes(sample))) as im:
            return np.asarray(im.convert("RGB"))

    def missing_images(self) -> list[Sample]:
        out = []
        for s in self.samples:
            try:
                path = self.image_path(s)
            except FileNotFoundError:
                out.append(s)
                continue
            if not path.exists():
                out.append(s)
        return out

    # -- splits --------------------------------------------------------------------------------
    def split(
        self,
        val_fraction: float = 0.2,
        seed: int = 0,
        group: Callable[[Sample], str] | list[str] | None = None,
    ) -> tuple["Dataset", "Dataset"]:
        """Train/validation split that keeps each group (a video, a clip, a run of frames) whole.

        ``group`` is a key function or a list of keys (e.g. :func:`frame_run_groups`); by
        default frames group by ``video_id`` and stand-alone images are their own group.
        """
        if not 0.0 <= val_fraction <= 1.0:
            raise ValueError(f"val_fraction must be in [0, 1], got {val_fraction}")
        if group is None:
            keys = [_group_key(s) for s in self.samples]
        elif callable(group):
            keys = [group(s) for s in self.samples]
        else:
            keys = list(group)
            if len(keys) != len(self.samples):
                raise ValueError(f"group: expected {len(self.samples)} keys, got {len(keys)}")
        unique = sorted(set(keys))
        random.Random(seed).shuffle(unique)
        target = val_fraction * len(self.samples)
        sizes: dict[str, int] = {}
        for k in keys:
            sizes[k] = sizes.get(k, 0) + 1
        val_keys: set[str] = set()
        taken = 0
        for k in unique:
            if taken >= target:
                break
            val_keys.add(k)
            taken += sizes[k]
        train = [s for s, k in zip(self.samples, keys, strict=True) if k not in val_keys]
        val = [s for s, k in zip(self.samples, keys, strict=True) if k in val_keys]
        return self.replace(samples=train), self.replace(samples=val)

    def subset(self, indices: list[int]) -> "Dataset":
        return self.replace(samples=[self.samples[i] for i in indices])

    @staticmethod
    def merge(datasets: Sequence["Dataset"]) -> "Dataset":
        """One dataset of several read from different folders (e.g. clips plus stills): image paths are
        made absolute so each still resolves, a video id that two sets both use is qualified by its
        set's folder (so frames of different clips are never stacked together); the class lists must
        be the same."""
        if not datasets:
            raise ValueError("Dataset.merge: no datasets")
        classes = list(datasets[0].classes)
        for ds in datasets[1:]:
            if list(ds.classes) != classes:
                raise ValueError(f"Dataset.merge: classes differ: {classes} vs {list(ds.classes)}")
        owners: dict[str, set[int]] = {}
        for i, ds in enumerate(datasets):
            for s in ds:
                if s.video_id is not None:
                    owners.setdefault(s.video_id, set()).add(i)
        shared = {v for v, held in owners.items() if len(held) > 1}

        def video(i: int, ds: Dataset, s: Sample) -> str | None:
            # two sets' clips/000000.mp4 are different videos: multi-frame models stack frames by video
            if s.video_id not in shared:
                return s.video_id
            return f"{ds.root.resolve() if ds.root is not None else f'set{i}'}::{s.video_id}"

        samples = [
            s.replace(image=str(ds.image_path(s).resolve()), video_id=video(i, ds, s))
            for i, ds in enumerate(datasets)
            for s in ds
        ]
        return Dataset(classes, samples)
