"""Predictions files: read any supported one into one Detections per ground-truth sample; write ours.

Three kinds of file are read (``format`` names them; by default the kind is detected):

- ``jsonl``, pigskin predictions (written by :func:`write_predictions`, e.g. by training):
  an optional header line ``{"format": "pigskin-predictions", "version": 1, "classes": [...]}``,
  then one line per image ``{"image": ref, "boxes": [[x1, y1, x2, y2], ...], "scores": [...],
  "class_ids": [...]}`` in pixels of the original image. ``class_ids`` index the header's
  ``classes`` (mapped to the ground truth by name) or, without a header, the GT classes directly.
- ``coco-results``, a COCO results JSON ``[{"image_id", "category_id", "bbox": [x, y, w, h], "score"}]``.
  Its ids need the ground truth's: pass the COCO ground-truth file as ``gt_path`` (ids map through
  its ``images``/``categories``); else samples' ``attrs["image_id"]`` and ``dataset.meta["class_ids"]``
  (what the readers record) are used; a string ``image_id`` is matched as a file name.
- any dataset format :func:`pigskin.formats.load` reads (``coco``, ``yolo``, ``voc``, ...); boxes
  without ``confidence`` score 1.0; classes map by name.

Images are matched to GT samples by reference, then by file name, then by file stem. Ground-truth
images with no predictions have none; predictions for images not in the GT are dropped and counted
in ``notes`` (all of them unmatched is an error: the files do not belong together).
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np

from pigskin.detections import Detections
from pigskin.errors import FormatError, PigskinError
from pigskin.fileio import atomic_write, read_json_lines
from pigskin.samples import Dataset

HEADER = {"format": "pigskin-predictions", "version": 1}
PRED_FORMATS = ("jsonl", "coco-results", "groundtruth", "coco", "yolo", "voc", "recordio")


@dataclass
class Predictions:
    """One :class:`Detections` per GT sample, in the dataset's class ids, plus what was dropped."""

    per_image: list[Detections]
    notes: list[str] = field(default_factory=list)


def _nums(a: np.ndarray) -> list[Any]:
    """float32 values as the shortest decimals that read back to the same float32."""
    return [float(str(v)) for v in np.asarray(a, np.float32).reshape(-1)]


def write_predictions(
    path: str | os.PathLike[str],
    images: Sequence[str],
    detections: Sequence[Detections],
    classes: Sequence[str] | None = None,
) -> None:
    """Write pigskin predictions JSON lines atomically; ``images`` are the GT samples' references."""
    if len(images) != len(detections):
        raise ValueError(f"{len(images)} images but {len(detections)} detection lists")
    with atomic_write(path, "w", encoding="utf-8") as f:
        head = dict(HEADER)
        if classes is not None:
            head["classes"] = list(classes)
        f.write(json.dumps(head) + "\n")
        for ref, d in zip(images, detections, strict=True):
            conf = np.ones(len(d), np.float32) if d.confidence is None else d.confidence
            boxes = _nums(d.xyxy)
            rec = {
                "image": ref,
                "boxes": [boxes[i : i + 4] for i in range(0, len(boxes), 4)],
                "scores": _nums(conf),
                "class_ids": d.class_id.tolist(),
            }
            f.write(json.dumps(rec) + "\n")


def read_jsonl(path: str | os.PathLike[str]) -> tuple[list[str] | None, list[tuple[str, Detections, str]]]:
    """Read pigskin predictions: ``(classes or None, [(image ref, Detections, where)])``."""
    path = Path(path)
    classes: list[str] | None = None
    out: list[tuple[str, Detections, str]] = []
    for n, rec in read_json_lines(path):
        where = f"line {n}"
        if "image" not in rec:
            if "classes" in rec and not out:
                if not isinstance(rec["classes"], list) or not all(
                    isinstance(c, str) for c in rec["classes"]
                ):
                    raise FormatError(path, f"{where}: classes", "expected a list of class names")
                classes = list(rec["classes"])
                continue
            if rec.get("format") == HEADER["format"] and not out:
                continue
            raise FormatError(path, where, "missing 'image' (each line is one image's predictions)")
        out.append((_ref(rec["image"], path, where), _record_dets(rec, path, where), where))
    return classes, out


def _ref(v: Any, path: Path, where: str) -> str:
    if not isinstance(v, str) or not v:
        raise FormatError(path, f"{where}: image", f"expected an image reference string, got {v!r}")
    return v


def _record_dets(rec: dict[str, Any], path: Path, where: str) -> Detections:
    boxes = rec.get("boxes", [])
    n = len(boxes) if isinstance(boxes, list) else -1
    try:
        xyxy = np.asarray(boxes, np.float64).reshape(-1, 4) if n else np.zeros((0, 4))
    except (TypeError, ValueError):
        raise FormatError(
            path, f"{where}: boxes", "expected a list of [x1, y1, x2, y2] lists of numbers"
        ) from None
    if n < 0 or xyxy.shape[0] != n:
        raise FormatError(path, f"{where}: boxes", "expected a list of [x1, y1, x2, y2] lists of numbers")
    cols: dict[str, np.ndarray] = {}
    for key, default in (("scores", None), ("class_ids", 0)):
        v = rec.get(key)
        if v is None:
            if default is None:
                continue
            v = [default] * n
        if not isinstance(v, list) or len(v) != n or not all(isinstance(x, (int, float)) for x in v):
            raise FormatError(path, f"{where}: {key}", f"expected {n} numbers (one per box)")
        cols[key] = np.asarray(v)
    try:
        return Detections(xyxy, cols["class_ids"], cols.get("scores"))
    except ValueError as exc:
        raise FormatError(path, where, str(exc)) from None


# -- matching images and classes to the ground truth ---------------------------------------------


class _ImageIndex:
    """GT sample lookup by reference, then file name, then stem (names used only when unique)."""

    def __init__(self, dataset: Dataset) -> None:
        self.by: list[dict[str, int]] = [{}, {}, {}]
        dup: list[set[str]] = [set(), set(), set()]
        for i, s in enumerate(dataset.samples):
            for level, key in enumerate(self._keys(s.image)):
                if key in self.by[level]:
                    dup[level].add(key)
                self.by[level][key] = i
        for level in range(3):
            for key in dup[level]:
                del self.by[level][key]

    @staticmethod
    def _keys(ref: str) -> tuple[str, str, str]:
        norm = ref.replace("\\", "/").removeprefix("./")
        name = PurePosixPath(norm.split("#")[-1]).name
        return norm, name, PurePosixPath(name).stem

    def find(self, ref: str) -> int | None:
        for level, key in enumerate(self._keys(str(ref))):
            if key in self.by[level]:
                return self.by[level][key]
        return None


def _align(
    dataset: Dataset, entries: Sequence[tuple[Any, Detections]], path: Path, notes: list[str]
) -> list[Detections]:
    index = _ImageIndex(dataset)
    parts: list[list[Detections]] = [[] for _ in dataset.samples]
    missing: list[str] = []
    for ref, dets in entries:
        i = index.find(ref) if ref is not None else None
        if i is None:
            missing.append(str(ref))
        else:
            parts[i].append(dets)
    if entries and len(missing) == len(entries):
        example = dataset.samples[0].image if dataset.samples else "nothing"
        raise FormatError(
            path,
            None,
            f"none of its {len(entries)} images is in the ground truth "
            f"(first: {missing[0]!r}; GT has e.g. {example!r})",
        )
    if missing:
        notes.append(
            f"{len(missing)} predicted images are not in the ground truth and were dropped "
            f"(first: {missing[0]!r})"
        )
    return [
        Detections.concat(p) if len(p) > 1 else (p[0] if p else Detections.empty(with_confidence=True))
        for p in parts
    ]


def _class_map(names: Sequence[str], dataset: Dataset, path: Path, notes: list[str]) -> np.ndarray:
    """Prediction class index -> GT class index by name; -1 for classes the GT does not have."""
    lut = np.array([dataset.classes.index(c) if c in dataset.classes else -1 for c in names], np.int64)
    unknown = [c for c, k in zip(names, lut, strict=True) if k < 0]
    if names and (lut < 0).all():
        raise FormatError(
            path,
            "classes",
            f"no class in common with the ground truth: {list(names)} vs {list(dataset.classes)}",
        )
    if unknown:
        notes.append(f"predictions of classes not in the ground truth were dropped: {unknown}")
    return lut


def _remap(dets: Detections, lut: np.ndarray, path: Path, where: str) -> Detections:
    if len(dets) and int(dets.class_id.max()) >= len(lut):
        raise FormatError(
            path, f"{where}: class_ids", f"class id {int(dets.class_id.max())} but only {len(lut)} classes"
        )
    new = lut[dets.class_id]
    return dets[new >= 0].replace(class_id=new[new >= 0])


def detect_format(path: str | os.PathLike[str]) -> str:
    """``jsonl``, ``coco-results`` or a dataset format name."""
    p = Path(path)
    if p.is_file() and p.suffix.lower() in (".jsonl", ".ndjson"):
        return "jsonl"
    if p.is_file() and p.suffix.lower() == ".json":
        with open(p, encoding="utf-8") as f:
            head = f.read(4096).lstrip()
        if head.startswith("["):
            return "coco-results"
    from pigskin.formats import detect

    return detect(p)


def load_predictions(
    path: str | os.PathLike[str],
    dataset: Dataset,
    *,
    format: str | None = None,
    gt_path: str | os.PathLike[str] | None = None,
) -> Predictions:
    """Read a predictions file of any supported kind, aligned with ``dataset.samples``."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such predictions file")
    fmt = format or detect_format(path)
    if fmt not in PRED_FORMATS:
        raise PigskinError(f"unknown predictions format {fmt!r}; expected one of {', '.join(PRED_FORMATS)}")
    notes: list[str] = []
    if fmt == "jsonl":
        classes, recs = read_jsonl(path)
        lut = (
            _class_map(classes, dataset, path, notes)
            if classes is not None
            else np.arange(len(dataset.classes))
        )
        entries = [(ref, _remap(d, lut, path, where)) for ref, d, where in recs]
        return Predictions(_align(dataset, entries, path, notes), notes)
    if fmt == "coco-results":
        return Predictions(_coco_results(path, dataset, gt_path, notes), notes)
    from pigskin.formats import load

    pred = load(path, fmt)
    lut = _class_map(pred.classes, dataset, path, notes)
    entries = [(s.image, _remap(s.detections, lut, path, s.image)) for s in pred.samples]
    return Predictions(_align(dataset, entries, path, notes), notes)


def _coco_gt_ids(gt_path: Path | None) -> tuple[dict[Any, str], dict[Any, str]]:
    """``image id -> file_name`` and ``category id -> name`` from a COCO ground-truth file (or a folder
    holding ``annotations.json`` / ``_annotations.coco.json``), if it is one."""
    if gt_path is not None and gt_path.is_dir():
        found = [
            gt_path / n for n in ("annotations.json", "_annotations.coco.json") if (gt_path / n).is_file()
        ]
        gt_path = found[0] if found else None
    if gt_path is None or not gt_path.is_file() or gt_path.suffix.lower() != ".json":
        return {}, {}
    try:
        with open(gt_path, encoding="utf-8") as f:
            gt = json.load(f)
    except (OSError, json.JSONDecodeError):
        return {}, {}
    if not isinstance(gt, dict) or "images" not in gt:
        return {}, {}
    images = {im.get("id"): im.get("file_name") for im in gt.get("images", []) if isinstance(im, dict)}
    cats = {c.get("id"): c.get("name") for c in gt.get("categories", []) if isinstance(c, dict)}
    return images, cats


def _coco_results(path: Path, dataset: Dataset, gt_path: Any, notes: list[str]) -> list[Detections]:
    try:
        with open(path, encoding="utf-8") as f:
            recs = json.load(f)
    except json.JSONDecodeError as exc:
        raise FormatError(path, f"line {exc.lineno}", f"not JSON: {exc.msg}") from None
    if not isinstance(recs, list):
        raise FormatError(path, None, "a COCO results file is a JSON list of detections")
    img_names, cat_names = _coco_gt_ids(Path(gt_path) if gt_path else None)
    sample_ids = {s.attrs.get("image_id", s.attrs.get("coco_id")): i for i, s in enumerate(dataset.samples)}
    sample_ids.pop(None, None)
    if cat_names:
        cat_lut = {cid: dataset.classes.index(n) for cid, n in cat_names.items() if n in dataset.classes}
    elif isinstance(dataset.meta.get("class_ids"), list) and len(dataset.meta["class_ids"]) == len(
        dataset.classes
    ):
        cat_lut = {cid: k for k, cid in enumerate(dataset.meta["class_ids"])}
    else:
        raise FormatError(
            path,
            None,
            "COCO results need the ground truth's category ids: evaluate against "
            "the COCO ground-truth file, or write pigskin predictions (.jsonl)",
        )
    groups: dict[Any, list[tuple[list[float], int, float]]] = {}
    dropped = 0
    for n, r in enumerate(recs):
        where = f"record {n}"
        if not isinstance(r, dict) or not {"image_id", "category_id", "bbox"} <= set(r):
            raise FormatError(path, where, "expected {image_id, category_id, bbox: [x, y, w, h], score}")
        bbox = r["bbox"]
        if not (isinstance(bbox, list) and len(bbox) == 4 and all(isinstance(v, (int, float)) for v in bbox)):
            raise FormatError(path, f"{where}: bbox", f"expected [x, y, w, h] numbers, got {bbox!r}")
        if bbox[2] <= 0 or bbox[3] <= 0:
            raise FormatError(path, f"{where}: bbox", f"width and height must be positive, got {bbox!r}")
        score = r.get("score", 1.0)
        if not isinstance(score, (int, float)):
            raise FormatError(path, f"{where}: score", f"expected a number, got {score!r}")
        k = cat_lut.get(r["category_id"])
        if k is None:
            dropped += 1
            continue
        groups.setdefault(r["image_id"], []).append((bbox, k, float(score)))
    if dropped:
        notes.append(f"{dropped} detections of categories not in the ground truth were dropped")
    entries = []
    for image_id, rows in groups.items():
        if image_id in img_names:
            ref: Any = img_names[image_id]
        elif image_id in sample_ids:
            ref = dataset.samples[sample_ids[image_id]].image
        elif isinstance(image_id, str):
            ref = image_id
        else:
            raise FormatError(
                path,
                f"image_id {image_id!r}",
                "cannot map a numeric image_id to an image: "
                "evaluate against the COCO ground-truth file that defines it",
            )
        xywh = np.array([b for b, _, _ in rows], np.float64)
        try:
            dets = Detections.from_xywh(xywh, [k for _, k, _ in rows], confidence=[s for _, _, s in rows])
        except ValueError as exc:
            raise FormatError(path, f"image_id {image_id!r}", str(exc)) from None
        entries.append((ref, dets))
    return _align(dataset, entries, path, notes)


# -- a model instead of a file ---------------------------------------------------------------------


def predict_dataset(
    model_path: str | os.PathLike[str],
    dataset: Dataset,
    batch_size: int = 8,
    progress: bool = False,
    min_score: float = 0.001,
) -> Predictions:
    """Run a trained model over the dataset's images.

    The contract with training: ``pigskin.models.artifact.load_model(path)`` returns an object with
    ``.classes`` (names) and ``.predict(images: list[RGB uint8 HxWx3]) -> list[Detections]`` in
    original-image pixels. Imported lazily so evaluation never needs torch for a predictions file.
    AP needs the low-scoring boxes too, so when ``predict`` takes a ``score_threshold`` we pass
    ``min_score`` (0.001, the usual COCO-evaluation setting) instead of the model's own default.
    """
    try:
        from pigskin.data.clips import model_frames
        from pigskin.data.clips import predict_dataset as predict_stacks
        from pigskin.models.artifact import load_model
    except ImportError as exc:
        raise PigskinError(
            f"--model needs pigskin.models.artifact.load_model, which cannot be imported here ({exc}); "
            "write predictions with pigskin.evaluate.predictions.write_predictions and pass --predictions"
        ) from exc
    import inspect

    model = load_model(model_path)
    path = Path(model_path)
    takes_threshold = "score_threshold" in inspect.signature(model.predict).parameters
    kw = {"score_threshold": min_score} if takes_threshold else {}
    notes: list[str] = []
    lut = _class_map(list(model.classes), dataset, path, notes)

    def predict(images: list[np.ndarray]) -> list[Detections]:
        dets = model.predict(images, **kw)
        if len(dets) != len(images):
            raise PigskinError(f"{path}: predict() returned {len(dets)} results for {len(images)} images")
        return dets

    # a multi-frame model sees each clip frame with its predecessors (a still is its own past)
    dets = predict_stacks(predict, dataset, model_frames(model), batch_size, progress=progress)
    out = [_remap(d, lut, path, s.image) for d, s in zip(dets, dataset.samples, strict=True)]
    return Predictions(out, notes)
