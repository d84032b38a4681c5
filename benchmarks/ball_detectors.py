"""Ball detectors head to head: the same data and the same CPU training budget for every row.

    python benchmarks/ball_detectors.py --data synthetic --minutes 30              # the full table
    python benchmarks/ball_detectors.py --data soccer --minutes 30                 # real frames
    python benchmarks/ball_detectors.py --data synthetic --minutes 1 --train-clips 6 --val-clips 2 \\
        --seconds 3 --fps 10 --train-stills 60 --val-frames 20                     # a smoke run
    python benchmarks/ball_detectors.py ... --reuse --val-limit 2 --rounds 25      # re-time trained rows

Rows: ``heatmap_mobilenet_v2`` (pigskin's multi-frame heatmap, K = 3, motion maps), the best torchvision
Faster R-CNN for a CPU budget (``fasterrcnn_mobilenet_v2``, FPN on MobileNetV2), YOLOv3
(``yolov3_mobilenet_v2``), all three trained by ``pigskin.train.train`` for ``--minutes`` of training
each; and Ultralytics YOLO11n trained for the same minutes in a SEPARATE virtual environment
(``<out>/yolo-venv``, created on first use: pip installs ``ultralytics`` there, reusing this
environment's torch through a ``.pth`` file; AGPL-3.0, never a pigskin dependency). ``yolo11n.pt``
cannot be downloaded here, so YOLO11n starts from scratch (``yolo11n.yaml``) unless ``--yolo-weights``
names a local file; the table says which.

Columns (``pigskin.evaluate``): AP50 (COCO, IoU .5); AP50 of balls under 16 px (longest side); point F1 at
the TrackNet distance (4 px at 512x288, i.e. ``4 * frame_width / 512``: 10 px at 1280x720, 15 px at 1920x1080)
at each model's best score threshold (a grid, the same for every row; the threshold is shown); recall of
occluded balls (synthetic ``occlusion >= 0.3``, IoU .5, at that threshold; "-" where the data does not say);
median ms per 1280x720 frame on this machine (``predict`` on one frame with its preprocessing and
post-processing; the heatmap row includes stacking its 3 frames), and the speed ratio to YOLO11n. A row
``NAME:kK`` trains a multi-frame pigskin model with ``--frames K``, ``NAME:scratch`` the same model without
its ImageNet weights (transfer learning's control), ``NAME:bf16`` the trained NAME predicting under bfloat16
autocast; ``--reuse`` scores earlier artifacts.

Data: ``synthetic`` renders ``--train-clips`` and ``--val-clips`` broadcast clips with every frame saved
(``pigskin.synth.generate_clips``) and ``--train-stills`` stills for training (they record where the
look-alikes are, for hard-negative crops), cached in ``<out>/synthetic/data``; every row trains on the same
frames (the heatmap model also sees each clip frame's two predecessors; a still is its own past) and is
scored on the validation clips' frames. ``soccer`` reads ``../shared/data/soccer-ball``
(train on ``train/``, score on ``val/``); it skips politely when the folder is absent.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from pigskin.detections import Detections
from pigskin.samples import Dataset

HERE = Path(__file__).resolve().parent
SOCCER = HERE.parent.parent / "shared" / "data" / "soccer-ball"
ROWS = ("heatmap_mobilenet_v2", "fasterrcnn_mobilenet_v2", "yolov3_mobilenet_v2", "yolo11n")
OCCLUDED = 0.3  # a ball at least this much hidden counts as occluded
THRESHOLDS = np.round(np.arange(0.05, 0.96, 0.05), 2)
# per-family optimisation that suits a short CPU budget; everything else is TrainConfig's default
FAMILY = {
    "heatmap": dict(optimizer="adamw", lr=2e-3, weight_decay=1e-4, warmup_steps=20),
    "fasterrcnn": dict(optimizer="sgd", lr=0.01, warmup_steps=20),
    # the backbone at a tenth of the rate: at the full rate the stride-32 layer saturated (ReLU6 at 0 or
    # 6 everywhere) and the batch norm after it blew up in eval mode: AP50 0 on most epochs (issue 16)
    "yolov3": dict(optimizer="adamw", lr=1e-3, weight_decay=1e-4, warmup_steps=20, backbone_lr=0.1),
    # without a row SSDlite ran on TrainConfig's defaults: SGD with 100 warm-up steps, a quarter of an
    # 8-minute budget (issue 16)
    "ssdlite": dict(optimizer="adamw", lr=1e-3, weight_decay=1e-4, warmup_steps=20),
}


@dataclass
class Row:
    name: str
    preds: list[Detections]
    ms: float
    note: str = ""
    scores: dict[str, float] = field(default_factory=dict)
    predict: Callable[[list[np.ndarray]], list[Detections]] | None = None  # pigskin rows: timed at the end
    frames: int = 1
    timer: tuple[list[str], dict[str, str]] | None = None  # YOLO11n: a timing process in its environment


# -- data -------------------------------------------------------------------------------------------------


def synthetic(out: Path, args: argparse.Namespace) -> tuple[Dataset, Dataset]:
    """Rendered clips (every frame saved) for training and validation, plus ``--train-stills`` stills for
    training: stills carry the look-alikes' positions (flags, pylons, shoes) that hard negatives use."""
    from pigskin.formats import load
    from pigskin.synth import generate_clips, generate_images, preset

    cfg = preset(args.preset, seed=args.seed)
    root = out / "data"
    sets = []
    for split, n, start in (("train", args.train_clips, 0), ("val", args.val_clips, 10_000)):
        folder = root / f"{args.preset}-{split}-{n}x{args.seconds:g}s-{args.fps:g}fps-seed{args.seed}"
        if not (folder / "manifest.jsonl").is_file():
            print(f"rendering {n} {split} clips into {folder} ...", flush=True)
            generate_clips(cfg, n, folder, seconds=args.seconds, fps=args.fps, frames=True, start=start)
        sets.append(load(folder / "manifest.jsonl"))
    train, val = sets
    if args.train_stills:
        folder = root / f"{args.preset}-stills-{args.train_stills}-seed{args.seed}"
        if not (folder / "manifest.jsonl").is_file():
            print(f"rendering {args.train_stills} training stills into {folder} ...", flush=True)
            generate_images(cfg, args.train_stills, folder, start=20_000)
        train = Dataset.merge([train, load(folder / "manifest.jsonl")])
    return train, val


def soccer() -> tuple[Dataset, Dataset] | None:
    if not (SOCCER / "train").is_dir():
        print(f"skipping --data soccer: {SOCCER} is not here (it is not part of the repository)")
        return None
    from pigskin.formats import load

    return load(SOCCER / "train", "yolo"), load(SOCCER / "val", "yolo")


# -- pigskin's own detectors --------------------------------------------------------------------------------


def train_pigskin(row: str, train: Dataset, val: Dataset, out: Path, args: argparse.Namespace) -> Path:
    """Train row ``NAME``, ``NAME:kK`` (a multi-frame model with K frames) or ``NAME:scratch`` (no ImageNet
    weights: the transfer-learning control) for ``--minutes``."""
    from pigskin.config import ModelConfig, TrainConfig
    from pigskin.train import train as run

    name, *tags = row.split(":")
    k = next((t[1:] for t in tags if t.startswith("k") and t[1:].isdigit()), "")
    unknown = [t for t in tags if t not in ("scratch", "bf16") and not re.fullmatch(r"k\d+", t)]
    if unknown:
        raise SystemExit(f"row {row!r}: unknown tag(s) {unknown} (known: kK, scratch, bf16)")
    family = name.split("_")[0]
    trained = ":".join([name, *(t for t in tags if t != "bf16")])  # bf16 only changes inference
    artifact = out / trained.replace(":", "_") / "model.tar.gz"
    if (args.reuse or trained != row) and artifact.is_file():
        print(f"{row}: reusing {artifact}", flush=True)
        return artifact
    config = TrainConfig(
        out=str(out / trained.replace(":", "_")),
        model=ModelConfig(name=name, image_size=args.image_size, frames=int(k or 0),
                          pretrained="scratch" not in tags),
        epochs=1000,
        batch=args.batch, crop_size=args.crop, max_minutes=args.minutes, val_max_images=args.val_frames,
        seed=args.seed, resume=False, progress=False, **FAMILY.get(family, {}),
    )
    return run(config, train, val)


def run_pigskin(row: str, artifact: Path, val: Dataset) -> Row:
    from pigskin.data.clips import model_frames, predict_dataset
    from pigskin.models.artifact import load_model

    predictor = load_model(artifact, precision="bf16" if "bf16" in row.split(":") else "fp32")
    k = model_frames(predictor)

    def predict(images):
        return predictor.predict(images, score_threshold=0.001)

    preds = predict_dataset(predict, val, frames=k, progress=True)
    m = predictor.metrics
    minutes = m.get("train_seconds", math.nan) / 60
    note = f"{minutes:.1f} min, {m.get('steps', '?')} steps, {m.get('epochs_trained', '?')} epochs"
    note += ", no ImageNet weights" if not predictor.config.pretrained else ""
    note += ", bfloat16 inference" if predictor.precision == "bf16" else ""
    note += f", K={k}" if k > 1 else ""
    return Row(row, preds, math.nan, note, predict=predict, frames=k)


def time_rows(rows: list[Row], frame: np.ndarray, rounds: int = 9) -> None:
    """Median ms per 1280x720 frame of every row, measured round-robin (one call of each row per round;
    YOLO11n answers from a timing process in its own environment) so that a busy machine slows every
    row alike."""
    from pigskin.data.clips import stack_frames

    calls: list[tuple[Row, Callable[[], float]]] = []
    procs = []
    for r in rows:
        if r.predict is not None:
            x = stack_frames([frame] * r.frames)

            def call(r: Row = r, x: np.ndarray = x) -> float:
                start = time.perf_counter()
                r.predict([x])
                return (time.perf_counter() - start) * 1000

            call()  # warm-up
            calls.append((r, call))
        elif r.timer is not None:
            proc = subprocess.Popen(r.timer[0], env=r.timer[1], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                    text=True)
            procs.append(proc)
            while proc.stdout.readline().strip() != "ready":
                pass

            def ask(proc: subprocess.Popen = proc) -> float:
                proc.stdin.write("t\n")
                proc.stdin.flush()
                return float(proc.stdout.readline())

            calls.append((r, ask))
    times: dict[int, list[float]] = {id(r): [] for r, _ in calls}
    try:
        for _ in range(rounds):
            for r, call in calls:
                times[id(r)].append(call())
    finally:
        for proc in procs:
            proc.stdin.close()
            proc.wait()
    for r, _ in calls:
        r.ms = float(np.median(times[id(r)]))


# -- Ultralytics YOLO11n in its own environment -----------------------------------------------------------


def yolo_python(out: Path) -> Path:
    """``<out>/yolo-venv/bin/python`` with ultralytics; created on first use (pip install ultralytics)."""
    venv = (out / "yolo-venv").resolve()
    python = venv / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        # reuse this environment's torch, numpy, pillow (read-only: pip never removes what lies outside
        # its own environment), so ultralytics runs on the same torch build as pigskin
        query = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
        site = subprocess.run([str(python), "-c", query], check=True, capture_output=True, text=True)
        ours = sysconfig.get_paths()["purelib"]
        Path(site.stdout.strip(), "pigskin-bench-shared.pth").write_text(ours + "\n")
    found = subprocess.run([str(python), "-c", "import ultralytics"], capture_output=True)
    if found.returncode:
        print(f"installing ultralytics into {venv} (AGPL-3.0, for this benchmark only) ...", flush=True)
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", "ultralytics"], check=True)
    return python


def yolo_data(train: Dataset, val: Dataset, folder: Path) -> tuple[Path, Path]:
    """An Ultralytics data.yaml over the same frames (images hard-linked, labels written) and the list of
    validation images in the order of ``val``."""
    from pigskin.formats import save
    from pigskin.formats._common import _safe  # the stem the YOLO writer gives an image

    if folder.exists():
        shutil.rmtree(folder)
    tagged = [s.replace(image=str(ds.image_path(s).resolve()), attrs={**s.attrs, "split": split})
              for split, ds in (("train", train), ("val", val)) for s in ds]
    save(Dataset(list(train.classes), tagged), folder, "yolo")
    written = {p.stem: p for p in (folder / "val" / "images").iterdir()}
    order = [str(written[_safe(Path(s.image).stem)]) for s in val]
    val_list = folder / "val.txt"
    val_list.write_text("\n".join(order) + "\n")
    return folder / "data.yaml", val_list


def run_yolo11n(train: Dataset, val: Dataset, out: Path, args: argparse.Namespace) -> Row:
    python = yolo_python(out.parent)  # one environment for every --data
    data_yaml, val_list = yolo_data(train, val, out / "yolo-data")
    run_dir = out / "yolo11n"
    cmd = [str(python), str(HERE / "yolo11n_run.py"), "--data", str(data_yaml), "--val-list", str(val_list),
           "--minutes", str(args.minutes), "--imgsz", str(args.image_size), "--batch", str(args.batch),
           "--out", str(run_dir), "--threads", str(_threads())]
    if args.yolo_weights:
        cmd += ["--weights", args.yolo_weights]
    env = {**os.environ, "YOLO_OFFLINE": "1"}
    found = run_dir / "predictions.jsonl"
    done = (run_dir / "summary.json").is_file() and found.is_file() and found.stat().st_size > 0
    if not (args.reuse and done):
        subprocess.run(cmd, check=True, env=env)
    summary = json.loads((run_dir / "summary.json").read_text())
    preds = []
    for line in (run_dir / "predictions.jsonl").read_text().splitlines():  # in the order of val.txt
        r = json.loads(line)
        boxes = np.array(r["xyxy"], np.float32).reshape(-1, 4)
        preds.append(Detections(boxes, np.array(r["classes"], np.int64), np.array(r["scores"], np.float32)))
    if args.reuse and args.val_limit:
        preds = preds[: len(val)]  # an earlier run scored more frames, in the same order
    if len(preds) != len(val):
        raise RuntimeError(f"yolo11n: {len(preds)} predictions for {len(val)} validation frames")
    weights = "scratch (yolo11n.yaml)" if summary["weights"] == "yolo11n.yaml" else summary["weights"]
    trained = run_dir / "train" / "weights" / "last.pt"

    timing = [*cmd, "--time-only"] + (["--weights", str(trained)] if trained.is_file() else [])
    note = f"{summary['epochs']} epochs, {weights}, ultralytics {summary['ultralytics']}"
    return Row("yolo11n", preds, summary["ms_per_frame"], note, timer=(timing, env))


def _threads() -> int:
    import torch

    return torch.get_num_threads()


# -- scoring --------------------------------------------------------------------------------------------


def score(val: Dataset, row: Row) -> dict[str, float]:
    from pigskin.evaluate.metrics import EvalConfig, evaluate
    from pigskin.evaluate.points import point_metrics
    from pigskin.train.validate import ap50

    gts = [s.detections for s in val]
    out = ap50(row.preds, gts, len(val.classes))
    distance = 4.0 * float(np.median([s.width for s in val])) / 512.0
    best = max(THRESHOLDS, key=lambda t: _nan0(point_metrics(gts, row.preds, [0], distance, float(t)).f1))
    pm = point_metrics(gts, row.preds, [0], distance, float(best))
    # TrackNet's recall leaves out frames with a wrong point (FP1): nothing but wrong points is F1 0, not NaN
    f1 = pm.f1 if math.isfinite(pm.f1) or pm.tp else (0.0 if pm.fp1 + pm.fp2 else math.nan)
    out.update(point_f1=f1, threshold=float(best), distance=distance)
    occluded = _occluded_only(val)
    out["occluded_recall"] = math.nan
    if occluded is not None:
        report = evaluate(occluded, row.preds, EvalConfig(score_threshold=float(best)))
        out["occluded_recall"] = report.metrics["recall"]
    return out


def _occluded_only(val: Dataset) -> Dataset | None:
    """The GT with every ball that is not occluded marked crowd (ignored), or None without the attribute."""
    samples, seen = [], False
    for s in val:
        d = s.detections
        occ = d.attrs.get("occlusion")
        if occ is None:
            samples.append(s.replace(detections=d.with_attr("iscrowd", np.ones(len(d), bool))))
            continue
        seen = True
        values = np.array([float(v) if v is not None else 0.0 for v in occ.tolist()])
        samples.append(s.replace(detections=d.with_attr("iscrowd", values < OCCLUDED)))
    return val.replace(samples=samples) if seen else None


def _nan0(x: float) -> float:
    return x if math.isfinite(x) else 0.0


def _fmt(x: float, digits: int = 3) -> str:
    return "-" if x is None or not math.isfinite(x) else f"{x:.{digits}f}"


def table(rows: list[Row], data: str, minutes: float, n_train: int, n_val: int) -> str:
    peer = next((r.ms for r in rows if r.name == "yolo11n"), math.nan)
    lines = [
        f"ball detectors on {data}: {n_train} training frames, {n_val} validation frames, "
        f"{minutes:g} min of CPU training each, {_threads()} threads",
        "",
        "| model | AP50 | AP50 <16 px | point F1 @ d px (thr) | occluded recall | ms / 1280x720 | vs YOLO11n "
        "| notes |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        s = r.scores
        ratio = f"{peer / r.ms:.2f}x" if math.isfinite(peer) and r.ms > 0 else "-"
        lines.append(
            f"| {r.name} | {_fmt(s['ap50'])} | {_fmt(s['ap50_small'])} | {_fmt(s['point_f1'])} @ "
            f"{s['distance']:.0f} ({s['threshold']:.2f}) | {_fmt(s['occluded_recall'])} | {r.ms:.0f} "
            f"| {ratio} | {r.note} |"
        )
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", choices=("synthetic", "soccer"), default="synthetic")
    p.add_argument("--minutes", type=float, default=30.0, help="training minutes per model")
    p.add_argument("--models", default=",".join(ROWS), help="rows: pigskin model names, yolo11n")
    p.add_argument("--out", default="bench-out/ball_detectors")
    p.add_argument("--preset", default="broadcast")
    p.add_argument("--train-clips", type=int, default=40)
    p.add_argument("--val-clips", type=int, default=10)
    p.add_argument("--seconds", type=float, default=6.0)
    p.add_argument("--fps", type=float, default=15.0, help="frame rate of the rendered clips")
    p.add_argument("--train-stills", type=int, default=400, help="synthetic stills added to the training set")
    p.add_argument("--image-size", type=int, default=1280)
    p.add_argument("--crop", type=int, default=512, help="training crop side (pigskin models)")
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--val-frames", type=int, default=100, help="frames validated between epochs (pigskin)")
    p.add_argument("--yolo-weights", default="", help="a local YOLO11n .pt to start from")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--val-limit", type=int, default=0, help="score the first N validation frames only")
    p.add_argument("--rounds", type=int, default=9, help="timing rounds (each row once per round)")
    p.add_argument("--reuse", action="store_true", help="score the models an earlier run trained")
    args = p.parse_args()

    from pigskin.runtime import set_threads, tune_allocator

    tune_allocator()  # as pigskin train / predict / serve run (the YOLO11n runner does the same)
    set_threads()
    out = Path(args.out) / args.data
    out.mkdir(parents=True, exist_ok=True)
    data = synthetic(out, args) if args.data == "synthetic" else soccer()
    if data is None:
        return
    train, val = data
    if args.val_limit:
        val = val.subset(list(range(min(len(val), args.val_limit))))
    print(f"{len(train)} training frames ({train.num_boxes} balls), {len(val)} validation frames "
          f"({val.num_boxes} balls)", flush=True)
    from PIL import Image

    frame = np.asarray(Image.fromarray(val.load_image(val[0])).resize((1280, 720)))
    rows = []
    for name in [m.strip() for m in args.models.split(",") if m.strip()]:
        t = time.time()
        if name == "yolo11n":
            row = run_yolo11n(train, val, out, args)
        else:
            row = run_pigskin(name, train_pigskin(name, train, val, out, args), val)
        row.scores = score(val, row)
        rows.append(row)
        print(f"{name}: done in {time.time() - t:.0f} s: {json.dumps(row.scores)}", flush=True)
    time_rows(rows, frame, args.rounds)
    text = table(rows, args.data, args.minutes, len(train), len(val))
    (out / "table.md").write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
