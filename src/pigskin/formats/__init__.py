"""Dataset formats: each module is a thin reader/writer between files and :class:`Dataset`.

Every format module provides:

- ``sniff(path: Path) -> bool``: does this path look like this format?
- ``read(path, *, strict=False, image_root=None, **opts) -> Dataset``
- ``write(dataset, path, **opts) -> None``: atomic (temporary name, then rename).

Readers record what they repaired (clipped boxes, dropped zero-area boxes) in
``dataset.meta["problems"]``; with ``strict=True`` the same things raise :class:`FormatError`.
"""

from __future__ import annotations

import importlib
import os
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from pigskin.errors import FormatError
from pigskin.samples import Dataset

FORMATS = ("groundtruth", "coco", "yolo", "voc", "recordio")


def module(name: str) -> ModuleType:
    if name not in FORMATS:
        raise ValueError(f"unknown format {name!r}; expected one of {', '.join(FORMATS)}")
    return importlib.import_module(f"pigskin.formats.{name}")


def detect(path: str | os.PathLike[str]) -> str:
    """Name the format of ``path`` (a file or a folder) or raise a FormatError saying why not."""
    p = Path(path)
    if not p.exists():
        raise FormatError(p, None, "no such file or folder")
    for name in FORMATS:
        if module(name).sniff(p):
            return name
    raise FormatError(p, None, f"cannot tell the format; pass one of {', '.join(FORMATS)} explicitly")


def load(
    path: str | os.PathLike[str],
    format: str | None = None,
    *,
    strict: bool = False,
    image_root: str | os.PathLike[str] | None = None,
    **opts: Any,
) -> Dataset:
    """Read any supported dataset; ``format`` is detected when not given."""
    name = format or detect(path)
    ds = module(name).read(Path(path), strict=strict, image_root=image_root, **opts)
    ds.meta.setdefault("format", name)
    return ds


def save(dataset: Dataset, path: str | os.PathLike[str], format: str, **opts: Any) -> None:
    """Write ``dataset`` in ``format``; nothing is left behind if it fails part-way."""
    module(format).write(dataset, Path(path), **opts)


def check_box(
    xyxy: np.ndarray,
    width: int,
    height: int,
    *,
    path: str | os.PathLike[str],
    where: str,
    strict: bool,
    problems: list[str],
) -> np.ndarray | None:
    """Validate one pixel box against its image: clip what sticks out, drop what has no area.

    Returns the (possibly clipped) box, or ``None`` when it must be dropped. With ``strict`` both
    repairs become a FormatError naming ``path`` and ``where``.
    """
    box = np.asarray(xyxy, np.float64).reshape(4)
    if not np.isfinite(box).all():
        raise FormatError(path, where, f"box is not finite: {box.tolist()}")
    if box[2] <= box[0] or box[3] <= box[1]:
        msg = f"zero-area or inverted box {box.tolist()} (expected x1 < x2 and y1 < y2)"
        if strict:
            raise FormatError(path, where, msg)
        problems.append(f"{path}: {where}: {msg}; dropped")
        return None
    eps = 1e-3
    if box[0] < -eps or box[1] < -eps or box[2] > width + eps or box[3] > height + eps:
        msg = f"box {[round(v, 2) for v in box.tolist()]} outside the {width}x{height} image"
        if strict:
            raise FormatError(path, where, msg)
        box = np.array(
            [min(max(box[0], 0), width), min(max(box[1], 0), height),
             min(max(box[2], 0), width), min(max(box[3], 0), height)]
        )
        if box[2] <= box[0] or box[3] <= box[1]:
            problems.append(f"{path}: {where}: {msg}; entirely outside, dropped")
            return None
        problems.append(f"{path}: {where}: {msg}; clipped")
    return box
