"""pigskin track: follow the ball through a video; annotated mp4, tracks.csv/jsonl, a label file."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pigskin.track.job import TrackJob


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("track", help="track the ball through a video (or an image folder)",
                       description=__doc__.splitlines()[0])
    p.add_argument("video", help="video file (mp4, mov, mkv, ...) or a folder of frame images")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--field", metavar="START", default=None,
                   help="register the field and report the ball in yards (docs/field.md): START is the first "
                        "frame's image->field homography, a JSON file {\"homography\": 3x3} or a clip's "
                        "truth.jsonl; adds field_x,field_y,field_state to tracks.csv, writes spots.csv and "
                        "field.jsonl and draws the yard lines")
    add_track_options(p)
    p.set_defaults(func=_run)


def add_track_options(p: argparse.ArgumentParser) -> None:
    """The detector and tracking options; ``pigskin batch`` takes the same ones."""
    src = p.add_mutually_exclusive_group()
    src.add_argument("--model", help="a model.tar.gz, or a released model's name (default: pigskin-ball, "
                                     "the ball model that ships with pigskin: docs/models.md)")
    src.add_argument("--detector", choices=["simple"],
                     help="built-in detector instead of a model: 'simple' = brown colour blobs (demo clips)")
    p.add_argument("--score-threshold", type=float, default=None, help="model score threshold")
    p.add_argument("--ball-class", default=None, help="the model's ball class (default: football/ball/0)")
    p.add_argument("--no-window", action="store_true", help="search the whole frame on every frame")
    p.add_argument("--full-every", type=int, default=15,
                   help="whole-frame search at least every K frames while a ball is tracked")
    p.add_argument("--lost-every", type=int, default=1,
                   help="whole-frame search every K frames while no ball is tracked (1: every frame; 3 "
                        "is ~1.7x faster on the synthetic clips, with 9-14 points less recall)")
    p.add_argument("--no-threads", action="store_true",
                   help="decode and encode in the main thread (default: in two threads beside the model)")
    p.add_argument("--window-px", type=int, default=256, help="smallest side of the search window")
    p.add_argument("--smooth", action="store_true", help="also write the smoothed, gap-filled track")
    p.add_argument("--max-gap", type=int, default=15, help="longest gap (frames) that smoothing fills")
    p.add_argument("--motion", choices=["acceleration", "velocity"], default="acceleration")
    p.add_argument("--max-coast", type=int, default=60, help="frames of prediction before the track is lost")
    p.add_argument("--gate-px", type=float, default=30.0, help="smallest gate radius around the prediction")
    p.add_argument("--min-score", type=float, default=None,
                   help="ignore detections below this score (default: the model's score threshold, with the "
                        "score to start a track scaled to it; 0.2 for the simple detector)")
    p.add_argument("--no-video", action="store_true", help="skip the annotated mp4 (faster)")
    p.add_argument("--save-frames", action="store_true", help="write frames/*.jpg for the Ground Truth file")
    p.add_argument("--fps", type=float, default=None, help="frame rate of an image folder (default 30)")
    p.add_argument("--crf", type=int, default=23, help="H.264 quality of the annotated video")
    p.add_argument("--preset", default="superfast", help="x264 speed preset (ultrafast ... veryslow)")
    p.add_argument("--precision", choices=["fp32", "bf16"], default="fp32",
                   help="bf16: bfloat16 inference, faster on CPUs with AVX512-BF16 or AMX")
    p.add_argument("--backend", choices=["auto", "torch", "onnx"], default="auto",
                   help="model runtime: onnx = ONNX Runtime (faster on CPU), auto = onnx when installed "
                        "and fp32")
    p.add_argument("--threads", type=int, default=None, help="model threads (default: all cores)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def track_job(args: argparse.Namespace) -> TrackJob:
    """The :class:`TrackJob` that the options of :func:`add_track_options` describe."""
    from pigskin.track.job import TrackJob
    from pigskin.track.pipeline import PipelineConfig
    from pigskin.track.tracker import TrackerConfig

    config = PipelineConfig(
        window=not args.no_window, window_px=args.window_px, full_every=args.full_every,
        lost_every=args.lost_every, threads=not args.no_threads, smooth=args.smooth,
        max_gap=args.max_gap, write_video=not args.no_video, save_frames=args.save_frames, fps=args.fps,
        crf=args.crf, preset=args.preset, progress=not args.quiet, field_start=getattr(args, "field", None),
    )
    tracker = TrackerConfig(motion=args.motion, max_coast=args.max_coast, gate_px=args.gate_px)
    return TrackJob(model=args.model, detector=args.detector, score_threshold=args.score_threshold,
                    ball_class=args.ball_class, precision=args.precision, backend=args.backend,
                    threads=args.threads, min_score=args.min_score, pipeline=config, tracker=tracker)


def _run(args: argparse.Namespace) -> int:
    result = track_job(args).run(args.video, args.out)
    states = [r["state"] for r in result.rows]
    print(result.timing.table())
    counts = ", ".join(f"{states.count(s)} {s}" for s in ("detected", "predicted", "lost"))
    print(f"{len(states)} frames: {counts}")
    print(f"wrote {result.out_dir}/: annotated.mp4 tracks.csv tracks.jsonl groundtruth.manifest timing.json"
          + (" tracks_smoothed.csv" if args.smooth else "")
          + (" spots.csv field.jsonl" if args.field else ""))
    return 0
