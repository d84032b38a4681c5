"""Shared by the train_* benchmarks: synthetic data (cached on disk), a budgeted training run, a full
evaluation with timing, and the table. Not a benchmark itself.

Every run trains with ``max_minutes`` as its budget (validating on at most ``--val-during`` frames per
epoch to pick the best epoch), then the saved artifact is scored on the whole validation set with
``pigskin.evaluate.metrics`` (COCO AP at IoU 0.5; "small" = balls whose longer side is under 16 px)
and timed per frame. Training time is the budget the run used; evaluation is not counted in it.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from pigskin import runtime

runtime.prepare()  # as `pigskin train` does: before torch starts (OpenMP wait policy, malloc, threads)

import torch  # noqa: E402

from pigskin.config import TrainConfig, override  # noqa: E402
from pigskin.evaluate.points import best_threshold  # noqa: E402
from pigskin.models.artifact import load_model  # noqa: E402
from pigskin.samples import Dataset  # noqa: E402
from pigskin.train.validate import ap50  # noqa: E402


def common_args(ap: argparse.ArgumentParser, minutes: float) -> None:
    ap.add_argument("--minutes", type=float, default=minutes, help="training budget per run (minutes)")
    ap.add_argument("--out", default="runs/bench", help="where runs and cached data go")
    ap.add_argument("--val-during", type=int, default=60, help="validation frames per epoch while training")
    ap.add_argument("--val-images", type=int, default=0, help="frames of the final evaluation (0 = all)")
    ap.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="any training hyperparameter, e.g. --set crop_size=384 (repeatable)",
    )


def synth_data(
    out: Path, n_train: int, n_val: int, width: int = 1280, height: int = 720, seed: int = 0
) -> tuple[Dataset, Dataset]:
    """The synthetic default (broadcast preset, both cameras), rendered once and cached under ``out``."""
    try:
        from pigskin.synth import generate_images, preset
    except ImportError as exc:
        print(f"pigskin.synth is not available ({exc}); this benchmark needs it. Nothing was run.")
        sys.exit(0)
    from pigskin.formats import load

    cfg = preset("broadcast", width=width, height=height, seed=seed)
    sets = []
    for name, n, start in (("train", n_train, 0), ("val", n_val, 1_000_000)):
        folder = out / (f"synth-{width}x{height}-{name}-{n}" + (f"-seed{seed}" if seed else ""))
        if not (folder / "manifest.jsonl").exists():
            t0 = time.monotonic()
            print(f"rendering {n} {name} frames into {folder} ...", flush=True)
            generate_images(cfg, n, folder, start=start)
            print(f"  {time.monotonic() - t0:.0f}s", flush=True)
        sets.append(load(folder / "manifest.jsonl"))
    return sets[0], sets[1]


def overrides(pairs: list[str]) -> dict[str, str]:
    out = {}
    for p in pairs:
        name, sep, value = p.partition("=")
        if not sep:
            raise SystemExit(f"--set expects NAME=VALUE, got {p!r}")
        out[name.strip()] = value.strip()
    return out


@torch.no_grad()
def evaluate(artifact: Path, val: Dataset, max_images: int = 0) -> dict[str, float]:
    """AP50 / AP50 of balls under 16 px on whole frames, and milliseconds per frame of ``predict``."""
    predictor = load_model(artifact)
    samples = val.samples[:max_images] if max_images else val.samples
    preds, gts, times = [], [], []
    for i, s in enumerate(samples):
        image = val.load_image(s)
        t0 = time.perf_counter()
        preds.extend(predictor.predict([image], score_threshold=0.0))
        if i:  # the first call warms up
            times.append(time.perf_counter() - t0)
        gts.append(s.detections)
    scores = ap50(preds, gts, len(val.classes))
    point = best_threshold(gts, preds, list(range(len(val.classes))), distance=10.0)
    return {
        **scores,
        "point_f1": point.f1,
        "ms_per_frame": 1000 * statistics.median(times) if times else float("nan"),
        "eval_frames": len(samples),
    }


def train_and_evaluate(
    name: str, train_ds: Dataset, val_ds: Dataset, out: Path, args: argparse.Namespace, **settings: Any
) -> dict[str, Any]:
    """One budgeted training run of model ``name`` plus the full evaluation of what it saved."""
    from pigskin.train import train

    values = {
        "name": name,
        "epochs": 1000,
        "max_minutes": args.minutes,
        "val_max_images": args.val_during,
        "progress": False,
        **settings,
        **overrides(args.set),
    }
    config = override(TrainConfig(out=str(out), resume=False), values)
    t0 = time.monotonic()
    artifact = train(config, train_ds, val_ds)
    wall = time.monotonic() - t0
    predictor = load_model(artifact)
    result = evaluate(artifact, val_ds, args.val_images)
    result.update(
        model=name,
        train_min=predictor.metrics.get("train_seconds", wall) / 60,
        epochs=predictor.metrics.get("epochs_trained"),
        steps=predictor.metrics.get("steps"),
        best_epoch=predictor.metrics.get("epoch"),
    )
    return result


def machine() -> str:
    version = torch.__version__.split("+")[0]
    return f"{platform.machine()}, {torch.get_num_threads()} torch threads, torch {version}"


def table(rows: list[dict[str, Any]], columns: list[tuple[str, str, str]]) -> str:
    """``columns``: (key, header, format) per column; text left-aligned, numbers right-aligned."""
    cells = [[h for _, h, _ in columns]]
    for r in rows:
        cells.append(["-" if r.get(k) is None else format(r[k], fmt) for k, _, fmt in columns])
    widths = [max(len(row[i]) for row in cells) for i in range(len(columns))]
    left = [isinstance(rows[0].get(k), str) if rows else False for k, _, _ in columns]
    return "\n".join(
        "  ".join(c.ljust(w) if lf else c.rjust(w) for c, w, lf in zip(row, widths, left, strict=True))
        for row in cells
    )
