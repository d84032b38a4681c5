"""Transfer learning pays: the same model and CPU budget, from ImageNet weights vs from scratch, or
from the released ball model (``pigskin train --init pigskin-ball``) vs from ImageNet.

    python benchmarks/train_transfer.py [--model fasterrcnn_mobilenet_v2] [--minutes 30]
        [--train 2000] [--val 500] [--out runs/bench] [--set crop_size=384 ...]
    python benchmarks/train_transfer.py --model heatmap_mobilenet_v2 --starts pigskin-ball,imagenet \
        --train 600 --val 200 --seed 9001 --set epochs=3 --set steps_per_epoch=100

Data: the synthetic default (``pigskin.synth`` broadcast preset, 1280x720, sideline and end-zone
cameras, ``--seed``), rendered once into ``--out`` and reused: for the released model, a seed its
recipe never used stands in for a user's own labelled frames. Every run gets the same seed, crops,
schedule and budget (``--minutes``, or a step count with ``--set epochs=.. --set steps_per_epoch=..``,
which stays fair when another job shares the CPU); only the start differs. Prints AP50, AP50 on balls
under 16 px and the ball-point F1 at 10 px (best threshold) on the whole validation set, and the ratio
of the first start's AP50 to the second's.
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
    ap.add_argument("--starts", default="imagenet,scratch",
                    help="two starts, compared in this order: imagenet, scratch, or a model to --init from "
                         "(a released name such as pigskin-ball, or a model.tar.gz)")
    ap.add_argument("--seed", type=int, default=0, help="seed of the synthetic frames")
    ap.add_argument("--train", type=int, default=2000)
    ap.add_argument("--val", type=int, default=500)
    common_args(ap, minutes=30)
    args = ap.parse_args()
    out = Path(args.out)
    train_ds, val_ds = synth_data(out, args.train, args.val, seed=args.seed)
    starts = [s.strip() for s in args.starts.split(",") if s.strip()]
    if len(starts) != 2:
        raise SystemExit(f"--starts: expected two starts, got {args.starts!r}")
    rows = []
    for label in starts:
        settings = ({"pretrained": label == "imagenet"} if label in ("imagenet", "scratch")
                    else {"init": label})
        print(f"--- {args.model} from {label}, {args.minutes} min", flush=True)
        run = out / f"transfer-{args.model}-{Path(label).name}-seed{args.seed}"
        r = train_and_evaluate(args.model, train_ds, val_ds, run, args, **settings)
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
                ("point_f1", "point F1", ".3f"),
                ("epochs", "epochs", ""),
                ("steps", "steps", ""),
                ("train_min", "train min", ".1f"),
                ("ms_per_frame", "ms/frame", ".0f"),
            ],
        )
    )
    a, b = rows[0]["ap50"], rows[1]["ap50"]
    ratio = f"{a / b:.2f}x" if b > 0 else f"n/a ({starts[1]} AP50 is 0)"
    verdict = f"{starts[0]} wins" if a > b else f"{starts[0]} does NOT win"
    print(f"AP50 {starts[0]} / {starts[1]}: {ratio}; {verdict}")


if __name__ == "__main__":
    main()
