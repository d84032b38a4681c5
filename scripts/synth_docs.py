"""Regenerate the synthetic-data pictures in docs/: a contact sheet per camera and an annotated clip.

    .venv/bin/python scripts/synth_docs.py [--out docs] [--seed 0]

Each sheet is 16 stills (4x4, 320 px wide thumbnails) from the default ``broadcast`` preset with the
camera forced to one kind; the ball's label box is drawn in magenta on a 2x inset so it can be
found. The clip is one play at 640x360 with the label box drawn on every frame where the ball has
one (and a dashed marker at the true centre while it is hidden).
"""

from __future__ import annotations

import argparse
import io
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from pigskin.synth import preset
from pigskin.synth.clips import clip_frames
from pigskin.synth.scene import render_still

THUMB = (320, 180)


def contact_sheet(kind: str, seed: int, n: int = 16, boxes: bool = True) -> Image.Image:
    cfg = preset("broadcast", seed=seed, endzone_p=1.0 if kind == "endzone" else 0.0)
    sheet = Image.new("RGB", (THUMB[0] * 4, THUMB[1] * (n // 4)))
    for k in range(n):
        frame, look = render_still(cfg, k)
        im = Image.fromarray(frame.rgb)
        buf = io.BytesIO()
        im.save(buf, "JPEG", quality=look.jpeg_quality)  # what the dataset stores
        im = Image.open(buf).convert("RGB")
        sx, sy = THUMB[0] / im.width, THUMB[1] / im.height
        thumb = im.resize(THUMB, Image.LANCZOS)
        if boxes and len(frame.detections):
            x0, y0, x1, y1 = frame.detections.xyxy[0]
            ImageDraw.Draw(thumb).rectangle(
                [x0 * sx - 2, y0 * sy - 2, x1 * sx + 2, y1 * sy + 2], outline=(255, 0, 255), width=1
            )
        sheet.paste(thumb, ((k % 4) * THUMB[0], (k // 4) * THUMB[1]))
    return sheet


def annotated_clip(path: Path, seed: int, index: int, seconds: float = 8.0, fps: float = 30.0) -> int:
    from pigskin.video import VideoWriter

    cfg = preset("broadcast", seed=seed, width=640, height=360, endzone_p=0.0)
    n = 0
    with VideoWriter(path, cfg.width, cfg.height, fps, crf=28) as writer:
        for frame, _ in clip_frames(cfg, index, seconds, fps):
            im = Image.fromarray(frame.rgb)
            d = ImageDraw.Draw(im)
            ball = frame.detections[frame.detections.class_id == 0]
            if len(ball):
                x0, y0, x1, y1 = ball.xyxy[0]
                d.rectangle([x0 - 2, y0 - 2, x1 + 1, y1 + 1], outline=(255, 0, 255), width=2)
                label = f"ball  vis {ball.attrs['visible'][0]:.2f}  blur {ball.attrs['blur'][0]:.0f}px"
            else:
                cx, cy = frame.attrs["synth"]["ball_center"]
                d.ellipse([cx - 7, cy - 7, cx + 7, cy + 7], outline=(255, 255, 0), width=1)
                label = f"hidden (vis {frame.attrs['synth']['ball_visible']:.2f})"
            d.rectangle([4, 4, 250, 20], fill=(0, 0, 0))
            d.text((8, 6), f"{frame.attrs['phase']:8s} {label}", fill=(255, 255, 255))
            writer.write(np.asarray(im))
            n += 1
    return n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="docs")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--clip-index", type=int, default=3)
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for kind in ("sideline", "endzone"):
        sheet = contact_sheet(kind, args.seed)
        path = out / f"synth_contact_sheet_{kind}.png"
        sheet.save(path, optimize=True)
        print(f"{path}: {path.stat().st_size / 1e6:.2f} MB")
    clip = out / "synth_clip_annotated.mp4"
    frames = annotated_clip(clip, args.seed, args.clip_index)
    print(f"{clip}: {frames} frames, {clip.stat().st_size / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
