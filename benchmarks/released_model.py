"""The released ball model (or any model) on labelled frames it never saw: AP50 and ball-point figures.

    python benchmarks/released_model.py [--model pigskin-ball] [--data DIR_OR_MANIFEST ...]

Default data: ``../shared/data/soccer-ball/val`` (real broadcast frames, a soccer ball: the real-pixel
check; skipped politely where that folder is absent, as on a user's machine). Every data set is
single-class for this purpose: the model's ball class is scored against every labelled box, so a
football model can be measured on a set whose class is called ``ball``. Frames are scored as stills
(a multi-frame model sees each frame repeated). Prints, per set: COCO AP50 (pycocotools-equal), the
ball-point precision / recall / F1 with the model's own score threshold and at the threshold with the
best F1, and the point AP; a hit is a centre within ``--distance`` px at 1280 px width (scaled to the
frame's width: 15 px on a 1920x1080 frame).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from pigskin import runtime

runtime.prepare()  # before torch starts, as pigskin track does

from pigskin.evaluate.points import best_threshold, point_metrics  # noqa: E402
from pigskin.formats import load  # noqa: E402
from pigskin.models.artifact import load_model  # noqa: E402
from pigskin.train.validate import ap50  # noqa: E402

SOCCER = Path(__file__).resolve().parents[2] / "shared" / "data" / "soccer-ball" / "val"


def score_set(predictor, path: Path, distance: float, limit: int) -> dict[str, float]:
    ds = load(path)
    samples = ds.samples[:limit] if limit else ds.samples
    gts, preds, seconds, width = [], [], 0.0, 1280
    for s in samples:
        image = ds.load_image(s)
        width = image.shape[1]
        t0 = time.perf_counter()
        d = predictor.predict([image], score_threshold=0.01)[0]
        seconds += time.perf_counter() - t0
        preds.append(d.replace(class_id=d.class_id * 0))  # the ball class, whatever its name
        gts.append(s.detections.replace(class_id=s.detections.class_id * 0))
    tol = distance * width / 1280  # the last frame's width: a set's frames share one size
    own = point_metrics(gts, preds, [0], tol, predictor.score_threshold)
    best = best_threshold(gts, preds, [0], tol)
    return {"frames": len(samples), "width": width, "tol": tol, "ap50": ap50(preds, gts, 1)["ap50"],
            "own": own, "best": best, "ms": 1000 * seconds / max(1, len(samples))}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="pigskin-ball", help="a model.tar.gz or a released name")
    ap.add_argument("--data", nargs="*", type=Path, help="data sets (folders or label files pigskin reads)")
    ap.add_argument("--distance", type=float, default=10.0, help="point hit radius in px at 1280 px width")
    ap.add_argument("--limit", type=int, default=0, help="frames per set (0 = all)")
    args = ap.parse_args()
    sets = args.data or ([SOCCER] if SOCCER.exists() else [])
    if not sets:
        print(f"no data: {SOCCER} is absent and no --data was given; nothing to do")
        return
    predictor = load_model(args.model)
    print(f"model: {args.model} ({predictor.name}, score threshold {predictor.score_threshold:.3f})")
    head = (f"{'data':<34} {'frames':>6} {'AP50':>6} {'tol px':>6} | {'own P':>6} {'R':>6} {'F1':>6} | "
            f"{'best thr':>8} {'P':>6} {'R':>6} {'F1':>6} | {'pt AP':>6} {'ms/frame':>8}")
    print(head)
    print("-" * len(head))
    for path in sets:
        r = score_set(predictor, path, args.distance, args.limit)
        o, b = r["own"], r["best"]
        name = "/".join(path.parts[-2:])[-34:]
        print(f"{name:<34} {r['frames']:6d} {r['ap50']:6.3f} {r['tol']:6.1f} | {o.precision:6.3f} "
              f"{o.recall:6.3f} {o.f1:6.3f} | {b.score_threshold:8.3f} {b.precision:6.3f} {b.recall:6.3f} "
              f"{b.f1:6.3f} | {b.ap:6.3f} {r['ms']:8.0f}")


if __name__ == "__main__":
    main()
