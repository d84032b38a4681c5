"""The tracker's detector on PyTorch vs ONNX Runtime: ms per search on a whole 1280x720 frame and on
square windows, through the same ``FrameHistory`` the pipeline uses (crop, K-frame stack, predict).

    python benchmarks/tracker_backends.py [--model model.tar.gz] [--sizes 128 256 384] [--rounds 15]

Without ``--model`` it times an untrained ``heatmap_mobilenet_v2`` (K = 3, random weights: the cost
does not depend on them). Prints the median ms per call and the ONNX Runtime / PyTorch speed-up.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from pigskin import runtime

runtime.prepare()  # as pigskin track does, before torch starts

import numpy as np  # noqa: E402

from pigskin.track.detectors import model_detector  # noqa: E402


def _untrained(path: Path) -> Path:
    import torch

    from pigskin.config import ModelConfig
    from pigskin.models import build_model
    from pigskin.models.artifact import save_artifact

    config = ModelConfig(name="heatmap_mobilenet_v2", frames=3, pretrained=False)
    torch.manual_seed(0)
    return save_artifact(path, build_model(config).eval(), config, ["football"])


def _median_ms(detector, frames: list[np.ndarray], window, rounds: int) -> float:
    detector.reset()
    times = []
    for i in range(rounds + 2):
        frame = frames[i % len(frames)]
        t0 = time.perf_counter()
        detector(frame, window)
        if i >= 2:  # the first calls warm up
            times.append(time.perf_counter() - t0)
    return 1000 * float(np.median(times))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", help="trained model.tar.gz (default: an untrained K = 3 heatmap model)")
    ap.add_argument("--sizes", type=int, nargs="+", default=[128, 256, 384], help="window sides (px)")
    ap.add_argument("--rounds", type=int, default=15)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    frames = [rng.integers(0, 255, (720, 1280, 3), dtype=np.uint8) for _ in range(4)]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(args.model) if args.model else _untrained(Path(tmp) / "model.tar.gz")
        detectors = {b: model_detector(path, score_threshold=0.5, backend=b) for b in ("torch", "onnx")}
        searches = [("whole 1280x720", None)] + [(f"window {s}x{s}", (400, 200, 400 + s, 200 + s))
                                                 for s in args.sizes]
        print(f"model: {path.name if args.model else 'heatmap_mobilenet_v2 K=3 (untrained)'}, "
              f"median of {args.rounds} calls, ms per search")
        print(f"{'search':<16} {'torch':>8} {'onnx':>8} {'onnx speed-up':>14}")
        for label, window in searches:
            ms = {b: _median_ms(d, frames, window, args.rounds) for b, d in detectors.items()}
            print(f"{label:<16} {ms['torch']:8.1f} {ms['onnx']:8.1f} {ms['torch'] / ms['onnx']:13.1f}x")


if __name__ == "__main__":
    main()
