"""pigskin demo: the whole pipeline on synthetic data, written to one folder."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="render data, fine-tune, evaluate, analyse and track, all in one go")
    p.add_argument("--out", default="runs/demo", help="output folder (default runs/demo)")
    p.add_argument("--model", default="heatmap_mobilenet_v2", help="model name (see `pigskin models`)")
    p.add_argument("--train-minutes", type=float, default=4.0, help="training budget in minutes")
    p.add_argument("--train-images", type=int, default=240)
    p.add_argument("--val-images", type=int, default=80)
    p.add_argument("--clip-seconds", type=float, default=6.0)
    p.add_argument("--width", type=int, default=1280)
    p.add_argument("--height", type=int, default=720)
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from pigskin.runtime import prepare

    prepare()  # before torch is imported: allocator, OpenMP wait policy, threads
    from pigskin.demo import DemoConfig, run_demo

    run_demo(DemoConfig(out=args.out, model=args.model, train_minutes=args.train_minutes,
                        train_images=args.train_images, val_images=args.val_images,
                        clip_seconds=args.clip_seconds, width=args.width, height=args.height,
                        seed=args.seed))
    return 0
