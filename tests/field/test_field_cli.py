"""``pigskin track --field``: field columns in tracks.csv/jsonl, spots.csv, field.jsonl, the overlay."""

from __future__ import annotations

import csv
import json
import subprocess
import sys

import numpy as np

from pigskin.field.align import apply
from pigskin.synth import generate_clips, preset
from pigskin.track.rows import FIELD_ROW_FIELDS, read_rows


def test_track_field_writes_field_columns_spots_and_homographies(tmp_path):
    cfg = preset("broadcast", width=640, height=360, seed=23, line_width=(0.08, 0.16), line_tint=(0.0, 0.3))
    generate_clips(cfg, 1, tmp_path / "data", seconds=0.4, fps=30, workers=1)
    clip = tmp_path / "data" / "clips" / "000000.mp4"
    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "pigskin", "track", str(clip), "--detector", "simple", "--out", str(out),
           "--field", str(clip.with_suffix(".truth.jsonl")), "--smooth", "--quiet"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    header = (out / "tracks.csv").read_text().splitlines()[0]
    assert header == ",".join(FIELD_ROW_FIELDS) and header.endswith("state,field_x,field_y,field_state")
    rows = read_rows(out / "tracks.csv")
    assert len(rows) == 12 and rows == read_rows(out / "tracks.jsonl")
    assert {r["field_state"] for r in rows} <= {"ground", "air", "no ball", "not registered"}
    for r in rows:
        assert (r["field_x"] is None) == (r["field_state"] != "ground")
    regs = [json.loads(line) for line in (out / "field.jsonl").read_text().splitlines()]
    assert len(regs) == 12 and sum(r["state"] == "registered" for r in regs) >= 10
    assert (out / "annotated.mp4").stat().st_size > 0
    spots = list(csv.DictReader((out / "spots.csv").open()))
    assert len(spots) == 1 and spots[0]["play"] == "0"

    # the smoothed track has the field columns too, located again from its own (moved) centres
    assert (out / "tracks_smoothed.csv").read_text().splitlines()[0] == header
    smoothed = read_rows(out / "tracks_smoothed.csv")
    assert len(smoothed) == 12 and smoothed == read_rows(out / "tracks_smoothed.jsonl")
    grounded = 0
    for r, reg in zip(smoothed, regs, strict=True):
        if r["field_state"] == "ground":
            xy, _ = apply(np.array(reg["homography"]), np.array([[r["cx"], r["cy"]]]))
            assert np.allclose(xy[0], (r["field_x"], r["field_y"]), atol=0.01), (r, reg)
            grounded += 1
        if r["cx"] is None:
            assert r["field_state"] in ("no ball", "not registered"), r
    assert grounded  # the check above ran on some smoothed rows, not on none


def test_track_field_names_a_bad_start_file(tmp_path):
    bad = tmp_path / "start.json"
    bad.write_text("{not json")
    cfg = preset("broadcast", width=160, height=90, seed=1)
    generate_clips(cfg, 1, tmp_path / "data", seconds=0.1, fps=30, workers=1)
    clip = tmp_path / "data" / "clips" / "000000.mp4"
    done = subprocess.run([sys.executable, "-m", "pigskin", "track", str(clip), "--detector", "simple",
                           "--out", str(tmp_path / "o"), "--field", str(bad), "--quiet"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode != 0 and "start.json" in done.stderr
