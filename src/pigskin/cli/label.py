"""pigskin label: label frames in the browser, offline (a local Ground Truth)."""

from __future__ import annotations

import argparse
from pathlib import Path

from pigskin.errors import PigskinError


def _attribute(text: str) -> tuple[str, list[str]]:
    name, sep, values = text.partition("=")
    options = [v.strip() for v in values.split(",") if v.strip()]
    if not sep or not name.strip() or not options:
        raise argparse.ArgumentTypeError(
            f"expected NAME=value1,value2,... (e.g. occlusion=none,partial), got {text!r}"
        )
    return name.strip(), options


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "label",
        help="label boxes in a browser page served locally (model-assisted, shards, review)",
        description="Serve a labelling page over a folder of frames, a manifest, or `pigskin frames` output. "
        "Every change is saved at once to a Ground Truth output manifest.",
    )
    p.add_argument(
        "data", type=Path, help="folder of images, input/output manifest, or `pigskin frames` output"
    )
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default: this machine only)")
    p.add_argument("--out", type=Path, help="output manifest (default: output.manifest beside the frames)")
    p.add_argument("--classes", help="comma-separated class names (default: the manifest's, else football)")
    p.add_argument(
        "--attribute",
        dest="attributes",
        action="append",
        type=_attribute,
        metavar="NAME=V1,V2",
        help="a per-box attribute and its values, first = default; repeatable "
        "(default: occlusion=none,partial,heavy)",
    )
    p.add_argument("--no-attributes", action="store_true", help="no per-box attributes")
    p.add_argument("--label-attribute", help="the manifest's label attribute name (default: bounding-box)")
    p.add_argument(
        "--model", type=Path, help="model.tar.gz (or a predictions file) whose boxes are proposals"
    )
    p.add_argument(
        "--review",
        type=Path,
        metavar="PREDICTIONS",
        help="review mode: only frames where the labels and these predictions (file or model) disagree",
    )
    p.add_argument("--shard", help="i/n: label frames i, i+n, i+2n, ... into output.shard-i-of-n.manifest")
    p.add_argument(
        "--merge",
        action="store_true",
        help="join the shard manifests of DATA into --out (default output.manifest) and exit",
    )
    p.add_argument("--image-root", type=Path, help="local mirror of the s3:// bucket the manifest points to")
    p.add_argument("--score-threshold", type=float, default=0.3, help="hide proposals scoring below this")
    p.add_argument(
        "--review-score-threshold",
        type=float,
        default=0.5,
        help="a prediction at least this confident with no label is a false positive",
    )
    p.add_argument("--review-iou", type=float, default=0.5, help="IoU for a label to count as predicted")
    p.add_argument("--no-track", action="store_true", help="no tracker proposals for video frames")
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from pigskin.label.job import DEFAULT_ATTRIBUTES, LabelConfig, default_out

    if args.merge:
        return _merge(args, default_out)
    if args.model is not None and args.review is not None:
        raise PigskinError("--model and --review both give proposals: pass one")
    from pigskin.label.app import serve
    from pigskin.label.manifest import parse_shard

    attributes = {} if args.no_attributes else dict(args.attributes or DEFAULT_ATTRIBUTES)
    config = LabelConfig(
        data=args.data,
        out=args.out,
        classes=[c.strip() for c in args.classes.split(",") if c.strip()] if args.classes else None,
        attributes=attributes,
        label_attribute=args.label_attribute,
        model=args.model,
        review=args.review,
        shard=parse_shard(args.shard) if args.shard else None,
        image_root=args.image_root,
        score_threshold=args.score_threshold,
        review_score_threshold=args.review_score_threshold,
        review_iou=args.review_iou,
        track=not args.no_track,
    )
    serve(config, host=args.host, port=args.port)
    return 0


def _merge(args: argparse.Namespace, default_out) -> int:
    from pigskin.label.manifest import list_frames, shard_files
    from pigskin.label.store import merge_shards

    out = Path(args.out or default_out(args.data))
    shards = shard_files(out)
    if not shards:
        raise PigskinError(f"{out.parent}: no shard manifests {out.stem}.shard-I-of-N{out.suffix} to merge")
    frames, _ = list_frames(args.data, out.parent.resolve(), args.image_root, exclude=[out, *shards])
    n = merge_shards(shards, out, frames)
    print(f"merged {len(shards)} shards, {n} labelled frames -> {out}")
    return 0
