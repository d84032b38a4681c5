"""RecordIO files as bytes (MXNet's ``.rec`` + ``.idx``), in pure Python: no Dataset, no labels.

Below :mod:`pigskin.samples`, which reads ``x.rec#key`` images through :func:`read_image_bytes`, and
below the RecordIO format (:mod:`pigskin.formats.recordio`), which adds detection labels and files.

1. Framing (dmlc-core ``recordio.cc``): ``[magic u32][lrec u32][payload][zero pad to 4]``, little-endian,
   ``lrec = cflag << 29 | length``. A payload holding the magic at a 4-aligned offset is split there into
   parts (cflag 1 start, 2 middle, 3 end) and the reader puts the magic back. :func:`encode_record`,
   :func:`read_record_at`, :class:`RecordWriter`, :class:`RecordReader`; ``.idx`` lines are
   ``key<TAB>offset`` with the offset of the record's first magic.
2. Image records (``mxnet.recordio.pack``): a 24-byte ``IRHeader`` (``struct "IfQQ"``: flag, label, id,
   id2); a vector label goes in as ``flag = len``, ``label = 0`` and ``flag`` float32s before the image.
"""

from __future__ import annotations

import itertools
import numbers
import os
import struct
import threading
from collections import OrderedDict
from collections.abc import Iterator
from pathlib import Path
from typing import IO, NamedTuple

import numpy as np

from pigskin.errors import FormatError

MAGIC = 0xCED7230A
MAGIC_BYTES = struct.pack("<I", MAGIC)
MAX_RECORD = (1 << 29) - 1  # 29 length bits
_LREC = struct.Struct("<II")
_MAX_HINT = 1 << 20  # read a whole record at once when the index says it is at most this long
IR_FORMAT = "<IfQQ"  # MXNet packs native "IfQQ": no padding between fields, 24 bytes, little-endian on x86
IR_SIZE = struct.calcsize(IR_FORMAT)
_FLAG = struct.Struct("<I")


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
