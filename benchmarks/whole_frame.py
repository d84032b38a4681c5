"""The tracker's whole-frame pass at 1280x720, and cheaper ways to do it, with their accuracy.

    python benchmarks/whole_frame.py [--model pigskin-ball] [--frames 60] [--threads 2]

The whole-frame search runs whenever the tracker has no ball (docs/track.md): one detector call on
the full frame. This measures, in one run, on the same frames (broadcast stills rendered for this
run, seed 9301, both cameras; each taken as a frame that did not move):

- ``fp32 1280``: the exported ONNX graph at the model's scale (what ``pigskin track`` does);
- ``int8 1280``: the same graph quantised by ONNX Runtime (static, QDQ, per-channel int8 weights,
  uint8 activations calibrated on 16 other frames);
- ``coarse S + k windows``: a first pass at long side S, then the model at full scale on a
  ``--window`` px window around each of its ``k`` best peaks (what the tracker's window search does
  around a prediction), the union of their detections;

and prints, per row: median ms per frame, the ratio to ``fp32 1280``, the share of frames whose
best-scoring detection is the ball (within 10 px: the candidate the tracker starts on), and ball-point
recall and precision within 10 px at the model's score threshold.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from pigskin import runtime

runtime.prepare()

from pigskin.detections import Detections  # noqa: E402
from pigskin.evaluate.points import point_metrics  # noqa: E402
from pigskin.models.released import resolve  # noqa: E402
from pigskin.serve.onnx_backend import OnnxBackend, artifact_onnx  # noqa: E402
from pigskin.track.detectors import crop, shift  # noqa: E402


def quantized(model_bytes: bytes, calibration: list[np.ndarray], backend: OnnxBackend) -> bytes:
    """The graph with int8 convolutions (QDQ), activations calibrated on ``calibration`` frames."""
    import onnx
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

    from pigskin.serve.onnx_backend import preprocess

    class Frames(CalibrationDataReader):
        def __init__(self) -> None:
            self.items = iter(calibration)

        def get_next(self) -> dict | None:
            frame = next(self.items, None)
            if frame is None:
                return None
            stack = np.concatenate([frame] * backend.frames, axis=2)
            batch, size, _ = preprocess(stack, backend.image_size, backend.size_divisible)
            return {"images": batch, "size": size}

    with tempfile.TemporaryDirectory() as tmp:
        src, dst = Path(tmp) / "fp32.onnx", Path(tmp) / "int8.onnx"
        src.write_bytes(model_bytes)
        quantize_static(str(src), str(dst), Frames(), quant_format=QuantFormat.QDQ, per_channel=True,
                        activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                        op_types_to_quantize=["Conv"])
        model = onnx.load(str(dst))
        for prop in onnx.load_from_string(model_bytes).metadata_props:  # keep pigskin's metadata
            model.metadata_props.add(key=prop.key, value=prop.value)
        return model.SerializeToString()


def coarse_to_fine(backend: OnnxBackend, frame: np.ndarray, coarse: int, k: int, window: int
                   ) -> Detections:
    """A pass at long side ``coarse``, then full-scale windows around its ``k`` best peaks."""
    h, w = frame.shape[:2]
    first = backend.predict([frame], 0.0, image_size=coarse)[0]
    order = np.argsort(-first.confidence)[:k]
    found = []
    for i in order:
        cx, cy = (first.xyxy[i, :2] + first.xyxy[i, 2:]) / 2
        pixels, corner = crop(frame, (cx - window / 2, cy - window / 2, cx + window / 2, cy + window / 2))
        size = max(1, round(max(pixels.shape[:2]) * backend.image_size / max(h, w)))
        found.append(shift(backend.predict([pixels], image_size=size)[0], corner))
    return Detections.concat(found) if found else Detections.empty()


def top1(truth: list[Detections], preds: list[Detections], distance: float = 10.0) -> float:
    """Share of frames with a ball whose best-scoring detection is within ``distance`` px of it: the
    candidate the tracker would start on."""
    hits = total = 0
    for t, p in zip(truth, preds, strict=True):
        if len(t) == 0:
            continue
        total += 1
        if len(p):
            best = p.xyxy[int(np.argmax(p.confidence))]
            centre, balls = (best[:2] + best[2:]) / 2, (t.xyxy[:, :2] + t.xyxy[:, 2:]) / 2
            hits += bool((np.linalg.norm(balls - centre, axis=1) <= distance).any())
    return hits / max(total, 1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="pigskin-ball")
    ap.add_argument("--frames", type=int, default=60, help="measured frames (each once after a warm-up)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--window", type=int, default=256)
    ap.add_argument("--seed", type=int, default=9301)
    args = ap.parse_args()

    from pigskin.synth import generate_images, preset

    artifact = resolve(args.model)
    model_bytes = artifact_onnx(artifact)
    if model_bytes is None:
        raise SystemExit(f"{artifact}: no ONNX graph inside (pigskin export adds one)")
    with tempfile.TemporaryDirectory() as tmp:
        cfg = preset("broadcast", width=1280, height=720, seed=args.seed, endzone_p=0.4)
        data = generate_images(cfg, args.frames + 16, Path(tmp) / "stills")
        frames = [data.load_image(s) for s in data.samples]
        truth = [s.detections for s in data.samples[: args.frames]]
    measured, calibration = frames[: args.frames], frames[args.frames:]
    fp32 = OnnxBackend(model_bytes, threads=args.threads)
    int8 = OnnxBackend(quantized(model_bytes, calibration, fp32), threads=args.threads)
    threshold = fp32.score_threshold
    rows = [
        ("fp32 1280", lambda f: fp32.predict([f])[0]),
        ("int8 1280", lambda f: int8.predict([f])[0]),
        ("fp32 coarse 640 + 3 windows", lambda f: coarse_to_fine(fp32, f, 640, 3, args.window)),
        ("fp32 coarse 640 + 5 windows", lambda f: coarse_to_fine(fp32, f, 640, 5, args.window)),
        ("int8 coarse 640 + 3 windows", lambda f: coarse_to_fine(int8, f, 640, 3, args.window)),
        ("fp32 coarse 800 + 3 windows", lambda f: coarse_to_fine(fp32, f, 800, 3, args.window)),
    ]
    print(f"{args.model}: {len(measured)} broadcast stills 1280x720 (seed {args.seed}), "
          f"{args.threads} threads, score >= {threshold:.3f}, window {args.window} px")
    head = f"{'pass':<30} {'ms/frame':>9} {'ratio':>6} {'top-1':>6} {'recall':>7} {'precision':>9}"
    print(head)
    print("-" * len(head))
    base = None
    for name, run in rows:
        run(measured[0])  # warm-up: allocations, kernel choice
        times, preds = [], []
        for frame in measured:
            t = time.perf_counter()
            d = run(frame)
            times.append((time.perf_counter() - t) * 1000)
            preds.append(d[d.confidence >= threshold])
        ms = statistics.median(times)
        base = base or ms
        m = point_metrics(truth, preds, [0], distance=10.0, score_threshold=threshold)
        print(f"{name:<30} {ms:9.1f} {base / ms:5.2f}x {top1(truth, preds):6.3f} {m.recall:7.3f} "
              f"{m.precision:9.3f}", flush=True)


if __name__ == "__main__":
    main()
