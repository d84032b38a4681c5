"""MXNet RecordIO (``.rec`` + ``.idx`` + ``.lst``) for detection, in pure Python.

Byte-compatible with ``im2rec.py --pack-label --pass-through`` and GluonCV's ``RecordFileDetection``
(MXNet itself is retired, so nothing here imports it). Three layers, each usable on its own:

1. Framing and 2. image records: :mod:`pigskin.recordio` (bytes only; re-exported here, where the
   docs have always pointed: ``recordio.RecordWriter``, ``recordio.pack_image_record``, ...).
3. Detection labels (GluonCV layout): :mod:`pigskin.formats.recordio_labels`.

This module is the format itself: ``sniff``, ``read`` and ``write`` of the files. RecordIO has no
class names and no per-image metadata, so pigskin keeps them in a sidecar ``<stem>.pigskin.json``
that other tools simply ignore.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from pigskin.detections import Detections
from pigskin.errors import FormatError, PigskinError
from pigskin.fileio import atomic_write
from pigskin.formats._common import image_size, rebase
from pigskin.formats.recordio_labels import (
    HEADER_WIDTH,
    KNOWN_EXTRA,
    Column,
    detection_label,
    extra_columns,
    integral,
    parse_detection_label,
)
from pigskin.recordio import (  # noqa: F401 - the low-level pieces, re-exported (docs/recordio.md)
    IRHeader,
    RecordReader,
    RecordWriter,
    cached_reader,
    encode_record,
    iter_records,
    pack_image_record,
    read_image_bytes,
    read_index,
    read_record_at,
    unpack_image_record,
)
from pigskin.samples import Dataset, Sample

SIDECAR_SUFFIX = ".pigskin.json"


def _image_size(image: bytes | Path, path: str | os.PathLike[str], where: str) -> tuple[int, int]:
    try:
        return image_size(image)
    except (OSError, ValueError) as e:
        raise FormatError(path, where, f"label has no image size and the image is unreadable: {e}") from None


# -- files: paths, sidecar -----------------------------------------------------------------------------
def rec_path_for(path: str | os.PathLike[str]) -> Path:
    """The ``.rec`` a user means by ``path`` (``x.rec``, ``x.idx``, ``x.lst``, a folder, or a bare stem)."""
    p = Path(path)
    if p.suffix in (".rec", ".idx", ".lst"):
        return p.with_suffix(".rec")
    if p.is_dir():
        return p / f"{p.name}.rec"
    return p.with_name(p.name + ".rec")


def _sidecar(rec: Path) -> Path:
    return rec.with_name(rec.stem + SIDECAR_SUFFIX)


def sniff(path: Path) -> bool:
    path = Path(path)
    if not path.is_file():
        return False
    if path.suffix in (".rec", ".idx"):
        return path.with_suffix(".idx" if path.suffix == ".rec" else ".rec").is_file()
    if path.suffix == ".lst":
        with contextlib.suppress(OSError, UnicodeDecodeError, ValueError):
            with open(path, encoding="utf-8") as fh:
                line = next((ln for ln in fh if ln.strip()), "")
            fields = line.strip().split("\t")
            if len(fields) >= 4:
                int(fields[0])
                a, b = float(fields[1]), float(fields[2])
                return integral(a) and a >= 2 and integral(b) and b >= 5
    return False


# -- write ---------------------------------------------------------------------------------------------
def _lst_number(v: float) -> str:
    """Shortest text that parses back to the same float32 (im2rec's ``%f`` would lose precision)."""
    return np.format_float_positional(np.float32(v), trim="-")


def _lst_image_name(dataset: Dataset, sample: Sample, lst_dir: Path) -> str:
    """Image path relative to the list's folder, as im2rec expects (``root/<name>``)."""
    name = rebase(dataset, sample, lst_dir)
    if any(c in name for c in "\t\r\n"):
        raise PigskinError(
            f"{sample.image}: image name contains a tab or newline; the .lst file cannot hold it"
        )
    return name


def _sample_meta(sample: Sample) -> dict[str, Any]:
    meta: dict[str, Any] = {}
    if sample.video_id is not None:
        meta["video_id"] = sample.video_id
    if sample.frame_index is not None:
        meta["frame_index"] = sample.frame_index
    if sample.attrs:
        meta["attrs"] = sample.attrs
    return meta


def write(
    dataset: Dataset, path: Path, *, pad_empty: bool = True, normalized: bool = True, **opts: Any
) -> None:
    """Write ``<stem>.rec``, ``.idx``, ``.lst`` and ``.pigskin.json``; images are stored as-is (pass-through).

    ``pad_empty`` writes one all ``-1`` padding object for a frame without boxes, because GluonCV's
    ``RecordFileDetection`` rejects a label with no object at all; pigskin's reader skips such rows.
    """
    if opts:
        raise TypeError(f"recordio.write: unknown options {sorted(opts)}")
    rec = rec_path_for(path)
    columns = extra_columns(dataset)
    sample_meta: dict[str, Any] = {}
    with contextlib.ExitStack() as stack:
        # idx is entered first so it is renamed last: a crash in between leaves a stale index,
        # which the magic check at each offset catches
        fidx = stack.enter_context(atomic_write(rec.with_suffix(".idx"), "w", encoding="utf-8", newline="\n"))
        flst = stack.enter_context(atomic_write(rec.with_suffix(".lst"), "w", encoding="utf-8", newline="\n"))
        fside = stack.enter_context(atomic_write(_sidecar(rec), "w", encoding="utf-8"))
        frec = stack.enter_context(atomic_write(rec, "wb"))
        writer = RecordWriter(frec, fidx)
        for key, sample in enumerate(dataset):
            label = detection_label(sample, columns, pad_empty=pad_empty, normalized=normalized)
            try:
                image = dataset.image_bytes(sample)
            except OSError as e:
                raise PigskinError(f"{sample.image}: cannot read the image to pack it: {e}") from None
            writer.write(key, pack_image_record(label, image, id=key))
            flst.write(
                "\t".join([str(key), *map(_lst_number, label), _lst_image_name(dataset, sample, rec.parent)])
                + "\n"
            )
            if meta := _sample_meta(sample):
                sample_meta[str(key)] = meta
        side = {
            "pigskin_recordio": 1,
            "classes": list(dataset.classes),
            "header_width": HEADER_WIDTH,
            "normalized": normalized,
            "columns": [{"name": c.name, "type": c.kind} for c in columns],
            "samples": sample_meta,
        }
        try:
            fside.write(json.dumps(side, indent=1) + "\n")
        except TypeError as e:
            raise PigskinError(f"{_sidecar(rec)}: sample attributes are not JSON-serialisable: {e}") from None


# -- read ----------------------------------------------------------------------------------------------
def _load_sidecar(rec: Path) -> dict[str, Any]:
    side = _sidecar(rec)
    if not side.is_file():
        return {}
    try:
        data = json.loads(side.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise FormatError(side, f"line {e.lineno}", f"invalid JSON: {e.msg}") from None
    if not isinstance(data, dict):
        raise FormatError(side, None, "expected a JSON object")
    return data


def _sidecar_columns(side: dict[str, Any], rec: Path) -> list[Column] | None:
    if "columns" not in side:
        return None
    try:
        return [Column(str(c["name"]), str(c.get("type", "float"))) for c in side["columns"]]
    except (TypeError, KeyError) as e:
        raise FormatError(_sidecar(rec), "columns", f"expected a list of {{name, type}}: {e}") from None


def _class_names(
    ids: set[int], given: list[str] | None, path: Path, strict: bool, problems: list[str]
) -> list[str]:
    names = list(given or [])
    top = max(ids, default=-1) + 1
    if given is not None and top > len(names):
        msg = f"class id {top - 1} but only {len(names)} class names"
        if strict:
            raise FormatError(path, "classes", msg)
        problems.append(f"{path}: {msg}; named the rest class_<i>")
    return names + [f"class_{i}" for i in range(len(names), top)]


def _sample(ref: str, key: str, width: int, height: int, det: Detections, side: dict[str, Any]) -> Sample:
    """A Sample with the video/frame/attrs pigskin kept for ``key`` in the sidecar (if any)."""
    meta = side.get("samples", {}).get(key, {})
    return Sample(
        ref,
        width,
        height,
        det,
        video_id=meta.get("video_id"),
        frame_index=meta.get("frame_index"),
        attrs=dict(meta.get("attrs", {})),
    )


def _finish(
    samples: list[Sample],
    side: dict[str, Any],
    classes: list[str] | None,
    anchor: Path,
    root: Path,
    strict: bool,
    problems: list[str],
    extra_meta: dict[str, Any],
) -> Dataset:
    ids = {int(c) for s in samples for c in s.detections.class_id}
    given = classes if classes is not None else side.get("classes")
    names = _class_names(ids, given, anchor, strict, problems)
    return Dataset(names, samples, root=root, meta={"format": "recordio", "problems": problems, **extra_meta})


def read(
    path: Path,
    *,
    strict: bool = False,
    image_root: str | os.PathLike[str] | None = None,
    classes: list[str] | None = None,
    normalized: bool | None = None,
    **opts: Any,
) -> Dataset:
    """Read a ``.rec`` (with its ``.idx``) or an im2rec ``.lst`` (images on disk) as a Dataset.

    Samples from a ``.rec`` reference their image as ``"<abs .rec path>#<key>"``.
    """
    if opts:
        raise TypeError(f"recordio.read: unknown options {sorted(opts)}")
    path = Path(path)
    if path.suffix == ".lst":
        return _read_lst(path, strict=strict, image_root=image_root, classes=classes, normalized=normalized)
    rec = path.with_suffix(".rec").resolve()
    side = _load_sidecar(rec)
    columns = _sidecar_columns(side, rec)
    norm = side.get("normalized", True) if normalized is None else normalized
    problems: list[str] = []
    samples, widths = [], set()
    with RecordReader(rec) as reader:
        for key, payload in reader:
            where = f"key {key}"
            header, image = unpack_image_record(payload, path=rec, where=where)
            if header.flag == 0:
                raise FormatError(
                    rec,
                    where,
                    f"scalar label {header.label:g}: not a detection record (pack with im2rec --pack-label)",
                )
            w, h, det = parse_detection_label(
                header.label,
                path=rec,
                where=where,
                columns=columns,
                strict=strict,
                problems=problems,
                size_from_image=lambda image=image, where=where: _image_size(image, rec, where),
                normalized=norm,
            )
            widths.add((int(header.label[0]), int(header.label[1])))
            samples.append(_sample(f"{rec}#{key}", key, w, h, det, side))
    _note_unnamed(widths, columns, rec, problems)
    return _finish(
        samples,
        side,
        classes,
        rec,
        rec.parent,
        strict,
        problems,
        {"recordio": {"layouts": [list(w) for w in sorted(widths)]}},
    )


def _note_unnamed(
    widths: set[tuple[int, int]], columns: list[Column] | None, path: Path, problems: list[str]
) -> None:
    unnamed = sorted({b for _, b in widths if columns is None and b > 5 and b not in KNOWN_EXTRA})
    if unnamed:
        problems.append(
            f"{path}: objects have {unnamed} values; columns after the 5th have no names and were ignored"
        )


def _read_lst(
    path: Path,
    *,
    strict: bool,
    image_root: str | os.PathLike[str] | None,
    classes: list[str] | None,
    normalized: bool | None,
) -> Dataset:
    """im2rec list ``index<TAB>label...<TAB>relative/path``; images under ``image_root`` or beside it."""
    root = Path(image_root) if image_root is not None else path.parent
    rec = path.with_suffix(".rec")
    side = _load_sidecar(rec)
    columns = _sidecar_columns(side, rec)
    norm = side.get("normalized", True) if normalized is None else normalized
    problems: list[str] = []
    samples, widths = [], set()
    with open(path, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            where = f"line {lineno}"
            fields = [f.strip() for f in line.rstrip("\r\n").split("\t")]
            if len(fields) < 3:
                raise FormatError(path, where, "expected 'index<TAB>label...<TAB>image path'")
            try:
                int(fields[0])
                label = np.array([float(v) for v in fields[1:-1]], np.float32)
            except ValueError as e:
                raise FormatError(path, where, f"index must be an integer and labels numbers: {e}") from None
            image = fields[-1]
            w, h, det = parse_detection_label(
                label,
                path=path,
                where=where,
                columns=columns,
                strict=strict,
                problems=problems,
                size_from_image=lambda image=image, where=where: _image_size(root / image, path, where),
                normalized=norm,
            )
            widths.add((int(label[0]), int(label[1])))
            samples.append(_sample(image, fields[0], w, h, det, side))
    _note_unnamed(widths, columns, path, problems)
    return _finish(
        samples,
        side,
        classes,
        path,
        root,
        strict,
        problems,
        {"recordio": {"layouts": [list(w) for w in sorted(widths)]}},
    )
