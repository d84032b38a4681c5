"""Field registration on synthetic clips with exact cameras: share of frames registered, the error
of the ball's registered field position, and each play's spot error, per camera.

    python benchmarks/field_registration.py [--clips 10] [--seconds 3.5] [--seed 9173] [--width 640]

Clips are drawn fresh (seed 9173 is used nowhere else), both cameras (half end-zone), with the
painted line width (0.07-0.20 yd) and paint tint (0-0.35 toward cream / grey) randomised per clip,
and read back from their H.264 files. Variant: **known start** -- each clip's first frame's true
homography seeds the tracker; every later frame is registered from its own pixels.

- ``reg``: share of frames registered.
- ``H err``: for frames with the ball on the ground (height < 0.5 yd) and in the picture, the distance
  (yd) between the estimated and the true homography's projection of the ball's image centre: the
  registration's error where the ball is.
- ``pos err``: the estimated field position of the ball against its true field position (adds the
  ball's own height, ~0.1 yd, seen obliquely).
- ``spot``: each clip is one play; its spot from the true image centre through the estimated
  homographies (``BallOnField``, no detector), against the true position at the spot's frame.
"""

from __future__ import annotations

import argparse
import math
import tempfile
import time
from pathlib import Path

import numpy as np

from pigskin.field import BallOnField, FieldConfig, register_frames
from pigskin.field.align import apply
from pigskin.fileio import read_json_lines
from pigskin.synth import generate_clips, preset
from pigskin.video import VideoReader


def clip_result(video: Path, truth: list[dict], fps: float) -> dict:
    """Per-frame registration errors and the play's spot error for one clip."""
    start = np.array(truth[0]["field_h"])
    with VideoReader(video) as reader:
        regs = list(register_frames((f.image for f in reader), start, FieldConfig()))
    ball = BallOnField(fps)
    h_err, pos_err = [], []
    for reg, t in zip(regs, truth, strict=True):
        uv = np.array([[t["cx"], t["cy"]]])
        in_picture = bool(t.get("visible")) or (t["visible_fraction"] > 0)
        ball.locate(reg, uv[0] if in_picture else None)
        w, h = reg.registered, t["ball_height"] < 0.5 and in_picture
        if w and h:
            est = apply(reg.homography, uv)[0][0]
            true = apply(np.array(t["field_h"]), uv)[0][0]
            h_err.append(float(np.linalg.norm(est - true)))
            pos_err.append(float(np.linalg.norm(est - np.array(t["ball_field"]))))
    spot = ball.end_play()
    spot_err = math.nan
    if spot["frame"] is not None:
        spot_err = float(np.linalg.norm(np.array([spot["field_x"], spot["field_y"]])
                                        - np.array(truth[spot["frame"]]["ball_field"])))
    return {"camera": truth[0]["camera"], "frames": len(regs), "registered": sum(r.registered for r in regs),
            "h_err": h_err, "pos_err": pos_err, "spot_err": spot_err, "spot": spot}


def q(values: list[float], p: float) -> str:
    return "    -" if not values else f"{np.percentile(values, p):5.2f}"


def table(results: list[dict]) -> str:
    head = (f"{'camera':<9} {'clips':>5} {'frames':>6} {'reg':>5} {'ground':>6} {'H med':>5} {'H p90':>5} "
            f"{'pos med':>7} {'pos p90':>7} {'spots':>5} {'spot med':>8} {'spot max':>8}")
    lines = [head]
    for cam in ("sideline", "endzone", "all"):
        rs = [r for r in results if cam in ("all", r["camera"])]
        if not rs:
            continue
        frames = sum(r["frames"] for r in rs)
        reg = sum(r["registered"] for r in rs) / max(frames, 1)
        h = [e for r in rs for e in r["h_err"]]
        pos = [e for r in rs for e in r["pos_err"]]
        spots = [r["spot_err"] for r in rs if not math.isnan(r["spot_err"])]
        lines.append(f"{cam:<9} {len(rs):5d} {frames:6d} {100 * reg:4.0f}% {len(h):6d} {q(h, 50)} {q(h, 90)} "
                     f"{q(pos, 50):>7} {q(pos, 90):>7} {len(spots):2d}/{len(rs):<2d} {q(spots, 50):>8} "
                     f"{(max(spots) if spots else math.nan):8.2f}")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clips", type=int, default=10)
    ap.add_argument("--seconds", type=float, default=3.5)
    ap.add_argument("--fps", type=float, default=30.0)
    ap.add_argument("--seed", type=int, default=9173)
    ap.add_argument("--width", type=int, default=640)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    cfg = preset("broadcast", width=args.width, height=args.width * 9 // 16, seed=args.seed, endzone_p=0.5,
                 line_width=(0.07, 0.2), line_tint=(0.0, 0.35))
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        generate_clips(cfg, args.clips, Path(tmp, "clips"), seconds=args.seconds, fps=args.fps,
                       workers=args.workers)
        t1 = time.perf_counter()
        results = []
        for k in range(args.clips):
            base = Path(tmp, "clips", "clips", f"{k:06d}")
            truth = [row for _, row in read_json_lines(base.with_suffix(".truth.jsonl"))]
            r = clip_result(base.with_suffix(".mp4"), truth, args.fps)
            results.append(r)
            s = r["spot"]
            print(f"clip {k}: {r['camera']:<8} registered {r['registered']}/{r['frames']}, spot "
                  f"{s['field_x']},{s['field_y']} ({s['yard_line']}, {s['hash']}) "
                  f"error {r['spot_err']:.2f} yd")
        t2 = time.perf_counter()
    n = sum(r["frames"] for r in results)
    print(f"\nknown-start variant, seed {args.seed}, {args.clips} clips x {args.seconds} s at "
          f"{args.fps:g} fps, {args.width}x{cfg.height}; render {t1 - t0:.0f} s, "
          f"registration {1000 * (t2 - t1) / n:.0f} ms/frame")
    print(table(results))


if __name__ == "__main__":
    main()
