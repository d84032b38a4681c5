"""Track a season of videos on Ray: one actor per worker holds a loaded detector, one task per video.

:func:`run_batch` lists the videos, skips those whose output is complete, starts (or joins) Ray, and
hands each remaining video to the next free worker; each finished video updates ``DIR/season.csv``
at once (atomically), so a killed batch leaves a table of what was done and a rerun does only the
rest. ``ray=False`` runs the same workers in this process, one video at a time, for debugging.
See docs/batch.md.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pigskin.batch.season import is_complete, pending_row, season_row, write_season
from pigskin.batch.videos import Video, check_names
from pigskin.batch.worker import FrameCounter, TrackWorker
from pigskin.errors import PigskinError
from pigskin.track.job import TrackJob

INSTALL_HINT = ('pigskin batch runs on Ray: pip install "pigskin[ray]" (or pass --workers 1 --no-ray to '
                "track in this process, one video at a time)")
LOCAL_OBJECT_STORE = 128 << 20  # bytes: workers return one table row per video, nothing big
TICK_S = 0.5  # seconds between two moves of the frames bar while no video finishes


@dataclass(frozen=True)
class BatchConfig:
    videos: tuple[Video, ...]
    out: Path
    job: TrackJob = field(default_factory=TrackJob)
    address: str | None = None  # None: start a local Ray instance; "auto", "HOST:6379", "ray://HOST:10001"
    workers: int | None = None  # None: one per cpus_per_worker CPUs of the cluster
    cpus: int | None = None  # CPUs of the local instance (None: every core of this machine)
    cpus_per_worker: int | None = None  # Ray CPUs and model threads per worker (None: CPUs / workers, or 1)
    ray: bool = True  # False: in this process, one video at a time (debugging)
    progress: bool = True

    def __post_init__(self) -> None:
        for name in ("workers", "cpus", "cpus_per_worker"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise PigskinError(f"{name.replace('_', '-')} must be at least 1, got {value}")
        if not self.ray and (self.workers or 1) > 1:
            raise PigskinError("--no-ray tracks one video at a time in this process: use --workers 1")
        if not self.ray and self.address:
            raise PigskinError("--address joins a Ray cluster; it cannot go with --no-ray")
        if self.address and self.cpus:
            raise PigskinError("--cpus sizes a local Ray instance; a cluster's nodes say their own CPUs")


@dataclass
class BatchResult:
    rows: list[dict[str, Any]]  # the season table, in input order
    ran: list[str]  # names of the videos tracked by this run
    skipped: list[str]  # names already complete before it
    workers: list[dict[str, Any]]  # TrackWorker.stats() of each worker
    wall_s: float
    season: Path
    frames_counted: int = 0  # frames the workers reported while tracking (the frames bar), failed ones too

    @property
    def failed(self) -> list[dict[str, Any]]:
        return [r for r in self.rows if r["status"] == "failed"]

    @property
    def frames_run(self) -> int:
        ran = set(self.ran)
        return sum(int(r["frames"] or 0) for r in self.rows if r["name"] in ran)

    @property
    def fps(self) -> float:
        """Frames tracked by this run per second of its wall time, model loading included."""
        return self.frames_run / self.wall_s if self.wall_s > 0 else 0.0


def run_batch(cfg: BatchConfig) -> BatchResult:
    """Track every video of ``cfg`` not complete yet into ``cfg.out/<name>/``; see the module doc."""
    t0 = time.perf_counter()
    videos = check_names(list(cfg.videos))
    cfg = dataclasses.replace(cfg, job=_model_path(cfg.job))
    out = Path(cfg.out).absolute()
    out.mkdir(parents=True, exist_ok=True)
    season = out / "season.csv"
    rows: dict[str, dict[str, Any]] = {}
    todo: list[Video] = []
    for v in videos:
        done = is_complete(out / v.name)
        rows[v.name] = season_row(v, out / v.name) if done else pending_row(v)
        if not done:
            todo.append(v)
    result = BatchResult([], [], [v.name for v in videos if v not in todo], [], 0.0, season)

    def save() -> None:
        result.rows = [rows[v.name] for v in videos]
        write_season(season, result.rows)

    save()
    with _bars(len(videos), len(result.skipped), cfg.progress) as (bar_videos, bar_frames):
        try:
            if todo:
                pool = _InProcess(cfg) if not cfg.ray else _RayPool(cfg, len(todo))
                with pool:
                    for row in pool.imap(todo, out):
                        counted = pool.take_frames()
                        result.frames_counted += counted
                        bar_frames.update(counted)
                        if row is None:  # a tick: no video finished in the last TICK_S
                            continue
                        rows[row["name"]] = row
                        result.ran.append(row["name"])
                        save()
                        bar_videos.update(1)
                    result.frames_counted += pool.take_frames()
                    result.workers = pool.stats()
        finally:
            save()
            result.wall_s = time.perf_counter() - t0
    return result


def _model_path(job: TrackJob) -> TrackJob:
    """The job with its model file's absolute path (workers elsewhere, or in another folder, find the
    same file; a released name stays a name). A missing model is one clear error now, not one failed
    row per video from every worker."""
    if job.detector is not None or job.model is None:
        return job
    from pigskin.models.released import resolve

    if not resolve(job.model).exists():  # a model.tar.gz, or an unpacked one (a folder)
        raise PigskinError(f"{job.model}: no such model (a model.tar.gz, or a released model's name)")
    path = Path(job.model)
    return dataclasses.replace(job, model=str(path.absolute())) if path.exists() else job


def _worker_job(job: TrackJob, threads: int | None) -> TrackJob:
    """The job each worker runs: its share of the cores for the model, and no per-video progress bar
    (the batch shows one over videos and frames)."""
    return dataclasses.replace(job, threads=job.threads or threads,
                               pipeline=dataclasses.replace(job.pipeline, progress=False))


class _InProcess:
    """One worker in this process (``--no-ray``): the same worker class, no Ray."""

    def __init__(self, cfg: BatchConfig) -> None:
        self.counter = FrameCounter()
        self.worker = TrackWorker(_worker_job(cfg.job, None), self.counter)

    def __enter__(self) -> _InProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def imap(self, videos: list[Video], out: Path) -> Iterator[dict[str, Any]]:
        for v in videos:
            yield self.worker.track(v, str(out / v.name))

    def take_frames(self) -> int:
        return self.counter.take()

    def stats(self) -> list[dict[str, Any]]:
        return [self.worker.stats()]


class _RayPool:
    """``workers`` Ray actors, each a :class:`TrackWorker`; a video goes to whichever is free first."""

    def __init__(self, cfg: BatchConfig, videos: int) -> None:
        try:
            import ray
        except ImportError:
            raise PigskinError(INSTALL_HINT) from None
        self.ray = ray
        self.cfg = cfg
        self.videos = videos
        self.started = False
        self.actors: list[Any] = []
        self.counter: Any = None

    def __enter__(self) -> _RayPool:
        ray, cfg = self.ray, self.cfg
        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")  # no usage reports phoned home
        if not ray.is_initialized():
            if cfg.address:
                ray.init(address=cfg.address, logging_level=logging.WARNING)
            else:
                ray.init(address="local", num_cpus=cfg.cpus, include_dashboard=False,
                         object_store_memory=LOCAL_OBJECT_STORE, logging_level=logging.WARNING)
            self.started = True
        try:
            self._start_workers()
        except BaseException:
            self.__exit__()
            raise
        return self

    def _start_workers(self) -> None:
        ray, cfg = self.ray, self.cfg
        cpus = max(1, int(ray.cluster_resources().get("CPU", 1)))
        per = cfg.cpus_per_worker or (max(1, cpus // cfg.workers) if cfg.workers else 1)
        if per > cpus:
            raise PigskinError(f"--cpus-per-worker {per} is more than the cluster's {cpus} CPUs")
        n = min(cfg.workers or cpus // per, cpus // per, self.videos)
        if cfg.workers and n < min(cfg.workers, self.videos):
            print(f"pigskin batch: the cluster has {cpus} CPUs: {n} workers of {per} CPUs, not {cfg.workers}")
        remote = ray.remote(num_cpus=per, max_restarts=-1, max_task_retries=0)(TrackWorker)
        job = _worker_job(cfg.job, per)
        self.counter = ray.remote(num_cpus=0)(FrameCounter).remote()
        self.actors = [remote.remote(job, self.counter) for _ in range(max(1, n))]
        try:  # wait until every worker has its detector: a model that fails to load fails here, once
            ray.get([a.stats.remote() for a in self.actors])
        except ray.exceptions.RayError as exc:
            raise PigskinError(f"a batch worker could not load the detector: {_last_line(exc)}") from None

    def __exit__(self, *exc: object) -> None:
        for a in [*self.actors, self.counter]:
            with contextlib.suppress(Exception):
                self.ray.kill(a)
        if self.started:
            self.ray.shutdown()

    def imap(self, videos: list[Video], out: Path) -> Iterator[dict[str, Any] | None]:
        """Season rows in the order videos finish, and None every ``TICK_S`` that none does (the
        caller moves its frames bar); a worker that dies fails its video, and Ray restarts it (loading
        the detector again) for the next one."""
        ray = self.ray
        queue = deque(videos)
        running: dict[Any, tuple[Any, Video]] = {}

        def submit(actor: Any) -> None:
            if queue:
                v = queue.popleft()
                running[actor.track.remote(v, str(out / v.name))] = (actor, v)

        for a in self.actors:
            submit(a)
        while running:
            ready, _ = ray.wait(list(running), num_returns=1, timeout=TICK_S)
            if not ready:
                yield None
                continue
            ref = ready[0]
            actor, v = running.pop(ref)
            try:
                row = ray.get(ref)
            except ray.exceptions.RayError as exc:
                row = season_row(v, out / v.name, f"{v.path}: the worker died: {_last_line(exc)}")
            submit(actor)
            yield row

    def take_frames(self) -> int:
        return self.ray.get(self.counter.take.remote())

    def stats(self) -> list[dict[str, Any]]:
        return self.ray.get([a.stats.remote() for a in self.actors])


def _last_line(exc: BaseException) -> str:
    """The cause at the end of a Ray error's text (its traceback comes first)."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[-1] if lines else type(exc).__name__


@contextlib.contextmanager
def _bars(videos: int, done: int, enabled: bool) -> Iterator[tuple[Any, Any]]:
    from tqdm import tqdm

    with tqdm(total=videos, initial=done, unit="video", desc="videos", disable=not enabled) as a, \
            tqdm(unit="frame", desc="frames", disable=not enabled) as b:
        yield a, b
