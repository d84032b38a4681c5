"""Ground Truth manifests built from AWS's documented examples parse to the right pixel boxes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from pigskin.detections import Detections
from pigskin.formats import detect, groundtruth, load, save
from pigskin.samples import Dataset, Sample

# sms-data-output.md, "Bounding Box Job Output" (one line here; the docs pretty-print it)
DOG_BONE = {
    "source-ref": "s3://AWSDOC-EXAMPLE-BUCKET/example_image.png",
    "bounding-box": {
        "image_size": [{"width": 500, "height": 400, "depth": 3}],
        "annotations": [
            {"class_id": 0, "left": 111, "top": 134, "width": 61, "height": 128},
            {"class_id": 5, "left": 161, "top": 250, "width": 30, "height": 30},
            {"class_id": 5, "left": 20, "top": 20, "width": 30, "height": 30},
        ],
    },
    "bounding-box-metadata": {
        "objects": [{"confidence": 0.8}, {"confidence": 0.9}, {"confidence": 0.9}],
        "class-map": {"0": "dog", "5": "bone"},
        "type": "groundtruth/object-detection",
        "human-annotated": "yes",
        "creation-date": "2018-10-18T22:18:13.527256",
        "job-name": "identify-dogs-and-toys",
    },
}
# Rekognition Custom Labels docs, single-line form, verbatim
REKOGNITION = (
    '{"source-ref": "s3://bucket/images/IMG_1186.png", "bounding-box": {"image_size": [{"width": 640, '
    '"height": 480, "depth": 3}], "annotations": [{ "class_id": 1, "top": 251, "left": 399, "width": 155, '
    '"height": 101}, {"class_id": 0, "top": 65, "left": 86, "width": 220, "height": 334}]}, '
    '"bounding-box-metadata": {"objects": [{ "confidence": 1}, {"confidence": 1}], "class-map": '
    '{"0": "Echo", "1": "Echo Dot"}, "type": "groundtruth/object-detection", "human-annotated": "yes", '
    '"creation-date": "2013-11-18T02:53:27", "job-name": "my job"}}'
)
# label-category attributes on image boxes, in the layout AWS uses for video-frame boxes
ATTRIBUTES = {
    "source-ref": "s3://bucket/plays/snap_0042.jpg",
    "ball": {
        "image_size": [{"width": 1280, "height": 720, "depth": 3}],
        "annotations": [
            {
                "class_id": 0,
                "left": 640,
                "top": 300,
                "width": 12,
                "height": 9,
                "label-category-attributes": {"occluded": "partially", "motion-blur": "yes"},
            },
            {
                "class_id": 1,
                "left": 600.5,
                "top": 250.25,
                "width": 40,
                "height": 110,
                "label-category-attributes": {"occluded": "no"},
            },
        ],
    },
    "ball-metadata": {
        "objects": [{"confidence": 0}, {"confidence": 0}],
        "class-map": {"0": "football", "1": "player"},
        "type": "groundtruth/object-detection",
        "human-annotated": "no",
        "creation-date": "2024-09-01T10:00:00",
        "job-name": "labeling-job/ball",
    },
    "game-id": 2024090800,
}
# sms-data-output.md, adjustment job: the original label is kept and "adjusted-" is prepended
ADJUSTED = {
    **DOG_BONE,
    "adjusted-bounding-box": {
        "image_size": [{"width": 500, "height": 400, "depth": 3}],
        "annotations": [
            {"class_id": 0, "left": 110, "top": 135, "width": 61, "height": 128},
            {"class_id": 5, "left": 161, "top": 250, "width": 30, "height": 30},
            {"class_id": 5, "left": 10, "top": 10, "width": 30, "height": 30},
        ],
    },
    "adjusted-bounding-box-metadata": {
        "objects": [{"confidence": 0.8}, {"confidence": 0.9}, {"confidence": 0.9}],
        "class-map": {"0": "dog", "5": "bone"},
        "type": "groundtruth/object-detection",
        "human-annotated": "yes",
        "creation-date": "2018-11-20T22:18:13.527256",
        "job-name": "adjust-bounding-boxes-on-dogs-and-toys",
        "adjustment-status": "adjusted",
    },
}


def _manifest(path: Path, *lines: dict | str) -> Path:
    path.write_text("".join((ln if isinstance(ln, str) else json.dumps(ln)) + "\n" for ln in lines))
    return path


def test_dog_and_bone_example(tmp_path):
    path = _manifest(tmp_path / "output.manifest", DOG_BONE)
    assert detect(path) == "groundtruth"
    ds = load(path, image_root=tmp_path / "mirror")
    assert ds.classes == ["dog", "bone"] and ds.meta["class_ids"] == [0, 5]
    (s,) = ds.samples
    assert (s.image, s.width, s.height) == ("s3://AWSDOC-EXAMPLE-BUCKET/example_image.png", 500, 400)
    np.testing.assert_array_equal(
        s.detections.xyxy, [[111, 134, 172, 262], [161, 250, 191, 280], [20, 20, 50, 50]]
    )
    assert s.detections.class_id.tolist() == [0, 1, 1]
    np.testing.assert_allclose(s.detections.confidence, [0.8, 0.9, 0.9])
    assert s.attrs["metadata"] == {
        "creation-date": "2018-10-18T22:18:13.527256",
        "job-name": "identify-dogs-and-toys",
    }
    assert ds.image_path(s) == tmp_path / "mirror" / "example_image.png"


def test_rekognition_one_line_example(tmp_path):
    ds = load(_manifest(tmp_path / "r.manifest", REKOGNITION))
    assert ds.classes == ["Echo", "Echo Dot"]
    d = ds[0].detections
    np.testing.assert_array_equal(d.xyxy, [[399, 251, 554, 352], [86, 65, 306, 399]])
    assert d.class_id.tolist() == [1, 0]
    assert d.confidence.tolist() == [1.0, 1.0]


def test_label_category_attributes_become_box_attrs(tmp_path):
    ds = load(_manifest(tmp_path / "a.manifest", ATTRIBUTES))
    d = ds[0].detections
    np.testing.assert_array_equal(d.xyxy, [[640, 300, 652, 309], [600.5, 250.25, 640.5, 360.25]])
    assert d.attrs["occluded"].tolist() == ["partially", "no"]
    assert d.attrs["motion-blur"].tolist() == ["yes", None]
    assert ds[0].attrs["game-id"] == 2024090800
    assert ds[0].attrs["metadata"]["human-annotated"] == "no"
    assert ds.meta["label_attribute"] == "ball"


def test_adjustment_job_reads_the_adjusted_boxes_and_keeps_the_original(tmp_path):
    path = _manifest(tmp_path / "adj.manifest", ADJUSTED)
    ds = load(path)
    assert ds.meta["label_attribute"] == "adjusted-bounding-box"
    np.testing.assert_array_equal(
        ds[0].detections.xyxy, [[110, 135, 171, 263], [161, 250, 191, 280], [10, 10, 40, 40]]
    )
    assert ds[0].attrs["metadata"]["adjustment-status"] == "adjusted"
    assert ds[0].attrs["bounding-box"] == DOG_BONE["bounding-box"]
    original = load(path, label_attribute="bounding-box")
    np.testing.assert_array_equal(original[0].detections.xyxy[0], [111, 134, 172, 262])


@pytest.mark.parametrize("lines", [[DOG_BONE, DOG_BONE], [REKOGNITION], [ATTRIBUTES], [ADJUSTED]])
def test_manifest_round_trip_reproduces_every_line(tmp_path, lines):
    src = _manifest(tmp_path / "in.manifest", *lines)
    dst = tmp_path / "out.manifest"
    save(load(src), dst, "groundtruth")
    expected = [json.loads(ln if isinstance(ln, str) else json.dumps(ln)) for ln in lines]
    assert [json.loads(ln) for ln in dst.read_text().splitlines()] == expected


def test_writes_sparse_class_ids_and_relative_image_paths(tmp_path):
    det = Detections(np.array([[1, 2, 11.5, 12.25]], np.float32), [1], attrs={"occluded": ["no"]})
    ds = Dataset(
        ["dog", "bone"], [Sample("img/a.jpg", 40, 30, det)], root=tmp_path, meta={"class_ids": [0, 5]}
    )
    save(ds, tmp_path / "sub" / "o.manifest", "groundtruth")
    line = json.loads((tmp_path / "sub" / "o.manifest").read_text())
    assert line["source-ref"] == "../img/a.jpg"
    assert line["bounding-box"]["annotations"] == [
        {
            "class_id": 5,
            "left": 1,
            "top": 2,
            "width": 10.5,
            "height": 10.25,
            "label-category-attributes": {"occluded": "no"},
        }
    ]
    assert line["bounding-box-metadata"]["class-map"] == {"0": "dog", "5": "bone"}
    assert "objects" not in line["bounding-box-metadata"]  # no confidences to report
    back = load(tmp_path / "sub" / "o.manifest")
    assert back.equals(ds, images=False) and back.image_path(back[0]).resolve() == tmp_path / "img" / "a.jpg"


def test_line_with_its_own_class_map_round_trips(tmp_path):
    other = json.loads(REKOGNITION)
    other["bounding-box-metadata"]["class-map"] = {"0": "Echo", "1": "Echo Dot", "2": "Echo Show"}
    other["bounding-box"]["annotations"][0]["class_id"] = 2
    src = _manifest(tmp_path / "in.manifest", REKOGNITION, other)
    ds = load(src)
    assert ds.classes == ["Echo", "Echo Dot", "Echo Show"]
    assert ds[1].detections.class_id.tolist() == [2, 0]
    save(ds, tmp_path / "out.manifest", "groundtruth")
    assert [json.loads(x) for x in (tmp_path / "out.manifest").read_text().splitlines()] == [
        json.loads(REKOGNITION),
        other,
    ]


def test_job_name_fills_metadata_that_lacks_one(tmp_path):
    ds = Dataset(["ball"], [Sample("a.jpg", 10, 10)], root=tmp_path)
    groundtruth.write(ds, tmp_path / "o.manifest", job_name="pigskin-import")
    meta = json.loads((tmp_path / "o.manifest").read_text())["bounding-box-metadata"]
    assert meta == {
        "class-map": {"0": "ball"},
        "type": "groundtruth/object-detection",
        "human-annotated": "yes",
        "job-name": "pigskin-import",
    }


def test_unknown_keys_and_a_second_label_attribute_round_trip(tmp_path):
    odd = json.loads(REKOGNITION)
    odd["bounding-box"]["annotations"][0]["reviewers"] = [3, 17]
    odd["bounding-box-metadata"]["objects"][1]["worker"] = "w-2"
    renamed = json.loads(json.dumps(odd).replace('"bounding-box', '"ball-box'))
    src = _manifest(tmp_path / "in.manifest", odd, renamed)
    ds = load(src)
    assert ds[0].detections.attrs["annotation:reviewers"][0] == [3, 17]
    assert ds[0].detections.attrs["object:worker"].tolist() == [None, "w-2"]
    assert ds[1].attrs["label-attribute"] == "ball-box"
    save(ds, tmp_path / "out.manifest", "groundtruth")
    assert [json.loads(x) for x in (tmp_path / "out.manifest").read_text().splitlines()] == [odd, renamed]
