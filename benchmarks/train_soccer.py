"""Real footage: train on soccer-ball/train (Bundesliga), validate on soccer-ball/val (MLS), CPU budget.

    python benchmarks/train_soccer.py [--model fasterrcnn_mobilenet_v2] [--minutes 60]
        [--data ../shared/data/soccer-ball] [--image-size 1920] [--out runs/bench] [--set ...]

The frames are 1920x1080 with a ball of about 15 px; ``--image-size 1920`` keeps them (and the
training crops) at native resolution. The two splits come from different broadcasts. Skips politely
when the data folder is absent (it never ships with pigskin: the footage belongs to the leagues).
The labels are CC BY 4.0, Roboflow Universe "football-detection-msim6" v13 (workspace taj-90dsy).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from train_common import common_args, machine, table, train_and_evaluate

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "soccer-ball"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="fasterrcnn_mobilenet_v2")
    ap.add_argument("--data", default=str(DEFAULT_DATA))
    ap.add_argument("--image-size", type=int, default=1920)
    ap.add_argument(
        "--train-images", type=int, default=0, help="use only the first N training frames (0 = all)"
    )
    common_args(ap, minutes=60)
    args = ap.parse_args()
    root = Path(args.data)
    if not (root / "train").is_dir() or not (root / "val").is_dir():
        print(f"{root}: no soccer-ball data (train/ and val/) here; skipping.")
        return
    from pigskin.formats import load

    train_ds, val_ds = load(root / "train", "yolo"), load(root / "val", "yolo")
    if args.train_images:
        train_ds = train_ds.subset(list(range(min(args.train_images, len(train_ds)))))
    print(
        f"{len(train_ds)} training frames ({train_ds.num_boxes} balls), {len(val_ds)} validation frames",
        flush=True,
    )
    r = train_and_evaluate(
        args.model,
        train_ds,
        val_ds,
        Path(args.out) / f"soccer-{args.model}",
        args,
        image_size=args.image_size,
    )
    print(
        f"\n# soccer-ball: train {len(train_ds)} (Bundesliga) -> val {r['eval_frames']} (MLS), "
        f"{args.minutes} min of training, image_size {args.image_size}; {machine()}"
    )
    print(
        table(
            [r],
            [
                ("model", "model", ""),
                ("ap50", "AP50", ".3f"),
                ("ap50_small", "AP50<16px", ".3f"),
                ("train_min", "train min", ".1f"),
                ("epochs", "epochs", ""),
                ("ms_per_frame", "ms/frame", ".0f"),
            ],
        )
    )


if __name__ == "__main__":
    main()
