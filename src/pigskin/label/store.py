"""The labeller's manifest store: which frames there are, what is labelled, and atomic autosave.

Every change rewrites the whole output manifest under a temporary name and renames it into place
(:func:`pigskin.fileio.atomic_write`), so a server killed at any moment leaves the previous complete
file. Only labelled frames appear in the output manifest (a frame marked "no ball visible" is a line
with an empty ``annotations`` list); a frame that is absent is unlabelled, and a restarted session
opens at the first one.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import os
import re
import tempfile
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from pigskin.detections import Detections
from pigskin.errors import FormatError, PigskinError
from pigskin.fileio import atomic_write, read_json_lines
from pigskin.samples import Dataset, Sample

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")
MANIFEST_SUFFIXES = (".manifest", ".jsonl")
SOURCES = ("drawn", "accepted", "corrected")
JOB_NAME = "labeling-job/pigskin-label"
_FRAME_INDEX_KEYS = ("frame-index", "frame_index", "frame-no", "frame")
_VIDEO_KEYS = ("video-id", "video_id", "video")
_NUMBERED = re.compile(r"^(.*?)[_\-.]?(\d+)$")


@dataclass
class Frame:
    """One image to label: its local file, the ``source-ref`` written for it, and its place in a video."""

    path: Path
    ref: str
    video_id: str | None = None
    frame_index: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # other keys of the input line, passed through

    @property
    def name(self) -> str:
        return self.path.name


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


# -- frames --------------------------------------------------------------------------------------
def _natural_key(name: str) -> list[Any]:
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", name)]


def _video_from_names(frames: list[Frame], fallback_video: str) -> None:
    """Frames named ``<prefix>_<number>`` (a frame dump such as clip_000123.jpg) are one video."""
    parsed = [_NUMBERED.match(f.path.stem) for f in frames]
    if len(frames) < 2 or not all(parsed):
        return
    for f, m in zip(frames, parsed, strict=True):
        if f.frame_index is None:
            f.frame_index = int(m.group(2))
        if f.video_id is None:
            f.video_id = m.group(1) or fallback_video


def _ref_for(path: Path, base: Path) -> str:
    try:
        return os.path.relpath(path, base)
    except ValueError:  # another drive on Windows
        return str(path)


def resolve_ref(ref: str, base: Path, image_root: Path | None) -> Path:
    """Local file of a manifest ``source-ref``: relative to the manifest, or ``s3://`` under image_root."""
    if ref.startswith("s3://"):
        if image_root is None:
            raise FileNotFoundError(
                f"{ref}: an s3:// image needs --image-root (a local mirror of the bucket)"
            )
        return Path(image_root) / ref[len("s3://") :].split("/", 1)[-1]
    p = Path(ref)
    return p if p.is_absolute() else base / p


def read_manifest_lines(path: Path) -> list[tuple[int, dict[str, Any]]]:
    """JSON lines with line numbers; a bad line is a FormatError naming the file and line."""
    out = []
    for lineno, obj in read_json_lines(path):
        if not isinstance(obj.get("source-ref"), str):
            raise FormatError(path, f"line {lineno}", 'expected a JSON object with a "source-ref" string')
        out.append((lineno, obj))
    return out


def find_input_manifest(folder: Path, exclude: Iterable[Path] = ()) -> Path | None:
    """The input manifest that ``pigskin frames`` leaves beside its JPEGs, if the folder has one.

    The labeller's own outputs (``output*.manifest``, shards, ``exclude``) never count.
    """
    skip = {str(Path(p).resolve()) for p in exclude}
    found = [
        p
        for p in sorted(folder.iterdir())
        if p.suffix in MANIFEST_SUFFIXES
        and p.is_file()
        and not p.name.startswith(("output", "."))
        and ".shard-" not in p.name
        and str(p.resolve()) not in skip
    ]
    return found[0] if len(found) == 1 else None


def list_frames(
    data: Path, base: Path, image_root: Path | None = None, exclude: Iterable[Path] = ()
) -> tuple[list[Frame], Path | None]:
    """Frames of a folder of images, a manifest, or a ``pigskin frames`` output folder.

    Returns the frames and the manifest they came from (``None`` for a bare folder of images).
    ``base`` is the folder that written ``source-ref`` paths are relative to (the output's folder).
    """
    data = Path(data)
    if not data.exists():
        raise FileNotFoundError(f"{data}: no such file or folder")
    if data.is_dir():
        manifest = find_input_manifest(data, exclude)
        if manifest is None:
            paths = sorted(
                (
                    p
                    for p in data.iterdir()
                    if p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith(".")
                ),
                key=lambda p: _natural_key(p.name),
            )
            if not paths:
                raise PigskinError(f"{data}: no images ({', '.join(IMAGE_SUFFIXES)}) and no input manifest")
            frames = [Frame(p.resolve(), _ref_for(p.resolve(), base)) for p in paths]
            _video_from_names(frames, data.resolve().name)
            return frames, None
        data = manifest
    frames = []
    for lineno, obj in read_manifest_lines(data):
        ref = obj["source-ref"]
        path = resolve_ref(ref, data.parent.resolve(), image_root).resolve()
        written = ref if ref.startswith("s3://") or Path(ref).is_absolute() else _ref_for(path, base)
        video = next((obj[k] for k in _VIDEO_KEYS if obj.get(k) is not None), None)
        index = next((obj[k] for k in _FRAME_INDEX_KEYS if isinstance(obj.get(k), (int, str))), None)
        info = obj.get("pigskin-frame")  # written by `pigskin frames`: {video, frame, time_s, play}
        if isinstance(info, dict) and info.get("video") is not None:
            # one sequence per play: the tracker never carries the ball across a scene cut
            video = f"{info['video']}:play{info.get('play', 0)}"
            index = info.get("frame", index)
        try:
            index = None if index is None else int(index)
        except ValueError:
            raise FormatError(
                data, f"line {lineno}", f"frame index must be an integer, got {index!r}"
            ) from None
        extra = {k: v for k, v in obj.items() if k != "source-ref" and not _is_label_key(obj, k)}
        frames.append(Frame(path, written, None if video is None else str(video), index, extra))
    if not frames:
        raise FormatError(data, None, "the manifest has no lines")
    if all(f.video_id is None and f.frame_index is None for f in frames):
        _video_from_names(frames, data.stem)
    return frames, data


def parse_shard(text: str) -> tuple[int, int]:
    """``"i/n"`` -> ``(i, n)`` with ``0 <= i < n``."""
    m = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text or "")
    if not m or not 0 <= int(m.group(1)) < int(m.group(2)):
        raise PigskinError(f"--shard must be i/n with 0 <= i < n (e.g. 0/3), got {text!r}")
    return int(m.group(1)), int(m.group(2))


def shard_path(out: Path, shard: tuple[int, int] | None) -> Path:
    """``output.manifest`` -> ``output.shard-1-of-3.manifest`` so labellers never share a file."""
    if shard is None:
        return out
    i, n = shard
    return out.with_name(f"{out.stem}.shard-{i}-of-{n}{out.suffix}")


# -- labels <-> Ground Truth samples --------------------------------------------------------------
def _is_label_key(obj: dict[str, Any], key: str) -> bool:
    """Keys that carry a label (``<attr>`` holding annotations, or ``<attr>-metadata``)."""
    value = obj.get(key)
    return (isinstance(value, dict) and "annotations" in value) or (
        key.endswith("-metadata") and _is_label_key(obj, key[: -len("-metadata")])
    )


def has_label(obj: dict[str, Any]) -> bool:
    return any(_is_label_key(obj, k) for k in obj if not k.endswith("-metadata"))


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


def frame_lookup(frames: list[Frame]):
    """``index(path, ref)`` -> frame position: by resolved path, by ``source-ref``, then by a file
    name that only one frame has (predictions made on a copy of the frames elsewhere)."""
    by_path = {str(f.path): i for i, f in enumerate(frames)}
    by_ref = {f.ref: i for i, f in enumerate(frames)}
    by_name: dict[str, int | None] = {}
    for i, f in enumerate(frames):
        by_name[f.path.name] = None if f.path.name in by_name else i

    def index(path: Path | None, ref: str) -> int | None:
        i = by_path.get(str(Path(path).resolve())) if path is not None else None
        if i is None:
            i = by_ref.get(ref)
        return i if i is not None else by_name.get(Path(ref.split("?")[0]).name)

    return index


def _now() -> str:
    return _dt.datetime.now(_dt.UTC).replace(tzinfo=None).isoformat(timespec="microseconds")


def image_size(path: Path) -> tuple[int, int]:
    """Width and height from the image header (no decode)."""
    from PIL import Image

    with Image.open(path) as im:
        return im.size


def video_path(out: Path) -> Path:
    """Where the video object-tracking layout of ``out`` goes (its SeqLabel.json files beside it)."""
    return out.with_name(f"{out.stem}.video{out.suffix or '.manifest'}")


# -- the store -----------------------------------------------------------------------------------
class LabelStore:
    """Frames, their saved labels, and the output manifest that mirrors them after every change.

    Thread-safe: the web app's handlers run in a thread pool. An exclusive lock file beside the
    output stops two servers from writing the same manifest (use shards to work in parallel).
    """

    def __init__(
        self,
        frames: list[Frame],
        out: Path,
        classes: list[str],
        label_attribute: str = "bounding-box",
        initial: dict[int, FrameLabel] | None = None,
    ) -> None:
        self.frames = frames
        self.out = Path(out)
        self.classes = list(classes)
        self.label_attribute = label_attribute
        self.labels: dict[int, FrameLabel] = dict(initial or {})
        self.version = 0
        self._sizes: dict[int, tuple[int, int]] = {}
        self._samples: dict[int, Sample] = {}  # frames' samples, rebuilt only when their label changes
        self._lock = threading.Lock()
        self._lock_file: Any = None
        self._video = _Background(self.write_video)
        if self.out.exists() and self.out.stat().st_size:
            saved, names = read_labels(self.out, frames, label_attribute=label_attribute)
            unknown = sorted(set(names) - set(self.classes))
            if unknown:
                raise PigskinError(
                    f"{self.out}: has classes {unknown} that this job ({self.classes}) does not"
                )
            remap = [self.classes.index(n) for n in names]
            for lab in saved.values():
                for b in lab.boxes:
                    b.class_id = remap[b.class_id]
            self.labels.update(saved)  # what this job saved wins over labels the input came with

    @property
    def is_video(self) -> bool:
        return any(f.video_id is not None for f in self.frames)

    def lock(self) -> None:
        """Hold an exclusive lock on ``.<out>.lock`` until closed (the OS drops it even on kill -9)."""
        import fcntl

        self.out.parent.mkdir(parents=True, exist_ok=True)
        f = open(self.out.with_name(f".{self.out.name}.lock"), "a+")  # noqa: SIM115 - held while serving
        try:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            f.close()
            raise PigskinError(
                f"{self.out}: another pigskin label session is writing this manifest "
                "(give each labeller a --shard i/n, or stop the other session)"
            ) from None
        self._lock_file = f
        self._tidy()

    def _tidy(self) -> None:
        """Remove what a killed session left half-written (temporary files and folders, never the
        outputs themselves), and bring the derived video layout up to date."""
        import shutil

        for name in (self.out.name, video_path(self.out).name, video_path(self.out).name + ".seq"):
            for p in self.out.parent.glob(f".{name}.*"):
                if p.name.endswith(".tmp") or ".old-" in p.name:
                    shutil.rmtree(p, ignore_errors=True) if p.is_dir() else p.unlink(missing_ok=True)
        if self.is_video and self.labels:
            self._video.request()

    def close(self) -> None:
        self._video.wait()
        if self._lock_file is not None:
            with contextlib.suppress(OSError):
                self._lock_file.close()
            self._lock_file = None

    def size(self, i: int) -> tuple[int, int]:
        if i not in self._sizes:
            self._sizes[i] = image_size(self.frames[i].path)
        return self._sizes[i]

    def first_unlabelled(self, order: list[int]) -> int:
        """Position in ``order`` of the first frame with no saved label (0 when all are labelled)."""
        return next((k for k, i in enumerate(order) if i not in self.labels), 0)

    def set(self, i: int, label: FrameLabel | None) -> int:
        """Save frame ``i``'s label (``None`` = unlabelled) and rewrite the outputs; returns the version."""
        if not 0 <= i < len(self.frames):
            raise IndexError(f"frame {i} out of range (0..{len(self.frames) - 1})")
        with self._lock:
            if label is None:
                self.labels.pop(i, None)
            else:
                label.created = label.created or _now()
                self.labels[i] = label
            self._samples.pop(i, None)
            self._write()
            self.version += 1
        if self.is_video:
            self._video.request()
        return self.version

    def dataset(self, video: bool = False) -> Dataset:
        """Labelled frames as a Dataset; ``video=True`` keeps video ids and gives each box a track id."""
        samples = []
        for i in sorted(self.labels):
            if i not in self._samples:
                self._samples[i] = to_sample(self.frames[i], self.labels[i], self.size(i))
            s = self._samples[i]
            if video:
                f = self.frames[i]
                d = s.detections
                s = s.replace(
                    video_id=f.video_id,
                    frame_index=f.frame_index,
                    attrs={},
                    detections=d.replace(track_id=track_ids(d.class_id, len(self.classes))),
                )
            samples.append(s)
        # refs are relative to the output's folder (absolute and s3:// refs stay as they are)
        return Dataset(
            list(self.classes), samples, root=self.out.parent, meta={"label_attribute": self.label_attribute}
        )

    def _write(self) -> None:
        """The image manifest: the record, rewritten (atomically) before a save is acknowledged."""
        from pigskin.formats import groundtruth

        groundtruth.write(self.dataset(), self.out, label_attribute=self.label_attribute, job_name=JOB_NAME)

    def write_video(self) -> None:
        """The video object-tracking layout (``SeqLabel.json`` per video), derived from the labels.

        After a save it is rewritten in a background thread, so that a long video does not slow the
        acknowledgement down; :meth:`flush` waits for it.
        """
        from pigskin.formats import groundtruth

        with self._lock:
            ds = self.dataset(video=True)
        ds.samples = [s for s in ds.samples if s.video_id is not None]
        groundtruth.write(ds, video_path(self.out), label_attribute=self.label_attribute, job_name=JOB_NAME)

    def flush(self) -> None:
        """Wait until the derived video layout is up to date."""
        self._video.wait()


class _Background:
    """Runs ``fn`` in a thread after each request; requests made while it runs fold into one more run."""

    def __init__(self, fn) -> None:
        self.fn = fn
        self._cond = threading.Condition()
        self._wanted = 0
        self._done = 0
        self._thread: threading.Thread | None = None

    def request(self) -> None:
        with self._cond:
            self._wanted += 1
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="pigskin-label-video", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while True:
            with self._cond:
                if self._done >= self._wanted:
                    self._thread = None
                    self._cond.notify_all()
                    return
                target = self._wanted
            try:
                self.fn()
            except Exception as exc:  # noqa: BLE001 - the record (output.manifest) is safe; say so and go on
                import sys

                print(f"pigskin label: could not write the video layout: {exc}", file=sys.stderr)
            with self._cond:
                self._done = target

    def wait(self) -> None:
        with self._cond:
            while self._thread is not None:
                self._cond.wait()


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


def shard_files(out: Path) -> list[Path]:
    """The shard manifests of ``out`` (``output.shard-0-of-3.manifest``, ...), in shard order."""
    pat = re.compile(rf"{re.escape(out.stem)}\.shard-(\d+)-of-(\d+){re.escape(out.suffix)}")
    found = [(m, p) for p in out.parent.iterdir() if (m := pat.fullmatch(p.name))]
    return [p for m, p in sorted(found, key=lambda mp: (int(mp[0].group(2)), int(mp[0].group(1))))]


def merge_shards(paths: list[Path], out: Path, frames: list[Frame] | None = None) -> int:
    """Join shard manifests into one; a frame labelled in two shards is an error naming both files.

    With ``frames`` (the whole job's, in input order) lines follow that order and a video job's
    SeqLabel.json layout is rewritten for the merged labels; otherwise lines keep the shards' order.
    Returns the number of lines written.
    """
    seen: dict[str, tuple[Path, dict]] = {}
    for p in paths:
        for lineno, obj in read_manifest_lines(Path(p)):
            ref = obj["source-ref"]
            if ref in seen:
                raise FormatError(
                    p, f"line {lineno}", f"{ref} is also labelled in {seen[ref][0]}; shards must be disjoint"
                )
            seen[ref] = (Path(p), obj)
    refs = list(seen)
    if frames is not None:
        rank = {f.ref: k for k, f in enumerate(frames)}
        refs.sort(key=lambda r: rank.get(r, len(rank)))
    with atomic_write(out, "w", encoding="utf-8") as f:
        for r in refs:
            f.write(json.dumps(seen[r][1], separators=(",", ":")) + "\n")
    if frames is not None and refs and any(fr.video_id is not None for fr in frames):
        labels, classes = read_labels(out, frames)
        store = LabelStore(frames, out, classes, label_attribute_of(seen[refs[0]][1]), labels)
        store.write_video()
    return len(refs)


def label_attribute_of(obj: dict[str, Any]) -> str:
    return next((k for k in obj if not k.endswith("-metadata") and _is_label_key(obj, k)), "bounding-box")
