"""`pigskin track` end to end on a small real video."""

from __future__ import annotations

import json

from pigskin.cli import main
from pigskin.track.rows import read_rows
from pigskin.video import count_frames


def test_track_cli_with_the_simple_detector(tmp_path, demo_video, capsys):
    video, truth = demo_video
    out = tmp_path / "run"
    code = main(["track", str(video), "--detector", "simple", "--out", str(out), "--smooth", "--quiet"])
    assert code == 0
    text = capsys.readouterr().out
    assert "frames/s" in text and "encode" in text and "45 frames:" in text
    rows = read_rows(out / "tracks.csv")
    assert len(rows) == 45
    assert sum(r["state"] == "detected" for r in rows) >= sum(t["visible"] for t in truth) - 3
    assert count_frames(out / "annotated.mp4") == 45
    assert json.loads((out / "timing.json").read_text())["complete"] is True
    assert (out / "tracks_smoothed.csv").exists() and (out / "groundtruth.manifest").exists()


def test_track_cli_no_window_and_no_video(tmp_path, demo_video, capsys):
    video, _ = demo_video
    out = tmp_path / "run"
    assert main(["track", str(video), "--detector", "simple", "--out", str(out), "--no-window", "--no-video",
                 "--quiet"]) == 0
    assert "(45 frames, 45 searched whole)" in capsys.readouterr().out
    assert not (out / "annotated.mp4").exists()


def test_track_cli_reports_bad_input(tmp_path, capsys):
    junk = tmp_path / "broken.mp4"
    junk.write_bytes(b"\x00\x01" * 300)
    assert main(["track", str(junk), "--detector", "simple", "--out", str(tmp_path / "o"), "--quiet"]) == 2
    assert "broken.mp4: cannot open as a video" in capsys.readouterr().err
