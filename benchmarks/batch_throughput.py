"""Batch tracking throughput on Ray: the same clips with 1 worker and with 2, on this machine.

    python benchmarks/batch_throughput.py [--clips 8] [--seconds 2] [--size 1280x720]
                                          [--model pigskin-ball] [--workers 1,2] [--no-video]

Renders ``--clips`` synthetic broadcast clips (``pigskin.synth``, not timed), then runs
``pigskin.batch.run_batch`` on a fresh local Ray instance once per ``--workers`` value, each into a
fresh folder. A worker gets ``cores / workers`` model threads (ONNX Runtime intra-op), so every row
uses the whole machine: 1 worker = one video at a time on all cores, 2 = two videos at once.

Columns: ``wall`` = the whole batch (Ray start, model loads, tracking); ``start`` = wall minus the
busiest worker's tracking time (Ray, actors, model loads); ``frames/s`` = frames / wall;
``tracking`` = frames / (wall - start), the steady rate a season-long batch approaches;
``per core`` = tracking / cores; ``ratio`` = tracking against the first row. ``same tracks`` says
whether every tracks.csv equals the first row's.
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
from pathlib import Path

from pigskin.batch import BatchConfig, from_paths, run_batch
from pigskin.synth import generate_clips, preset
from pigskin.track.job import TrackJob
from pigskin.track.pipeline import PipelineConfig

SEASON_FRAMES = 272 * 3 * 3600 * 30  # 272 games x 3 hours x 30 frames/s


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clips", type=int, default=8)
    ap.add_argument("--seconds", type=float, default=2.0)
    ap.add_argument("--size", default="1280x720")
    ap.add_argument("--model", default="pigskin-ball")
    ap.add_argument("--workers", default="1,2", help="comma-separated worker counts")
    ap.add_argument("--no-video", action="store_true", help="skip the annotated mp4s")
    ap.add_argument("--out", default=None, help="keep clips and outputs here (default: a temporary folder)")
    args = ap.parse_args()
    width, height = (int(v) for v in args.size.split("x"))
    cores = len(os.sched_getaffinity(0))
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(args.out or tmp)
        generate_clips(preset("broadcast", width=width, height=height, seed=9100), args.clips, root / "synth",
                       seconds=args.seconds, fps=30, workers=1)
        videos = tuple(from_paths(sorted((root / "synth" / "clips").glob("*.mp4"))))
        job = TrackJob(model=args.model, pipeline=PipelineConfig(write_video=not args.no_video))
        rows, first = [], None
        for n in (int(v) for v in args.workers.split(",")):
            out = root / f"workers-{n}"
            r = run_batch(BatchConfig(videos, out, job, workers=n, cpus=cores, progress=False))
            busy = max(sum(float(x["wall_s"]) for x in r.rows if x["worker"] == w["worker"])
                       for w in r.workers)
            tracks = [(out / v.name / "tracks.csv").read_bytes() for v in videos]
            first = first or tracks
            rows.append((n, r.workers[0]["threads"], r.frames_run, r.wall_s, r.wall_s - busy, r.fps,
                         r.frames_run / busy, len(r.failed), tracks == first))
    video = "no video" if args.no_video else "annotated video"
    print(f"{args.clips} clips x {args.seconds:g} s at {width}x{height}, model {args.model}, {video}; "
          f"{cores} cores, {platform.processor() or '?'}, load average {os.getloadavg()[0]:.1f} at the end")
    print(f"{'workers':>7} {'thr/w':>5} {'frames':>6} {'wall s':>7} {'start s':>7} {'frames/s':>8} "
          f"{'tracking':>8} {'per core':>8} {'ratio':>6} {'failed':>6} same tracks")
    base = rows[0][6]
    for n, thr, frames, wall, start, fps, steady, failed, same in rows:
        print(f"{n:>7} {thr:>5} {frames:>6} {wall:>7.1f} {start:>7.1f} {fps:>8.1f} {steady:>8.1f} "
              f"{steady / cores:>8.2f} {steady / base:>5.2f}x {failed:>6} {'yes' if same else 'no'}")
    best = max(r[6] for r in rows) / cores
    print(f"season: {SEASON_FRAMES:,} frames (272 games x 3 h x 30 fps) at {best:.2f} frames/s per core = "
          f"{SEASON_FRAMES / best / 3600:,.0f} core-hours")


if __name__ == "__main__":
    main()
