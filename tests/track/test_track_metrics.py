"""Point metrics of a track against per-frame truth."""

from __future__ import annotations

import json
import math

import pytest

from pigskin.errors import FormatError
from pigskin.track.metrics import load_truth, track_metrics


def _row(frame, state, cx=None, cy=None):
    box = (None,) * 4 if cx is None else (cx - 5, cy - 5, cx + 5, cy + 5)
    return dict(zip(("x1", "y1", "x2", "y2"), box, strict=True)) | dict(
        frame=frame, time_s=frame / 30, cx=cx, cy=cy, score=None, state=state)


def test_track_metrics_counts():
    truth = [dict(frame=i, cx=100.0 + 10 * i, cy=50.0, visible=i not in (3, 4)) for i in range(8)]
    truth.append(dict(frame=8, cx=2000.0, cy=50.0, visible=False))  # out of the picture: not "hidden"
    rows = [
        _row(0, "lost"),
        _row(1, "detected", 110, 50),
        _row(2, "detected", 125, 50),  # 5 px off: a hit
        _row(3, "predicted", 135, 55),  # hidden, guessed within 20 px
        _row(4, "lost"),  # hidden, no guess
        _row(5, "detected", 150, 90),  # 40 px off: a miss and a false detection
        _row(6, "detected", 160, 50),
        _row(7, "predicted", 172, 50),  # visible, not detected, but the prediction is within 10 px
        _row(8, "lost"),
    ]
    m = track_metrics(rows, truth, width=1280, height=720)
    assert m.frames == 9 and m.visible == 6 and m.hidden == 2
    assert m.recall == pytest.approx(4 / 6)  # frames 1, 2, 6, 7
    assert m.recall_detected == pytest.approx(3 / 6)
    assert m.precision == pytest.approx(3 / 4)
    assert m.hidden_within == pytest.approx(1 / 2)
    assert m.hidden_seen == 2 and m.hidden_seen_within == pytest.approx(1 / 2)
    assert m.losses == 2 and m.reacquisitions == 1


def test_no_hidden_frames_gives_nan():
    truth = [dict(frame=0, cx=1.0, cy=1.0, visible=True)]
    assert math.isnan(track_metrics([_row(0, "lost")], truth).hidden_within)


def test_load_truth_accepts_center_lists_and_names_bad_lines(tmp_path):
    p = tmp_path / "t.jsonl"
    p.write_text(json.dumps({"frame": 1, "center": [3, 4], "visible": True}) + "\n"
                 + json.dumps({"frame": 0, "cx": 1, "cy": 2, "visible": False}) + "\n")
    assert load_truth(p) == [dict(frame=0, visible=False, cx=1.0, cy=2.0),
                             dict(frame=1, visible=True, cx=3.0, cy=4.0)]
    p.write_text('{"frame": 0, "visible": true}\n')
    with pytest.raises(FormatError, match="t.jsonl: line 1"):
        load_truth(p)
