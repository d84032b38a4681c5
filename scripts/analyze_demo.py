"""Build a sensitivity-analysis report end to end on generated frames, with a simple pixel detector.

    python scripts/analyze_demo.py OUT_DIR [--images 240] [--seed 0] [--screenshot docs/analyze_report.png]

Until the training work delivers a model, this is the stand-in: frames of a turf with yard lines,
players (with helmets that look like a ball), and a brown ball of random size, rotation, motion blur
and occlusion, sometimes over a worn brown patch; labels record occlusion, blur and in_air per ball,
the camera per frame, and the helmets as look-alikes. The "model" is a colour-blob detector (no
learning): it finds brown blobs and scores them by colour match and size, so it *really* misses
small, blurred, occluded and low-contrast balls and fires on helmets, which is what the report must
show. Writes OUT_DIR/data (images and COCO annotations.json), predictions.jsonl, report.html,
slices.json/csv and errors.csv; then ``pigskin evaluate/analyze --data OUT_DIR/data/annotations.json
--predictions OUT_DIR/predictions.jsonl`` work on the same files.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter
from scipy import ndimage

from pigskin.detections import Detections
from pigskin.evaluate.predictions import write_predictions
from pigskin.evaluate.report import write_report
from pigskin.evaluate.slices import AnalyzeConfig, analyze
from pigskin.formats import save
from pigskin.samples import Dataset, Sample

W, H = 480, 270
BALL = np.array([140, 80, 40], np.float64)
TURF = np.array([52, 120, 50], np.float64)
DIRT = np.array([134, 84, 46], np.float64)


def _ball_sprite(length: float, angle: float, blur: float, rng: np.random.Generator) -> Image.Image:
    """RGBA ellipse (prolate, 1.6:1) with a lace stripe, rotated and motion-blurred."""
    s = int(np.ceil(length * 1.6 + 2 * blur + 6))
    img = Image.new("RGBA", (s, s), (0, 0, 0, 0))
    d = ImageDraw.Draw(img)
    rx, ry = length / 2, length / 3.2
    c = s / 2
    colour = tuple(int(v) for v in np.clip(BALL + rng.normal(0, 10, 3), 0, 255)) + (255,)
    d.ellipse([c - rx, c - ry, c + rx, c + ry], fill=colour)
    if length > 10:
        d.line([c - rx * 0.3, c, c + rx * 0.3, c], fill=(235, 235, 225, 255), width=1)
    img = img.rotate(angle, resample=Image.BILINEAR)
    if blur >= 1:
        k = int(round(blur))
        arr = np.asarray(img, np.float32)
        out = np.zeros_like(arr)
        for i in range(k):
            out += np.roll(arr, i - k // 2, axis=1)
        img = Image.fromarray((out / k).astype(np.uint8), "RGBA")
    return img


def make_frame(rng: np.random.Generator) -> tuple[np.ndarray, Detections, dict]:
    cam = "endzone" if rng.random() < 0.3 else "sideline"
    base = TURF * rng.uniform(0.85, 1.15)
    img = np.clip(base + rng.normal(0, 6, (H, W, 3)), 0, 255).astype(np.uint8)
    canvas = Image.fromarray(img)
    d = ImageDraw.Draw(canvas)
    for x in range(int(rng.uniform(0, 60)), W, 60):  # yard lines
        d.line([x, 0, x + (30 if cam == "sideline" else 0), H], fill=(225, 230, 225), width=2)
    patches = []
    if rng.random() < 0.35:  # worn brown patch
        px, py, pr = rng.uniform(40, W - 40), rng.uniform(40, H - 40), rng.uniform(25, 60)
        d.ellipse([px - pr, py - pr * 0.6, px + pr, py + pr * 0.6], fill=tuple(int(v) for v in DIRT))
        patches.append((px, py, pr))
    # players: body, helmet (a look-alike), shoes
    players, helmets = [], []
    jerseys = [(200, 30, 30), (240, 240, 240)] if rng.random() < 0.5 else [(30, 40, 140), (240, 240, 240)]
    for _ in range(int(rng.integers(3, 9))):
        ph = rng.uniform(35, 80)
        pw = ph * 0.38
        x, y = rng.uniform(0, W - pw), rng.uniform(0, H - ph)
        players.append([x, y, x + pw, y + ph])
    # ball
    has_ball = rng.random() > 0.1
    ball_box, attrs = None, {}
    if has_ball:
        length = float(np.exp(rng.uniform(np.log(5), np.log(34))))
        blur = float(rng.choice([0.0, 0.0, rng.uniform(2, 9)]))
        sprite = _ball_sprite(length, rng.uniform(0, 180), blur, rng)
        if patches and rng.random() < 0.7:  # put it on the worn patch: low contrast
            px, py, pr = patches[0]
            bx, by = px + rng.uniform(-0.5, 0.5) * pr, py + rng.uniform(-0.3, 0.3) * pr
        else:
            bx, by = rng.uniform(10, W - 10), rng.uniform(10, H - 10)
        in_air = bool(rng.random() < 0.3)
        x0, y0 = int(bx - sprite.width / 2), int(by - sprite.height / 2)
        canvas.paste(sprite, (x0, y0), sprite)
        alpha = np.zeros((H, W), np.float32)
        a = np.asarray(sprite.getchannel("A"), np.float32) / 255
        sx0, sy0 = max(x0, 0), max(y0, 0)
        sx1, sy1 = min(x0 + sprite.width, W), min(y0 + sprite.height, H)
        alpha[sy0:sy1, sx0:sx1] = a[sy0 - y0 : sy1 - y0, sx0 - x0 : sx1 - x0]
        total = float(a.sum())
        if rng.random() < 0.3:  # a player steps in front of the ball
            pw = rng.uniform(14, 30)
            ox = bx + rng.uniform(-1.0, 0.2) * pw
            players.append([ox, by - rng.uniform(20, 50), ox + pw, by + rng.uniform(5, 40)])
        attrs = {"blur": round(blur, 1), "in_air": in_air, "total": total}
        ball_alpha = alpha
    mask = Image.new("L", (W, H), 0)  # where players cover the ball (all are drawn in front of it)
    m = ImageDraw.Draw(mask)
    for i, (x1, y1, x2, y2) in enumerate(players):
        hr = (x2 - x1) * 0.32
        hx, hy = (x1 + x2) / 2, y1 + hr
        helmet = (170, 120, 50) if rng.random() < 0.5 else (200, 200, 210)
        for draw, fills in ((d, (jerseys[i % 2], (30, 30, 30), helmet)), (m, (255, 255, 255))):
            draw.rectangle([x1, y1 + (y2 - y1) * 0.18, x2, y2 - (y2 - y1) * 0.1], fill=fills[0])
            draw.rectangle([x1 + 2, y2 - (y2 - y1) * 0.1, x2 - 2, y2], fill=fills[1])
            draw.ellipse([hx - hr, hy - hr, hx + hr, hy + hr], fill=fills[2])
        helmets.append({"xyxy": [hx - hr, hy - hr, hx + hr, hy + hr], "kind": "helmet"})
    if has_ball:
        hidden = np.asarray(mask) > 0
        vis = (ball_alpha > 0.5) & ~hidden
        frac = float((ball_alpha * ~hidden).sum()) / max(attrs.pop("total"), 1e-6)
        if vis.sum() >= 3 and frac > 0.2:
            ys, xs = np.nonzero(vis)
            ball_box = [xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]
            attrs["occlusion"] = round(1 - frac, 2)
    out = np.asarray(canvas.filter(ImageFilter.GaussianBlur(0.6)))
    out = np.clip(out + rng.normal(0, 3, out.shape), 0, 255).astype(np.uint8)
    boxes = ([ball_box] if ball_box else []) + players
    cls = ([0] if ball_box else []) + [1] * len(players)
    n = len(boxes)
    box_attrs = {}
    if ball_box:
        box_attrs = {
            k: np.array([attrs[k]] + [None] * (n - 1), object) for k in ("occlusion", "blur", "in_air")
        }
    dets = Detections(np.array(boxes, np.float32).reshape(-1, 4), cls, attrs=box_attrs)
    patches_xyxy = [
        {"xyxy": [px - pr, py - pr * 0.6, px + pr, py + pr * 0.6], "kind": "worn turf patch"}
        for px, py, pr in patches
    ]
    return out, dets, {"camera": cam, "lookalikes": helmets + patches_xyxy}


def blob_detector(image: np.ndarray) -> Detections:
    """Brown blobs: colour distance to the ball's brown, connected components, scored by match and size."""
    img = image.astype(np.float64)
    dist = np.linalg.norm(img - BALL, axis=2)
    like = np.exp(-((dist / 45.0) ** 2))
    mask = like > 0.35
    labels, n = ndimage.label(mask)
    if n == 0:
        return Detections.empty(with_confidence=True)
    boxes, scores = [], []
    for i, sl in enumerate(ndimage.find_objects(labels), 1):
        ys, xs = sl
        area = int((labels[sl] == i).sum())
        if area < 6:
            continue
        w, h = xs.stop - xs.start, ys.stop - ys.start
        fill = area / (w * h)
        mean_like = float(like[sl][labels[sl] == i].mean())
        size_term = 1 - np.exp(-area / 40.0)
        shape_term = 1.0 if 0.4 < fill < 0.95 else 0.6
        boxes.append([xs.start, ys.start, xs.stop, ys.stop])
        scores.append(mean_like * size_term * shape_term)
    if not boxes:
        return Detections.empty(with_confidence=True)
    return Detections(
        np.array(boxes, np.float32), np.zeros(len(boxes), np.int64), np.array(scores, np.float32)
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("--images", type=int, default=240)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threshold", type=float, default=0.3)
    ap.add_argument("--bootstrap", type=int, default=200)
    ap.add_argument("--screenshot", type=Path, help="also render report.html headless to this PNG")
    args = ap.parse_args()

    rng = np.random.default_rng(args.seed)
    data = args.out / "data"
    (data / "images").mkdir(parents=True, exist_ok=True)
    samples, preds = [], []
    for i in range(args.images):
        rgb, dets, attrs = make_frame(rng)
        name = f"images/frame_{i:04d}.png"
        Image.fromarray(rgb).save(data / name)
        samples.append(Sample(name, W, H, dets, attrs=attrs))
        preds.append(blob_detector(rgb))
    ds = Dataset(["football", "player"], samples, root=data)
    save(ds, data / "annotations.json", "coco")  # so the CLI can be run on the same data
    write_predictions(args.out / "predictions.jsonl", [s.image for s in samples], preds, ds.classes)
    cfg = AnalyzeConfig(score_threshold=args.threshold, bootstrap=args.bootstrap, seed=args.seed)
    result = analyze(ds, preds, cfg)
    result.notes.append(
        "demo: generated frames scored with a colour-blob detector (scripts/analyze_demo.py), "
        "not a trained model"
    )
    write_report(result, ds, preds, args.out)
    ov = result.overall
    print(
        f"{len(ds)} images, {ov.count} balls: AP50 {ov.ap50:.3f} [{ov.ap50_ci[0]:.3f}, {ov.ap50_ci[1]:.3f}], "
        f"AP {ov.ap:.3f}, recall {ov.recall:.3f}"
    )
    for s in result.slices:
        print(
            f"  {s.name:<40} n={s.count:<4} AP50 {s.ap50:.3f} [{s.ap50_ci[0]:.3f}, {s.ap50_ci[1]:.3f}] "
            f"recall {s.recall:.3f}"
        )
    print("FP causes:", result.fp_causes)
    print("miss causes:", result.miss_causes)
    for t in result.gather_next:
        print("next:", t)
    if args.screenshot:
        script = Path(__file__).with_name("report_screenshot.py")
        cmd = [sys.executable, str(script), str(args.out / "report.html"), str(args.screenshot)]
        cmd += ["--height", "2300"]
        subprocess.run(cmd, check=True)


if __name__ == "__main__":
    main()
