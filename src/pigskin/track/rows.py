"""``tracks.csv`` and ``tracks.jsonl``: one row per frame, written as the video streams through.

Schema (the CSV header, exactly): ``frame,time_s,x1,y1,x2,y2,cx,cy,score,state``. ``state`` is
``detected``, ``predicted`` or ``lost``; coordinates are empty (CSV) / ``null`` (JSON) when lost,
and ``score`` is empty unless the frame had a matching detection. Pixels in the video's frame.
With field registration (``pigskin track --field``) three columns follow: ``field_x,field_y`` (yards
from the left goal line and from the near sideline, empty unless ``field_state`` is ``ground``) and
``field_state`` (``ground``, ``air``, ``no ball`` or ``not registered``; :mod:`pigskin.field.spot`).

:class:`RowWriter` writes to ``.<name>.partial`` files, flushing every row, and renames them to
their final names in :meth:`RowWriter.close`, which the pipeline calls on success *and* on failure:
a final-named file is always closed and made of complete rows (what was tracked before an error
is kept), and a hard kill leaves only the ``.partial`` files, whose every line but the last is whole.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pigskin.errors import FormatError
from pigskin.field.spot import FIELD_COLUMNS
from pigskin.fileio import read_json_lines, write_text
from pigskin.track.tracker import ROW_FIELDS, STATES

_INT = ("frame",)
_FLOAT = ("time_s", "x1", "y1", "x2", "y2", "cx", "cy", "score", "field_x", "field_y")
FIELD_ROW_FIELDS = ROW_FIELDS + FIELD_COLUMNS  # the header with field registration


def _csv_line(row: dict[str, Any], fields: tuple[str, ...] = ROW_FIELDS) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerow(["" if row.get(k) is None else row[k] for k in fields])
    return buf.getvalue()


def _json_line(row: dict[str, Any], fields: tuple[str, ...] = ROW_FIELDS) -> str:
    return json.dumps({k: row.get(k) for k in fields}, separators=(",", ":")) + "\n"


def partial_name(path: Path) -> Path:
    return path.with_name(f".{path.name}.partial")


class RowWriter:
    """Append rows to a CSV and a JSON-lines file at once (see the module docstring)."""

    def __init__(self, csv_path: str | os.PathLike[str], jsonl_path: str | os.PathLike[str],
                 fields: tuple[str, ...] = ROW_FIELDS) -> None:
        self.paths = (Path(csv_path), Path(jsonl_path))
        self.fields = fields
        for p in self.paths:
            p.parent.mkdir(parents=True, exist_ok=True)
        self._files = [open(partial_name(p), "w", encoding="utf-8", newline="") for p in self.paths]  # noqa: SIM115
        self._files[0].write(",".join(fields) + "\n")
        self._files[0].flush()
        self.rows = 0

    def write(self, row: dict[str, Any]) -> None:
        lines = (_csv_line(row, self.fields), _json_line(row, self.fields))
        for f, line in zip(self._files, lines, strict=True):
            f.write(line)
            f.flush()
        self.rows += 1

    def close(self) -> None:
        """Close both files and give them their final names; safe to call twice."""
        files, self._files = self._files, []
        for f, p in zip(files, self.paths, strict=False):
            f.close()
            os.replace(partial_name(p), p)

    def __enter__(self) -> "RowWriter":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def write_rows(csv_path: str | os.PathLike[str], jsonl_path: str | os.PathLike[str] | None,
               rows: Iterable[dict[str, Any]], fields: tuple[str, ...] = ROW_FIELDS) -> None:
    """Write finished rows in one go (atomically), e.g. the smoothed track."""
    rows = list(rows)
    write_text(csv_path, ",".join(fields) + "\n" + "".join(_csv_line(r, fields) for r in rows))
    if jsonl_path is not None:
        write_text(jsonl_path, "".join(_json_line(r, fields) for r in rows))


def read_rows(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Read ``tracks.csv`` or ``tracks.jsonl`` back into typed rows (``None`` where empty)."""
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    rows: list[dict[str, Any]] = []
    fields = ROW_FIELDS
    if path.suffix == ".jsonl":
        raw = [(f"line {n}", r) for n, r in read_json_lines(path)]
        if raw and "field_state" in raw[0][1]:
            fields = FIELD_ROW_FIELDS
    else:
        reader = csv.DictReader(io.StringIO(text))
        fields = tuple(reader.fieldnames or ())
        if fields not in (ROW_FIELDS, FIELD_ROW_FIELDS):
            raise FormatError(path, "line 1",
                              f"expected the header {','.join(ROW_FIELDS)} (+ ,{','.join(FIELD_COLUMNS)}), "
                              f"got {reader.fieldnames}")
        raw = [(f"line {n}", r) for n, r in enumerate(reader, 2)]
    for where, r in raw:
        try:
            row = {k: (None if r.get(k) in (None, "") else r[k]) for k in fields}
            for k in _INT:
                row[k] = int(row[k])
            for k in _FLOAT:
                if k in row:
                    row[k] = None if row[k] is None else float(row[k])
        except (TypeError, ValueError) as e:
            raise FormatError(path, where, f"bad value: {e}") from None
        if row["state"] not in STATES:
            raise FormatError(path, f"{where}: state",
                              f"expected one of {', '.join(STATES)}, got {row['state']!r}")
        rows.append(row)
    return rows
