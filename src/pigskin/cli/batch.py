"""pigskin batch: track many videos on Ray (a local instance or a cluster); DIR/<video>/, DIR/season.csv."""

from __future__ import annotations

import argparse

from pigskin.cli.track import add_track_options, track_job


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("batch", help="track a season of videos on Ray, resumable, one season.csv",
                       description=__doc__.splitlines()[0])
    p.add_argument("videos", nargs="*", metavar="VIDEO", help="video files (or folders of frame images)")
    p.add_argument("--list", dest="video_list", metavar="FILE", help="a file of video paths, one a line")
    p.add_argument("--manifest", metavar="FILE",
                   help='JSON lines {"source-ref": PATH} (or "video"), optionally "name": output folder')
    p.add_argument("--out", required=True, help="output folder: DIR/<video stem>/ per video, DIR/season.csv")
    p.add_argument("--address", default=None,
                   help="join a running Ray cluster: auto, HOST:6379 or ray://HOST:10001 (default: start a "
                        "local Ray instance on this machine)")
    p.add_argument("--workers", type=int, default=None,
                   help="videos tracked at once, each worker holding one loaded model (default: one per "
                        "--cpus-per-worker CPUs)")
    p.add_argument("--cpus", type=int, default=None, help="CPUs of the local Ray instance (default: all)")
    p.add_argument("--cpus-per-worker", type=int, default=None,
                   help="CPUs (and model threads) per worker (default: CPUs / --workers, or 1)")
    p.add_argument("--no-ray", action="store_true",
                   help="track in this process, one video at a time (with --workers 1; for debugging)")
    add_track_options(p)
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from pigskin.batch import BatchConfig, from_paths, read_list, read_manifest, run_batch

    videos = from_paths(args.videos)
    if args.video_list:
        videos += read_list(args.video_list)
    if args.manifest:
        videos += read_manifest(args.manifest)
    cfg = BatchConfig(tuple(videos), args.out, track_job(args), address=args.address, workers=args.workers,
                      cpus=args.cpus, cpus_per_worker=args.cpus_per_worker, ray=not args.no_ray,
                      progress=not args.quiet)
    result = run_batch(cfg)
    failed = result.failed
    print(f"{len(result.rows)} videos: {len(result.rows) - len(failed)} complete "
          f"({len(result.skipped)} already), {len(failed)} failed; this run: {len(result.ran)} videos, "
          f"{result.frames_run} frames in {result.wall_s:.1f} s = {result.fps:.1f} frames/s, "
          f"workers: {len(result.workers)}")
    for r in failed:
        print(f"failed: {r['name']}: {r['error']}")
    print(f"wrote {result.season}")
    return 1 if failed else 0
