"""Split a broadcast into plays at scene cuts, and sample frames to label.

A cut (a switch of camera, a replay wipe, a commercial) changes the colour make-up of the whole
picture at once, while a pan or a zoom within a play changes it gradually. So a cut is where the
colour histograms of two consecutive frames (downscaled, per channel) differ by more than
``threshold`` in total-variation distance (0 = same histogram, 1 = disjoint).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from pigskin.fileio import atomic_write, write_text
from pigskin.video import VideoReader, frame_name


@dataclass(frozen=True)
class SceneConfig:
    threshold: float = 0.35  # histogram distance that counts as a cut
    bins: int = 16  # per colour channel
    step: int = 8  # look at every step-th pixel in both directions (cheap and enough for colour)
    min_length: int = 15  # frames; a "play" shorter than this is merged into the one before


def signature(rgb: np.ndarray, bins: int = 16, step: int = 8) -> np.ndarray:
    """Per-channel colour histograms of a subsampled frame, each summing to 1: shape (3, bins)."""
    small = rgb[::step, ::step].reshape(-1, 3)
    idx = (small.astype(np.int32) * bins) >> 8
    hist = np.stack([np.bincount(idx[:, c], minlength=bins) for c in range(3)]).astype(np.float64)
    return hist / max(len(small), 1)


def cut_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Total-variation distance between two signatures, averaged over channels (0..1)."""
    return float(0.5 * np.abs(a - b).sum(axis=1).mean())


class CutDetector:
    """Feed frames in order; :meth:`push` says whether a new play starts at this frame."""

    def __init__(self, config: SceneConfig | None = None) -> None:
        self.config = config or SceneConfig()
        self._prev: np.ndarray | None = None
        self._start = 0
        self.starts: list[int] = []

    def push(self, index: int, rgb: np.ndarray) -> bool:
        c = self.config
        sig = signature(rgb, c.bins, c.step)
        prev, self._prev = self._prev, sig
        if prev is None:
            self.starts.append(index)
            return True
        if cut_distance(prev, sig) > c.threshold and index - self._start >= c.min_length:
            self._start = index
            self.starts.append(index)
            return True
        return False


def plays_from_starts(starts: list[int], total: int) -> list[tuple[int, int]]:
    """``[start, end)`` frame ranges from the first frames of each play."""
    return [(s, e) for s, e in zip(starts, starts[1:] + [total], strict=True) if e > s]


def split_plays(video: str | os.PathLike[str], config: SceneConfig | None = None,
                fps: float | None = None) -> list[tuple[int, int]]:
    """Frame ranges ``[(start, end), ...]`` (end exclusive) of the plays in ``video``, in one pass."""
    cuts = CutDetector(config)
    n = 0
    with VideoReader(video, fps) as reader:
        for frame in reader:
            cuts.push(frame.index, frame.image)
            n = frame.index + 1
    return plays_from_starts(cuts.starts, n)


def export_frames(
    video: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    every: int = 30,
    scene_cuts: bool = False,
    config: SceneConfig | None = None,
    prefix: str | None = None,
    quality: int = 92,
    fps: float | None = None,
) -> list[dict[str, Any]]:
    """Save every ``every``-th frame as a JPEG under ``out_dir/frames`` and write ``manifest.jsonl``,
    a Ground Truth *input* manifest (``source-ref`` lines, no labels) ready for a labelling job.

    With ``scene_cuts`` the count restarts at each play, so every play's first frame is kept, and
    ``plays.json`` lists the plays. ``prefix`` (e.g. ``s3://bucket/frames/``) replaces the local
    ``frames/`` folder in ``source-ref`` for frames you will upload. Each line also carries
    ``pigskin-frame`` (video, frame, time, play), which Ground Truth passes through to its output.
    """
    if every < 1:
        raise ValueError(f"every must be >= 1, got {every}")
    from PIL import Image

    out = Path(out_dir)
    (out / "frames").mkdir(parents=True, exist_ok=True)
    cuts = CutDetector(config) if scene_cuts else None
    lines: list[dict[str, Any]] = []
    play, play_start, n = 0, 0, 0
    with VideoReader(video, fps) as reader:
        for index, time_s, image in reader:
            n = index + 1
            if cuts is not None and cuts.push(index, image) and index > 0:
                play, play_start = play + 1, index
            if (index - play_start) % every:
                continue
            name = frame_name(video, index)
            with atomic_write(out / "frames" / name, "wb") as f:
                Image.fromarray(image).save(f, format="JPEG", quality=quality)
            ref = (prefix.rstrip("/") + "/" + name) if prefix else f"frames/{name}"
            info = {"video": Path(video).name, "frame": index, "time_s": round(time_s, 4), "play": play}
            lines.append({"source-ref": ref, "pigskin-frame": info})
    if cuts is not None:
        plays = plays_from_starts(cuts.starts, n)
        doc = {"video": Path(video).name,
               "plays": [{"play": k, "start": s, "end": e} for k, (s, e) in enumerate(plays)]}
        write_text(out / "plays.json", json.dumps(doc, indent=1) + "\n")
    _write_manifest(out / "manifest.jsonl", lines)
    return lines


def _write_manifest(path: Path, lines: Iterable[dict[str, Any]]) -> None:
    write_text(path, "".join(json.dumps(line, separators=(",", ":")) + "\n" for line in lines))
