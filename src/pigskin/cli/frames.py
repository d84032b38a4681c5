"""pigskin frames: sample frames of a video into JPEGs and a Ground Truth input manifest to label."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("frames", help="sample video frames into images + a manifest ready to label",
                       description=__doc__.splitlines()[0])
    p.add_argument("video", help="video file (mp4, mov, mkv, ...) or a folder of frame images")
    p.add_argument("--out", required=True, help="output folder (frames/*.jpg, manifest.jsonl)")
    p.add_argument("--every", type=int, default=30,
                   help="keep every N-th frame (counted from each play's start)")
    p.add_argument("--scene-cuts", action="store_true",
                   help="split into plays at scene cuts (writes plays.json)")
    p.add_argument("--threshold", type=float, default=0.35,
                   help="histogram distance that counts as a cut (0..1)")
    p.add_argument("--min-play", type=int, default=15, help="shortest play in frames")
    p.add_argument("--prefix", default=None,
                   help="source-ref prefix, e.g. s3://bucket/frames/ (default frames/)")
    p.add_argument("--quality", type=int, default=92, help="JPEG quality")
    p.add_argument("--fps", type=float, default=None, help="frame rate of an image folder (default 30)")
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from pigskin.track.scenes import SceneConfig, export_frames

    config = SceneConfig(threshold=args.threshold, min_length=args.min_play)
    lines = export_frames(args.video, args.out, every=args.every, scene_cuts=args.scene_cuts, config=config,
                          prefix=args.prefix, quality=args.quality, fps=args.fps)
    plays = len({line["pigskin-frame"]["play"] for line in lines})
    print(f"wrote {len(lines)} frames from {plays} play(s) to {args.out}/frames and "
          f"{args.out}/manifest.jsonl")
    return 0
