"""MXNet RecordIO (``.rec`` + ``.idx`` + ``.lst``) for detection, in pure Python.

Byte-compatible with ``im2rec.py --pack-label --pass-through`` and GluonCV's ``RecordFileDetection``
(MXNet itself is retired, so nothing here imports it). Three layers, each usable on its own:

1. Framing (dmlc-core ``recordio.cc``): ``[magic u32][lrec u32][payload][zero pad to 4]``, little-endian,
   ``lrec = cflag << 29 | length``. A payload holding the magic at a 4-aligned offset is split there into
   parts (cflag 1 start, 2 middle, 3 end) and the reader puts the magic back. :func:`encode_record`,
   :func:`read_record_at`, :class:`RecordWriter`, :class:`RecordReader`; ``.idx`` lines are
   ``key<TAB>offset`` with the offset of the record's first magic.
2. Image records (``mxnet.recordio.pack``): a 24-byte ``IRHeader`` (``struct "IfQQ"``: flag, label, id,
   id2); a vector label goes in as ``flag = len``, ``label = 0`` and ``flag`` float32s before the image.
3. Detection labels (GluonCV layout): ``[A, B, W, H, obj0..., objN]``, header width ``A`` (4 here), object
   width ``B`` (5 plus extra columns), objects ``[cls, xmin, ymin, xmax, ymax, extras...]`` normalised to
   [0, 1]. Rows with ``cls < 0`` are padding (GluonCV pads with -1) and are skipped.

RecordIO has no class names and no per-image metadata, so pigskin keeps them in a sidecar
``<stem>.pigskin.json`` that other tools simply ignore.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import logging
import math
import numbers
import os
import struct
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, NamedTuple

import numpy as np

from pigskin.detections import Detections
from pigskin.errors import FormatError, PigskinError
from pigskin.fileio import atomic_write
from pigskin.formats import check_box
from pigskin.formats._common import image_size, rebase
from pigskin.samples import Dataset, Sample

log = logging.getLogger(__name__)

MAGIC = 0xCED7230A
MAGIC_BYTES = struct.pack("<I", MAGIC)
MAX_RECORD = (1 << 29) - 1  # 29 length bits
_LREC = struct.Struct("<II")
_MAX_HINT = 1 << 20  # read a whole record at once when the index says it is at most this long
IR_FORMAT = "<IfQQ"  # MXNet packs native "IfQQ": no padding between fields, 24 bytes, little-endian on x86
IR_SIZE = struct.calcsize(IR_FORMAT)
_FLAG = struct.Struct("<I")
HEADER_WIDTH = 4  # A, B, W, H (GluonCV tutorial layout)
SIDECAR_SUFFIX = ".pigskin.json"
_PAD_CLASS = -1.0


# -- 1. framing ---------------------------------------------------------------------------------------
def _upper_align(n: int) -> int:
    return (n + 3) & ~3


def _aligned_magic_offsets(payload: bytes) -> Iterator[int]:
    """Offsets where the magic sits on a 4-byte boundary (the only places dmlc-core splits)."""
    i = payload.find(MAGIC_BYTES)
    while i != -1:
        if i % 4 == 0:
            yield i
            i = payload.find(MAGIC_BYTES, i + 4)
        else:
            i = payload.find(MAGIC_BYTES, i + 1)


def encode_record(payload: bytes) -> bytes:
    """The exact bytes ``dmlc::RecordIOWriter::WriteRecord`` writes for ``payload``."""
    n = len(payload)
    if n > MAX_RECORD:
        raise ValueError(f"RecordIO records must be shorter than 2**29 bytes, got {n}")
    out: list[bytes] = []
    start = 0
    for i in _aligned_magic_offsets(payload):
        out += [
            MAGIC_BYTES,
            struct.pack("<I", (1 if start == 0 else 2) << 29 | (i - start)),
            payload[start:i],
        ]
        start = i + 4
    out += [MAGIC_BYTES, struct.pack("<I", (3 if start else 0) << 29 | (n - start)), payload[start:]]
    out.append(b"\0" * (_upper_align(n) - n))
    return b"".join(out)


_pread_lock = threading.Lock()


def _pread(f: IO[bytes], n: int, offset: int) -> bytes:
    """Read ``n`` bytes at ``offset`` without moving a shared file position (thread- and fork-safe)."""
    if hasattr(os, "pread"):
        data = os.pread(f.fileno(), n, offset)
        while 0 < len(data) < n:  # short reads only happen at EOF on regular files; loop to be sure
            more = os.pread(f.fileno(), n - len(data), offset + len(data))
            if not more:
                break
            data += more
        return data
    with _pread_lock:  # pragma: no cover - Windows has no pread
        f.seek(offset)
        return f.read(n)


def read_record_at(
    f: IO[bytes], offset: int, *, path: str | os.PathLike[str], where: str, size_hint: int = 0
) -> tuple[bytes, int]:
    """Read the record starting at ``offset``; returns its payload and the offset just after it.

    Only the record's own bytes are read. ``size_hint`` (the distance to the next record, known from
    the index) lets a single read fetch the whole record. ``path`` and ``where`` (e.g. ``"key 7"``)
    go into errors.
    """
    buf = memoryview(_pread(f, max(size_hint, 8), offset))
    if not buf:
        size = os.fstat(f.fileno()).st_size
        raise FormatError(path, where, f"offset {offset} is past the end of the file ({size} bytes)")
    parts: list[memoryview] = []
    pos = offset
    while True:
        i = pos - offset
        head = buf[i : i + 8] if i + 8 <= len(buf) else _pread(f, 8, pos)
        if len(head) < 8:
            raise FormatError(path, where, f"truncated: record header at offset {pos} runs past the end")
        magic, lrec = _LREC.unpack(head)
        if magic != MAGIC:
            raise FormatError(
                path,
                where,
                f"bad magic 0x{magic:08x} at offset {pos} (expected 0x{MAGIC:08x}); "
                "the index does not point at a record or the file is corrupt",
            )
        cflag, length = lrec >> 29, lrec & MAX_RECORD
        if cflag not in ((0, 1) if not parts else (2, 3)):
            expected = "0 or 1 (record start)" if not parts else "2 or 3 (continuation)"
            raise FormatError(path, where, f"continuation flag {cflag} at offset {pos}, expected {expected}")
        padded = _upper_align(length)
        j = i + 8
        data = buf[j : j + padded] if j + padded <= len(buf) else memoryview(_pread(f, padded, pos + 8))
        if len(data) < padded:
            size = os.fstat(f.fileno()).st_size
            raise FormatError(
                path,
                where,
                f"truncated: record part at offset {pos} needs {padded} bytes but the file ends at {size}",
            )
        parts.append(data[:length])
        pos += 8 + padded
        if cflag in (0, 3):
            return (parts[0].tobytes() if len(parts) == 1 else MAGIC_BYTES.join(parts)), pos


def iter_records(f: IO[bytes], *, path: str | os.PathLike[str] = "<stream>") -> Iterator[tuple[int, bytes]]:
    """Scan a whole ``.rec`` from the start: ``(offset, payload)`` per record (no index needed)."""
    size = os.fstat(f.fileno()).st_size
    pos = 0
    while pos < size:
        payload, nxt = read_record_at(f, pos, path=path, where=f"record at offset {pos}")
        yield pos, payload
        pos = nxt


class RecordWriter:
    """Appends framed records to an open binary file and their ``key<TAB>offset`` lines to an index."""

    def __init__(self, rec: IO[bytes], idx: IO[str] | None = None, start: int = 0) -> None:
        self.rec, self.idx, self.pos = rec, idx, start

    def write(self, key: str | int, payload: bytes) -> int:
        """Write one record; returns its offset (what the ``.idx`` line records)."""
        key = str(key)
        if not key or any(c in key for c in "\t\r\n"):
            raise ValueError(f"RecordIO key {key!r} must be non-empty without tabs or newlines")
        frame = encode_record(payload)
        offset = self.pos
        self.rec.write(frame)
        self.pos += len(frame)
        if self.idx is not None:
            self.idx.write(f"{key}\t{offset}\n")
        return offset


def read_index(idx_path: str | os.PathLike[str]) -> dict[str, int]:
    """Parse an ``.idx`` file (``key<TAB>offset`` per line) into an ordered ``{key: offset}``."""
    index: dict[str, int] = {}
    with open(idx_path, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            fields = line.strip().split("\t")
            if len(fields) != 2:
                raise FormatError(
                    idx_path, f"line {lineno}", f"expected 'key<TAB>offset', got {line.rstrip()!r}"
                )
            key, off = fields
            try:
                offset = int(off)
            except ValueError:
                offset = -1
            if offset < 0:
                raise FormatError(
                    idx_path, f"line {lineno}", f"key {key}: offset {off!r} is not an integer >= 0"
                )
            if key in index:
                raise FormatError(idx_path, f"line {lineno}", f"key {key} appears twice")
            index[key] = offset
    return index


class MissingRecord(FormatError, KeyError):
    """A key the index does not list: a KeyError too, as a missing image file is a FileNotFoundError."""

    __str__ = Exception.__str__  # KeyError would print the message quoted


class RecordReader:
    """Random access to a ``.rec`` through its ``.idx``: a read seeks to one offset, never scans."""

    def __init__(
        self, rec_path: str | os.PathLike[str], idx_path: str | os.PathLike[str] | None = None
    ) -> None:
        self.path = Path(rec_path)
        self.idx_path = Path(idx_path) if idx_path is not None else self.path.with_suffix(".idx")
        if not self.idx_path.is_file():
            raise FormatError(self.path, None, f"no index file {self.idx_path.name} beside it")
        self.index = read_index(self.idx_path)
        self._f = open(self.path, "rb", buffering=0)  # noqa: SIM115 - kept open for the reader's life
        st = os.fstat(self._f.fileno())
        self.stamp = _stamp(st)
        for lineno, (key, offset) in enumerate(self.index.items(), 1):
            if offset >= st.st_size:
                self.close()
                raise FormatError(
                    self.idx_path,
                    f"key {key}",
                    f"offset {offset} is past the end of {self.path.name} "
                    f"({st.st_size} bytes; entry {lineno})",
                )
        # a record ends where the next one starts: one read per record instead of header + body
        # (not for huge gaps, e.g. an index listing a subset: those read header, then body)
        starts = sorted(set(self.index.values()))
        ends = dict(itertools.pairwise([*starts, st.st_size]))
        self._spans = {k: (off, _hint(ends[off] - off)) for k, off in self.index.items()}

    def keys(self) -> list[str]:
        return list(self.index)

    def __len__(self) -> int:
        return len(self.index)

    def read(self, key: str | int) -> bytes:
        """Payload of the record stored under ``key``."""
        span = self._spans.get(key if isinstance(key, str) else str(key))
        if span is None:
            raise MissingRecord(self.idx_path, f"key {key}", "no such key in the index")
        return read_record_at(self._f, span[0], path=self.path, where=f"key {key}", size_hint=span[1])[0]

    def __iter__(self) -> Iterator[tuple[str, bytes]]:
        for key in self.index:
            yield key, self.read(key)

    def close(self) -> None:
        self._f.close()

    def __enter__(self) -> "RecordReader":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _hint(span: int) -> int:
    return span if span <= _MAX_HINT else 0


def _stamp(st: os.stat_result) -> tuple[int, int, int, int]:
    """Identity of a file on disk: an atomic rewrite changes the inode, so a cached handle goes stale."""
    return (st.st_dev, st.st_ino, st.st_mtime_ns, st.st_size)


_CACHE_SIZE = 16
_readers: OrderedDict[str, RecordReader] = OrderedDict()
_readers_lock = threading.Lock()


def cached_reader(rec_path: str | os.PathLike[str]) -> RecordReader:
    """A per-process reader for ``rec_path`` (LRU of open files), reopened when the ``.rec`` changes.

    Keyed by the path as given and checked with one ``stat``: this sits on the per-image hot path.
    """
    path = os.fspath(rec_path)
    stamp = _stamp(os.stat(path))  # FileNotFoundError, as for a missing image file
    with _readers_lock:
        reader = _readers.get(path)
        if reader is not None and reader.stamp == stamp:
            _readers.move_to_end(path)
            return reader
        if reader is not None:
            reader.close()
            del _readers[path]
        reader = RecordReader(path)
        _readers[path] = reader
        while len(_readers) > _CACHE_SIZE:
            _readers.popitem(last=False)[1].close()
        return reader


# -- 2. image records ---------------------------------------------------------------------------------
class IRHeader(NamedTuple):
    """``mxnet.recordio.IRHeader``: ``label`` is a float, or a float32 vector when ``flag > 0``."""

    flag: int
    label: float | np.ndarray
    id: int
    id2: int


def pack_image_record(label: float | np.ndarray, image: bytes, id: int = 0, id2: int = 0) -> bytes:
    """``mxnet.recordio.pack``: header, then (for a vector label) its float32s, then the image bytes."""
    if isinstance(label, numbers.Number):
        return struct.pack(IR_FORMAT, 0, float(label), id, id2) + image
    vec = np.asarray(label, dtype="<f4").ravel()
    return struct.pack(IR_FORMAT, vec.size, 0.0, id, id2) + vec.tobytes() + image


def _image_start(payload: bytes, path: str | os.PathLike[str], where: str) -> int:
    """Offset of the image inside an image record (after the header and any label floats)."""
    if len(payload) < IR_SIZE:
        raise FormatError(
            path, where, f"record of {len(payload)} bytes is shorter than the {IR_SIZE}-byte IRHeader"
        )
    flag = _FLAG.unpack_from(payload)[0]
    if len(payload) < IR_SIZE + 4 * flag:
        raise FormatError(
            path, where, f"IRHeader says {flag} label floats but the record has only {len(payload)} bytes"
        )
    return IR_SIZE + 4 * flag


def unpack_image_record(
    payload: bytes, *, path: str | os.PathLike[str] = "<record>", where: str = ""
) -> tuple[IRHeader, bytes]:
    """``mxnet.recordio.unpack``: the header (label vector when ``flag > 0``) and the image bytes."""
    start = _image_start(payload, path, where)
    flag, label, id_, id2 = struct.unpack_from(IR_FORMAT, payload)
    if flag:
        label = np.frombuffer(payload, dtype="<f4", count=flag, offset=IR_SIZE).astype(np.float32)
    return IRHeader(flag, label, id_, id2), payload[start:]


def read_image_bytes(rec_path: str | os.PathLike[str], key: str | int) -> bytes:
    """Encoded image stored under ``key`` (what :meth:`Dataset.image_bytes` calls for ``x.rec#key``)."""
    reader = cached_reader(rec_path)
    payload = reader.read(key)
    return payload[_image_start(payload, reader.path, f"key {key}") :]


# -- 3. detection labels ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Column:
    """One extra per-object column after ``cls, xmin, ymin, xmax, ymax``; ``kind`` restores its type."""

    name: str
    kind: str  # "int" | "float" | "bool"

    def values(self, det: Detections) -> np.ndarray:
        if self.name == "confidence":
            vals = det.confidence
        elif self.name == "track_id":
            vals = det.track_id
        else:
            vals = det.attrs.get(self.name)
        if vals is None:
            return np.full(len(det), np.nan)
        return np.array([np.nan if v is None else float(v) for v in vals.tolist()], np.float64)

    def decode(self, value: float) -> Any:
        if math.isnan(value):
            return None
        return {"int": int, "bool": bool}.get(self.kind, float)(value)


_KNOWN_EXTRA = {6: [Column("difficult", "int")]}  # B=6 is GluonCV's VOC layout: [..., difficult]


def _attr_kind(values: list[Any]) -> str | None:
    """Storage kind of an attribute if every value fits a float32 column exactly-enough, else None."""
    present = [v for v in values if v is not None]
    if all(isinstance(v, (bool, np.bool_)) for v in present):
        return "bool"
    if all(isinstance(v, numbers.Integral) and not isinstance(v, bool) and abs(v) < 2**24 for v in present):
        return "int"
    if all(isinstance(v, numbers.Real) and not isinstance(v, bool) for v in present):
        return "float"
    return None


def extra_columns(dataset: Dataset) -> list[Column]:
    """Columns a dataset needs after the five standard ones: confidence, track_id, numeric attrs."""
    dets = [s.detections for s in dataset if len(s.detections)]
    cols = []
    if any(d.confidence is not None for d in dets):
        cols.append(Column("confidence", "float"))
    if any(d.track_id is not None for d in dets):
        cols.append(Column("track_id", "int"))
    names = sorted(set().union(*(set(d.attrs) for d in dets))) if dets else []
    for name in names:
        values = [v for d in dets if name in d.attrs for v in d.attrs[name].tolist()]
        kind = _attr_kind(values)
        if kind is None:
            log.warning("recordio: box attribute %r is not numeric; RecordIO cannot store it, dropped", name)
            continue
        cols.append(Column(name, kind))
    return cols


def detection_label(
    sample: Sample, columns: list[Column], *, pad_empty: bool = True, normalized: bool = True
) -> np.ndarray:
    """The float32 label vector ``[4, B, W, H, cls, x1/W, y1/H, x2/W, y2/H, extras...] * N``."""
    det, w, h = sample.detections, float(sample.width), float(sample.height)
    width = 5 + len(columns)
    rows = np.empty((len(det), width), np.float64)
    rows[:, 0] = det.class_id
    scale = np.array([w, h, w, h]) if normalized else np.ones(4)
    rows[:, 1:5] = det.xyxy.astype(np.float64) / scale
    for j, col in enumerate(columns):
        rows[:, 5 + j] = col.values(det)
    if not len(det) and pad_empty:
        rows = np.full((1, width), _PAD_CLASS)
    head = np.array([HEADER_WIDTH, width, w, h], np.float64)
    return np.concatenate([head, rows.ravel()]).astype(np.float32)


def _integral(v: float) -> bool:
    return math.isfinite(v) and v == int(v)


def parse_detection_label(
    label: np.ndarray,
    *,
    path: str | os.PathLike[str],
    where: str,
    columns: list[Column] | None,
    size_from_image: Callable[[], tuple[int, int]],
    strict: bool,
    problems: list[str],
    normalized: bool = True,
) -> tuple[int, int, Detections]:
    """Pixel boxes from a label vector ``[A, B, (W, H), objects...]``; size from the image when not in it."""
    label = np.asarray(label, np.float64).ravel()
    if label.size < 2:
        raise FormatError(path, where, f"label has {label.size} values; need at least [A, B]")
    a, b = float(label[0]), float(label[1])
    if not _integral(a) or a < 2:
        raise FormatError(path, where, f"header width A={a:g} must be an integer >= 2")
    if not _integral(b) or b < 5:
        raise FormatError(
            path, where, f"object width B={b:g} must be an integer >= 5 ([cls, x1, y1, x2, y2, ...])"
        )
    a_, b_ = int(a), int(b)
    if label.size < a_ or (label.size - a_) % b_:
        raise FormatError(
            path, where, f"label length {label.size} does not fit header {a_} + N objects x {b_} values"
        )
    if a_ == HEADER_WIDTH and all(_integral(v) and v > 0 for v in label[2:4]):
        width, height = int(label[2]), int(label[3])
    else:
        width, height = size_from_image()
    rows = label[a_:].reshape(-1, b_)
    cols = columns if columns is not None else _KNOWN_EXTRA.get(b_, [])
    if len(cols) not in (0, b_ - 5):
        raise FormatError(path, where, f"{b_ - 5} extra columns per object but {len(cols)} column names")
    keep, boxes = [], []
    scale = np.array([width, height, width, height], np.float64) if normalized else np.ones(4)
    for j, row in enumerate(rows):
        if row[0] < 0:  # -1 rows are GluonCV/MXNet padding
            continue
        if not _integral(row[0]):
            raise FormatError(path, f"{where}, object {j}", f"class id {row[0]:g} is not an integer")
        box = check_box(
            row[1:5] * scale,
            width,
            height,
            path=path,
            where=f"{where}, object {j}",
            strict=strict,
            problems=problems,
        )
        if box is not None:
            keep.append(j)
            boxes.append(box)
    rows = rows[keep]
    fields: dict[str, Any] = {"attrs": {}}
    for j, col in enumerate(cols):
        values = [col.decode(v) for v in rows[:, 5 + j]]
        if all(v is None for v in values):
            continue
        if col.name in ("confidence", "track_id"):
            if any(v is None for v in values):
                raise FormatError(path, where, f"column {col.name!r} is missing for some objects")
            fields[col.name] = values
        else:
            fields["attrs"][col.name] = values
    det = Detections(np.array(boxes, np.float32).reshape(-1, 4), rows[:, 0].astype(np.int64), **fields)
    return width, height, det


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
                return _integral(a) and a >= 2 and _integral(b) and b >= 5
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
    unnamed = sorted({b for _, b in widths if columns is None and b > 5 and b not in _KNOWN_EXTRA})
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
