"""pigskin convert: read a dataset in one format and write it in another."""

from __future__ import annotations

import argparse

FORMATS = ("groundtruth", "coco", "yolo", "voc", "recordio")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "convert",
        help="convert a labelled dataset between formats",
        description="Convert a dataset; a failed conversion leaves no output behind.",
    )
    p.add_argument("src", help="dataset to read (file or folder)")
    p.add_argument("dst", help="where to write it")
    p.add_argument("--to", required=True, choices=FORMATS, help="output format")
    p.add_argument("--from", dest="src_format", choices=FORMATS, help="input format (default: detected)")
    p.add_argument(
        "--strict",
        action="store_true",
        help="fail on boxes outside the image or without area instead of clipping/dropping them",
    )
    p.add_argument("--image-root", help="local folder that mirrors the s3:// bucket of the image references")
    p.add_argument("--label-attribute", help="Ground Truth label attribute to read (default: detected)")
    p.add_argument("--split", help="YOLO data.yaml: read only this split (train, val or test)")
    p.add_argument("--overwrite", action="store_true", help="replace DST if it exists")
    p.add_argument("--show", type=int, default=10, metavar="N", help="list at most N repaired problems")
    p.set_defaults(func=_convert)


def read_options(args: argparse.Namespace, name: str) -> dict:
    """Format-specific reader options from the shared flags; a flag for another format is an error."""
    from pigskin.errors import PigskinError

    opts = {}
    for flag, fmt, key in (("label_attribute", "groundtruth", "label_attribute"), ("split", "yolo", "split")):
        value = getattr(args, flag, None)
        if value is None:
            continue
        if name != fmt:
            raise PigskinError(f"--{flag.replace('_', '-')} applies to {fmt} input, not {name}")
        opts[key] = value
    return opts


def _convert(args: argparse.Namespace) -> int:
    from pathlib import Path

    from pigskin import formats
    from pigskin.errors import PigskinError

    dst = Path(args.dst)
    if dst.exists() and not args.overwrite:
        raise FileExistsError(f"{dst} exists (pass --overwrite to replace it)")
    name = args.src_format or formats.detect(args.src)
    try:
        formats.module(args.to)
    except ImportError as e:
        raise PigskinError(f"the {args.to} format is not available: {e}") from None
    ds = formats.load(
        args.src, name, strict=args.strict, image_root=args.image_root, **read_options(args, name)
    )
    problems = ds.meta.get("problems", [])
    print(
        f"read {name} {args.src}: {len(ds)} images, {ds.num_boxes} boxes, {len(ds.classes)} classes "
        f"({', '.join(ds.classes) or 'none'}), {len(problems)} problems repaired"
    )
    for p in problems[: args.show]:
        print(f"  {p}")
    if len(problems) > args.show:
        print(f"  ... and {len(problems) - args.show} more (pigskin inspect lists them all)")
    formats.save(ds, dst, args.to)
    print(f"wrote {args.to} {dst}")
    return 0
