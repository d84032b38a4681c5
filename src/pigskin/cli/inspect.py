"""pigskin inspect: counts, class balance, box sizes, missing images and every problem in a dataset."""

from __future__ import annotations

import argparse
import sys

from pigskin.cli.convert import FORMATS, read_options


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "inspect",
        help="summarise a dataset and list its problems (exit 1 if any)",
        description="Summarise a dataset; exit status 0 if it has no problems, 1 if it has.",
    )
    p.add_argument("dataset", help="dataset to read (file or folder)")
    p.add_argument("--from", dest="src_format", choices=FORMATS, help="input format (default: detected)")
    p.add_argument("--image-root", help="local folder that mirrors the s3:// bucket of the image references")
    p.add_argument("--label-attribute", help="Ground Truth label attribute to read (default: detected)")
    p.add_argument("--split", help="YOLO data.yaml: read only this split (train, val or test)")
    p.add_argument("--strict", action="store_true", help="stop at the first bad box instead of listing all")
    p.add_argument("--no-images", action="store_true", help="skip opening the image files")
    p.set_defaults(func=_inspect)


def _inspect(args: argparse.Namespace) -> int:
    from pigskin import formats
    from pigskin.errors import FormatError
    from pigskin.formats.summary import render, summarize

    name = args.src_format or formats.detect(args.dataset)
    try:
        ds = formats.load(
            args.dataset, name, strict=args.strict, image_root=args.image_root, **read_options(args, name)
        )
    except FormatError as e:
        if not args.strict:
            raise
        print(f"{name} {args.dataset}\nproblem (--strict stops at the first): {e}")
        return 1
    summary = summarize(ds, check_images=not args.no_images)
    sys.stdout.write(f"{name} {args.dataset}\n{render(summary)}")
    return 1 if summary.problems else 0
