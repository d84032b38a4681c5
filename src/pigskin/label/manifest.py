"""The frames of a labelling job and the manifest lines that name them: a folder of images, an input
manifest, or a ``pigskin frames`` output folder; shard file names; which keys of a line are labels."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pigskin.errors import FormatError, PigskinError
from pigskin.fileio import read_json_lines

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")
MANIFEST_SUFFIXES = (".manifest", ".jsonl")
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
        extra = {k: v for k, v in obj.items() if k != "source-ref" and not is_label_key(obj, k)}
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


def is_label_key(obj: dict[str, Any], key: str) -> bool:
    """Keys that carry a label (``<attr>`` holding annotations, or ``<attr>-metadata``)."""
    value = obj.get(key)
    return (isinstance(value, dict) and "annotations" in value) or (
        key.endswith("-metadata") and is_label_key(obj, key[: -len("-metadata")])
    )


def has_label(obj: dict[str, Any]) -> bool:
    return any(is_label_key(obj, k) for k in obj if not k.endswith("-metadata"))


def label_attribute_of(obj: dict[str, Any]) -> str:
    return next((k for k in obj if not k.endswith("-metadata") and is_label_key(obj, k)), "bounding-box")


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


def video_path(out: Path) -> Path:
    """Where the video object-tracking layout of ``out`` goes (its SeqLabel.json files beside it)."""
    return out.with_name(f"{out.stem}.video{out.suffix or '.manifest'}")


def shard_files(out: Path) -> list[Path]:
    """The shard manifests of ``out`` (``output.shard-0-of-3.manifest``, ...), in shard order."""
    pat = re.compile(rf"{re.escape(out.stem)}\.shard-(\d+)-of-(\d+){re.escape(out.suffix)}")
    found = [(m, p) for p in out.parent.iterdir() if (m := pat.fullmatch(p.name))]
    return [p for m, p in sorted(found, key=lambda mp: (int(mp[0].group(2)), int(mp[0].group(1))))]
