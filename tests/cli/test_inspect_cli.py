"""pigskin inspect: counts, classes, size histogram, missing images, problems and the exit code."""

from __future__ import annotations

import json

import numpy as np

from pigskin.cli import main
from pigskin.detections import Detections
from pigskin.formats import save
from pigskin.samples import Dataset


def _clean(ds: Dataset) -> Dataset:
    """The tiny dataset without its box that sticks out of the image."""
    s = ds[2]
    xyxy = s.detections.xyxy.copy()
    xyxy[1] = [30, 20, 62, 48]
    return ds.replace(samples=[*ds.samples[:2], s.replace(detections=s.detections.replace(xyxy=xyxy)), ds[3]])


def test_clean_dataset_exits_zero_with_a_full_report(tiny_dataset, tmp_path, capsys):
    save(_clean(tiny_dataset), tmp_path / "voc", "voc")
    assert main(["inspect", str(tmp_path / "voc")]) == 0
    out = capsys.readouterr().out
    assert "images: 4   boxes: 5   empty frames: 1" in out
    assert "football         2" in out and "player           3" in out
    lines = {
        ln.split()[0]: ln.split()[1] for ln in out.splitlines() if ln.startswith("  ") and len(ln.split()) > 1
    }
    assert (lines["<8"], lines["8-16"], lines["16-32"], lines["32-64"], lines[">=64"]) == (
        "0",
        "3",
        "0",
        "1",
        "1",
    )
    assert "missing images: 0" in out and "problems: 0" in out


def test_problems_and_missing_images_exit_one(tiny_dataset, tmp_path, capsys):
    save(tiny_dataset, tmp_path / "data.manifest", "groundtruth")
    (tiny_dataset.root / "images" / "frame_001.jpg").unlink()
    assert main(["inspect", str(tmp_path / "data.manifest")]) == 1
    out = capsys.readouterr().out
    assert "missing images: 1" in out and "images/frame_001.jpg: image not found" in out
    assert "line 3, bounding-box.annotations[1]: box [30.0, 20.0, 62.0, 60.0] outside the 64x48 image" in out
    assert "problems: 2" in out
    assert main(["inspect", str(tmp_path / "data.manifest"), "--strict"]) == 1
    assert "problem (--strict stops at the first)" in capsys.readouterr().out


def test_size_mismatch_and_s3_images(tiny_dataset, tmp_path, capsys):
    ds = _clean(tiny_dataset)
    ds.samples[0] = ds[0].replace(width=640, height=480)
    save(ds, tmp_path / "c.json", "coco")
    assert main(["inspect", str(tmp_path / "c.json")]) == 1
    assert "labels say 640x480, the image is 64x48" in capsys.readouterr().out
    line = {
        "source-ref": "s3://bucket/frames/a.jpg",
        "b": {
            "image_size": [{"width": 8, "height": 8, "depth": 3}],
            "annotations": [{"class_id": 0, "left": 1, "top": 1, "width": 2, "height": 2}],
        },
        "b-metadata": {"class-map": {"0": "football"}, "type": "groundtruth/object-detection"},
    }
    (tmp_path / "s3.manifest").write_text(json.dumps(line) + "\n")
    assert main(["inspect", str(tmp_path / "s3.manifest")]) == 0
    assert "unchecked images: 1" in capsys.readouterr().out
    assert main(["inspect", str(tmp_path / "s3.manifest"), "--image-root", str(tmp_path)]) == 1
    assert "s3://bucket/frames/a.jpg: image not found" in capsys.readouterr().out


def test_class_ids_without_names_are_problems(tmp_path, capsys):
    from pigskin.formats.summary import render, summarize
    from pigskin.samples import Sample

    ds = Dataset(["ball"], [Sample("a.jpg", 10, 10, Detections(np.array([[1, 1, 4, 4]], np.float32), [3]))])
    summary = summarize(ds, check_images=False)
    assert summary.problems == ["a.jpg: class id 3 has no name (only 1 classes)"]
    assert "problems: 1" in render(summary)
