"""How good is a track against per-frame truth: point recall/precision, losses, occlusion guesses.

Point metrics as in TrackNet/WASB (a hit is a centre within ``tol`` px), not box IoU: the ball is
a few pixels wide and its box size is not what a tracker is judged on.

Truth is JSON lines, one per frame: ``{"frame": 12, "cx": 640.5, "cy": 300.2, "visible": true}``
(``visible`` false when the ball is hidden or out of the picture; ``cx``/``cy`` may then still say
where it is, which is what the occlusion score needs, or be null).
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from pigskin.errors import FormatError


@dataclass(frozen=True)
class TrackMetrics:
    frames: int
    visible: int
    recall: float  # visible frames whose reported position (detected or predicted) is within tol
    recall_detected: float  # ... counting only frames the tracker marked "detected"
    detected: int  # rows marked "detected"
    precision: float  # "detected" rows within tol of a visible ball
    losses: int  # times the track went from following to lost
    reacquisitions: int  # times it found the ball again after a loss
    hidden: int  # frames where the ball is hidden but inside the picture
    hidden_within: float  # share of those whose (predicted) position is within hidden_tol
    hidden_seen: int  # hidden frames after the track's first detection (the ones a tracker can know)
    hidden_seen_within: float  # share of those within hidden_tol

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


VIDEO_SUFFIXES = (".mp4", ".mkv", ".mov")


def clip_pairs(root: str | os.PathLike[str]) -> list[tuple[Path, Path]]:
    """Every video under ``root`` that has a truth file beside it (``<name>.truth.jsonl`` or
    ``<name>.jsonl``, the layout ``pigskin synth clips`` writes), as (video, truth) pairs in name order."""
    pairs = []
    for video in sorted(p for p in Path(root).rglob("*") if p.suffix.lower() in VIDEO_SUFFIXES):
        for name in (f"{video.stem}.truth.jsonl", f"{video.stem}.jsonl"):
            if (video.parent / name).exists():
                pairs.append((video, video.parent / name))
                break
    return pairs


def load_truth(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Read truth JSON lines into ``{"frame", "cx", "cy", "visible"}`` rows, in frame order."""
    path = Path(path)
    rows = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            r = json.loads(line)
            c = r.get("center") or (r.get("cx"), r.get("cy"))
            row = {"frame": int(r["frame"]), "visible": bool(r["visible"]),
                   "cx": None if c[0] is None else float(c[0]), "cy": None if c[1] is None else float(c[1])}
        except (ValueError, KeyError, TypeError, IndexError) as e:
            raise FormatError(path, f"line {n}", f"expected frame, cx, cy, visible ({e!r})") from None
        if row["visible"] and row["cx"] is None:
            raise FormatError(path, f"line {n}", "a visible ball needs cx and cy")
        rows.append(row)
    return sorted(rows, key=lambda r: r["frame"])


def track_metrics(rows: list[dict[str, Any]], truth: list[dict[str, Any]], width: int | None = None,
                  height: int | None = None, tol: float = 10.0, hidden_tol: float = 20.0) -> TrackMetrics:
    """Score track ``rows`` (the ``tracks.csv`` schema) against ``truth`` rows of the same frames."""
    by_frame = {int(r["frame"]): r for r in rows}
    vis = hits = hits_det = det = det_ok = hidden = hidden_ok = seen = seen_ok = 0
    first = min((int(r["frame"]) for r in rows if r["state"] == "detected"), default=None)
    for t in truth:
        r = by_frame.get(t["frame"])
        has = r is not None and r["cx"] is not None
        d = np.hypot(r["cx"] - t["cx"], r["cy"] - t["cy"]) if has and t["cx"] is not None else np.inf
        is_det = has and r["state"] == "detected"
        det += is_det
        if t["visible"]:
            vis += 1
            hits += d <= tol
            hits_det += is_det and d <= tol
            det_ok += is_det and d <= tol
        elif t["cx"] is not None and _inside(t, width, height):
            hidden += 1
            hidden_ok += d <= hidden_tol
            if first is not None and t["frame"] > first:
                seen += 1
                seen_ok += d <= hidden_tol
    states = [by_frame[f]["state"] for f in sorted(by_frame)]
    following = [s != "lost" for s in states]
    losses = sum(a and not b for a, b in zip(following, following[1:], strict=False))
    starts = sum(b and not a for a, b in zip([False] + following, following, strict=False))
    return TrackMetrics(
        frames=len(truth), visible=vis, recall=_ratio(hits, vis), recall_detected=_ratio(hits_det, vis),
        detected=det, precision=_ratio(det_ok, det), losses=losses, reacquisitions=max(starts - 1, 0),
        hidden=hidden, hidden_within=_ratio(hidden_ok, hidden), hidden_seen=seen,
        hidden_seen_within=_ratio(seen_ok, seen),
    )


def _inside(t: dict[str, Any], width: int | None, height: int | None) -> bool:
    if width is None or height is None:
        return True
    return 0 <= t["cx"] < width and 0 <= t["cy"] < height


def _ratio(a: int, b: int) -> float:
    return float(a) / b if b else float("nan")
