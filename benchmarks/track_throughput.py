"""Whole tracking pipeline throughput (decode -> detect -> track -> draw -> encode) at 1280x720,
with and without the window search, in one run on the same video.

    python benchmarks/track_throughput.py [--video clip.mp4] [--frames 240] [--model model.tar.gz]
                                          [--full-every 15] [--repeat 3] [--backend auto]

Without ``--video`` it draws an 8 s, 30 fps, 1280x720 demo clip (``pigskin.synth.demo_clip``: a ball in
arcs over textured turf, players that hide it) into a temporary folder first; rendering is not
timed. The detector is the training-free blob detector (``pigskin.track.simple``) unless
``--model`` names a trained ``model.tar.gz``. Four rows, same video, same detector:

- ``io only``: a detector that finds nothing (the decode + draw + encode floor of this machine);
- ``full frame``: the detector sees the whole frame on every frame;
- ``window``: windows around the prediction and the candidates (``pigskin.track.pipeline.search_plan``),
  the whole frame every ``--full-every`` frames with a track and every 3 without one; ``window 1thr``
  is the same with decoding and encoding in the loop's thread instead of their own.

Every row but ``window 1thr`` decodes ahead and encodes behind in two threads (the default).

Prints frames/s (median of ``--repeat`` runs), ms/frame per stage, and window / full speed-up.
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from pigskin import runtime

runtime.prepare()  # as pigskin track does, before torch starts

from pigskin.detections import Detections  # noqa: E402
from pigskin.track.detectors import model_detector  # noqa: E402
from pigskin.track.pipeline import PipelineConfig, track_video  # noqa: E402
from pigskin.track.simple import BlobDetector  # noqa: E402
from pigskin.track.tracker import TrackerConfig  # noqa: E402
from pigskin.video import VideoReader  # noqa: E402


def _nothing(frame, window=None) -> Detections:
    return Detections.empty(with_confidence=True)


@dataclass
class Row:
    """One configuration over every video: summed frames, wall time and stage seconds."""

    frames: int = 0
    wall_s: float = 0.0
    full: int = 0
    detected: int = 0
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def fps(self) -> float:
        return self.frames / self.wall_s if self.wall_s else 0.0

    def add(self, res) -> None:
        t = res.timing
        self.frames, self.wall_s = self.frames + t.frames, self.wall_s + t.wall_s
        self.full += t.full_frames
        self.detected += sum(r["state"] == "detected" for r in res.rows)
        for k, v in t.seconds.items():
            self.seconds[k] = self.seconds.get(k, 0.0) + v


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--video", nargs="+", help="videos to track (default: a 1280x720 demo clip drawn first)")
    ap.add_argument("--frames", type=int, default=240, help="demo clip length (8 s at 30 fps)")
    ap.add_argument("--model", help="trained model.tar.gz instead of the blob detector")
    ap.add_argument("--full-every", type=int, default=15)
    ap.add_argument("--repeat", type=int, default=3, help="runs per row; the median is reported")
    ap.add_argument("--preset", default=PipelineConfig.preset, help="x264 preset of the annotated video")
    ap.add_argument("--precision", choices=["fp32", "bf16"], default="fp32", help="model inference precision")
    ap.add_argument("--backend", choices=["auto", "torch", "onnx"], default="auto",
                    help="model runtime (auto: ONNX Runtime when installed and fp32)")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        videos = ([Path(v) for v in args.video] if args.video
                  else [_demo(tmp / "demo_1280x720.mp4", args.frames)])
        detector = (model_detector(args.model, precision=args.precision, backend=args.backend)
                    if args.model else BlobDetector())
        name = (f"{Path(args.model).name} on {getattr(detector.model, 'kind', 'torch')} {args.precision}"
                if args.model else "blob (pigskin.track.simple)")
        # the tracker settings pigskin track uses with this detector (they decide when it searches whole)
        tracker = (TrackerConfig().at_threshold(detector.score_threshold) if args.model else TrackerConfig())
        common = dict(progress=False, preset=args.preset, full_every=args.full_every)
        configs = [
            ("io only", _nothing, PipelineConfig(window=False, **common)),
            ("full frame", detector, PipelineConfig(window=False, **common)),
            ("window 1thr", detector, PipelineConfig(window=True, threads=False, **common)),
            ("window", detector, PipelineConfig(window=True, **common)),
        ]
        results: dict[str, Row] = {}
        for label, det, cfg in configs:
            runs = []
            for k in range(args.repeat):
                row = Row()
                for i, video in enumerate(videos):
                    row.add(track_video(video, det, tmp / f"out_{label.replace(' ', '_')}_{k}_{i}", cfg,
                                        tracker))
                runs.append(row)
            results[label] = sorted(runs, key=lambda r: r.fps)[len(runs) // 2]  # the median run
        info = VideoReader(videos[0]).info

    print(f"machine: {platform.machine()} {platform.processor() or ''} cpus={os.cpu_count()} "
          f"python {platform.python_version()}")
    print(f"videos: {', '.join(v.name for v in videos)} ({info.width}x{info.height} {info.fps:g} fps), "
          f"{results['window'].frames} frames; detector: {name}; x264 preset {args.preset}")
    stages = list(results["window"].seconds)
    head = (f"{'run':<11} {'fps':>7} " + " ".join(f"{s:>8}" for s in stages)
            + f" {'whole%':>7} {'detected':>9}")
    print(head)
    print("-" * len(head))
    for label, row in results.items():
        n = max(row.frames, 1)
        ms = " ".join(f"{1000 * row.seconds.get(s, 0.0) / n:8.2f}" for s in stages)
        print(f"{label:<11} {row.fps:7.1f} {ms} {100 * row.full / n:6.0f}% {row.detected:9d}")
    print("(stage columns: ms per frame; decode/draw/encode run in threads beside detect except in 1thr)")
    full, win = results["full frame"], results["window"]
    detect_gain = full.seconds["detect"] / max(win.seconds["detect"], 1e-9)
    print(f"window / full frame: {win.fps / full.fps:.2f}x frames/s, detect stage {detect_gain:.1f}x faster")


def _demo(path: Path, frames: int) -> Path:
    from pigskin.synth.demo_clip import DemoConfig, write_demo_clip

    write_demo_clip(path, DemoConfig(width=1280, height=720, frames=frames, occlusions=3, seed=7))
    return path


if __name__ == "__main__":
    main()
