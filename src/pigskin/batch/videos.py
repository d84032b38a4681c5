"""Which videos a batch tracks, and the output folder each one gets.

Three ways in: paths on the command line, a list file (one path a line), or a JSON-lines manifest
(``{"source-ref": PATH}`` as in a Ground Truth manifest, or ``{"video": PATH}``; an optional
``"name"`` sets the output folder). Relative paths in a file are relative to that file. Every video
writes ``DIR/<name>/``, ``name`` = the file's stem unless the manifest says otherwise, so two videos
with the same stem are refused up front: they would overwrite each other's outputs.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from pigskin.errors import FormatError, PigskinError

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


@dataclass(frozen=True)
class Video:
    path: Path  # absolute: workers on other machines and other working folders see the same file
    name: str  # output folder under DIR


def read_list(path: str | os.PathLike[str]) -> list[Video]:
    """One video path a line; blank lines and ``#`` comments are skipped."""
    path = Path(path)
    lines = path.read_text(encoding="utf-8").splitlines()  # FileNotFoundError names the file
    entries = [line.strip() for line in lines]
    return [_video(path.parent / e) for e in entries if e and not e.startswith("#")]


def read_manifest(path: str | os.PathLike[str]) -> list[Video]:
    """JSON lines with ``source-ref`` or ``video`` (a path) and optionally ``name``."""
    from pigskin.fileio import read_json_lines

    path = Path(path)
    out = []
    for lineno, obj in read_json_lines(path):
        ref = obj.get("source-ref", obj.get("video"))
        if not isinstance(ref, str) or not ref:
            raise FormatError(path, f"line {lineno}", 'expected a "source-ref" or "video" path')
        if "://" in ref:
            raise FormatError(path, f"line {lineno}", f"{ref}: only local or shared-file-system paths "
                                                      "are read (copy the video to a mounted folder)")
        name = obj.get("name")
        if name is not None and (not isinstance(name, str) or not _NAME.match(name)):
            raise FormatError(path, f"line {lineno}", f"name {name!r} is not a plain folder name")
        out.append(_video(path.parent / ref, name))
    return out


def from_paths(paths: list[str | os.PathLike[str]]) -> list[Video]:
    return [_video(Path(p)) for p in paths]


def _video(path: Path, name: str | None = None) -> Video:
    path = path.expanduser().absolute()
    return Video(path, name or path.stem)


def check_names(videos: list[Video]) -> list[Video]:
    """``videos`` without repeats of one file; two files that want one output folder are an error."""
    by_name: dict[str, Video] = {}
    for v in videos:
        seen = by_name.setdefault(v.name, v)
        if seen.path != v.path:
            raise PigskinError(f"{seen.path} and {v.path} both write {v.name}/: rename one, or give each a "
                               '"name" in a --manifest')
    if not by_name:
        raise PigskinError("no videos: pass VIDEOS, --list FILE or --manifest FILE")
    return list(by_name.values())
