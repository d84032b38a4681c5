"""Pascal VOC XML: ``Annotations/*.xml`` (+ ``JPEGImages/``), or a folder of ``.xml`` files.

Coordinates: VOC boxes are 1-based inclusive pixel indices (``xmin=1, xmax=W`` is the whole
image), so ``x1 = xmin - 1``, ``y1 = ymin - 1``, ``x2 = xmax``, ``y2 = ymax`` (as Detectron2 reads
them). Values are read as floats and written as integers when integral, as floats otherwise, so a
round trip is exact.

Per-box attributes: ``difficult``, ``truncated``, ``occluded`` (integers; a column of zero
``difficult`` flags is VOC's default and is not kept) and ``pose`` (``Unspecified`` is the default);
``score`` -> confidence and ``trackid`` (ImageNet VID) -> track id; any other attribute is written
CVAT-style as ``<attributes><attribute><name>k</name><value>v</value></attribute></attributes>``
and read back as a string. Classes: ``labels.txt`` (one name a line) when present, else the names
found, sorted.
"""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import numpy as np

from pigskin.detections import Detections
from pigskin.errors import FormatError
from pigskin.fileio import atomic_dir
from pigskin.formats import check_box
from pigskin.formats._common import export_image, image_size, num, put_text
from pigskin.samples import Dataset, Sample

_INT_ATTRS = ("difficult", "truncated", "occluded")
_KNOWN = {"name", "bndbox", "score", "trackid", "pose", "attributes", *_INT_ATTRS}


def _xml_files(path: Path) -> tuple[Path, list[Path]]:
    """(root, annotation files) for a VOC folder, a folder of xml files or one xml file."""
    if path.is_file():
        return path.parent, [path]
    ann = path / "Annotations"
    return path, sorted((ann if ann.is_dir() else path).glob("*.xml"))


def sniff(path: Path) -> bool:
    if path.is_file() and path.suffix.lower() != ".xml":
        return False
    if not path.exists():
        return False
    files = _xml_files(path)[1]
    if not files:
        return False
    with open(files[0], "rb") as f:
        return b"<annotation" in f.read(4096)


def _text(el: ET.Element, tag: str) -> str | None:
    child = el.find(tag)
    return None if child is None or child.text is None else child.text.strip()


def _float(el: ET.Element, tag: str, path: Path, where: str) -> float:
    v = _text(el, tag)
    try:
        return float(v)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise FormatError(path, f"{where}/{tag}", f"expected a number, got {v!r}") from None


def _parse(
    xml: Path, root: Path, images_dir: Path | None, ds: Dataset
) -> tuple[Sample, list[dict[str, Any]]]:
    try:
        tree = ET.parse(xml).getroot()
    except ET.ParseError as e:
        raise FormatError(xml, f"line {e.position[0]}", f"malformed XML: {e}") from None
    if tree.tag != "annotation":
        raise FormatError(xml, tree.tag, "expected an <annotation> root element")
    filename = _text(tree, "filename")
    if not filename:
        raise FormatError(xml, "filename", "missing <filename>")
    folder = images_dir if images_dir is not None else xml.parent
    ref = Path(os.path.relpath(folder / filename, root)).as_posix()
    size = tree.find("size")
    w = h = 0
    if size is not None:
        w, h = (int(_float(size, k, xml, "size")) for k in ("width", "height"))
    if w <= 0 or h <= 0:  # a common export bug: fall back to the image header
        local = root / ref
        if not local.is_file():
            raise FormatError(xml, "size", f"missing or zero <size> ({w}x{h}) and no image at {local}")
        w, h = image_size(local)
    objects = []
    for i, obj in enumerate(tree.findall("object")):
        where = f"object[{i}]"
        name = _text(obj, "name")
        if not name:
            raise FormatError(xml, f"{where}/name", "missing <name>")
        bb = obj.find("bndbox")
        if bb is None:
            raise FormatError(xml, f"{where}/bndbox", "missing <bndbox>")
        xmin, ymin, xmax, ymax = (
            _float(bb, k, xml, f"{where}/bndbox") for k in ("xmin", "ymin", "xmax", "ymax")
        )
        row: dict[str, Any] = {"_name": name, "_xyxy": [xmin - 1, ymin - 1, xmax, ymax], "_where": where}
        for tag in _INT_ATTRS:
            if _text(obj, tag) is not None:
                row[tag] = int(_float(obj, tag, xml, where))
        if _text(obj, "pose") not in (None, "Unspecified"):
            row["pose"] = _text(obj, "pose")
        for tag in ("score", "trackid"):
            if _text(obj, tag) is not None:
                row[f"_{tag}"] = _float(obj, tag, xml, where)
        for a in obj.findall("attributes/attribute"):
            row[_text(a, "name") or ""] = _text(a, "value") or ""
        objects.append(row)
    return Sample(ref, w, h), objects


def read(
    path: Path,
    *,
    strict: bool = False,
    image_root: str | os.PathLike[str] | None = None,
    classes: list[str] | None = None,
) -> Dataset:
    path = Path(path)
    root, files = _xml_files(path)
    if not files:
        raise FormatError(path, None, "no VOC .xml annotation files here")
    images_dir = root / "JPEGImages" if (root / "JPEGImages").is_dir() else None
    if image_root is not None:
        images_dir = Path(image_root)
    labels = root / "labels.txt"
    if classes is None and labels.is_file():
        classes = [c for c in labels.read_text(encoding="utf-8").splitlines() if c]
    ds = Dataset(list(classes or []), [], root=root)
    parsed = [(xml, *_parse(xml, root, images_dir, ds)) for xml in files]
    if classes is None:
        ds.classes = sorted({o["_name"] for _, _, objs in parsed for o in objs})
    index = {c: i for i, c in enumerate(ds.classes)}
    keep_difficult = any(o.get("difficult") for _, _, objs in parsed for o in objs)
    # one <score> or <trackid> anywhere means every object has one and empty frames get empty arrays
    scored, tracked = (
        any(f"_{tag}" in o for _, _, objs in parsed for o in objs) for tag in ("score", "trackid")
    )
    problems: list[str] = []
    for xml, sample, objs in parsed:
        xyxy, cls, score, tid, rows = [], [], [], [], []
        for o in objs:
            if o["_name"] not in index:
                raise FormatError(xml, f"{o['_where']}/name", f"class {o['_name']!r} is not in {labels.name}")
            box = check_box(
                o["_xyxy"],
                sample.width,
                sample.height,
                path=xml,
                where=o["_where"],
                strict=strict,
                problems=problems,
            )
            if box is None:
                continue
            for tag, wanted, values in (("score", scored, score), ("trackid", tracked, tid)):
                if wanted and f"_{tag}" not in o:
                    raise FormatError(
                        xml, f"{o['_where']}/{tag}", f"missing <{tag}> (other objects have one)"
                    )
                values.append(o.get(f"_{tag}"))
            xyxy.append(box)
            cls.append(index[o["_name"]])
            rows.append(
                {k: v for k, v in o.items() if not k.startswith("_") and (keep_difficult or k != "difficult")}
            )
        sample.detections = Detections(
            np.array(xyxy, np.float64).reshape(-1, 4),
            np.array(cls, np.int64),
            np.array(score, np.float32) if scored else None,
            np.array(tid, np.int64) if tracked else None,
            Detections.from_attr_rows(rows),
        )
        ds.samples.append(sample)
    ds.meta.update(format="voc", problems=problems)
    return ds


def _sub(parent: ET.Element, tag: str, text: Any = None) -> ET.Element:
    el = ET.SubElement(parent, tag)
    if text is not None:
        el.text = str(text)
    return el


def _xml(sample: Sample, filename: str, classes: list[str]) -> str:
    ann = ET.Element("annotation")
    _sub(ann, "folder", "JPEGImages")
    _sub(ann, "filename", filename)
    size = _sub(ann, "size")
    for k, v in (("width", sample.width), ("height", sample.height), ("depth", 3)):
        _sub(size, k, v)
    _sub(ann, "segmented", 0)
    d = sample.detections
    for i, row in enumerate(d.attr_rows()):
        obj = _sub(ann, "object")
        _sub(obj, "name", classes[int(d.class_id[i])])
        _sub(obj, "pose", row.pop("pose", "Unspecified"))
        for tag in _INT_ATTRS:
            if tag in row or tag == "difficult":
                _sub(obj, tag, int(row.pop(tag, 0)))
        if d.confidence is not None:
            _sub(obj, "score", num(float(str(d.confidence[i]))))
        if d.track_id is not None:
            _sub(obj, "trackid", int(d.track_id[i]))
        x1, y1, x2, y2 = (float(v) for v in d.xyxy[i])
        bb = _sub(obj, "bndbox")
        for k, v in (("xmin", x1 + 1), ("ymin", y1 + 1), ("xmax", x2), ("ymax", y2)):
            _sub(bb, k, num(v))
        if row:
            attrs = _sub(obj, "attributes")
            for k, v in row.items():
                a = _sub(attrs, "attribute")
                _sub(a, "name", k)
                _sub(a, "value", v)
    ET.indent(ann)
    return ET.tostring(ann, encoding="unicode") + "\n"


def write(dataset: Dataset, path: Path, *, image_mode: str = "link") -> None:
    """Write ``path/Annotations/*.xml``, ``path/JPEGImages/`` (linked or copied) and ``labels.txt``."""
    path = Path(path)
    with atomic_dir(path) as tmp:
        taken: set[str] = set()
        for s in dataset:
            name = export_image(dataset, s, tmp / "JPEGImages", taken, image_mode)
            put_text(tmp / "Annotations" / f"{Path(name).stem}.xml", _xml(s, name, dataset.classes))
        put_text(tmp / "labels.txt", "".join(f"{c}\n" for c in dataset.classes))
