"""``pigskin demo``: the whole pipeline on synthetic broadcast data, in a few minutes on a laptop CPU.

Render stills and a clip -> fine-tune a detector from ImageNet weights -> evaluate -> sensitivity
report -> track the ball through the clip. Everything lands in one folder with a ``SUMMARY.md`` that
names each file. Each step is a plain call into the library, so this file doubles as a usage example.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pigskin.fileio import write_text


@dataclass(frozen=True)
class DemoConfig:
    out: str = "runs/demo"
    model: str = "heatmap_mobilenet_v2"
    train_images: int = 240
    val_images: int = 80
    clip_seconds: float = 6.0
    fps: float = 30.0
    width: int = 1280
    height: int = 720
    train_minutes: float = 4.0
    seed: int = 0
    workers: int | None = None


@dataclass
class DemoLog:
    """What each step did and wrote, for the printed progress and the summary page."""

    steps: list[dict[str, Any]] = field(default_factory=list)

    def run(self, title: str, fn: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        n = len(self.steps) + 1
        print(f"\n[{n}] {title} ...", flush=True)
        t0 = time.perf_counter()
        info = fn()
        info = {"title": title, "seconds": round(time.perf_counter() - t0, 1), **info}
        self.steps.append(info)
        print(f"[{n}] done in {info['seconds']} s: {info.get('said', '')}", flush=True)
        return info


def run_demo(cfg: DemoConfig = DemoConfig()) -> Path:
    """Run every step; return the path of the summary page."""
    from pigskin.config import ModelConfig, TrainConfig
    from pigskin.evaluate.run import Inputs, analyze_to_dir, evaluate_to_dir
    from pigskin.synth import generate_clips, generate_images, preset
    from pigskin.track.detectors import model_detector
    from pigskin.track.pipeline import PipelineConfig, track_video
    from pigskin.train import train

    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    log = DemoLog()
    synth = preset("broadcast", width=cfg.width, height=cfg.height, seed=cfg.seed)

    def data() -> dict[str, Any]:
        tr = generate_images(synth, cfg.train_images, out / "data/train", workers=cfg.workers)
        va = generate_images(synth, cfg.val_images, out / "data/val", workers=cfg.workers,
                             start=cfg.train_images)
        boxes = tr.num_boxes + va.num_boxes
        return {"files": {"data/train/manifest.jsonl": "training frames (Ground Truth manifest)",
                          "data/val/manifest.jsonl": "validation frames (Ground Truth manifest)"},
                "said": f"{len(tr)} train + {len(va)} validation frames at {cfg.width}x{cfg.height}, "
                        f"{boxes} ball boxes"}

    def clip() -> dict[str, Any]:
        ds = generate_clips(synth, 1, out / "data/clips", seconds=cfg.clip_seconds, fps=cfg.fps,
                            workers=cfg.workers, start=10_000)
        return {"files": {"data/clips/clips/": "a synthetic broadcast clip (H.264) and its exact labels"},
                "said": f"1 clip, {len(ds)} frames at {cfg.fps:g} fps"}

    def fit() -> dict[str, Any]:
        config = TrainConfig(
            data=str(out / "data/train/manifest.jsonl"),
            val=str(out / "data/val/manifest.jsonl"),
            out=str(out / "model"),
            # stills: the heatmap model runs as a one-frame detector (K = 1)
            model=ModelConfig(name=cfg.model, frames=1 if cfg.model.startswith("heatmap") else 0),
            optimizer="adamw" if cfg.model.startswith("heatmap") else "sgd",
            lr=0.003 if cfg.model.startswith("heatmap") else 0.01,
            # a few minutes of CPU: small crops and a short warm-up buy many more steps
            crop_size=256,
            batch=4,
            warmup_steps=10,
            val_max_images=24,
            resume=False,  # every demo run starts over
            epochs=50,
            max_minutes=cfg.train_minutes,
            seed=cfg.seed,
        )
        artifact = train(config)
        return {"files": {"model/model.tar.gz": "the trained model (weights, config, classes, metrics)",
                          "model/metrics.jsonl": "per-epoch training and validation metrics"},
                "said": f"{cfg.model} fine-tuned from ImageNet weights for "
                        f"{cfg.train_minutes:g} min -> {artifact}"}

    def score() -> dict[str, Any]:
        inputs = Inputs(data=out / "data/val/manifest.jsonl", model=out / "model/model.tar.gz")
        evaluate_to_dir(inputs, out / "evaluate")
        m = json.loads((out / "evaluate/metrics.json").read_text())
        return {"files": {"evaluate/metrics.json": "AP, AP50, AP75, AP by size, point metrics",
                          "evaluate/pr_curve.png": "precision-recall curve",
                          "evaluate/predictions.jsonl": "the model's boxes on every validation frame"},
                "said": ", ".join(f"{k} {_num(m.get(k))}" for k in ("AP50", "AP", "AP_small"))}

    def report() -> dict[str, Any]:
        inputs = Inputs(data=out / "data/val/manifest.jsonl", predictions=out / "evaluate/predictions.jsonl")
        analyze_to_dir(inputs, out / "analyze")
        return {"files": {"analyze/report.html": "sensitivity report: slices, intervals, error galleries",
                          "analyze/slices.csv": "the slice table"},
                "said": "slices by occlusion, size, contrast, blur, camera; weakest slices named"}

    def follow() -> dict[str, Any]:
        video = next((out / "data/clips/clips").glob("*.mp4"))
        result = track_video(video, model_detector(out / "model/model.tar.gz"), out / "track",
                             PipelineConfig(smooth=True))
        states = [r["state"] for r in result.rows]
        fps = result.timing.frames / max(result.timing.wall_s, 1e-9)
        return {"files": {"track/annotated.mp4": "the clip with the ball's box, trail and score",
                          "track/tracks.csv": "one row per frame: box, centre, score, state",
                          "track/timing.json": "seconds per stage"},
                "said": f"{len(states)} frames at {fps:.1f} fps: {states.count('detected')} detected, "
                        f"{states.count('predicted')} predicted, {states.count('lost')} lost"}

    log.run("Render synthetic broadcast stills", data)
    log.run("Render a synthetic clip", clip)
    log.run(f"Fine-tune {cfg.model}", fit)
    log.run("Evaluate on the validation frames", score)
    log.run("Build the sensitivity report", report)
    log.run("Track the ball through the clip", follow)
    return write_summary(out, cfg, log)


def _num(value: Any) -> str:
    """A metric for the summary; None (e.g. no ball of that size in the validation set) as n/a."""
    return "n/a" if value is None else f"{value:.3f}"


def write_summary(out: Path, cfg: DemoConfig, log: DemoLog) -> Path:
    lines = ["# pigskin demo", "", f"Config: `{json.dumps(cfg.__dict__)}`", "",
             "| step | seconds | result |", "|---|---|---|"]
    lines += [f"| {s['title']} | {s['seconds']} | {s['said']} |" for s in log.steps]
    lines += ["", "## Files", "", "| file | what it is |", "|---|---|"]
    for s in log.steps:
        lines += [f"| `{name}` | {what} |" for name, what in s.get("files", {}).items()]
    path = out / "SUMMARY.md"
    write_text(path, "\n".join(lines) + "\n")
    print(f"\nSummary: {path}")
    return path
