"""`pigskin batch` on a real local Ray instance (2 CPUs): six real clips, one truncated; the driver is
SIGKILLed mid-run and a rerun finishes only what was left, byte-equal to `pigskin track`."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from batch_helpers import TRUNCATED

import pigskin
from pigskin.batch import BatchConfig, from_paths, run_batch
from pigskin.batch.season import STATUSES, is_complete, read_season
from pigskin.cli import main
from pigskin.track.job import TrackJob

pytest.importorskip("ray")


@pytest.fixture
def ray_teardown():
    """Whatever a failing test leaves behind, no Ray instance outlives it in this process."""
    yield
    import ray

    if ray.is_initialized():
        ray.shutdown()


def _session(sid: int) -> list[int]:
    """Processes of session ``sid``: the driver, the Ray processes it started and their workers."""
    pids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[3]) == sid and fields[0] != "Z":
            pids.append(int(stat.parent.name))
    return pids


def _kill_session(proc: subprocess.Popen, timeout: float = 60.0) -> None:
    """SIGKILL the driver, then every process of its session (Ray's agents outlive a killed driver)."""
    proc.kill()
    proc.wait()
    deadline = time.monotonic() + timeout
    while (left := _session(proc.pid)) and time.monotonic() < deadline:
        for pid in left:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.1)
    assert not _session(proc.pid), "processes of the killed batch are still running"


@pytest.mark.slow
def test_batch_on_local_ray_survives_a_killed_driver(tmp_path, tiny_model, clips, ray_teardown):
    good = [c for c in clips if c.stem != TRUNCATED]
    ref = tmp_path / "ref"
    for c in good:  # what `pigskin track` writes, with the one model thread each batch worker gets
        assert main(["track", str(c), "--model", str(tiny_model), "--out", str(ref / c.stem),
                     "--threads", "1", "--quiet"]) == 0

    out = tmp_path / "season"
    src = str(Path(pigskin.__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([src, os.environ.get("PYTHONPATH", "")]),
           "RAY_USAGE_STATS_ENABLED": "0"}
    cmd = [sys.executable, "-m", "pigskin", "batch", *map(str, clips), "--model", str(tiny_model),
           "--out", str(out), "--cpus", "2", "--workers", "2", "--quiet"]
    with open(tmp_path / "driver.log", "wb") as log:
        proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 600  # Ray's start is slow under load
        while (proc.poll() is None and time.monotonic() < deadline
               and not any(is_complete(out / c.stem) for c in clips)):
            time.sleep(0.02)
    finally:
        _kill_session(proc)
    assert proc.returncode == -signal.SIGKILL, (tmp_path / "driver.log").read_text()[-3000:]
    before = {c.stem for c in clips if is_complete(out / c.stem)}
    assert 1 <= len(before) < len(good), (f"the driver was to be killed mid-run; complete: {sorted(before)}\n"
                                          + (tmp_path / "driver.log").read_text()[-3000:])
    table = read_season(out / "season.csv")  # whole (atomic), though its writer was killed
    assert [r["name"] for r in table] == [c.stem for c in clips]
    assert {r["status"] for r in table} <= set(STATUSES)
    kept = {n: ((out / n / "timing.json").stat().st_mtime_ns, (out / n / "tracks.csv").read_bytes())
            for n in before}

    result = run_batch(BatchConfig(tuple(from_paths(clips)), out, TrackJob(model=str(tiny_model)), cpus=2,
                                   workers=2, progress=False))

    assert set(result.skipped) == before
    assert sorted(result.ran) == sorted(c.stem for c in clips if c.stem not in before)
    for n, (mtime, tracks) in kept.items():  # the rerun left what was complete alone
        assert (out / n / "timing.json").stat().st_mtime_ns == mtime
        assert (out / n / "tracks.csv").read_bytes() == tracks
    rows = {r["name"]: r for r in read_season(out / "season.csv")}
    assert [r["status"] for r in rows.values()].count("complete") == 5
    failed = rows.pop(TRUNCATED)
    assert failed["status"] == "failed" and f"{TRUNCATED}.mp4" in failed["error"], failed
    assert "truncated" in failed["error"]
    assert not is_complete(out / TRUNCATED)
    for c in good:  # the same files as `pigskin track`, tracks.csv byte for byte
        mine, theirs = out / c.stem, ref / c.stem
        assert sorted(p.name for p in mine.iterdir()) == sorted(p.name for p in theirs.iterdir())
        assert (mine / "tracks.csv").read_bytes() == (theirs / "tracks.csv").read_bytes(), c.stem
        row = rows[c.stem]
        assert row["status"] == "complete" and int(row["frames"]) == 45
        shares = [float(row[s]) for s in ("detected", "predicted", "lost")]
        assert abs(sum(shares) - 1) < 1e-3 and shares[0] > 0.5, row
    # two workers, each loaded the model once and tracked several videos; one model thread each
    workers = {w["worker"]: w for w in result.workers}
    assert len(workers) == 2
    assert all(w["loads_in_process"] == 1 and w["threads"] == 1 for w in workers.values())
    assert sum(w["videos"] for w in workers.values()) == len(result.ran)
    assert result.frames_counted == result.frames_run  # the frames bar saw every frame the workers tracked
    assert {r["worker"] for r in result.rows if r["name"] in result.ran} <= set(workers)
