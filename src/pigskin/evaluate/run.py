"""File-level entry points behind ``pigskin evaluate`` and ``pigskin analyze``: load, score, write."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from pigskin.evaluate.analysis import Analysis
from pigskin.evaluate.metrics import EvalConfig, EvalReport, evaluate
from pigskin.evaluate.predictions import Predictions, load_predictions, predict_dataset, write_predictions
from pigskin.evaluate.slices import AnalyzeConfig, analyze
from pigskin.fileio import write_bytes, write_text
from pigskin.samples import Dataset

PathLike = str | os.PathLike[str]


@dataclass(frozen=True)
class Inputs:
    """Where the ground truth and the predictions (or the model) come from."""

    data: PathLike
    predictions: PathLike | None = None
    model: PathLike | None = None
    data_format: str | None = None
    predictions_format: str | None = None
    image_root: PathLike | None = None
    batch_size: int = 8


def load_inputs(inputs: Inputs, out_dir: PathLike | None = None) -> tuple[Dataset, Predictions]:
    """The GT dataset and one Detections per sample. A model's predictions are saved to
    ``out_dir/predictions.jsonl`` so that a later ``analyze`` need not run the model again."""
    from pigskin.errors import PigskinError
    from pigskin.formats import load

    if (inputs.predictions is None) == (inputs.model is None):
        raise PigskinError("give exactly one of --predictions and --model")
    dataset = load(inputs.data, inputs.data_format, image_root=inputs.image_root)
    if inputs.model is not None:
        preds = predict_dataset(inputs.model, dataset, inputs.batch_size, progress=True)
        if out_dir is not None:
            write_predictions(
                Path(out_dir) / "predictions.jsonl",
                [s.image for s in dataset.samples],
                preds.per_image,
                dataset.classes,
            )
        return dataset, preds
    return dataset, load_predictions(
        inputs.predictions, dataset, format=inputs.predictions_format, gt_path=inputs.data
    )


def evaluate_to_dir(inputs: Inputs, out_dir: PathLike, config: EvalConfig = EvalConfig()) -> EvalReport:
    """Score and write ``metrics.json`` and ``pr_curve.png`` into ``out_dir``."""
    from pigskin.evaluate import plots

    out = Path(out_dir)
    dataset, preds = load_inputs(inputs, out)
    report = evaluate(dataset, preds.per_image, config)
    report.notes[:0] = preds.notes
    write_text(out / "metrics.json", json.dumps(report.to_dict(), indent=1) + "\n")
    curves = {
        f"{c} (AP50 {report.per_class[c]['AP50']:.3f})": (v["recall"], v["precision"])
        for c, v in report.pr_curves.items()
    }
    write_bytes(
        out / "pr_curve.png", plots.pr_curves_png(curves, "precision-recall at IoU .5 (COCO 101-point)")
    )
    return report


def analyze_to_dir(inputs: Inputs, out_dir: PathLike, config: AnalyzeConfig = AnalyzeConfig()) -> Analysis:
    """Slice, explain errors, and write report.html, slices.json, slices.csv and errors.csv."""
    from pigskin.evaluate.report import write_report

    dataset, preds = load_inputs(inputs, out_dir)
    result = analyze(dataset, preds.per_image, config)
    result.notes[:0] = preds.notes
    write_report(result, dataset, preds.per_image, out_dir)
    return result
