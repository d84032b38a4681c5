"""The ways to slice a dataset: its image and box labels, and measured properties (size, aspect,
position, distance to a player, contrast, blur) where no label of that name exists. Every slice
gives a bin label to each target GT box and, where it can be read off a box, to each detection."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from pigskin.evaluate import properties
from pigskin.evaluate.analysis import AnalyzeConfig
from pigskin.evaluate.bins import bin_numeric, is_num, label_values, numeric_bins, py_value
from pigskin.evaluate.matching import BoxTable
from pigskin.samples import Dataset

_SKIP_IMAGE_ATTRS = {"image_id", "coco_id", "id", "lookalikes", "file_name", "source-ref"}


@dataclass
class Attribute:
    """One way of slicing: a bin label for every target GT row and (where it can be read) every detection."""

    name: str
    source: str
    gt: np.ndarray  # (G,) object: bin label or None
    dt: np.ndarray | None  # (D,) object, or None for labelled box attributes
    bins: list[str]


def measure(
    dataset: Dataset, g: BoxTable, d: BoxTable, players: Sequence[int], cfg: AnalyzeConfig, notes: list[str]
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Measured properties for every target GT row and detection row."""
    gm: dict[str, np.ndarray] = {}
    dm: dict[str, np.ndarray] = {}
    for m, t in ((gm, g), (dm, d)):
        m["size"] = t.longest
        m["aspect"] = t.xywh[:, 2] / np.maximum(t.xywh[:, 3], 1e-9)
        m["border"] = np.zeros(len(t), bool)
        m["player_distance"] = np.full(len(t), np.inf)
        m["contrast"] = np.full(len(t), np.nan)
        m["blur"] = np.full(len(t), np.nan)
    has_players = False
    unreadable = 0
    images = np.union1d(g.image, d.image)
    for i in images.tolist():
        s = dataset.samples[i]
        gi, di = np.flatnonzero(g.image == i), np.flatnonzero(d.image == i)
        margin = cfg.border_margin * min(s.width, s.height)
        pl = s.detections.xyxy[np.isin(s.detections.class_id, players)]
        has_players |= len(pl) > 0
        rgb = lum = None
        if cfg.measure_pixels:
            try:
                rgb = dataset.load_image(s)
                lum = properties.luminance(rgb)
            except (OSError, ValueError):
                unreadable += 1
        for m, t, rows in ((gm, g, gi), (dm, d, di)):
            if not len(rows):
                continue
            xyxy = t.xyxy[rows]
            m["border"][rows] = properties.at_border(xyxy, s.width, s.height, margin)
            m["player_distance"][rows] = properties.player_distance(xyxy, pl)
            if lum is not None:
                m["contrast"][rows] = properties.contrast(rgb, xyxy)
                m["blur"][rows] = properties.blur(lum, xyxy)
    if unreadable:
        notes.append(f"{unreadable} images could not be read: contrast and blur are unknown there")
    if not has_players:
        gm.pop("player_distance")
        dm.pop("player_distance")
    if not cfg.measure_pixels or unreadable == len(images):
        for m in (gm, dm):
            m.pop("contrast")
            m.pop("blur")
    return gm, dm


def _player_bins(dist: np.ndarray, size: np.ndarray) -> np.ndarray:
    out = np.full(len(dist), "away from players", object)
    out[dist <= 2 * size] = "near a player"
    out[dist <= 0] = "on a player"
    out[~np.isfinite(dist)] = "no player in frame"
    return out


PLAYER_BINS = ["on a player", "near a player", "away from players", "no player in frame"]


def slice_attributes(
    dataset: Dataset,
    g: BoxTable,
    d: BoxTable,
    gm: dict[str, np.ndarray],
    dm: dict[str, np.ndarray],
    cfg: AnalyzeConfig,
) -> list[Attribute]:
    attrs: list[Attribute] = []
    # image-level labels (and the video id); per-image ids and frame numbers are not slices
    keys = sorted(
        {
            k
            for s in dataset.samples
            for k, v in s.attrs.items()
            if k not in _SKIP_IMAGE_ATTRS and (v is None or isinstance(v, (str, int, float, bool)))
        }
    )
    per_image = {k: [s.attrs.get(k) for s in dataset.samples] for k in keys}
    if any(s.video_id is not None for s in dataset.samples):
        per_image.setdefault("video", [s.video_id for s in dataset.samples])
    for k, vals in per_image.items():
        present = [v for v in vals if v is not None]
        distinct = set(present)
        is_id = len(distinct) == len(present) and not all(is_num(v) and float(v) % 1 for v in present)
        if len(distinct) < 2 or is_id:
            continue
        lab, bins = label_values(vals, cfg)
        glab = lab[g.image]
        bins = [b for b in bins if (glab == b).any()]  # a bin without target boxes is no slice
        if len(bins) > 1:
            attrs.append(Attribute(k, "image label", glab, lab[d.image], bins))

    # box labels; a name that is also an image label (camera on every box) is sliced once, by image
    labelled_box: dict[str, list[Any]] = {}
    for r, (i, src) in enumerate(zip(g.image.tolist(), g.source.tolist(), strict=True)):
        for k, arr in dataset.samples[i].detections.attrs.items():
            if k != "iscrowd" and k not in per_image:
                labelled_box.setdefault(k, [None] * len(g))[r] = py_value(arr[src])
    for k in sorted(labelled_box):
        lab, bins = label_values(labelled_box[k], cfg)
        if len(bins) > 1:
            attrs.append(Attribute(k, "box label", lab, None, bins))

    # measured, unless a label of the same name exists
    taken = {a.name for a in attrs}
    size_edges, size_names = np.array([8.0, 16.0, 32.0]), ["< 8 px", "8-16 px", "16-32 px", ">= 32 px"]
    aspect_edges, aspect_names = (
        np.array([0.8, 1.25 + 1e-9]),
        ["tall (w/h < 0.8)", "round", "wide (w/h > 1.25)"],
    )
    measured: list[tuple[str, np.ndarray, np.ndarray, list[str]]] = [
        (
            "size",
            bin_numeric(gm["size"], size_edges, size_names),
            bin_numeric(dm["size"], size_edges, size_names),
            size_names,
        ),
        (
            "aspect",
            bin_numeric(gm["aspect"], aspect_edges, aspect_names),
            bin_numeric(dm["aspect"], aspect_edges, aspect_names),
            aspect_names,
        ),
        (
            "position",
            np.where(gm["border"], "border", "centre").astype(object),
            np.where(dm["border"], "border", "centre").astype(object),
            ["border", "centre"],
        ),
    ]
    if "player_distance" in gm:
        measured.append(
            (
                "player_distance",
                _player_bins(gm["player_distance"], gm["size"]),
                _player_bins(dm["player_distance"], dm["size"]),
                PLAYER_BINS,
            )
        )
    for name in ("contrast", "blur"):
        if name in gm:
            nb = numeric_bins(gm[name], cfg.quantile_bins)
            measured.append((name, nb.labels(gm[name]), nb.labels(dm[name]), nb.bins))
    for name, glab, dlab, bins in measured:
        present = [b for b in bins if (glab == b).any()]
        if name not in taken and len(present) > 1:
            attrs.append(Attribute(name, "measured", glab, dlab, present))
    return attrs
