"""Ground Truth video-frame labels: ``SeqLabel.json`` files, and the annotation codec both layouts share.

A video-frame job writes one ``SeqLabel.json`` per sequence::

    {"tracking-annotations": [
        {"frame-no": 0, "frame": "frame_0001.jpeg", "frame-attributes": {},
         "annotations": [{"left": 315, "top": 178, "width": 46, "height": 36, "class-id": "0",
                          "label-category-attributes": {"occluded": "no"},
                          "object-id": "480dc450-...", "object-name": "car:1"}]}]}

(``detection-annotations`` and no object ids for video object detection). The manifest line that
points at it is read by :mod:`pigskin.formats.groundtruth`; the synthetic-clip generator and the
tracker write their output with :func:`write_seqlabel`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from pigskin.detections import Detections
from pigskin.errors import FormatError, PigskinError
from pigskin.fileio import write_text
from pigskin.formats import check_box
from pigskin.formats._common import attr_columns, num, rebase
from pigskin.formats._common import image_size as header_size
from pigskin.samples import Dataset, Sample

TRACK_TYPE = "groundtruth/video-object-tracking"
VIDEO_DETECT_TYPE = "groundtruth/video-object-detection"
_BOX_FIELDS = ("left", "top", "width", "height")
_ANN_KEYS = {"class_id", "class-id", *_BOX_FIELDS, "label-category-attributes", "object-id", "object-name"}
_SEQ_KEYS = {"tracking-annotations": TRACK_TYPE, "detection-annotations": VIDEO_DETECT_TYPE}


def as_int(value: Any, path: Path, where: str, what: str) -> int:
    try:
        out = int(value)
        if isinstance(value, bool) or float(value) != out:
            raise ValueError
    except (TypeError, ValueError):
        raise FormatError(path, where, f"{what} must be an integer, got {value!r}") from None
    return out


def _number(ann: dict[str, Any], key: str, path: Path, where: str) -> float:
    v = ann.get(key)
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise FormatError(path, f"{where}.{key}", f"expected a number, got {v!r}")
    return float(v)


def parse_boxes(
    anns: list[Any],
    objects: list[Any] | None,
    *,
    width: int,
    height: int,
    index: dict[int, int],
    line_ids: set[int],
    path: Path,
    where: str,
    strict: bool,
    problems: list[str],
    track_ids: dict[str, int] | None = None,
    class_names: list[str] | None = None,
) -> Detections:
    """Annotation dicts (image or video layout) -> Detections, validating every field."""
    if objects is not None and len(objects) != len(anns):
        raise FormatError(
            path,
            f"{where}-metadata.objects",
            f"{len(objects)} objects for {len(anns)} annotations (must match)",
        )
    confs = [o.get("confidence") if isinstance(o, dict) else None for o in objects or []]
    scored = objects is not None and all(c is not None for c in confs)
    if objects is not None and not scored and any(c is not None for c in confs):
        raise FormatError(path, f"{where}-metadata.objects", "some objects have a confidence and some not")
    xyxy, cls, conf, tids, rows = [], [], [], [], []
    for i, ann in enumerate(anns):
        at = f"{where}.annotations[{i}]"
        if not isinstance(ann, dict):
            raise FormatError(path, at, f"expected an object, got {ann!r}")
        ckey = "class_id" if "class_id" in ann else "class-id"
        cid = as_int(ann.get(ckey), path, f"{at}.{ckey}", ckey)
        if cid not in line_ids or cid not in index:
            raise FormatError(path, f"{at}.{ckey}", f"class id {cid} is not in the class-map")
        left, top, w, h = (_number(ann, k, path, at) for k in _BOX_FIELDS)
        lca = ann.get("label-category-attributes", {})
        if not isinstance(lca, dict):
            raise FormatError(path, f"{at}.label-category-attributes", f"expected an object, got {lca!r}")
        row: dict[str, Any] = dict(lca)
        row.update({f"annotation:{k}": v for k, v in ann.items() if k not in _ANN_KEYS})
        if objects is not None:
            obj = objects[i]
            if not isinstance(obj, dict):
                raise FormatError(path, f"{where}-metadata.objects[{i}]", f"expected an object, got {obj!r}")
            row.update({f"object:{k}": v for k, v in obj.items() if k != "confidence"})
            if scored and (isinstance(confs[i], bool) or not isinstance(confs[i], (int, float))):
                raise FormatError(
                    path, f"{where}-metadata.objects[{i}].confidence", f"expected a number, got {confs[i]!r}"
                )
        tid = None
        if track_ids is not None:
            oid = ann.get("object-id")
            if not isinstance(oid, str) or not oid:
                raise FormatError(path, f"{at}.object-id", f"expected a string, got {oid!r}")
            tid = int(oid) if oid.isdigit() else track_ids.setdefault(oid, len(track_ids) + 1)
            if not oid.isdigit():
                row["object-id"] = oid
            name = ann.get("object-name")
            if name is not None and (class_names is None or name != f"{class_names[index[cid]]}:{tid}"):
                row["object-name"] = name
        box = check_box(
            [left, top, left + w, top + h],
            width,
            height,
            path=path,
            where=at,
            strict=strict,
            problems=problems,
        )
        if box is None:
            continue
        xyxy.append(box)
        cls.append(index[cid])
        conf.append(confs[i] if scored else 0.0)
        tids.append(tid)
        rows.append(row)
    return Detections(
        np.array(xyxy, np.float64).reshape(-1, 4),
        np.array(cls, np.int64),
        np.array(conf, np.float32) if scored else None,
        np.array(tids, np.int64) if track_ids is not None else None,
        attr_columns(rows),
    )


def read_seqlabel(
    path: str | os.PathLike[str],
    classes: list[str] | None = None,
    *,
    class_ids: list[int] | None = None,
    video_id: str | None = None,
    prefix: str | None = None,
    root: str | os.PathLike[str] | None = None,
    image_root: str | os.PathLike[str] | None = None,
    image_size: tuple[int, int] | None = None,
    strict: bool = False,
    problems: list[str] | None = None,
    track_ids: dict[str, int] | None = None,
    allowed: set[int] | None = None,
) -> Dataset:
    """Read one video sequence's ``SeqLabel.json`` (tracking or video object detection).

    Frame images are ``prefix + frame`` when the input sequence's prefix is known, else ``frame``
    beside the SeqLabel file; sizes come from the image headers (or ``image_size`` when absent).
    ``object-id`` becomes ``track_id``: an integer string directly (what :func:`write_seqlabel`
    writes), a UUID by order of first appearance (kept in ``attrs["object-id"]``). Without
    ``classes``, names come from ``object-name`` (``"car:1"`` -> ``car``) or ``class_<id>``.
    """
    path = Path(path)
    root = Path(root) if root is not None else path.parent
    problems = [] if problems is None else problems
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise FormatError(path, f"line {e.lineno}", f"malformed JSON: {e.msg} (column {e.colno})") from None
    key = next((k for k in _SEQ_KEYS if isinstance(doc, dict) and k in doc), None)
    if key is None or not isinstance(doc[key], list):
        raise FormatError(path, None, f"expected an object with a list under {' or '.join(_SEQ_KEYS)}")
    frames = doc[key]
    for fi, fr in enumerate(frames):
        if not isinstance(fr, dict) or not isinstance(fr.get("annotations", []), list):
            raise FormatError(path, f"{key}[{fi}]", "expected an object with an 'annotations' list")
    if classes is None:
        names: dict[int, str] = {}
        for fi, fr in enumerate(frames):
            for ai, ann in enumerate(fr.get("annotations", [])):
                cid = as_int(ann.get("class-id"), path, f"{key}[{fi}].annotations[{ai}].class-id", "class-id")
                name = str(ann.get("object-name", "")).rsplit(":", 1)[0]
                names.setdefault(cid, name or f"class_{cid}")
        classes, class_ids = [names[k] for k in sorted(names)], sorted(names)
    class_ids = list(range(len(classes))) if class_ids is None else class_ids
    index = {cid: i for i, cid in enumerate(class_ids)}
    allowed = set(index) if allowed is None else allowed
    ds = Dataset(list(classes), [], root=root, image_root=Path(image_root) if image_root else None)
    tracking = key == "tracking-annotations"
    track_ids = {} if track_ids is None else track_ids
    frame_no_str = False
    for fi, fr in enumerate(frames):
        at = f"{key}[{fi}]"
        frame = fr.get("frame")
        if not isinstance(frame, str):
            raise FormatError(path, f"{at}.frame", f"expected a file name, got {frame!r}")
        frame_no_str |= isinstance(fr.get("frame-no"), str)
        frame_no = as_int(fr.get("frame-no", fi), path, f"{at}.frame-no", "frame-no")
        if frame.startswith("s3://") or Path(frame).is_absolute():
            ref = frame
        elif prefix:
            ref = prefix if prefix.endswith("/") else prefix + "/"
            ref += frame
        else:
            ref = Path(
                os.path.relpath(os.path.abspath(path.parent / frame), os.path.abspath(root))
            ).as_posix()
        probe = Sample(ref, 1, 1)
        try:
            local = ds.image_path(probe)
            w, h = header_size(local) if local.is_file() else (image_size or (None, None))
        except FileNotFoundError:
            w, h = image_size or (None, None)
        if w is None:
            raise FormatError(
                path,
                f"{at}.frame",
                f"cannot find the frame image {ref} to read its size "
                "(pass image_root, or image_size for frames you do not have)",
            )
        det = parse_boxes(
            fr.get("annotations", []),
            None,
            width=w,
            height=h,
            index=index,
            line_ids=allowed,
            path=path,
            where=at,
            strict=strict,
            problems=problems,
            track_ids=track_ids if tracking else None,
            class_names=list(classes),
        )
        attrs = {"frame-attributes": fr["frame-attributes"]} if fr.get("frame-attributes") else {}
        ds.samples.append(
            Sample(ref, w, h, det, video_id=video_id or path.parent.name, frame_index=frame_no, attrs=attrs)
        )
    ds.meta.update(
        format="groundtruth", class_ids=list(class_ids), problems=problems, frame_no_str=frame_no_str
    )
    return ds


def write_seqlabel(
    samples: Iterable[Sample],
    path: str | os.PathLike[str],
    classes: list[str],
    *,
    root: str | os.PathLike[str] | None = None,
    class_ids: list[int] | None = None,
    tracking: bool | None = None,
    frame_no_str: bool = False,
) -> None:
    """Write one sequence's frames as a ``SeqLabel.json`` (atomically).

    ``tracking`` (default: whether the boxes carry track ids) picks ``tracking-annotations`` with
    ``object-id`` (``attrs["object-id"]`` or the track id as a string) and ``object-name``
    (``attrs["object-name"]`` or ``<class>:<track id>``) over ``detection-annotations``.
    ``frame`` is each image's path (relative image paths are relative to ``root``) as seen from
    the SeqLabel folder; ``s3://`` references are kept verbatim.
    """
    path = Path(path)
    doc = seqlabel_doc(list(samples), classes, root, path.parent, class_ids, tracking, frame_no_str)
    write_text(path, json.dumps(doc, indent=1) + "\n")


def seqlabel_doc(
    samples: list[Sample],
    classes: list[str],
    root: str | os.PathLike[str] | None,
    folder: Path,
    class_ids: list[int] | None,
    tracking: bool | None,
    frame_no_str: bool,
) -> dict[str, Any]:
    ids = list(range(len(classes))) if class_ids is None else list(class_ids)
    if tracking is None:
        tracking = any(s.detections.track_id is not None for s in samples if len(s.detections))
    holder = Dataset(list(classes), [], root=Path(root) if root is not None else None)
    frames = []
    for fi, s in enumerate(samples):
        d = s.detections
        if tracking and len(d) and d.track_id is None:
            raise PigskinError(f"{s.image}: a tracking SeqLabel needs track ids on every box of the video")
        anns = []
        for i, row in enumerate(d.attr_rows()):
            ann = box_fields(d, i, row, "class-id", str(ids[int(d.class_id[i])]))
            if tracking:
                tid = int(d.track_id[i])
                ann["object-id"] = row.get("object-id", str(tid))
                ann["object-name"] = row.get("object-name", f"{classes[int(d.class_id[i])]}:{tid}")
            anns.append(ann)
        no = s.frame_index if s.frame_index is not None else fi
        frames.append(
            {
                "annotations": anns,
                "frame-no": str(no) if frame_no_str else no,
                "frame": rebase(holder, s, folder),
                "frame-attributes": s.attrs.get("frame-attributes", {}),
            }
        )
    return {"tracking-annotations" if tracking else "detection-annotations": frames}


def box_fields(d: Detections, i: int, row: dict[str, Any], ckey: str, cid: Any) -> dict[str, Any]:
    """One box as a Ground Truth annotation dict (shared by image lines and SeqLabel frames)."""
    x1, y1, x2, y2 = (float(v) for v in d.xyxy[i])
    ann: dict[str, Any] = {
        ckey: cid,
        "left": num(x1),
        "top": num(y1),
        "width": num(x2 - x1),
        "height": num(y2 - y1),
    }
    lca = {
        k: v
        for k, v in row.items()
        if not k.startswith(("annotation:", "object:")) and k not in ("object-id", "object-name")
    }
    if lca or ckey == "class-id":
        ann["label-category-attributes"] = lca
    ann.update({k[len("annotation:") :]: v for k, v in row.items() if k.startswith("annotation:")})
    return ann
