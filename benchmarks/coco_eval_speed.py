"""COCO box AP: pigskin's vectorised evaluator vs pycocotools on the same random data, in one run.

    python benchmarks/coco_eval_speed.py [--images 10000] [--seed 0] [--classes 3] [--repeat 1]

Random ground truth (normal, crowded, empty and single-box images, a few crowd boxes) and
detections (jittered copies of GT plus random boxes, scores rounded to create ties). pycocotools
runs COCO + COCOeval evaluate/accumulate/summarize with stdout silenced; ours runs
``pigskin.evaluate.metrics.coco_eval`` with the same four COCO area ranges (and, in a second row,
with the four ball-size ranges added, as ``pigskin evaluate`` does). Prints seconds, the speed-up
and the largest absolute difference over the 12 COCO summary numbers.
"""

from __future__ import annotations

import argparse
import math
import platform
import time

import numpy as np

from pigskin.detections import Detections
from pigskin.evaluate.metrics import BALL_RANGES, COCO_RANGES, coco_eval
from pigskin.evaluate.reference import STAT_NAMES, pycocotools_eval, to_coco_gt, to_coco_results
from pigskin.samples import Dataset, Sample


def random_data(n_images: int, n_classes: int, seed: int) -> tuple[Dataset, list[Detections]]:
    rng = np.random.default_rng(seed)
    samples, preds = [], []
    for i in range(n_images):
        kind = rng.choice(4, p=[0.6, 0.1, 0.15, 0.15])  # normal, crowded, empty, single
        ng = [int(rng.integers(1, 8)), int(rng.integers(20, 40)), 0, 1][kind]
        nd = [
            int(rng.integers(0, 25)),
            int(rng.integers(40, 120)),
            int(rng.integers(0, 4)),
            int(rng.integers(0, 4)),
        ][kind]
        xy = rng.uniform(0, 1200, (ng, 2))
        wh = rng.uniform(3, 150, (ng, 2)) * rng.choice([0.1, 1.0, 3.0], (ng, 1))
        gb = np.concatenate([xy, xy + np.maximum(wh, 1)], 1)
        gc = rng.integers(0, n_classes, ng)
        gt = Detections(gb, gc, attrs={"iscrowd": (rng.random(ng) < 0.03).astype(int)})
        xy2 = rng.uniform(0, 1200, (nd, 2))
        db = np.concatenate([xy2, xy2 + rng.uniform(3, 150, (nd, 2))], 1)
        dc = rng.integers(0, n_classes, nd)
        if ng:
            src = rng.integers(0, ng, nd)
            size = np.repeat(gb[src, 2:] - gb[src, :2], 2, axis=1)
            near = rng.random(nd) < 0.7
            db[near] = (gb[src] + rng.normal(0, 0.12, (nd, 4)) * size)[near]
            dc[near] = gc[src][near]
        db[:, 2:] = np.maximum(db[:, 2:], db[:, :2] + 0.5)
        preds.append(Detections(db, dc, np.round(rng.random(nd), 3)))
        samples.append(Sample(f"img_{i:06d}.jpg", 1280, 1280, gt))
    return Dataset([f"class{k}" for k in range(n_classes)], samples), preds


def ours_stats(ds: Dataset, preds: list[Detections], ranges) -> dict[str, float]:
    res = coco_eval([s.detections for s in ds], preds, len(ds.classes), ranges)
    md = res.max_dets
    vals = [res.mean(), res.mean(iou=0.5), res.mean(iou=0.75)]
    vals += [res.mean(rng=r) for r in ("small", "medium", "large")]
    vals += [res.mean("ar", max_det=m) for m in md]
    vals += [res.mean("ar", rng=r) for r in ("small", "medium", "large")]
    return dict(zip(STAT_NAMES, vals, strict=True))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=10_000)
    ap.add_argument("--classes", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--repeat", type=int, default=1, help="time each evaluator this often; keep the best")
    args = ap.parse_args()

    ds, preds = random_data(args.images, args.classes, args.seed)
    n_gt = sum(len(s.detections) for s in ds)
    n_dt = sum(len(p) for p in preds)
    print(
        f"{args.images} images, {args.classes} classes, {n_gt} GT boxes, {n_dt} detections "
        f"({platform.processor() or platform.machine()}, numpy {np.__version__})"
    )

    t0 = time.perf_counter()
    gt_dict, results = to_coco_gt(ds), to_coco_results(preds)
    t_convert = time.perf_counter() - t0
    t_ref = math.inf
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        ev = pycocotools_eval(gt_dict, results)
        t_ref = min(t_ref, time.perf_counter() - t0)
    ref = {k: float(v) if v > -1 else float("nan") for k, v in zip(STAT_NAMES, ev.stats, strict=True)}

    rows = []
    for label, ranges in (
        ("pigskin (COCO ranges)", COCO_RANGES),
        ("pigskin (+ ball sizes)", COCO_RANGES + BALL_RANGES),
    ):
        t = math.inf
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            mine = ours_stats(ds, preds, ranges)
            t = min(t, time.perf_counter() - t0)
        diff = max(
            abs(mine[k] - ref[k]) if np.isfinite(ref[k]) else (0.0 if not np.isfinite(mine[k]) else 1.0)
            for k in STAT_NAMES
        )
        rows.append((label, t, t_ref / t, diff))

    print(f"\n{'evaluator':<26} {'seconds':>9} {'speed-up':>9} {'max |diff|':>11}   (best of {args.repeat})")
    print(f"{'pycocotools 2.0.11':<26} {t_ref:>9.2f} {'1.0x':>9} {'-':>11}")
    for label, t, speed, diff in rows:
        print(f"{label:<26} {t:>9.2f} {speed:>8.1f}x {diff:>11.2e}")
    print(
        f"\n(pycocotools time excludes {t_convert:.2f} s building its input dicts; "
        f"AP={ref['AP']:.4f} AP50={ref['AP50']:.4f} AP75={ref['AP75']:.4f} AP_small={ref['AP_small']:.4f})"
    )


if __name__ == "__main__":
    main()
