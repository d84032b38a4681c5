"""Pascal VOC specifics: 1-based pixel indices, per-box flags, labels.txt, flat folders."""

from __future__ import annotations

import numpy as np
from PIL import Image

from pigskin.detections import Detections
from pigskin.formats import detect, load, save
from pigskin.samples import Dataset, Sample

XML = """<annotation>
  <folder>VOC2007</folder>
  <filename>000005.jpg</filename>
  <size><width>500</width><height>375</height><depth>3</depth></size>
  <object>
    <name>chair</name><pose>Rear</pose><truncated>0</truncated><difficult>0</difficult>
    <bndbox><xmin>263</xmin><ymin>211</ymin><xmax>324</xmax><ymax>339</ymax></bndbox>
  </object>
  <object>
    <name>bottle</name><pose>Unspecified</pose><truncated>1</truncated><difficult>1</difficult>
    <bndbox><xmin>1</xmin><ymin>1</ymin><xmax>500</xmax><ymax>375</ymax></bndbox>
  </object>
</annotation>
"""


def test_reads_one_based_boxes_and_flags(tmp_path):
    (tmp_path / "Annotations").mkdir()
    (tmp_path / "JPEGImages").mkdir()
    (tmp_path / "Annotations" / "000005.xml").write_text(XML)
    assert detect(tmp_path) == "voc"
    ds = load(tmp_path)
    assert ds.classes == ["bottle", "chair"]
    (s,) = ds.samples
    assert (s.image, s.width, s.height) == ("JPEGImages/000005.jpg", 500, 375)
    np.testing.assert_array_equal(s.detections.xyxy, [[262, 210, 324, 339], [0, 0, 500, 375]])
    assert s.detections.class_id.tolist() == [1, 0]
    assert s.detections.attrs["difficult"].tolist() == [0, 1]
    assert s.detections.attrs["truncated"].tolist() == [0, 1]
    assert s.detections.attrs["pose"].tolist() == ["Rear", None]


def test_writes_fractional_boxes_and_keeps_class_order(tmp_path):
    Image.new("RGB", (40, 30)).save(tmp_path / "a.jpg")
    det = Detections(
        np.array([[0, 0, 40, 30], [2.5, 3.25, 10, 12]], np.float32),
        [1, 0],
        attrs={"occluded": [1, None], "jersey": ["12", None]},
    )
    ds = Dataset(["qb", "ball"], [Sample("a.jpg", 40, 30, det)], root=tmp_path)
    save(ds, tmp_path / "voc", "voc")
    xml = (tmp_path / "voc" / "Annotations" / "a.xml").read_text()
    assert "<xmin>1</xmin>" in xml and "<xmin>3.5</xmin>" in xml and "<ymin>4.25</ymin>" in xml
    assert "<name>jersey</name>" in xml
    assert (tmp_path / "voc" / "labels.txt").read_text() == "qb\nball\n"
    back = load(tmp_path / "voc")
    assert back.equals(ds, images=False) and back.image_path(back[0]).is_file()


def test_flat_folder_and_missing_size_falls_back_to_the_image(tmp_path):
    Image.new("RGB", (64, 48)).save(tmp_path / "x.png")
    (tmp_path / "x.xml").write_text(
        "<annotation><filename>x.png</filename><size><width>0</width><height>0</height></size></annotation>"
    )
    ds = load(tmp_path, "voc")
    assert (ds[0].image, ds[0].width, ds[0].height, len(ds[0].detections)) == ("x.png", 64, 48, 0)
