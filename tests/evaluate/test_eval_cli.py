"""pigskin evaluate / analyze from the command line, on files."""

from __future__ import annotations

import csv
import json

import numpy as np

from pigskin.cli import main
from pigskin.detections import Detections
from pigskin.evaluate.predictions import write_predictions
from pigskin.evaluate.reference import to_coco_gt, to_coco_results

PNG = b"\x89PNG\r\n\x1a\n"


def predictions(ds):
    out = []
    for i, s in enumerate(ds):
        d = s.detections
        shift = np.float32(i % 2)  # some exact, some 1 px off
        out.append(Detections(d.xyxy + shift, d.class_id, np.full(len(d), 0.9 - 0.1 * i, np.float32)))
    out[1] = Detections(np.array([[5, 5, 15, 15]], np.float32), [0], [0.95])  # a false positive
    return out


def test_evaluate_cli_jsonl_and_coco_results(tiny_dataset, tmp_path, capsys):
    gt = tmp_path / "gt.json"
    gt.write_text(json.dumps(to_coco_gt(tiny_dataset)))
    preds = predictions(tiny_dataset)
    write_predictions(tmp_path / "p.jsonl", [s.image for s in tiny_dataset], preds, tiny_dataset.classes)
    (tmp_path / "res.json").write_text(json.dumps(to_coco_results(preds)))
    metrics = []
    for name, src in (("a", "p.jsonl"), ("b", "res.json")):
        out = tmp_path / name
        code = main(
            [
                "evaluate",
                "--data",
                str(gt),
                "--predictions",
                str(tmp_path / src),
                "--out",
                str(out),
                "--score-threshold",
                "0.5",
                "--point-distance",
                "2",
            ]
        )
        assert code == 0
        m = json.loads((out / "metrics.json").read_text())
        assert {"AP", "AP50", "AP75", "AP_small", "VOC_AP50", "F1", "point", "pr_curve", "per_class"} <= set(
            m
        )
        assert m["point"]["distance"] == 2.0 and m["config"]["score_threshold"] == 0.5
        assert (out / "pr_curve.png").read_bytes()[:8] == PNG
        metrics.append(m)
    assert metrics[0]["AP"] == metrics[1]["AP"] and 0 < metrics[0]["AP50"] < 1
    printed = capsys.readouterr().out
    assert "AP50" in printed and "point P / R / F1 @ 2 px" in printed


def test_evaluate_cli_reports_bad_input(tiny_dataset, tmp_path, capsys):
    gt = tmp_path / "gt.json"
    gt.write_text(json.dumps(to_coco_gt(tiny_dataset)))
    (tmp_path / "p.jsonl").write_text('{"image": "images/frame_000.jpg", "boxes": [[1, 2]]}\n')
    code = main(
        ["evaluate", "--data", str(gt), "--predictions", str(tmp_path / "p.jsonl"), "--out", str(tmp_path)]
    )
    assert code == 2 and "p.jsonl: line 1: boxes" in capsys.readouterr().err


def test_analyze_cli_writes_a_self_contained_report(tiny_dataset, tmp_path, capsys):
    gt = tmp_path / "gt.json"
    gt.write_text(json.dumps(to_coco_gt(tiny_dataset)))
    write_predictions(
        tmp_path / "p.jsonl", [s.image for s in tiny_dataset], predictions(tiny_dataset), tiny_dataset.classes
    )
    out = tmp_path / "report"
    code = main(
        [
            "analyze",
            "--data",
            str(gt),
            "--predictions",
            str(tmp_path / "p.jsonl"),
            "--out",
            str(out),
            "--bootstrap",
            "20",
            "--min-count",
            "1",
        ]
    )
    assert code == 0
    page = (out / "report.html").read_text()
    assert page.startswith("<!DOCTYPE html>") and "data:image/png;base64," in page
    assert "http://" not in page and "https://" not in page and "<script" not in page
    data = json.loads((out / "slices.json").read_text())
    assert data["overall"]["count"] == 2 and data["classes"] == ["football"]
    assert sum(data["false_positive_causes"].values()) >= 1
    rows = list(csv.DictReader((out / "slices.csv").open()))
    assert rows[0]["attribute"] == "all" and {r["attribute"] for r in rows} >= {"contrast", "blur"}
    assert list(csv.DictReader((out / "errors.csv").open()))[0]["kind"] in ("false positive", "miss")
    assert "wrote" in capsys.readouterr().out
