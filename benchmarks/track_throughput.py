"""Whole tracking pipeline throughput (decode -> detect -> track -> draw -> encode) at 1280x720,
with and without the window search, in one run on the same video.

    python benchmarks/track_throughput.py [--video clip.mp4] [--frames 240] [--model model.tar.gz]
                                          [--full-every 15] [--repeat 1]

Without ``--video`` it draws an 8 s, 30 fps, 1280x720 demo clip (``pigskin.track.demo``: a ball in
arcs over textured turf, players that hide it) into a temporary folder first; rendering is not
timed. The detector is the training-free blob detector (``pigskin.track.simple``) unless
``--model`` names a trained ``model.tar.gz``. Three rows, same video, same detector:

- ``io only``: a detector that finds nothing (the decode + draw + encode floor of this machine);
- ``full frame``: the detector sees the whole frame on every frame;
- ``window``: a window around the prediction while the track is confident, the whole frame every
  ``--full-every`` frames and whenever the track coasts or is lost.

Prints frames/s, ms/frame per stage, and window / full speed-up.
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
from pathlib import Path

from pigskin import runtime

runtime.prepare()  # as pigskin track does, before torch starts

from pigskin.detections import Detections  # noqa: E402
from pigskin.track.pipeline import PipelineConfig, model_detector, track_video  # noqa: E402
from pigskin.track.simple import BlobDetector  # noqa: E402


def _nothing(frame, window=None) -> Detections:
    return Detections.empty(with_confidence=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--video", help="video to track (default: a 1280x720 demo clip drawn first)")
    ap.add_argument("--frames", type=int, default=240, help="demo clip length (8 s at 30 fps)")
    ap.add_argument("--model", help="trained model.tar.gz instead of the blob detector")
    ap.add_argument("--full-every", type=int, default=15)
    ap.add_argument("--repeat", type=int, default=1, help="runs per row; the best is reported")
    ap.add_argument("--preset", default=PipelineConfig.preset, help="x264 preset of the annotated video")
    ap.add_argument("--precision", choices=["fp32", "bf16"], default="fp32", help="model inference precision")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        video = Path(args.video) if args.video else _demo(tmp / "demo_1280x720.mp4", args.frames)
        detector = model_detector(args.model, precision=args.precision) if args.model else BlobDetector()
        name = Path(args.model).name if args.model else "blob (pigskin.track.simple)"
        common = dict(progress=False, preset=args.preset, full_every=args.full_every)
        rows = [
            ("io only", _nothing, PipelineConfig(window=False, **common)),
            ("full frame", detector, PipelineConfig(window=False, **common)),
            ("window", detector, PipelineConfig(window=True, **common)),
        ]
        results = {}
        for label, det, cfg in rows:
            best = None
            for k in range(args.repeat):
                res = track_video(video, det, tmp / f"out_{label.replace(' ', '_')}_{k}", cfg)
                if best is None or res.timing.fps > best.timing.fps:
                    best = res
            results[label] = best

    info = results["window"].info
    print(f"machine: {platform.machine()} {platform.processor() or ''} cpus={os.cpu_count()} "
          f"python {platform.python_version()}")
    print(f"video: {video.name} {info.width}x{info.height} {info.fps:g} fps, "
          f"{results['window'].timing.frames} frames; detector: {name}; x264 preset {args.preset}")
    stages = list(results["window"].timing.seconds)
    head = (f"{'run':<11} {'fps':>7} " + " ".join(f"{s:>8}" for s in stages)
            + f" {'window%':>8} {'detected':>9}")
    print(head)
    print("-" * len(head))
    for label, res in results.items():
        t = res.timing
        n = max(t.frames, 1)
        det = sum(r["state"] == "detected" for r in res.rows)
        print(f"{label:<11} {t.fps:7.1f} " + " ".join(f"{1000 * t.seconds[s] / n:8.2f}" for s in stages)
              + f" {100 * t.window_frames / n:7.0f}% {det:9d}")
    print("(stage columns: ms per frame)")
    full, win = results["full frame"].timing, results["window"].timing
    detect_gain = full.seconds["detect"] / max(win.seconds["detect"], 1e-9)
    print(f"window / full frame: {win.fps / full.fps:.2f}x frames/s, detect stage {detect_gain:.1f}x faster")


def _demo(path: Path, frames: int) -> Path:
    from pigskin.track.demo import DemoConfig, write_demo_clip

    write_demo_clip(path, DemoConfig(width=1280, height=720, frames=frames, occlusions=3, seed=7))
    return path


if __name__ == "__main__":
    main()
