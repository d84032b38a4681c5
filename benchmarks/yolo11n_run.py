"""Train and run Ultralytics YOLO11n for ``benchmarks/ball_detectors.py``: runs ONLY inside the separate
virtual environment that benchmark creates (``<out>/yolo-venv``). Ultralytics is AGPL-3.0: it is never a
dependency of pigskin, and this script imports nothing from pigskin.

    <out>/yolo-venv/bin/python benchmarks/yolo11n_run.py --data data.yaml --val-list val.txt \\
        --minutes 10 --imgsz 1280 --out DIR

Writes ``DIR/predictions.jsonl`` (one line per image of ``--val-list``: ``{"image", "xyxy", "scores",
"classes"}`` in image pixels, every box with confidence >= 0.001) and ``DIR/summary.json`` (weights used,
epochs and seconds trained, median ms per 1280x720 frame). Weights: ``yolo11n.pt`` cannot be downloaded
here, so the model starts from scratch from ``yolo11n.yaml`` unless ``--weights`` names a local file.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import sys
import time
from pathlib import Path


def tune_allocator() -> None:
    """The allocator settings pigskin's processes use (pigskin.runtime.tune_allocator, restated: this
    script imports nothing from pigskin): large blocks stay in glibc's heap instead of fresh mmaps."""
    try:
        mallopt = ctypes.CDLL("libc.so.6").mallopt
    except (OSError, AttributeError):
        return
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    for param, value in ((-3, 1 << 30), (-1, 2**31 - 1), (-2, 256 << 20)):  # MMAP, TRIM threshold, TOP_PAD
        mallopt(param, value)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", required=True, help="Ultralytics data.yaml")
    p.add_argument("--val-list", required=True, help="text file: one image path per line")
    p.add_argument("--minutes", type=float, required=True, help="training budget (0: no training)")
    p.add_argument("--imgsz", type=int, default=1280)
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    p.add_argument("--weights", default="", help="local .pt to start from (default: yolo11n.yaml, scratch)")
    p.add_argument("--out", required=True)
    p.add_argument("--time-only", action="store_true",
                   help="only time --weights on a 1280x720 frame: one predict per line read from stdin, "
                        "its ms printed on stdout (the benchmark interleaves these with its own rows)")
    args = p.parse_args()

    os.environ.setdefault("YOLO_OFFLINE", "1")
    tune_allocator()
    import numpy as np
    import torch
    from PIL import Image
    from ultralytics import YOLO
    from ultralytics.utils import SETTINGS

    SETTINGS.update({"sync": False})
    if args.threads:
        # ultralytics resets torch to cores - 1 threads for CPU work (utils.torch_utils.select_device):
        # give it the threads pigskin's rows have, for training and timing alike
        import ultralytics.utils.torch_utils as torch_utils

        torch_utils.NUM_THREADS = args.threads
        torch.set_num_threads(args.threads)
    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    start = args.weights if args.weights and Path(args.weights).is_file() else "yolo11n.yaml"
    model = YOLO(start)
    t0 = time.time()
    epochs = 0
    if args.minutes > 0 and not args.time_only:
        model.train(
            data=str(Path(args.data).resolve()), epochs=10_000, time=args.minutes / 60.0, imgsz=args.imgsz,
            batch=args.batch, device="cpu", workers=0, project=str(out), name="train", exist_ok=True,
            plots=False, val=False, amp=False, pretrained=start != "yolo11n.yaml", verbose=False, seed=0,
        )
        epochs = int(getattr(model.trainer, "epoch", -1)) + 1
        best = out / "train" / "weights" / "last.pt"
        if best.is_file():
            model = YOLO(str(best))
    trained_s = time.time() - t0
    if args.threads:  # ultralytics sets OMP_NUM_THREADS to cores - 1 on import: give it the same threads
        torch.set_num_threads(args.threads)

    images = [line.strip() for line in Path(args.val_list).read_text().splitlines() if line.strip()]
    with open(os.devnull if args.time_only else out / "predictions.jsonl", "w", encoding="utf-8") as f:
        for path in [] if args.time_only else images:
            r = model.predict(path, imgsz=args.imgsz, conf=0.001, iou=0.5, max_det=100, device="cpu",
                              verbose=False)[0]
            b = r.boxes
            f.write(json.dumps({"image": path, "xyxy": b.xyxy.cpu().numpy().round(3).tolist(),
                                "scores": b.conf.cpu().numpy().round(5).tolist(),
                                "classes": b.cls.cpu().numpy().astype(int).tolist()}) + "\n")

    frame = np.asarray(Image.open(images[0]).convert("RGB").resize((1280, 720)))[:, :, ::-1].copy()  # BGR
    for _ in range(2):
        model.predict(frame, imgsz=1280, conf=0.001, device="cpu", verbose=False)
    if args.time_only:
        print("ready", flush=True)
        for _ in sys.stdin:
            t = time.perf_counter()
            model.predict(frame, imgsz=1280, conf=0.001, device="cpu", verbose=False)
            print(f"{(time.perf_counter() - t) * 1000:.3f}", flush=True)
        return
    times = []
    for _ in range(7):
        t = time.perf_counter()
        model.predict(frame, imgsz=1280, conf=0.001, device="cpu", verbose=False)
        times.append((time.perf_counter() - t) * 1000)
    summary = {"weights": start, "epochs": epochs, "train_seconds": round(trained_s, 1),
               "ms_per_frame": float(np.median(times)), "threads": torch.get_num_threads(),
               "ultralytics": __import__("ultralytics").__version__, "torch": torch.__version__}
    (out / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
