"""pigskin predict: run a model.tar.gz on images and print one JSON line of boxes per image."""

from __future__ import annotations

import argparse
from pathlib import Path

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"}


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "predict",
        help="detect balls in images with a trained model.tar.gz",
        description="Run a trained model on images (or folders of images); print one JSON line per image: "
        '{"image", "width", "height", "detections": [{"box": [x1, y1, x2, y2], "class", "class_id", '
        '"confidence"}]} with boxes in the image\'s pixels.',
    )
    p.add_argument("images", nargs="+", metavar="IMAGE", help="image files or folders")
    p.add_argument("--model", default="pigskin-ball",
                   help="model.tar.gz written by `pigskin train` (or its folder), or a released model's name "
                        "(default: pigskin-ball, the ball model that ships with pigskin)")
    p.add_argument(
        "--score-threshold",
        type=float,
        default=None,
        help="keep detections scoring at least this (default: the model's own)",
    )
    p.add_argument("--out", help="write the JSON lines to this file instead of standard output")
    p.add_argument("--device", default="cpu", help="cpu or cuda")
    p.add_argument("--batch", type=int, default=1, help="images per forward pass")
    p.add_argument("--precision", choices=["fp32", "bf16"], default="fp32",
                   help="bf16: bfloat16 inference, faster on CPUs with AVX512-BF16 or AMX")
    p.set_defaults(func=_run)


def image_files(paths: list[str]) -> list[Path]:
    out: list[Path] = []
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            out.extend(sorted(f for f in p.rglob("*") if f.suffix.lower() in IMAGE_SUFFIXES))
        elif p.exists():
            out.append(p)
        else:
            raise FileNotFoundError(f"{p}: no such image or folder")
    return out


def _run(args: argparse.Namespace) -> int:
    from pigskin.runtime import prepare

    prepare()  # before torch is imported
    import json

    import numpy as np
    from PIL import Image, UnidentifiedImageError

    from pigskin.errors import PigskinError
    from pigskin.fileio import write_text
    from pigskin.models.artifact import load_model

    predictor = load_model(args.model, device=args.device, precision=args.precision)
    lines: list[str] = []
    files = image_files(args.images)
    for start in range(0, len(files), max(1, args.batch)):
        chunk = files[start : start + max(1, args.batch)]
        images = []
        for f in chunk:
            try:
                with Image.open(f) as im:
                    images.append(np.asarray(im.convert("RGB")))
            except (UnidentifiedImageError, OSError) as exc:
                raise PigskinError(f"{f}: cannot read the image: {exc}") from None
        for f, im, dets in zip(
            chunk, images, predictor.predict(images, args.score_threshold, args.batch), strict=True
        ):
            boxes = [
                {
                    "box": [round(float(v), 2) for v in box],
                    "class": predictor.classes[int(c)],
                    "class_id": int(c),
                    "confidence": round(float(s), 4),
                }
                for box, c, s in zip(dets.xyxy, dets.class_id, dets.confidence, strict=True)
            ]
            line = json.dumps(
                {"image": str(f), "width": im.shape[1], "height": im.shape[0], "detections": boxes}
            )
            if args.out:
                lines.append(line)
            else:
                print(line, flush=True)
    if args.out:
        write_text(args.out, "".join(line + "\n" for line in lines))
        print(f"wrote {len(lines)} lines to {args.out}")
    return 0
