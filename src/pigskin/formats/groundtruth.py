"""SageMaker Ground Truth output manifests: JSON lines, one image (or one video sequence) per line.

Image lines (``type: groundtruth/object-detection``)::

    {"source-ref": "s3://bucket/a.png",
     "<attr>": {"image_size": [{"width": 500, "height": 400, "depth": 3}],
                "annotations": [{"class_id": 0, "left": 111, "top": 134, "width": 61, "height": 128}]},
     "<attr>-metadata": {"objects": [{"confidence": 0.8}], "class-map": {"0": "dog", "5": "bone"},
                         "type": "groundtruth/object-detection", "human-annotated": "yes", ...}}

How the pieces land in the :class:`Dataset` (and come back out, so a manifest round trips line
by line with the same JSON values):

- class-map keys may be sparse: ``classes`` holds the names in id order and ``meta["class_ids"]``
  the original ids (``["dog", "bone"]`` and ``[0, 5]``). A line whose class-map differs from the
  union of all lines keeps its own in ``Sample.attrs["class-map"]``.
- ``objects[i].confidence`` -> ``Detections.confidence``.
- per-box attributes are read from (and written to) a ``label-category-attributes`` object on each
  annotation, the layout AWS uses for video-frame boxes (its docs show none for image jobs):
  ``{"occluded": "no"}`` -> ``Detections.attrs["occluded"]``. Other unknown keys of an annotation
  or of ``objects[i]`` become attrs named ``annotation:<key>`` / ``object:<key>``.
- metadata other than class-map and objects (job-name, creation-date, adjustment-status, ...) ->
  ``Sample.attrs["metadata"]`` (``type`` and ``human-annotated: yes`` are the defaults, not kept);
  other top-level keys of the line (an adjustment job's original label, a verification result,
  ...) -> ``Sample.attrs`` under their own names; ``depth`` other than 3 -> ``Sample.attrs["depth"]``.
- the label attribute is auto-detected (a key holding ``annotations`` with a ``<key>-metadata``;
  in an adjustment job the one whose metadata has ``adjustment-status``) or given as
  ``label_attribute=``; it is kept in ``meta["label_attribute"]``.

Video-frame lines (``<attr>-ref`` -> ``SeqLabel.json``, ``groundtruth/video-object-tracking`` or
``-detection``) become one Sample per frame with ``video_id`` = the line's ``source-ref``,
``frame_index`` = ``frame-no``, ``track_id`` from ``object-id`` (see :func:`read_seqlabel`).
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import Any

from pigskin.errors import FormatError
from pigskin.fileio import atomic_dir, atomic_write, read_json_lines
from pigskin.formats._common import class_ids, num, put_text, rebase
from pigskin.formats.seqlabel import (
    TRACK_TYPE,
    VIDEO_DETECT_TYPE,
    as_int,
    box_fields,
    parse_boxes,
    read_seqlabel,
    seqlabel_doc,
    write_seqlabel,
)
from pigskin.samples import Dataset, Sample

__all__ = ["read", "read_seqlabel", "sniff", "write", "write_seqlabel"]

BOX_TYPE = "groundtruth/object-detection"
_META_DEFAULTS = {"type": BOX_TYPE, "human-annotated": "yes"}


# -- sniff / read -------------------------------------------------------------------------------
def sniff(path: Path) -> bool:
    if not path.is_file():
        return False
    with open(path, "rb") as f:
        head = f.readline(1 << 20)
        while head and not head.strip():
            head = f.readline(1 << 20)
    try:
        rec = json.loads(head)
    except ValueError:
        return False
    return isinstance(rec, dict) and "source-ref" in rec


def _find_label_attribute(rec: dict[str, Any]) -> list[str]:
    found = []
    for k, v in rec.items():
        meta = rec.get(f"{k}-metadata")
        if k == "source-ref" or k.endswith("-metadata") or not isinstance(meta, dict):
            continue
        if (
            isinstance(v, dict)
            and "annotations" in v
            or k.endswith("-ref")
            and isinstance(v, str)
            and meta.get("type") in (TRACK_TYPE, VIDEO_DETECT_TYPE)
        ):
            found.append(k)
    adjusted = [k for k in found if "adjustment-status" in rec[f"{k}-metadata"]]
    return adjusted or found


def _label_attribute(rec: dict[str, Any], wanted: str | None, path: Path, where: str) -> str:
    if wanted is not None:
        if wanted not in rec or f"{wanted}-metadata" not in rec:
            msg = f"no label attribute {wanted!r} (or no {wanted + '-metadata'!r}) on this line"
            raise FormatError(path, where, msg)
        return wanted
    found = _find_label_attribute(rec)
    if not found:
        raise FormatError(
            path,
            where,
            "no label attribute: expected a key holding 'annotations' (or a '-ref' to a "
            "SeqLabel.json) with a '<key>-metadata'",
        )
    if len(found) > 1:
        msg = f"several label attributes {found}; pick one with label_attribute= (--label-attribute)"
        raise FormatError(path, where, msg)
    return found[0]


def _parse_class_map(meta: dict[str, Any], path: Path, where: str) -> dict[int, str]:
    cmap = meta.get("class-map", {})
    if not isinstance(cmap, dict):
        raise FormatError(path, where, f"class-map must be an object, got {type(cmap).__name__}")
    return {as_int(k, path, where, "class-map key"): str(v) for k, v in cmap.items()}


def _local(ref: str, base: Path, image_root: Path | None) -> Path | None:
    """A local copy of a manifest reference: ``s3://bucket/key`` under image_root or base, else a path."""
    if ref.startswith("s3://"):
        key = ref[len("s3://") :].split("/", 1)[-1]
        candidates = ([Path(image_root) / key] if image_root else []) + [base / key]
    else:
        candidates = [Path(ref) if Path(ref).is_absolute() else base / ref]
    return next((c for c in candidates if c.is_file()), None)


def read(
    path: Path,
    *,
    strict: bool = False,
    image_root: str | os.PathLike[str] | None = None,
    label_attribute: str | None = None,
    image_size: tuple[int, int] | None = None,
) -> Dataset:
    """Read an output manifest. ``image_size`` is only used for video frames whose image is not found."""
    path = Path(path)
    root = path.parent
    records: list[tuple[int, dict[str, Any], str]] = []
    names: dict[int, tuple[str, int]] = {}
    for lineno, rec in read_json_lines(path):
        where = f"line {lineno}"
        if not isinstance(rec.get("source-ref"), str):
            raise FormatError(path, where, "missing 'source-ref' (the image or sequence reference)")
        attr = _label_attribute(rec, label_attribute, path, where)
        meta = rec[f"{attr}-metadata"]
        if not isinstance(meta, dict):
            raise FormatError(path, f"{where}, {attr}-metadata", "expected an object")
        for cid, name in _parse_class_map(meta, path, f"{where}, {attr}-metadata.class-map").items():
            seen = names.setdefault(cid, (name, lineno))
            if seen[0] != name:
                raise FormatError(
                    path,
                    f"{where}, {attr}-metadata.class-map",
                    f"class id {cid} is {name!r} here but {seen[0]!r} on line {seen[1]}",
                )
        records.append((lineno, rec, attr))
    ids = sorted(names)
    classes = [names[i][0] for i in ids]
    index = {cid: i for i, cid in enumerate(ids)}
    full_map = {str(i): c for i, c in zip(ids, classes, strict=True)}
    problems: list[str] = []
    samples: list[Sample] = []
    sequences: dict[str, dict[str, Any]] = {}
    track_ids: dict[str, int] = {}
    main_attr = records[0][2] if records else (label_attribute or "bounding-box")
    ds = Dataset(classes, [], root=root, image_root=Path(image_root) if image_root else None)
    for lineno, rec, attr in records:
        where = f"line {lineno}"
        meta = rec[f"{attr}-metadata"]
        line_map = {str(k): v for k, v in meta.get("class-map", {}).items()}
        line_ids = {int(k) for k in line_map}
        extra: dict[str, Any] = {
            k: v for k, v in rec.items() if k not in ("source-ref", attr, f"{attr}-metadata")
        }
        if attr != main_attr:
            extra["label-attribute"] = attr
        kept = {
            k: v
            for k, v in meta.items()
            if k not in ("class-map", "objects") and _META_DEFAULTS.get(k, object()) != v
        }
        if isinstance(rec[attr], str):  # video frames: <attr>-ref -> SeqLabel.json
            seq = _local(rec[attr], root, ds.image_root)
            if seq is None:
                raise FormatError(
                    path,
                    f"{where}, {attr}",
                    f"cannot find {rec[attr]} locally "
                    "(an s3:// reference is looked up under --image-root, then beside the manifest)",
                )
            src = _local(rec["source-ref"], root, ds.image_root)
            prefix = _sequence_prefix(src) if src is not None else None
            part = read_seqlabel(
                seq,
                classes,
                class_ids=ids,
                video_id=rec["source-ref"],
                prefix=prefix,
                root=root,
                image_root=ds.image_root,
                image_size=image_size,
                strict=strict,
                problems=problems,
                track_ids=track_ids,
                allowed=line_ids,
            )
            samples += part.samples
            info = {
                "label-ref": rec[attr],
                "attrs": extra,
                "metadata": kept | {"type": meta.get("type")},
                "frame-no-str": part.meta.get("frame_no_str", False),
            }
            if line_map != full_map:
                info["class-map"] = line_map
            sequences[rec["source-ref"]] = info
            continue
        samples.append(
            _image_sample(rec, attr, extra, kept, line_map != full_map, index, path, where, strict, problems)
        )
    ds.samples = samples
    ds.meta.update(format="groundtruth", label_attribute=main_attr, class_ids=ids, problems=problems)
    if sequences:
        ds.meta["sequences"] = sequences
    return ds


def _image_sample(
    rec: dict[str, Any],
    attr: str,
    extra: dict[str, Any],
    kept: dict[str, Any],
    own_map: bool,
    index: dict[int, int],
    path: Path,
    where: str,
    strict: bool,
    problems: list[str],
) -> Sample:
    """One bounding-box line -> Sample (``extra``: the line's other keys, ``kept``: its metadata)."""
    meta = rec[f"{attr}-metadata"]
    line_map = {str(k): v for k, v in meta.get("class-map", {}).items()}
    label = rec[attr]
    size = label.get("image_size")
    if not (isinstance(size, list) and len(size) == 1 and isinstance(size[0], dict)):
        raise FormatError(
            path,
            f"{where}, {attr}.image_size",
            f"expected a list holding one {{width, height, depth}} object, got {size!r}",
        )
    w = as_int(size[0].get("width"), path, f"{where}, {attr}.image_size", "width")
    h = as_int(size[0].get("height"), path, f"{where}, {attr}.image_size", "height")
    if w <= 0 or h <= 0:
        raise FormatError(path, f"{where}, {attr}.image_size", f"image size must be positive, got {w}x{h}")
    anns = label.get("annotations")
    if not isinstance(anns, list):
        raise FormatError(path, f"{where}, {attr}.annotations", f"expected a list, got {anns!r}")
    objects = meta.get("objects")
    if objects is not None and not isinstance(objects, list):
        raise FormatError(path, f"{where}, {attr}-metadata.objects", "expected a list")
    det = parse_boxes(
        anns,
        objects,
        width=w,
        height=h,
        index=index,
        line_ids={int(k) for k in line_map},
        path=path,
        where=f"{where}, {attr}",
        strict=strict,
        problems=problems,
    )
    if "depth" not in size[0]:
        extra["depth"] = None
    elif size[0]["depth"] != 3:
        extra["depth"] = size[0]["depth"]
    if kept:
        extra["metadata"] = kept
    if own_map:
        extra["class-map"] = line_map
    for k in label:
        if k not in ("image_size", "annotations"):
            problems.append(f"{path}: {where}: {attr}.{k}: unknown key ignored")
    return Sample(rec["source-ref"], w, h, det, attrs=extra)


def _sequence_prefix(src: Path) -> str | None:
    """The ``prefix`` of an input sequence file (``{"prefix": "s3://...", "frames": [...]}``), if any."""
    try:
        doc = json.loads(src.read_text(encoding="utf-8"))
    except (ValueError, OSError, UnicodeDecodeError):
        return None
    return doc.get("prefix") if isinstance(doc, dict) and isinstance(doc.get("prefix"), str) else None


# -- write ---------------------------------------------------------------------------------------
def write(
    dataset: Dataset,
    path: Path,
    *,
    label_attribute: str | None = None,
    job_name: str | None = None,
) -> None:
    """Write an output manifest (image references relative to its folder, ``s3://`` verbatim).

    Video samples (``video_id`` set) become one line per video whose ``<attr>-ref`` names a
    ``SeqLabel.json`` written under ``<manifest>.seq/``; ``source-ref`` is the video id.
    """
    path = Path(path)
    attr = label_attribute or dataset.meta.get("label_attribute") or "bounding-box"
    ids = class_ids(dataset, start=0)
    full_map = {str(i): c for i, c in zip(ids, dataset.classes, strict=True)}
    videos: dict[str, list[Sample]] = {}
    order: list[Sample | str] = []
    for s in dataset.samples:
        if s.video_id is None:
            order.append(s)
            continue
        if s.video_id not in videos:
            order.append(s.video_id)
        videos.setdefault(s.video_id, []).append(s)
    seq_dir = path.with_name(path.name + ".seq")
    with atomic_dir(seq_dir) if videos else contextlib.nullcontext(None) as tmp_seq:
        lines = []
        for k, item in enumerate(order):
            if isinstance(item, str):
                line = _video_line(
                    dataset,
                    item,
                    videos[item],
                    tmp_seq,
                    seq_dir / f"{k:06d}",
                    path.parent,
                    attr,
                    ids,
                    full_map,
                )
            else:  # an image job's attribute can't end in -ref
                line = _image_line(dataset, item, path.parent, attr.removesuffix("-ref"), ids, full_map)
            if job_name is not None:
                line[list(line)[-1]].setdefault("job-name", job_name)  # the label's metadata comes last
            lines.append(json.dumps(line, separators=(",", ":")) + "\n")
        with atomic_write(path, "w", encoding="utf-8") as f:
            f.write("".join(lines))


def _image_line(
    dataset: Dataset, s: Sample, base: Path, attr: str, ids: list[int], full_map: dict[str, str]
) -> dict[str, Any]:
    extra = dict(s.attrs)
    attr = extra.pop("label-attribute", attr)
    meta = {"class-map": extra.pop("class-map", full_map), **_META_DEFAULTS, **extra.pop("metadata", {})}
    depth = extra.pop("depth", 3)
    d = s.detections
    if not {str(ids[int(c)]) for c in d.class_id} <= set(meta["class-map"]):
        meta["class-map"] = full_map
    anns, objects = [], []
    for i, row in enumerate(d.attr_rows()):
        anns.append(box_fields(d, i, row, "class_id", ids[int(d.class_id[i])]))
        obj = (
            {} if d.confidence is None else {"confidence": num(float(str(d.confidence[i])))}
        )  # 0.8, not 0.800000011
        obj.update({k[len("object:") :]: v for k, v in row.items() if k.startswith("object:")})
        objects.append(obj)
    if d.confidence is not None or any(objects):
        meta["objects"] = objects
    size = {"width": s.width, "height": s.height} | ({} if depth is None else {"depth": depth})
    return {
        "source-ref": rebase(dataset, s, base),
        **extra,
        attr: {"image_size": [size], "annotations": anns},
        f"{attr}-metadata": meta,
    }


def _video_line(
    dataset: Dataset,
    video_id: str,
    frames: list[Sample],
    tmp_seq: Path | None,
    final: Path,
    base: Path,
    attr: str,
    ids: list[int],
    full_map: dict[str, str],
) -> dict[str, Any]:
    assert tmp_seq is not None
    info = dataset.meta.get("sequences", {}).get(video_id, {})
    tracking = any(f.detections.track_id is not None for f in frames if len(f.detections))
    doc = seqlabel_doc(
        frames, dataset.classes, dataset.root, final, ids, tracking, info.get("frame-no-str", False)
    )
    put_text(tmp_seq / final.name / "SeqLabel.json", json.dumps(doc, indent=1) + "\n")
    extra = dict(info.get("attrs", {}))
    vattr = extra.pop("label-attribute", None) or (attr if attr.endswith("-ref") else f"{attr}-ref")
    meta = {
        "class-map": info.get("class-map", full_map),
        "human-annotated": "yes",
        **info.get("metadata", {}),
    }
    if meta.get("type") not in (TRACK_TYPE, VIDEO_DETECT_TYPE):
        meta["type"] = TRACK_TYPE if tracking else VIDEO_DETECT_TYPE
    ref = Path(os.path.relpath(os.path.abspath(final / "SeqLabel.json"), os.path.abspath(base))).as_posix()
    return {"source-ref": video_id, **extra, vattr: ref, f"{vattr}-metadata": meta}
