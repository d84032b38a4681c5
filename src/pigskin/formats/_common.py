"""Small helpers every format module shares: image files out, image sizes in, class-id maps.

Kept private (``_common``) so that the format list stays ``groundtruth, coco, yolo, voc, recordio``.
"""

from __future__ import annotations

import io
import os
import re
import shutil
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from pigskin.detections import Detections
from pigskin.errors import FormatError
from pigskin.samples import Dataset, Sample

IMAGE_SUFFIXES = (".bmp", ".jpeg", ".jpg", ".png", ".tif", ".tiff", ".webp", ".mpo", ".dng", ".pfm")
IMAGE_MODES = ("link", "copy", "symlink")
_PIL_SUFFIX = {"JPEG": ".jpg", "PNG": ".png", "BMP": ".bmp", "TIFF": ".tif", "WEBP": ".webp", "MPO": ".jpg"}


def image_size(source: str | os.PathLike[str] | bytes) -> tuple[int, int]:
    """``(width, height)`` from the image header only: PIL opens lazily and decodes nothing."""
    with Image.open(io.BytesIO(source) if isinstance(source, bytes) else source) as im:
        return int(im.width), int(im.height)


def num(value: float) -> int | float:
    """A JSON number that reads back to the same float: integral values as ints (``12``, not ``12.0``)."""
    value = float(value)
    return int(value) if value.is_integer() else value


def class_ids(dataset: Dataset, start: int) -> list[int]:
    """External class ids (COCO category ids, Ground Truth class-map keys) for ``dataset.classes``.

    Readers keep the ids they found in ``meta["class_ids"]`` so that sparse ids ({0: dog, 5: bone})
    survive a round trip; without a valid one the ids are ``start, start + 1, ...``.
    """
    ids = dataset.meta.get("class_ids")
    n = len(dataset.classes)
    if (
        isinstance(ids, (list, tuple))
        and len(ids) == n
        and all(isinstance(i, int) and i >= 0 for i in ids)
        and len(set(ids)) == n
    ):
        return [int(i) for i in ids]
    return list(range(start, start + n))


def dense_classes(
    pairs: list[tuple[int, str]], *, path: Path, where: str
) -> tuple[list[str], list[int], dict[int, int]]:
    """Class names and ids as found in a file -> (classes, class_ids, external id -> index)."""
    classes: list[str] = []
    ids: list[int] = []
    index: dict[int, int] = {}
    for cid, name in pairs:
        if cid in index:
            if classes[index[cid]] != name:
                raise FormatError(path, where, f"class id {cid} is both {classes[index[cid]]!r} and {name!r}")
            continue
        index[cid] = len(classes)
        classes.append(name)
        ids.append(cid)
    return classes, ids, index


def rebase(dataset: Dataset, sample: Sample, new_root: Path) -> str:
    """The sample's image reference as seen from ``new_root`` (URIs and absolute paths unchanged)."""
    ref = sample.image
    if ref.startswith("s3://"):
        return ref
    path, sep, key = ref.partition(".rec#")
    path = path + ".rec" if sep else path
    p = Path(path)
    if not p.is_absolute() and dataset.root is not None:
        p = Path(dataset.root) / p
    out = Path(os.path.relpath(os.path.abspath(p), os.path.abspath(new_root))).as_posix()
    return f"{out}#{key}" if sep else out


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "image"


def export_image(dataset: Dataset, sample: Sample, folder: Path, taken: set[str], mode: str = "link") -> str:
    """Put the sample's image into ``folder`` under a name with a unique stem and return the name.

    ``mode``: ``link`` (hard link, copying when linking is impossible), ``copy`` or ``symlink``.
    Images stored inside a RecordIO file (``data.rec#12``) have no file of their own: their bytes
    are written out.
    """
    if mode not in IMAGE_MODES:
        raise ValueError(f"image mode must be one of {IMAGE_MODES}, got {mode!r}")
    data: bytes | None = None
    if ".rec#" in sample.image:
        data = dataset.image_bytes(sample)
        rec, key = sample.image.rsplit("#", 1)
        with Image.open(io.BytesIO(data)) as im:
            suffix = _PIL_SUFFIX.get(im.format or "", ".img")
        stem = f"{Path(rec).stem}_{key.zfill(6) if key.isdigit() else _safe(key)}"  # sorts in record order
        src = None
    else:
        try:
            src = dataset.image_path(sample)
        except FileNotFoundError as exc:
            raise FormatError(sample.image, None, str(exc)) from None
        if not src.is_file():
            raise FormatError(src, None, "image file not found (needed to copy it into the output)")
        stem, suffix = _safe(Path(sample.image).stem), Path(sample.image).suffix.lower()
    unique, k = stem, 1
    while unique.lower() in taken:  # stems, not names: a.jpg and a.png would share labels/a.txt
        unique, k = f"{stem}_{k}", k + 1
    taken.add(unique.lower())
    name = f"{unique}{suffix}"
    dest = folder / name
    folder.mkdir(parents=True, exist_ok=True)
    if data is not None:
        dest.write_bytes(data)
    elif mode == "symlink":
        dest.symlink_to(os.path.abspath(src))
    elif mode == "link":
        try:
            os.link(src, dest)
        except OSError:  # another filesystem, or a file we may not link (protected_hardlinks)
            shutil.copyfile(src, dest)
    else:
        shutil.copyfile(src, dest)
    return name


def json_default(obj: object) -> object:
    """``json.dumps(default=...)`` for numpy scalars and arrays that end up in attrs."""
    if hasattr(obj, "tolist"):
        return obj.tolist()
    raise TypeError(f"{type(obj).__name__} is not JSON serialisable")


def put_text(path: Path, text: str) -> None:
    """Write a file inside a folder that :func:`pigskin.fileio.atomic_dir` publishes as a whole.

    The folder appears only complete, so the per-file temporary name + fsync of ``write_text``
    would only cost time (about 10 ms a file: minutes for a 10k-image YOLO set).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def attr_columns(rows: list[dict[str, Any]]) -> dict[str, np.ndarray]:
    """Per-box attribute columns from per-box dicts; list or dict values stay one object per box
    (``np.asarray`` would turn ``[[1, 2], [3]]`` into an error or a 2-D array)."""
    out = {}
    for key, values in Detections.from_attr_rows(rows).items():
        col = np.empty(len(values), object)
        for i, v in enumerate(values):
            col[i] = v
        nested = any(isinstance(v, (list, tuple, dict)) for v in values)
        out[key] = col if nested else np.asarray(values)
    return out
