"""Bad input: every error names the file and the line / record / field; --strict vs repair."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

from pigskin.errors import FormatError
from pigskin.formats import load

GOOD = {
    "source-ref": "s3://bucket/a.jpg",
    "ball": {
        "image_size": [{"width": 100, "height": 50, "depth": 3}],
        "annotations": [{"class_id": 0, "left": 10, "top": 10, "width": 5, "height": 5}],
    },
    "ball-metadata": {"class-map": {"0": "football"}, "type": "groundtruth/object-detection"},
}


def _with(**changes) -> dict:
    line = json.loads(json.dumps(GOOD))
    for dotted, value in changes.items():
        *keys, last = dotted.split("__")
        target = line
        for k in keys:
            target = target[int(k)] if isinstance(target, list) else target[k]
        if value is None:
            target.pop(last)
        else:
            target[last] = value
    return line


def _manifest(tmp_path: Path, second: dict | str) -> Path:
    path = tmp_path / "labels.manifest"
    bad = second if isinstance(second, str) else json.dumps(second)
    path.write_text(json.dumps(GOOD) + "\n" + bad + "\n")
    return path


BOX = "ball__annotations__0__"
GT_CASES = {
    "malformed": ('{"source-ref": "s3://bucket/b.jpg", "ball": ', ["line 2", "malformed JSON"]),
    "no source-ref": (_with(**{"source-ref": None}), ["line 2", "source-ref"]),
    "no label attribute": (_with(**{"ball-metadata": None}), ["line 2", "no label attribute"]),
    "unknown class": (
        _with(**{BOX + "class_id": 3}),
        ["line 2", "ball.annotations[0].class_id", "class id 3"],
    ),
    "image_size not a list": (
        _with(ball__image_size={"width": 100, "height": 50}),
        ["line 2", "ball.image_size"],
    ),
    "image_size zero": (_with(ball__image_size=[{"width": 0, "height": 50}]), ["line 2", "ball.image_size"]),
    "box field": (_with(**{BOX + "left": "ten"}), ["line 2", "ball.annotations[0].left", "number"]),
    "class-map key": (_with(**{"ball-metadata__class-map": {"zero": "football"}}), ["line 2", "class-map"]),
    "objects length": (_with(**{"ball-metadata__objects": []}), ["line 2", "ball-metadata.objects"]),
}


@pytest.mark.parametrize("case", GT_CASES)
def test_groundtruth_errors_name_file_line_and_field(tmp_path, case):
    line, expected = GT_CASES[case]
    with pytest.raises(FormatError) as info:
        load(_manifest(tmp_path, line), "groundtruth")
    assert "labels.manifest" in str(info.value)
    for text in expected:
        assert text in str(info.value)


def test_conflicting_class_maps_name_both_lines(tmp_path):
    path = _manifest(tmp_path, _with(**{"ball-metadata__class-map": {"0": "pylon"}}))
    with pytest.raises(FormatError, match=r"line 2.*'pylon' here but 'football' on line 1"):
        load(path)


@pytest.mark.parametrize(
    ("box", "repair"),
    [
        ({"left": 95, "top": 40, "width": 10, "height": 5}, "clipped"),
        ({"left": 20, "top": 20, "width": 0, "height": 5}, "dropped"),
        ({"left": 120, "top": 20, "width": 5, "height": 5}, "entirely outside"),
    ],
)
def test_bad_boxes_are_repaired_and_counted_or_fatal_with_strict(tmp_path, box, repair):
    path = _manifest(tmp_path, _with(**{"ball__annotations": [{"class_id": 0, **box}]}))
    ds = load(path)
    (problem,) = ds.meta["problems"]
    assert "labels.manifest: line 2, ball.annotations[0]" in problem and repair in problem
    if repair == "clipped":
        assert ds[1].detections.xyxy.tolist() == [[95, 40, 100, 45]]
    else:
        assert len(ds[1].detections) == 0
    with pytest.raises(FormatError, match=r"labels.manifest: line 2, ball.annotations\[0\]"):
        load(path, strict=True)


def test_missing_seqlabel_names_the_line(tmp_path):
    line = {
        "source-ref": "s3://b/seq.json",
        "t-ref": "s3://b/out/SeqLabel.json",
        "t-ref-metadata": {"class-map": {"0": "ball"}, "type": "groundtruth/video-object-tracking"},
    }
    (tmp_path / "v.manifest").write_text(json.dumps(line) + "\n")
    with pytest.raises(FormatError, match=r"v.manifest: line 1, t-ref: cannot find s3://b/out/SeqLabel.json"):
        load(tmp_path / "v.manifest")


def _coco(tmp_path: Path, **changes) -> Path:
    doc = {
        "images": [{"id": 1, "file_name": "a.jpg", "width": 100, "height": 50}],
        "annotations": [{"id": 1, "image_id": 1, "category_id": 7, "bbox": [1, 2, 3, 4]}],
        "categories": [{"id": 7, "name": "football"}],
    }
    for key, value in changes.items():
        doc[key] = value
    path = tmp_path / "instances.json"
    path.write_text(json.dumps(doc))
    return path


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            {"annotations": [{"id": 1, "image_id": 1, "category_id": 3, "bbox": [1, 2, 3, 4]}]},
            "annotations[0].category_id: category id 3",
        ),
        (
            {"annotations": [{"id": 1, "image_id": 9, "category_id": 7, "bbox": [1, 2, 3, 4]}]},
            "annotations[0].image_id: no image with id 9",
        ),
        (
            {"annotations": [{"id": 1, "image_id": 1, "category_id": 7, "bbox": [1, 2, 3]}]},
            "annotations[0].bbox",
        ),
        ({"images": [{"id": 1, "file_name": "a.jpg", "width": "wide", "height": 50}]}, "images[0].width"),
    ],
)
def test_coco_errors_name_the_record(tmp_path, change, expected):
    with pytest.raises(FormatError) as info:
        load(_coco(tmp_path, **change))
    assert "instances.json" in str(info.value) and expected in str(info.value)


def test_coco_malformed_json_names_the_line(tmp_path):
    (tmp_path / "x.json").write_text('{"images": [\n{"id": 1,,}]}')
    with pytest.raises(FormatError, match=r"x.json: line 2: malformed JSON"):
        load(tmp_path / "x.json", "coco")


def _yolo(tmp_path: Path, label: str) -> Path:
    for sub in ("images", "labels"):
        (tmp_path / sub).mkdir(parents=True)
    Image.new("RGB", (64, 32)).save(tmp_path / "images" / "a.jpg")
    (tmp_path / "labels" / "a.txt").write_text(label)
    (tmp_path / "data.yaml").write_text("train: images\nval: images\nnames: [football]\n")
    return tmp_path


@pytest.mark.parametrize(
    ("label", "expected"),
    [
        ("0 0.5 0.5 0.1\n", "a.txt: line 1: expected 'class cx cy w h [conf]'"),
        ("0 0.5 0.5 0.1 0.1\n1 0.5 0.5 0.1 0.1\n", "a.txt: line 2, class: class id 1"),
        ("0 0.5 half 0.1 0.1\n", "a.txt: line 1: not numbers"),
    ],
)
def test_yolo_errors_name_file_and_line(tmp_path, label, expected):
    with pytest.raises(FormatError) as info:
        load(_yolo(tmp_path, label))
    assert expected in str(info.value)


def test_yolo_box_outside_is_clipped_or_fatal(tmp_path):
    root = _yolo(tmp_path, "0 0.98 0.5 0.1 0.1\n")
    ds = load(root)
    assert ds[0].detections.xyxy[0].tolist() == pytest.approx([59.52, 14.4, 64, 17.6], abs=1e-4)
    assert len(ds.meta["problems"]) == 1 and "a.txt: line 1" in ds.meta["problems"][0]
    with pytest.raises(FormatError, match=r"a.txt: line 1: box .* outside the 64x32 image"):
        load(root, strict=True)


def test_voc_errors_name_file_and_field(tmp_path):
    (tmp_path / "a.xml").write_text(
        "<annotation><filename>a.jpg</filename><size><width>10</width><height>10</height></size>"
        "<object><name>ball</name><bndbox><xmin>1</xmin><ymin>1</ymin><xmax>x</xmax><ymax>4</ymax></bndbox>"
        "</object></annotation>"
    )
    with pytest.raises(FormatError, match=r"a.xml: object\[0\]/bndbox/xmax: expected a number"):
        load(tmp_path, "voc")
    (tmp_path / "a.xml").write_text("<annotation><filename>a.jpg</filename>\n<size></annotation>")
    with pytest.raises(FormatError, match=r"a.xml: line 2: malformed XML"):
        load(tmp_path, "voc")
