"""COCO instances JSON (``images``, ``annotations``, ``categories``), boxes as ``[x, y, w, h]`` pixels.

- Category ids may be anything (COCO's own skip 12, 26, ...): ``classes`` holds the names in file
  order and ``meta["class_ids"]`` the ids, so writing keeps them; without it ids are 1, 2, ...
- ``score`` -> ``Detections.confidence`` (results-style annotations inside an instances file);
  ``iscrowd`` -> ``attrs["iscrowd"]`` (a column of zeros is COCO's default and is not kept),
  ``ignore`` and any other unknown annotation key -> ``attrs`` under its own name; ``track_id``
  -> ``Detections.track_id``. ``area`` is recomputed as ``w * h`` and ``segmentation`` is not read.
- images keep unknown keys (``license``, ``date_captured``, ...) in ``Sample.attrs``;
  ``video_id`` / ``frame_index`` (the TAO / COCO-video keys) map to the Sample fields.
- Image and annotation ids are renumbered 1..n on writing.

Paths: ``DST.json`` writes the JSON only (``file_name`` relative to its folder); any other ``DST``
is a folder with ``annotations.json`` and the images copied (or hard-linked) into ``images/``.
Reading accepts the JSON file or a folder holding ``annotations.json``, ``_annotations.coco.json``
(Roboflow) or a single COCO ``*.json``; images are looked up relative to the JSON's folder, or
``image_root`` when given.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from pigskin.detections import Detections
from pigskin.errors import FormatError
from pigskin.fileio import atomic_dir, write_text
from pigskin.formats import check_box
from pigskin.formats._common import attr_columns, class_ids, export_image, json_default, num, put_text, rebase
from pigskin.samples import Dataset, Sample

_JSON_NAMES = ("annotations.json", "_annotations.coco.json")
_ANN_KEYS = {"id", "image_id", "category_id", "bbox", "area", "segmentation", "score", "track_id"}
_IMAGE_KEYS = {"id", "file_name", "width", "height", "video_id", "frame_index"}


def _head(path: Path, n: int = 1 << 16) -> str:
    with open(path, "rb") as f:
        return f.read(n).decode("utf-8", "replace")


def _is_coco(path: Path) -> bool:
    head = _head(path).lstrip()
    return (
        head.startswith("{")
        and '"source-ref"' not in head
        and ('"images"' in head or '"categories"' in head or '"annotations"' in head)
    )


def _find_json(folder: Path) -> Path | None:
    for name in _JSON_NAMES:
        if (folder / name).is_file():
            return folder / name
    found = [p for p in sorted(folder.glob("*.json")) if _is_coco(p)]
    return found[0] if len(found) == 1 else None


def sniff(path: Path) -> bool:
    if path.is_dir():
        return _find_json(path) is not None
    return path.is_file() and path.suffix.lower() == ".json" and _is_coco(path)


def _list(doc: dict[str, Any], key: str, path: Path) -> list[dict[str, Any]]:
    items = doc.get(key, [])
    if not isinstance(items, list):
        raise FormatError(path, key, f"expected a list, got {type(items).__name__}")
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise FormatError(path, f"{key}[{i}]", f"expected an object, got {item!r}")
    return items


def _field(item: dict[str, Any], key: str, path: Path, where: str, kind: type | tuple[type, ...]) -> Any:
    v = item.get(key)
    if isinstance(v, bool) or not isinstance(v, kind):
        raise FormatError(
            path, f"{where}.{key}", f"expected {getattr(kind, '__name__', 'a number')}, got {v!r}"
        )
    return v


def read(path: Path, *, strict: bool = False, image_root: str | os.PathLike[str] | None = None) -> Dataset:
    path = Path(path)
    json_path = _find_json(path) if path.is_dir() else path
    if json_path is None:
        raise FormatError(
            path, None, f"no COCO JSON here (looked for {', '.join(_JSON_NAMES)} or one *.json)"
        )
    try:
        doc = json.loads(json_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise FormatError(
            json_path, f"line {e.lineno}", f"malformed JSON: {e.msg} (column {e.colno})"
        ) from None
    if isinstance(doc, list):
        raise FormatError(
            json_path,
            None,
            "this is a COCO results list (no images or categories); read the instances file it refers to",
        )
    if not isinstance(doc, dict) or "images" not in doc:
        raise FormatError(
            json_path, None, "expected a COCO object with 'images', 'annotations', 'categories'"
        )
    cats = _list(doc, "categories", json_path)
    classes, ids, cat_extra, index = [], [], [], {}
    for i, c in enumerate(cats):
        cid = _field(c, "id", json_path, f"categories[{i}]", int)
        if cid in index:
            raise FormatError(json_path, f"categories[{i}].id", f"category id {cid} appears twice")
        index[cid] = len(classes)
        classes.append(str(c.get("name", cid)))
        ids.append(cid)
        cat_extra.append({k: v for k, v in c.items() if k not in ("id", "name")})
    samples, by_id = [], {}
    for i, im in enumerate(_list(doc, "images", json_path)):
        where = f"images[{i}]"
        iid = _field(im, "id", json_path, where, (int, str))
        if iid in by_id:
            raise FormatError(json_path, f"{where}.id", f"image id {iid!r} appears twice")
        w, h = (_field(im, k, json_path, where, int) for k in ("width", "height"))
        if w <= 0 or h <= 0:
            raise FormatError(json_path, where, f"image size must be positive, got {w}x{h}")
        vid = im.get("video_id")
        samples.append(
            Sample(
                _field(im, "file_name", json_path, where, str),
                w,
                h,
                video_id=None if vid is None else str(vid),
                frame_index=im.get("frame_index"),
                attrs={k: v for k, v in im.items() if k not in _IMAGE_KEYS},
            )
        )
        by_id[iid] = len(samples) - 1
    anns = _list(doc, "annotations", json_path)
    keep_crowd = any(a.get("iscrowd", 0) for a in anns)
    # one score or track id makes it a results / tracking file: every box needs one, empty frames too
    scored, tracked = (any(key in a for a in anns) for key in ("score", "track_id"))
    groups: list[list[tuple[int, dict[str, Any]]]] = [[] for _ in samples]
    for i, a in enumerate(anns):
        if a.get("image_id") not in by_id:
            raise FormatError(
                json_path, f"annotations[{i}].image_id", f"no image with id {a.get('image_id')!r}"
            )
        groups[by_id[a["image_id"]]].append((i, a))
    problems: list[str] = []
    for s, group in zip(samples, groups, strict=True):
        s.detections = _detections(
            group, s, index, (keep_crowd, scored, tracked), json_path, strict, problems
        )
    root = Path(image_root) if image_root is not None else json_path.parent
    extra = {k: v for k, v in doc.items() if k not in ("images", "annotations", "categories")}
    return Dataset(
        classes,
        samples,
        root=root,
        meta={
            "format": "coco",
            "class_ids": ids,
            "problems": problems,
            "coco": extra,
            "categories": cat_extra,
        },
    )


def _detections(
    group: list[tuple[int, dict[str, Any]]],
    s: Sample,
    index: dict[int, int],
    flags: tuple[bool, bool, bool],
    path: Path,
    strict: bool,
    problems: list[str],
) -> Detections:
    keep_crowd, scored, tracked = flags
    xyxy, cls, scores, tids, rows = [], [], [], [], []
    for i, a in group:
        where = f"annotations[{i}]"
        cid = _field(a, "category_id", path, where, int)
        if cid not in index:
            raise FormatError(path, f"{where}.category_id", f"category id {cid} is not in categories")
        bbox = a.get("bbox")
        if not (
            isinstance(bbox, list)
            and len(bbox) == 4
            and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in bbox)
        ):
            raise FormatError(path, f"{where}.bbox", f"expected [x, y, width, height] numbers, got {bbox!r}")
        x, y, w, h = (float(v) for v in bbox)
        box = check_box(
            [x, y, x + w, y + h], s.width, s.height, path=path, where=where, strict=strict, problems=problems
        )
        if box is None:
            continue
        xyxy.append(box)
        cls.append(index[cid])
        if scored:
            scores.append(_field(a, "score", path, where, (int, float)))
        if tracked:
            tids.append(_field(a, "track_id", path, where, int))
        row = {k: v for k, v in a.items() if k not in _ANN_KEYS}
        if not keep_crowd:
            row.pop("iscrowd", None)
        rows.append(row)
    return Detections(
        np.array(xyxy, np.float64).reshape(-1, 4),
        np.array(cls, np.int64),
        np.array(scores, np.float32) if scored else None,
        np.array(tids, np.int64) if tracked else None,
        attr_columns(rows),
    )


def write(dataset: Dataset, path: Path, *, image_mode: str = "link") -> None:
    path = Path(path)
    if path.suffix.lower() == ".json":
        write_text(path, _dumps(dataset, [rebase(dataset, s, path.parent) for s in dataset]))
        return
    with atomic_dir(path) as tmp:
        taken: set[str] = set()
        names = [f"images/{export_image(dataset, s, tmp / 'images', taken, image_mode)}" for s in dataset]
        put_text(tmp / "annotations.json", _dumps(dataset, names))


def _dumps(dataset: Dataset, file_names: list[str]) -> str:
    ids = class_ids(dataset, start=1)
    extras = dataset.meta.get("categories")
    if not (isinstance(extras, list) and len(extras) == len(ids)):
        extras = [{} for _ in ids]
    categories = [{"id": i, "name": c, **e} for i, c, e in zip(ids, dataset.classes, extras, strict=True)]
    images, annotations = [], []
    for k, (s, name) in enumerate(zip(dataset.samples, file_names, strict=True), 1):
        im: dict[str, Any] = {"id": k, "file_name": name, "width": s.width, "height": s.height}
        if s.video_id is not None:
            im["video_id"] = s.video_id
        if s.frame_index is not None:
            im["frame_index"] = s.frame_index
        im.update({key: v for key, v in s.attrs.items() if key not in _IMAGE_KEYS})
        images.append(im)
        d = s.detections
        for i, row in enumerate(d.attr_rows()):
            x1, y1, x2, y2 = (float(v) for v in d.xyxy[i])
            ann: dict[str, Any] = {
                "id": len(annotations) + 1,
                "image_id": k,
                "category_id": ids[int(d.class_id[i])],
                "bbox": [num(x1), num(y1), num(x2 - x1), num(y2 - y1)],
                "area": num((x2 - x1) * (y2 - y1)),
                "iscrowd": 0,
            }
            if d.confidence is not None:
                ann["score"] = num(float(str(d.confidence[i])))
            if d.track_id is not None:
                ann["track_id"] = int(d.track_id[i])
            ann.update({key: v for key, v in row.items() if key not in _ANN_KEYS})
            annotations.append(ann)
    doc = {
        **dataset.meta.get("coco", {}),
        "images": images,
        "annotations": annotations,
        "categories": categories,
    }
    return json.dumps(doc, separators=(",", ":"), default=json_default) + "\n"
