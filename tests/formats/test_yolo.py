"""YOLO specifics: data.yaml splits, split folders, names, missing labels, labels.cache, writing."""

from __future__ import annotations

import numpy as np
import pytest
import yaml
from PIL import Image

from pigskin.detections import Detections
from pigskin.formats import detect, load, save
from pigskin.samples import Dataset, Sample


@pytest.fixture
def yolo_root(tmp_path):
    """Ultralytics layout like the soccer-ball set: train/ and val/ each with images/ and labels/."""
    for split, names in (("train", ["f1", "f2", "f3"]), ("val", ["g1"])):
        for sub in ("images", "labels"):
            (tmp_path / split / sub).mkdir(parents=True)
        for n in names:
            Image.new("RGB", (200, 100)).save(tmp_path / split / "images" / f"{n}.jpg")
    (tmp_path / "train" / "labels" / "f1.txt").write_text("0 0.5 0.5 0.1 0.2\n1 0.25 0.25 0.5 0.5\n")
    (tmp_path / "train" / "labels" / "f2.txt").write_text("")  # empty: no boxes; f3 has no file at all
    (tmp_path / "val" / "labels" / "g1.txt").write_text("1 0.1 0.1 0.2 0.2\n")
    (tmp_path / "train" / "labels.cache").write_bytes(b"\x80\x04not a label file")
    (tmp_path / "data.yaml").write_text(
        "path: .\ntrain: train/images\nval: val/images\nnames:\n  0: ball\n  1: qb\n"
    )
    return tmp_path


def test_reads_every_split_with_sizes_from_headers(yolo_root):
    assert detect(yolo_root) == "yolo"
    ds = load(yolo_root / "data.yaml")
    assert ds.classes == ["ball", "qb"]
    assert [s.image for s in ds] == [
        "train/images/f1.jpg",
        "train/images/f2.jpg",
        "train/images/f3.jpg",
        "val/images/g1.jpg",
    ]
    assert [s.attrs["split"] for s in ds] == ["train"] * 3 + ["val"]
    assert (ds[0].width, ds[0].height) == (200, 100)
    np.testing.assert_allclose(ds[0].detections.xyxy, [[90, 40, 110, 60], [0, 0, 100, 50]], atol=1e-4)
    assert [len(s.detections) for s in ds] == [2, 0, 0, 1]


def test_reads_one_split_or_a_split_folder(yolo_root):
    val = load(yolo_root, split="val")
    assert [s.image for s in val] == ["val/images/g1.jpg"] and val[0].attrs == {}
    train = load(yolo_root / "train")  # the folder itself; names come from the data.yaml above it
    assert train.classes == ["ball", "qb"] and [s.image for s in train][0] == "images/f1.jpg"
    assert train.root == yolo_root / "train"


def test_split_round_trip_and_data_yaml(yolo_root, tmp_path):
    ds = load(yolo_root)
    save(ds, tmp_path / "out", "yolo")
    cfg = yaml.safe_load((tmp_path / "out" / "data.yaml").read_text())
    assert (cfg["train"], cfg["val"], cfg["names"]) == ("train/images", "val/images", {0: "ball", 1: "qb"})
    assert (tmp_path / "out" / "train" / "labels" / "f2.txt").read_text() == ""
    back = load(tmp_path / "out")
    assert back.equals(ds, atol=1e-3)


def test_confidence_column_and_exact_enough_coordinates(tmp_path):
    Image.new("RGB", (1920, 1080)).save(tmp_path / "a.png")
    det = Detections(np.array([[1000.25, 500.125, 1013.75, 512.5]], np.float32), [0], confidence=[0.875])
    ds = Dataset(["ball"], [Sample("a.png", 1920, 1080, det)], root=tmp_path)
    save(ds, tmp_path / "y", "yolo")
    assert (tmp_path / "y" / "labels" / "a.txt").read_text().split()[-1] == "0.875"
    back = load(tmp_path / "y")
    assert np.abs(back[0].detections.xyxy - det.xyxy).max() < 1e-3
    assert back[0].detections.confidence.tolist() == [0.875]


def test_writer_links_or_copies_images(tmp_path):
    Image.new("RGB", (10, 10)).save(tmp_path / "a.jpg")
    ds = Dataset(["ball"], [Sample("a.jpg", 10, 10)], root=tmp_path)
    for mode in ("link", "copy", "symlink"):
        save(ds, tmp_path / mode, "yolo", image_mode=mode)
        out = tmp_path / mode / "images" / "a.jpg"
        assert out.read_bytes() == (tmp_path / "a.jpg").read_bytes()
        assert out.is_symlink() == (mode == "symlink")


def test_bad_names_are_refused(tmp_path):
    (tmp_path / "images").mkdir()
    (tmp_path / "data.yaml").write_text("train: images\nval: images\nnames: {0: a, 2: b}\n")
    with pytest.raises(ValueError, match=r"data.yaml: names: class ids must be 0..1"):
        load(tmp_path)


def test_images_sharing_a_stem_get_distinct_label_files(tmp_path):
    for name in ("a.jpg", "a.png"):
        Image.new("RGB", (10, 10)).save(tmp_path / name)
    box = Detections(np.array([[1, 1, 4, 4]], np.float32), [0])
    ds = Dataset(["ball"], [Sample("a.jpg", 10, 10, box), Sample("a.png", 10, 10)], root=tmp_path)
    save(ds, tmp_path / "y", "yolo")
    back = load(tmp_path / "y")
    assert [s.image for s in back] == ["images/a.jpg", "images/a_1.png"]
    assert [len(s.detections) for s in back] == [1, 0]
