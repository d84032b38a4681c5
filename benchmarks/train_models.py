"""The three detector families on the synthetic default, each with the same CPU training budget.

    python benchmarks/train_models.py
        [--models fasterrcnn_mobilenet_v2,ssdlite_mobilenet_v2,yolov3_mobilenet_v2] [--minutes 30]
        [--train 2000] [--val 500] [--out runs/bench] [--set crop_size=384 ...]

Data: ``pigskin.synth`` broadcast preset at 1280x720, both cameras (rendered once into ``--out``).
Each model trains for ``--minutes`` (image_size 1280, crops per ``TrainConfig`` defaults unless
``--set``), then its best epoch is scored on the whole validation set. Columns: AP50, AP50 on balls
under 16 px, training minutes, and milliseconds per 1280x720 frame of ``Predictor.predict``
(median, one frame per call), with each model's AP50 relative to the first model's.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from train_common import common_args, machine, synth_data, table, train_and_evaluate

DEFAULT = "fasterrcnn_mobilenet_v2,ssdlite_mobilenet_v2,yolov3_mobilenet_v2"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default=DEFAULT, help="comma-separated model names (see `pigskin models`)")
    ap.add_argument("--train", type=int, default=2000)
    ap.add_argument("--val", type=int, default=500)
    common_args(ap, minutes=30)
    args = ap.parse_args()
    out = Path(args.out)
    train_ds, val_ds = synth_data(out, args.train, args.val)
    rows = []
    for name in [m.strip() for m in args.models.split(",") if m.strip()]:
        print(f"--- {name}, {args.minutes} min", flush=True)
        rows.append(train_and_evaluate(name, train_ds, val_ds, out / f"models-{name}", args))
    base = rows[0]["ap50"] if rows else 0.0
    for r in rows:
        r["vs_first"] = r["ap50"] / base if base > 0 else float("nan")
    print(
        f"\n# synthetic default ({len(train_ds)} train / {len(val_ds)} val frames, 1280x720), "
        f"{args.minutes} min of training each; {machine()}"
    )
    print(
        table(
            rows,
            [
                ("model", "model", ""),
                ("ap50", "AP50", ".3f"),
                ("ap50_small", "AP50<16px", ".3f"),
                ("train_min", "train min", ".1f"),
                ("epochs", "epochs", ""),
                ("ms_per_frame", "ms/frame", ".0f"),
                ("vs_first", "AP50 vs 1st", ".2f"),
            ],
        )
    )


if __name__ == "__main__":
    main()
