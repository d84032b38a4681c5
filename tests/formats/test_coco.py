"""COCO specifics: arbitrary category ids, iscrowd / ignore, scores, image extras, folder layouts."""

from __future__ import annotations

import json

import numpy as np
from PIL import Image

from pigskin.detections import Detections
from pigskin.formats import detect, load, save
from pigskin.samples import Dataset, Sample

DOC = {
    "info": {"description": "two frames"},
    "images": [
        {"id": 42, "file_name": "a.jpg", "width": 100, "height": 80, "license": 3},
        {"id": 7, "file_name": "b.jpg", "width": 100, "height": 80},
    ],
    "annotations": [
        {
            "id": 1,
            "image_id": 42,
            "category_id": 90,
            "bbox": [10, 20, 30.5, 40],
            "area": 1220,
            "iscrowd": 0,
            "segmentation": [[10, 20, 40, 20, 40, 60]],
        },
        {
            "id": 2,
            "image_id": 42,
            "category_id": 37,
            "bbox": [0, 0, 100, 80],
            "area": 8000,
            "iscrowd": 1,
            "ignore": 1,
        },
        {"id": 3, "image_id": 7, "category_id": 37, "bbox": [5, 5, 2, 2], "area": 4, "iscrowd": 0},
    ],
    "categories": [
        {"id": 37, "name": "sports ball", "supercategory": "sports"},
        {"id": 90, "name": "player"},
    ],
}


def test_reads_ids_iscrowd_ignore_and_extras(tmp_path):
    (tmp_path / "instances.json").write_text(json.dumps(DOC))
    assert detect(tmp_path / "instances.json") == "coco"
    ds = load(tmp_path / "instances.json")
    assert ds.classes == ["sports ball", "player"] and ds.meta["class_ids"] == [37, 90]
    a, b = ds.samples
    np.testing.assert_array_equal(a.detections.xyxy, [[10, 20, 40.5, 60], [0, 0, 100, 80]])
    assert a.detections.class_id.tolist() == [1, 0] and b.detections.class_id.tolist() == [0]
    assert a.detections.attrs["iscrowd"].tolist() == [0, 1]
    assert a.detections.attrs["ignore"].tolist() == [None, 1]
    assert a.attrs == {"license": 3} and a.detections.confidence is None
    assert ds.root == tmp_path and ds.meta["coco"] == {"info": {"description": "two frames"}}


def test_writes_the_same_categories_and_boxes(tmp_path):
    (tmp_path / "instances.json").write_text(json.dumps(DOC))
    save(load(tmp_path / "instances.json"), tmp_path / "out.json", "coco")
    out = json.loads((tmp_path / "out.json").read_text())
    assert out["categories"] == DOC["categories"] and out["info"] == DOC["info"]
    assert [a["category_id"] for a in out["annotations"]] == [90, 37, 37]
    assert [a["bbox"] for a in out["annotations"]] == [a["bbox"] for a in DOC["annotations"]]
    assert [a["iscrowd"] for a in out["annotations"]] == [0, 1, 0]
    assert out["images"][0] == {"id": 1, "file_name": "a.jpg", "width": 100, "height": 80, "license": 3}


def test_all_zero_iscrowd_is_the_default_not_an_attribute(tmp_path):
    doc = {**DOC, "annotations": [{**a, "iscrowd": 0} for a in DOC["annotations"] if "ignore" not in a]}
    (tmp_path / "i.json").write_text(json.dumps(doc))
    assert all("iscrowd" not in s.detections.attrs for s in load(tmp_path / "i.json"))


def test_scores_become_confidence_and_results_lists_are_refused(tmp_path):
    det = Detections(np.array([[1, 1, 5, 5]], np.float32), [0], confidence=[0.25])
    ds = Dataset(["ball"], [Sample("a.jpg", 8, 8, det), Sample("b.jpg", 8, 8, Detections.empty(True))])
    save(ds, tmp_path / "pred.json", "coco")
    ann = json.loads((tmp_path / "pred.json").read_text())["annotations"][0]
    assert ann["score"] == 0.25
    back = load(tmp_path / "pred.json")
    assert back[0].detections.confidence.tolist() == [0.25] and back[1].detections.confidence.shape == (0,)
    (tmp_path / "results.json").write_text(
        json.dumps([{"image_id": 1, "category_id": 1, "bbox": [0, 0, 1, 1], "score": 0.5}])
    )
    try:
        load(tmp_path / "results.json", "coco")
    except ValueError as e:
        assert "results list" in str(e)
    else:
        raise AssertionError("a bare results list must be refused")


def test_folder_layout_copies_images_and_reads_roboflow_names(tmp_path):
    Image.new("RGB", (16, 12)).save(tmp_path / "a.jpg")
    ds = Dataset(
        ["ball"],
        [Sample("a.jpg", 16, 12, Detections(np.array([[1, 2, 3, 4]], np.float32), [0]))],
        root=tmp_path,
    )
    save(ds, tmp_path / "coco_out", "coco")
    assert sorted(p.name for p in (tmp_path / "coco_out").iterdir()) == ["annotations.json", "images"]
    back = load(tmp_path / "coco_out")
    assert back[0].image == "images/a.jpg" and back.image_path(back[0]).is_file()
    (tmp_path / "coco_out" / "annotations.json").rename(tmp_path / "coco_out" / "_annotations.coco.json")
    assert detect(tmp_path / "coco_out") == "coco" and load(tmp_path / "coco_out").equals(back)
