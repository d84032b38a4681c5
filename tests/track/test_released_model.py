"""The released ball model (pigskin-ball) works out of the box: `pigskin track` with no --model."""

from __future__ import annotations

import json
import math

from PIL import Image

from pigskin.cli import main
from pigskin.models.released import DEFAULT_MODEL, resolve
from pigskin.synth import generate_clips, preset
from pigskin.track.metrics import load_truth, track_metrics
from pigskin.track.rows import read_rows
from pigskin.video import read_frames


def test_track_without_a_model_uses_the_released_one_and_finds_the_ball(tmp_path, capsys):
    assert resolve(DEFAULT_MODEL).is_file()  # shipped in the package, no download
    # a sideline clip from a seed no training set uses (recipes/pigskin-ball: 101-299)
    cfg = preset("broadcast", width=1280, height=720, seed=7301, endzone_p=0.0)
    generate_clips(cfg, 1, tmp_path / "synth", seconds=1.5, fps=30, workers=1)
    clip = tmp_path / "synth" / "clips" / "000000.mp4"
    out = tmp_path / "run"
    assert main(["track", str(clip), "--out", str(out), "--no-video", "--quiet", "--threads", "1"]) == 0
    assert "45 frames:" in capsys.readouterr().out
    truth = load_truth(clip.with_suffix(".truth.jsonl"))
    m = track_metrics(read_rows(out / "tracks.csv"), truth, 1280, 720)
    assert m.visible >= 20
    assert m.recall >= 0.6, m.as_dict()  # a loose floor under what benchmarks/track_accuracy.py measures

    # pigskin predict with no --model: the same released model, one JSON line per image
    frame = next(f for f in read_frames(clip) if truth[f.index]["visible"])
    Image.fromarray(frame.image).save(tmp_path / "frame.png")
    assert main(["predict", str(tmp_path / "frame.png"), "--score-threshold", "0.05"]) == 0
    line = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert line["width"] == 1280 and all(d["class"] == "football" for d in line["detections"])
    ball = truth[frame.index]
    near = [math.hypot((x1 + x2) / 2 - ball["cx"], (y1 + y2) / 2 - ball["cy"])
            for x1, y1, x2, y2 in (d["box"] for d in line["detections"])]
    assert near and min(near) <= 10.0, (ball, line["detections"][:3])
