"""The season table: one row per video, read from what its output folder holds.

A video is *complete* when its ``timing.json`` says ``"complete": true`` (the track pipeline writes
that file last, atomically, after every other output is in place), so the folders themselves are
the batch's state: a rerun skips complete videos and redoes the rest, and nothing else has to be
kept in step with them.
"""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path
from typing import Any

from pigskin.batch.videos import Video
from pigskin.fileio import atomic_write
from pigskin.track.tracker import STATES

COLUMNS = ("video", "name", "frames", "detected", "predicted", "lost", "fps", "wall_s", "status", "error",
           "worker")
STATUSES = ("complete", "failed", "pending")


def read_timing(out_dir: str | os.PathLike[str]) -> dict[str, Any] | None:
    """``out_dir/timing.json``, or None when there is none (never started, or killed mid-video)."""
    try:
        data = json.loads((Path(out_dir) / "timing.json").read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError):
        return None
    return data if isinstance(data, dict) else None


def is_complete(out_dir: str | os.PathLike[str]) -> bool:
    timing = read_timing(out_dir)
    return bool(timing and timing.get("complete") is True and (Path(out_dir) / "tracks.csv").is_file())


def pending_row(video: Video) -> dict[str, Any]:
    return {**dict.fromkeys(COLUMNS, ""), "video": str(video.path), "name": video.name, "status": "pending"}


def season_row(video: Video, out_dir: str | os.PathLike[str], error: str | None = None,
               worker: str = "") -> dict[str, Any]:
    """The row of a video that has been tracked: ``complete``, or ``failed`` with its error (``error``
    when given, else the one ``timing.json`` recorded); frames and shares are those it got through."""
    row = {**pending_row(video), "worker": worker}
    timing = read_timing(out_dir)
    if timing is not None:
        frames = int(timing.get("frames") or 0)
        states = timing.get("states") or _count_states(Path(out_dir) / "tracks.csv")
        row.update(frames=frames, fps=timing.get("fps", ""), wall_s=timing.get("wall_s", ""))
        row.update({s: round(states.get(s, 0) / frames, 4) if frames else "" for s in STATES})
        row["status"] = "complete" if timing.get("complete") is True else "failed"
        row["error"] = timing.get("error") or ""
    if error is not None:
        row["status"], row["error"] = "failed", error
    elif row["status"] == "pending":
        row["status"], row["error"] = "failed", "no timing.json: the video did not finish"
    return row


def _count_states(tracks: Path) -> dict[str, int]:
    """Frames per state from ``tracks.csv`` (for folders written before timing.json counted them)."""
    from pigskin.track.rows import read_rows

    if not tracks.is_file():
        return {}
    counts = dict.fromkeys(STATES, 0)
    for r in read_rows(tracks):
        counts[r["state"]] += 1
    return counts


def write_season(path: str | os.PathLike[str], rows: list[dict[str, Any]]) -> None:
    """The table as CSV, atomically: a reader never sees half of it."""
    with atomic_write(path, "w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def read_season(path: str | os.PathLike[str]) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))
