"""Train the heatmap ball detector for the tracking benchmarks on several synthetic sets at once.

    D=bench-out/ball_detectors/synthetic/data
    python scripts/train_tracking_model.py --out bench-out/track/model --minutes 20 \\
        --data $D/broadcast-train-30x3.3334s-15fps-seed0/manifest.jsonl \\
        --data $D/broadcast-stills-500-seed0/manifest.jsonl \\
        --data bench-out/track/train30/manifest.jsonl \\
        --val $D/broadcast-val-10x3.3334s-15fps-seed0/manifest.jsonl

``pigskin train`` reads one training set; the tracker wants a model that has seen clips at the frame
rate it will track (30 fps: smaller frame-to-frame motion in the motion maps) as well as the 15 fps
clips and the stills (with look-alikes for hard negatives) of ``benchmarks/ball_detectors.py``. This
merges any number of sets (image paths made absolute) and trains ``heatmap_mobilenet_v2`` (K = 3,
motion maps) with the heatmap row's settings of that benchmark. ``--set NAME=VALUE`` overrides any
TrainConfig field. Writes ``OUT/model.tar.gz``.
"""

from __future__ import annotations

import argparse

from pigskin import runtime

runtime.prepare()

from pigskin.config import TrainConfig, override  # noqa: E402
from pigskin.formats import load  # noqa: E402
from pigskin.samples import Dataset  # noqa: E402
from pigskin.train import train  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", action="append", required=True, help="a training set (repeatable)")
    ap.add_argument("--val", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--minutes", type=float, default=20.0)
    ap.add_argument("--set", action="append", default=[], metavar="NAME=VALUE")
    args = ap.parse_args()
    values = {
        "name": "heatmap_mobilenet_v2", "epochs": 1000, "max_minutes": args.minutes, "batch": 8,
        "crop_size": 320, "optimizer": "adamw", "lr": 2e-3, "weight_decay": 1e-4, "warmup_steps": 20,
        "val_max_images": 60, "progress": False,
    }
    for pair in args.set:
        name, sep, value = pair.partition("=")
        if not sep:
            raise SystemExit(f"--set expects NAME=VALUE, got {pair!r}")
        values[name.strip()] = value.strip()
    config = override(TrainConfig(out=args.out, resume=False), values)
    train_set = Dataset.merge([load(p) for p in args.data])
    print(f"{len(train_set)} training frames ({train_set.num_boxes} balls)", flush=True)
    print(train(config, train_set, load(args.val)))


if __name__ == "__main__":
    main()
