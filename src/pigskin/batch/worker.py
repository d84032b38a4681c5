"""A batch worker: one loaded detector, many videos.

Loading a model (unpacking the artifact, building an ONNX Runtime session) takes seconds; a game
takes minutes to hours. So each worker (a Ray actor, or a plain object with ``--no-ray``) loads
the detector once in its constructor and tracks video after video with it through
:meth:`pigskin.track.job.TrackJob.run`, the code ``pigskin track`` runs.
"""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path
from typing import Any

from pigskin.batch.season import season_row
from pigskin.batch.videos import Video
from pigskin.track.job import TrackJob

_loads = 0  # detectors loaded in this process: a batch test checks it stays at one per worker
REPORT_EVERY = 30  # frames a worker tracks between two reports to the frame counter


class FrameCounter:
    """Frames tracked so far by every worker, cleared by each :meth:`take`: the driver's frames bar
    moves while the videos run, not only when one ends. A Ray actor in a batch, a plain object with
    ``--no-ray``."""

    def __init__(self) -> None:
        self.frames = 0

    def add(self, frames: int) -> None:
        self.frames += frames

    def take(self) -> int:
        frames, self.frames = self.frames, 0
        return frames


class TrackWorker:
    def __init__(self, job: TrackJob, counter: Any = None) -> None:
        """``counter``: a :class:`FrameCounter` or a Ray actor handle of one (its ``add`` is then
        called with ``.remote``, without waiting), told of tracked frames every ``REPORT_EVERY``."""
        global _loads
        t0 = time.perf_counter()
        self.job = job
        self._add = None if counter is None else getattr(counter.add, "remote", counter.add)
        self._unreported = 0
        self.detector = job.load_detector()
        _loads += 1
        self.load_s = time.perf_counter() - t0
        self.videos = 0
        self.frames = 0
        self.id = f"{socket.gethostname()}:{os.getpid()}"

    def track(self, video: Video, out_dir: str) -> dict[str, Any]:
        """Track one video into ``out_dir``; its season row. A bad video is a failed row, not an
        exception, so one truncated file never stops the others."""
        error = None
        try:
            self.job.run(video.path, out_dir, self.detector, self._frame if self._add else None)
        except Exception as exc:  # noqa: BLE001 - whatever went wrong, it belongs in the table
            error = str(exc) or type(exc).__name__
            if str(video.path) not in error:
                error = f"{video.path}: {type(exc).__name__}: {error}"
        finally:
            self._report()
        row = season_row(video, Path(out_dir), error, self.id)
        self.videos += 1
        self.frames += int(row["frames"] or 0)
        return row

    def _frame(self) -> None:
        self._unreported += 1
        if self._unreported >= REPORT_EVERY:
            self._report()

    def _report(self) -> None:
        if self._add is not None and self._unreported:
            self._add(self._unreported)
            self._unreported = 0

    def stats(self) -> dict[str, Any]:
        return {"worker": self.id, "videos": self.videos, "frames": self.frames,
                "load_s": round(self.load_s, 3), "loads_in_process": _loads,
                "threads": self.job.threads}
