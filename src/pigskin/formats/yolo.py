"""Ultralytics YOLO layout: ``data.yaml`` + ``images/`` + ``labels/``, one ``cls cx cy w h`` line per box.

Coordinates are normalised by the image size, which is read from each image's header (PIL, no
decode). A sixth column, when present, is a confidence (``save_conf=True`` predictions). A missing
or empty label file means no boxes; Ultralytics' ``labels.cache`` files are ignored.

Reading accepts ``data.yaml`` (or the folder holding it) or a split folder with ``images/`` (and
``labels/``). From a data.yaml, ``split="train"`` reads one split; without it every split is read
and, when there are several, each Sample gets ``attrs["split"]``. Writing puts samples with
``attrs["split"]`` under ``<split>/images`` + ``<split>/labels`` and the rest under ``images/`` +
``labels/``. Normalised values are written with 10 significant digits: pixel boxes come back within
float32 precision (well under 1e-3 px for images up to 10k px).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from pigskin.detections import Detections
from pigskin.errors import FormatError
from pigskin.fileio import atomic_dir
from pigskin.formats import check_box
from pigskin.formats._common import IMAGE_SUFFIXES, export_image, image_size, put_text
from pigskin.samples import Dataset, Sample

SPLITS = ("train", "val", "test")


def _yaml_file(path: Path) -> Path | None:
    if path.is_file() and path.suffix.lower() in (".yaml", ".yml"):
        return path
    for name in ("data.yaml", "data.yml"):
        if (path / name).is_file():
            return path / name
    return None


def sniff(path: Path) -> bool:
    y = _yaml_file(path)
    if y is not None:
        try:
            return isinstance(yaml.safe_load(y.read_text(encoding="utf-8")), dict)
        except yaml.YAMLError:
            return False
    return path.is_dir() and (path / "images").is_dir() and (path / "labels").is_dir()


def _label_path(image: Path) -> Path:
    """Ultralytics' rule: the last ``/images/`` in the path becomes ``/labels/``, suffix ``.txt``."""
    parts = list(image.parts)
    for i in range(len(parts) - 2, -1, -1):
        if parts[i] == "images":
            parts[i] = "labels"
            break
    return Path(*parts).with_suffix(".txt")


def _names(raw: Any, path: Path) -> list[str]:
    if isinstance(raw, list):
        return [str(n) for n in raw]
    if isinstance(raw, dict):
        keys = sorted(raw)
        if keys != list(range(len(keys))):
            raise FormatError(path, "names", f"class ids must be 0..{len(keys) - 1}, got {keys}")
        return [str(raw[k]) for k in keys]
    raise FormatError(path, "names", f"expected a list or a {{id: name}} mapping, got {raw!r}")


def _folder_names(folder: Path) -> list[str]:
    """Class names for a bare split folder: its classes.txt, else the data.yaml one level up."""
    listed = folder / "classes.txt"
    if listed.is_file():
        return [c for c in listed.read_text(encoding="utf-8").splitlines() if c]
    y = _yaml_file(folder.parent)
    if y is not None:
        cfg = yaml.safe_load(y.read_text(encoding="utf-8"))
        if isinstance(cfg, dict) and cfg.get("names") is not None:
            return _names(cfg["names"], y)
    return []


def _images_in(source: Path) -> list[Path]:
    if source.is_file() and source.suffix == ".txt":  # a list of image paths, one a line
        return [source.parent / line.strip() for line in source.read_text().splitlines() if line.strip()]
    return sorted(p for p in source.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)


def read(
    path: Path,
    *,
    strict: bool = False,
    image_root: str | os.PathLike[str] | None = None,
    split: str | None = None,
    names: list[str] | None = None,
) -> Dataset:
    """``names`` gives the classes for a bare split folder (default: ``classes.txt`` beside it, or ids)."""
    path = Path(path)
    y = _yaml_file(path)
    sources: list[tuple[str | None, Path]] = []
    if y is not None:
        cfg = yaml.safe_load(y.read_text(encoding="utf-8"))
        if not isinstance(cfg, dict):
            raise FormatError(y, None, "expected a mapping with path, train, val and names")
        root = Path(cfg.get("path") or ".")
        root = root if root.is_absolute() else y.parent / root
        root = root if root.is_dir() else y.parent  # a moved dataset still reads from beside its yaml
        classes = _names(cfg.get("names"), y)
        wanted = [split] if split else [k for k in SPLITS if cfg.get(k)]
        for key in wanted:
            if not cfg.get(key):
                raise FormatError(y, key, f"no {key!r} split in this data.yaml")
            for entry in cfg[key] if isinstance(cfg[key], list) else [cfg[key]]:
                src = root / str(entry)
                if not src.exists():
                    raise FormatError(y, key, f"{src} does not exist")
                if all(src.resolve() != s.resolve() for _, s in sources):
                    sources.append((key, src))
    else:
        if not (path / "images").is_dir():
            raise FormatError(path, None, "expected a data.yaml or a folder with images/ and labels/")
        root, sources = path, [(None, path / "images")]
        classes = names or _folder_names(path)
    tag = len({k for k, _ in sources}) > 1
    problems: list[str] = []
    samples = []
    auto_classes = y is None and not classes
    for key, src in sources:
        for img in _images_in(src):
            try:
                w, h = image_size(img)
            except OSError as e:
                raise FormatError(img, None, f"cannot read the image header: {e}") from None
            det = _read_labels(_label_path(img), w, h, classes, auto_classes, strict, problems)
            ref = Path(os.path.relpath(img, root)).as_posix()
            samples.append(Sample(ref, w, h, det, attrs={"split": key} if tag else {}))
    if any(s.detections.confidence is not None for s in samples):  # predictions: empty frames get scores too
        for s in samples:
            if s.detections.confidence is None:
                if len(s.detections):
                    raise FormatError(
                        _label_path(root / s.image),
                        None,
                        "no confidence column while other label files have one",
                    )
                s.detections = s.detections.replace(confidence=np.zeros(0, np.float32))
    if auto_classes:
        top = max((int(s.detections.class_id.max()) for s in samples if len(s.detections)), default=-1)
        classes = [str(i) for i in range(top + 1)]
    return Dataset(classes, samples, root=root, meta={"format": "yolo", "problems": problems})


def _read_labels(
    label: Path, w: int, h: int, classes: list[str], any_class: bool, strict: bool, problems: list[str]
) -> Detections:
    if not label.is_file():
        return Detections.empty()
    xyxy, cls, conf = [], [], []
    for lineno, text in enumerate(label.read_text(encoding="utf-8").splitlines(), 1):
        parts = text.split()
        if not parts:
            continue
        where = f"line {lineno}"
        if len(parts) not in (5, 6):
            raise FormatError(
                label,
                where,
                f"expected 'class cx cy w h [conf]', got {len(parts)} values "
                "(segmentation polygons are not boxes)",
            )
        try:
            c = int(parts[0])
            vals = [float(v) for v in parts[1:]]
        except ValueError:
            raise FormatError(label, where, f"not numbers: {text.strip()!r}") from None
        if c < 0 or (not any_class and c >= len(classes)):
            raise FormatError(
                label, f"{where}, class", f"class id {c} is not in names (0..{len(classes) - 1})"
            )
        cx, cy, bw, bh = vals[0] * w, vals[1] * h, vals[2] * w, vals[3] * h
        box = check_box(
            [cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2],
            w,
            h,
            path=label,
            where=where,
            strict=strict,
            problems=problems,
        )
        if box is None:
            continue
        xyxy.append(box)
        cls.append(c)
        conf.append(vals[4] if len(vals) == 5 else None)
    if any(v is None for v in conf) and any(v is not None for v in conf):
        raise FormatError(label, None, "some lines have a confidence column and some not")
    return Detections(
        np.array(xyxy, np.float64).reshape(-1, 4),
        np.array(cls, np.int64),
        np.array(conf, np.float32) if conf and conf[0] is not None else None,
    )


def _label_lines(s: Sample) -> str:
    d = s.detections
    x1, y1, x2, y2 = d.xyxy.astype(np.float64).T
    cols = [(x1 + x2) / 2 / s.width, (y1 + y2) / 2 / s.height, (x2 - x1) / s.width, (y2 - y1) / s.height]
    lines = []
    for i in range(len(d)):
        vals = [f"{c[i]:.10g}" for c in cols]
        if d.confidence is not None:
            vals.append(f"{float(d.confidence[i]):.6g}")
        lines.append(" ".join([str(int(d.class_id[i])), *vals]))
    return "".join(line + "\n" for line in lines)


def write(dataset: Dataset, path: Path, *, image_mode: str = "link") -> None:
    """Write ``path/data.yaml`` with images (linked or copied) and label files."""
    path = Path(path)
    groups: dict[str, list[Sample]] = {}
    has_split = any(s.attrs.get("split") for s in dataset)
    for s in dataset:
        groups.setdefault(str(s.attrs.get("split") or "train") if has_split else "", []).append(s)
    with atomic_dir(path) as tmp:
        taken: dict[str, set[str]] = {}
        for key, samples in groups.items():
            base = tmp / key if key else tmp
            seen = taken.setdefault(key, set())
            for s in samples:
                name = export_image(dataset, s, base / "images", seen, image_mode)
                put_text(base / "labels" / Path(name).with_suffix(".txt"), _label_lines(s))
        splits = {k or "train": f"{k}/images" if k else "images" for k in groups}
        splits.setdefault("train", next(iter(splits.values()), "images"))
        splits.setdefault("val", splits["train"])
        cfg = {"path": str(Path(os.path.abspath(path))), **splits, "names": dict(enumerate(dataset.classes))}
        put_text(tmp / "data.yaml", yaml.safe_dump(cfg, sort_keys=False, allow_unicode=True))
