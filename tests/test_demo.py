"""``pigskin demo`` end to end at a toy scale: every step runs and every file the summary names exists."""

from __future__ import annotations

import csv
import re

from pigskin.demo import DemoConfig, run_demo
from pigskin.track.tracker import ROW_FIELDS


def test_demo_runs_every_step_and_writes_what_the_summary_names(tmp_path):
    cfg = DemoConfig(out=str(tmp_path / "demo"), train_images=6, val_images=3, clip_seconds=0.5, fps=10,
                     width=320, height=180, train_minutes=0.05, workers=1)
    summary = run_demo(cfg)
    text = summary.read_text()
    for step in ("Render synthetic broadcast stills", "Fine-tune", "Evaluate", "sensitivity report",
                 "Track the ball"):
        assert step in text
    named = re.findall(r"^\| `([^`]+)` \|", text, flags=re.M)
    assert len(named) >= 10
    for name in named:
        assert (tmp_path / "demo" / name).exists(), name
    with open(tmp_path / "demo" / "track" / "tracks.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 5 and tuple(rows[0]) == ROW_FIELDS
