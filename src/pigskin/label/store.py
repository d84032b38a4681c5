"""The labeller's manifest store: which frames there are, what is labelled, and atomic autosave.

Every change rewrites the whole output manifest under a temporary name and renames it into place
(:func:`pigskin.fileio.atomic_write`), so a server killed at any moment leaves the previous complete
file. Only labelled frames appear in the output manifest (a frame marked "no ball visible" is a line
with an empty ``annotations`` list); a frame that is absent is unlabelled, and a restarted session
opens at the first one. The frames come from :mod:`pigskin.label.manifest`, the labels' types and
their Ground Truth form from :mod:`pigskin.label.labels`.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import threading
from pathlib import Path
from typing import Any

from pigskin.errors import FormatError, PigskinError
from pigskin.fileio import atomic_write
from pigskin.label.labels import FrameLabel, read_labels, to_sample, track_ids
from pigskin.label.manifest import Frame, label_attribute_of, read_manifest_lines, video_path
from pigskin.samples import Dataset, Sample

JOB_NAME = "labeling-job/pigskin-label"


def _now() -> str:
    return _dt.datetime.now(_dt.UTC).replace(tzinfo=None).isoformat(timespec="microseconds")


def image_size(path: Path) -> tuple[int, int]:
    """Width and height from the image header (no decode)."""
    from PIL import Image

    with Image.open(path) as im:
        return im.size


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
