"""pigskin evaluate: score predictions (or a model) against labelled data."""

from __future__ import annotations

import argparse


def add_input_args(p: argparse.ArgumentParser) -> None:
    """Ground truth plus exactly one of --predictions / --model (shared with ``pigskin analyze``)."""
    p.add_argument("--data", required=True, help="ground truth: any dataset format pigskin reads")
    p.add_argument("--format", dest="data_format", help="ground-truth format (default: detected)")
    p.add_argument("--image-root", help="local folder holding s3:// images")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--predictions", help="pigskin .jsonl, COCO results .json, or any dataset format")
    src.add_argument("--model", help="a model.tar.gz (runs pigskin.models.artifact.load_model)")
    p.add_argument(
        "--predictions-format", help="jsonl, coco-results, or a dataset format (default: detected)"
    )
    p.add_argument("--batch-size", type=int, default=8, help="images per predict() call with --model")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--score-threshold", type=float, default=0.5, help="operating point (default 0.5)")


def inputs_from(args: argparse.Namespace):
    from pigskin.evaluate.run import Inputs

    return Inputs(
        args.data,
        args.predictions,
        args.model,
        args.data_format,
        args.predictions_format,
        args.image_root,
        args.batch_size,
    )


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "evaluate",
        help="COCO/VOC AP, AP by size, P/R/F1 and ball-point metrics",
        description="Writes OUT/metrics.json and OUT/pr_curve.png and prints a table.",
    )
    add_input_args(p)
    p.add_argument("--iou-type", choices=["bbox"], default="bbox", help="only boxes are scored")
    p.add_argument(
        "--point-distance",
        type=float,
        default=4.0,
        help="px: a point hit is a centre within this distance (default 4, as TrackNet/WASB)",
    )
    p.add_argument("--ball-class", action="append", help="class(es) the ball metrics use (default: '*ball*')")
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    if args.model:
        from pigskin.runtime import prepare

        prepare()  # before torch is imported (a predictions file needs no torch at all)
    from pigskin.evaluate.metrics import EvalConfig
    from pigskin.evaluate.run import evaluate_to_dir

    config = EvalConfig(
        args.score_threshold, args.point_distance, tuple(args.ball_class) if args.ball_class else None
    )
    report = evaluate_to_dir(inputs_from(args), args.out, config)
    print(report.table())
    for note in report.notes:
        print(f"note: {note}")
    print(f"wrote {args.out}/metrics.json and {args.out}/pr_curve.png")
    return 0
