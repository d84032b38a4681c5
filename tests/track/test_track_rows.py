"""tracks.csv / tracks.jsonl: exact header, empty coordinates when lost, complete rows."""

from __future__ import annotations

import json

import pytest

from pigskin.errors import FormatError
from pigskin.track.rows import RowWriter, partial_name, read_rows, write_rows

HEADER = "frame,time_s,x1,y1,x2,y2,cx,cy,score,state"
ROWS = [
    dict(frame=0, time_s=0.0, x1=None, y1=None, x2=None, y2=None, cx=None, cy=None, score=None,
         state="lost"),
    dict(frame=1, time_s=0.0333, x1=10.5, y1=20.0, x2=20.5, y2=28.0, cx=15.5, cy=24.0, score=0.91,
         state="detected"),
    dict(frame=2, time_s=0.0667, x1=18.0, y1=21.0, x2=28.0, y2=29.0, cx=23.0, cy=25.0, score=None,
         state="predicted"),
]


def test_row_writer_schema_and_final_names(tmp_path):
    csv_path, jsonl_path = tmp_path / "tracks.csv", tmp_path / "tracks.jsonl"
    with RowWriter(csv_path, jsonl_path) as w:
        for r in ROWS:
            w.write(r)
        # rows are on disk (flushed) before the writer closes, under the partial name
        assert partial_name(csv_path).read_text().count("\n") == 1 + len(ROWS)
        assert not csv_path.exists()
    lines = csv_path.read_text().splitlines()
    assert lines[0] == HEADER
    assert lines[1] == "0,0.0,,,,,,,,lost"
    assert lines[2] == "1,0.0333,10.5,20.0,20.5,28.0,15.5,24.0,0.91,detected"
    assert lines[3].endswith(",,predicted")
    assert json.loads(jsonl_path.read_text().splitlines()[0])["cx"] is None
    assert read_rows(csv_path) == ROWS
    assert read_rows(jsonl_path) == ROWS
    assert not partial_name(csv_path).exists()


def test_write_rows_in_one_go(tmp_path):
    write_rows(tmp_path / "s.csv", None, ROWS)
    assert read_rows(tmp_path / "s.csv") == ROWS
    assert not (tmp_path / "s.jsonl").exists()


def test_read_rows_names_the_problem(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("frame,x,y\n1,2,3\n")
    with pytest.raises(FormatError, match="bad.csv: line 1: expected the header"):
        read_rows(bad)
    bad.write_text(HEADER + "\n0,0.0,,,,,,,,flying\n")
    with pytest.raises(FormatError, match="line 2: state"):
        read_rows(bad)
    bad.write_text(HEADER + "\nzero,0.0,,,,,,,,lost\n")
    with pytest.raises(FormatError, match="line 2: bad value"):
        read_rows(bad)
