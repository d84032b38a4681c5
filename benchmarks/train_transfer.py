"""Transfer learning pays: the same model and CPU budget, from ImageNet weights vs from scratch.

    python benchmarks/train_transfer.py [--model fasterrcnn_mobilenet_v2] [--minutes 30]
        [--train 2000] [--val 500] [--out runs/bench] [--set crop_size=384 ...]

Data: the synthetic default (``pigskin.synth`` broadcast preset, 1280x720, sideline and end-zone
cameras), rendered once into ``--out`` and reused. Both runs get the same seed, crops, schedule and
``--minutes`` of training; only ``pretrained`` differs. Prints AP50 and AP50 on balls under 16 px
on the whole validation set, and the ratio pretrained / scratch.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from train_common import common_args, machine, synth_data, table, train_and_evaluate


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--model",
        default="fasterrcnn_mobilenet_v2",
        help="a model whose backbone has ImageNet weights offline (MobileNetV2 ones)",
    )
    ap.add_argument("--train", type=int, default=2000)
    ap.add_argument("--val", type=int, default=500)
    common_args(ap, minutes=30)
    args = ap.parse_args()
    out = Path(args.out)
    train_ds, val_ds = synth_data(out, args.train, args.val)
    rows = []
    for pretrained in (True, False):
        label = "imagenet" if pretrained else "scratch"
        print(f"--- {args.model} from {label}, {args.minutes} min", flush=True)
        r = train_and_evaluate(
            args.model, train_ds, val_ds, out / f"transfer-{args.model}-{label}", args, pretrained=pretrained
        )
        rows.append({**r, "start": label})
    print(
        f"\n# {args.model}, synthetic default ({len(train_ds)} train / {len(val_ds)} val frames), "
        f"{args.minutes} min each; {machine()}"
    )
    print(
        table(
            rows,
            [
                ("start", "start", ""),
                ("ap50", "AP50", ".3f"),
                ("ap50_small", "AP50<16px", ".3f"),
                ("epochs", "epochs", ""),
                ("steps", "steps", ""),
                ("train_min", "train min", ".1f"),
                ("ms_per_frame", "ms/frame", ".0f"),
            ],
        )
    )
    a, b = rows[0]["ap50"], rows[1]["ap50"]
    ratio = f"{a / b:.2f}x" if b > 0 else "n/a (scratch AP50 is 0)"
    verdict = "pre-trained wins" if a > b else "pre-trained does NOT win"
    print(f"AP50 imagenet / scratch: {ratio}; {verdict}")


if __name__ == "__main__":
    main()
