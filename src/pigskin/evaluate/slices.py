"""Sensitivity analysis: AP50, AP and recall per slice of the data with bootstrap intervals, and a
cause for every false positive and every miss.

Slices come from every label attribute in the data (box ``Detections.attrs`` such as occlusion,
``Sample.attrs`` such as camera, and the video id) and from measured properties when the labels do
not provide them (size, aspect, contrast, blur, distance to a player, position; see
:mod:`pigskin.evaluate.properties`). Numeric values with many levels are cut into quantile bins.

The rule for AP on a slice (the same as COCO's area ranges, extended):

- the slice's GT boxes are the positives; all other GT boxes become ignore regions, so a detection
  matched to them is neither a true nor a false positive;
- an unmatched detection counts where it can be placed: by its *own* measured property (its box's
  size, contrast, ... exactly COCO's rule for area), or by its image for image attributes. A
  labelled box attribute (occlusion) cannot be read off a false positive, so there it counts in
  every slice with weight ``n_slice / n_all``, its expected share. Without that weight a small
  slice would be charged every false alarm of the whole set and look weak for being small;
- recall at the operating threshold is the share of the slice's GT boxes matched at IoU .5 by a
  detection scoring at least the threshold;
- 95% intervals are percentile bootstraps over images (resampled with replacement, seeded).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from pigskin.boxes import iou as box_iou
from pigskin.detections import Detections
from pigskin.evaluate import properties
from pigskin.evaluate.matching import BoxTable, Matches, det_table, gt_table, match
from pigskin.evaluate.metrics import REC_THRESHOLDS, ball_class_ids, precision_recall
from pigskin.samples import Dataset

MISS_CAUSES = (
    "occluded",
    "tiny",
    "low contrast",
    "blurred",
    "at the border",
    "poor localisation",
    "low score",
)
FP_CAUSES = ("duplicate", "wrong class", "poor localisation", "look-alike", "background")
_NO = {"", "no", "none", "false", "0", "n", "visible", "clear", "not occluded", "sharp", "unoccluded"}
_SKIP_IMAGE_ATTRS = {"image_id", "coco_id", "id", "lookalikes", "file_name", "source-ref"}


@dataclass(frozen=True)
class AnalyzeConfig:
    """Knobs of the sensitivity analysis; the defaults are what ``pigskin analyze`` uses."""

    score_threshold: float = 0.5  # operating point for recall and for which errors are listed
    classes: tuple[str, ...] | None = None  # classes analysed; None: '*ball*' classes (else all)
    player_classes: tuple[str, ...] | None = None  # context for "distance to a player"; None: '*player*'
    bootstrap: int = 200  # resamples of images for the 95% intervals (0: no intervals)
    seed: int = 0
    min_count: int = 10  # slices with fewer GT boxes are listed but never named weakest
    quantile_bins: int = 3  # bins for numeric attributes with many values
    max_categories: int = 12  # a text attribute with more values keeps the commonest, rest "other"
    border_margin: float = 0.02  # "at the border": within this fraction of min(width, height)
    tiny_px: float = 8.0  # "tiny": longest side below this
    cause_quantile: float = 0.25  # "low contrast" / "blurred": the worst quarter of the GT boxes
    occluded_above: float = 0.25  # a numeric occlusion label above this counts as occluded
    measure_pixels: bool = True  # contrast and blur need the images


@dataclass
class SliceStats:
    attribute: str
    value: str
    source: str  # "all", "measured", "box label" or "image label"
    count: int  # GT boxes in the slice
    images: int  # images with at least one of them
    ap50: float
    ap: float
    recall: float
    ap50_ci: tuple[float, float] = (math.nan, math.nan)
    ap_ci: tuple[float, float] = (math.nan, math.nan)
    recall_ci: tuple[float, float] = (math.nan, math.nan)
    curve: list[float] = field(default_factory=list)  # precision at REC_THRESHOLDS, IoU .5

    @property
    def name(self) -> str:
        return "all" if self.source == "all" else f"{self.attribute} = {self.value}"


@dataclass
class ErrorCase:
    """One false positive or one miss at the operating threshold, with its cause."""

    kind: str  # "false positive" or "miss"
    image: int  # sample index
    ref: str
    xyxy: list[float]
    class_name: str
    score: float | None
    cause: str
    detail: str = ""
    flags: list[str] = field(default_factory=list)
    iou: float = 0.0  # best IoU with a GT box of the class (FP) or with a confident detection (miss)
    size: float = 0.0  # longest side, px


@dataclass
class Analysis:
    config: AnalyzeConfig
    classes: list[str]
    overall: SliceStats
    slices: list[SliceStats]
    errors: list[ErrorCase]
    fp_causes: dict[str, int]
    miss_causes: dict[str, int]
    miss_flags: dict[str, int]
    weakest: list[dict[str, Any]]
    gather_next: list[str]
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        def stats(s: SliceStats) -> dict[str, Any]:
            d = asdict(s)
            d.pop("curve")
            return _clean(d)

        return {
            "config": _clean(asdict(self.config)),
            "classes": self.classes,
            "overall": stats(self.overall),
            "slices": [stats(s) for s in self.slices],
            "false_positive_causes": self.fp_causes,
            "miss_causes": self.miss_causes,
            "miss_flags": self.miss_flags,
            "weakest": _clean(self.weakest),
            "gather_next": self.gather_next,
            "notes": self.notes,
            "errors": [_clean(asdict(e)) for e in self.errors],
        }


def _clean(v: Any) -> Any:
    """JSON-safe: NaN/inf -> None, tuples -> lists, numpy scalars -> Python."""
    if isinstance(v, dict):
        return {k: _clean(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_clean(x) for x in v]
    if isinstance(v, (float, np.floating)):
        return float(v) if math.isfinite(v) else None
    if isinstance(v, np.integer):
        return int(v)
    return v


# -- attributes and bins ---------------------------------------------------------------------------


@dataclass
class Attribute:
    """One way of slicing: a bin label for every target GT row and (where it can be read) every detection."""

    name: str
    source: str
    gt: np.ndarray  # (G,) object: bin label or None
    dt: np.ndarray | None  # (D,) object, or None for labelled box attributes
    bins: list[str]


def _fmt(x: float) -> str:
    return f"{x:.3g}"


@dataclass(frozen=True)
class NumericBins:
    """Bins for a numeric attribute: a very common value (e.g. occlusion 0) is a bin of its own, the
    other values are cut into equal-count bins named by the range they hold."""

    edges: np.ndarray  # inner edges between the bins of the non-mode values, [lo, hi)
    mode: float | None
    mode_name: str
    names: list[str]  # bins of the non-mode values, in value order
    lows: list[float]  # the smallest value in each of those bins

    @property
    def bins(self) -> list[str]:
        """All bin names in value order (the mode's bin sits where its value falls)."""
        if self.mode is None:
            return list(self.names)
        at = int(np.searchsorted(np.asarray(self.lows), self.mode))
        return [*self.names[:at], self.mode_name, *self.names[at:]]

    def labels(self, values: np.ndarray) -> np.ndarray:
        v = np.asarray(values, np.float64)
        idx = np.searchsorted(self.edges, v, side="right")
        out = np.array([self.names[i] if self.names else None for i in idx.tolist()], object)
        if self.mode is not None:
            out[v == self.mode] = self.mode_name
        out[~np.isfinite(v)] = None
        return out


def numeric_bins(values: np.ndarray, n_bins: int) -> NumericBins:
    """Equal-count bins of the finite ``values``; no empty bins, no bin split inside a run of ties."""
    v = np.asarray(values, np.float64)
    v = v[np.isfinite(v)]
    mode = None
    rest, k = v, n_bins
    if v.size:
        u, c = np.unique(v, return_counts=True)
        if len(u) > 1 and c.max() >= v.size / n_bins:
            mode = float(u[np.argmax(c)])
            rest, k = v[v != mode], max(1, n_bins - 1)
    edges = np.unique(np.quantile(rest, np.linspace(0, 1, k + 1)[1:-1])) if rest.size else np.zeros(0)
    edges = np.array([e for e in edges if (rest < e).any() and (rest >= e).any()])
    names: list[str] = []
    lows: list[float] = []
    if rest.size:
        idx = np.searchsorted(edges, rest, side="right")
        words = {1: [""], 2: ["low ", "high "], 3: ["low ", "mid ", "high "]}.get(
            len(edges) + 1, [f"q{i + 1} " for i in range(len(edges) + 1)]
        )
        for i, word in enumerate(words):
            part = rest[idx == i]
            lo, hi = float(part.min()), float(part.max())
            rng = _fmt(lo) if lo == hi else f"{_fmt(lo)}-{_fmt(hi)}"
            names.append(f"{word}({rng})" if word else rng)
            lows.append(lo)
    return NumericBins(edges, mode, _fmt(mode + 0.0) if mode is not None else "", names, lows)


def bin_numeric(values: np.ndarray, edges: np.ndarray, names: Sequence[str]) -> np.ndarray:
    """Labels for values cut at fixed ``edges`` (``[lo, hi)``), one name per bin; NaN -> None."""
    v = np.asarray(values, np.float64)
    idx = np.searchsorted(np.asarray(edges, np.float64), v, side="right")
    return np.array(
        [names[i] if math.isfinite(x) else None for x, i in zip(v.tolist(), idx.tolist(), strict=True)],
        object,
    )


def _is_num(x: Any) -> bool:
    return isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(x, (bool, np.bool_))


def label_values(values: Sequence[Any], cfg: AnalyzeConfig) -> tuple[np.ndarray, list[str]]:
    """Bin labels for label values of any kind: text, booleans and integer levels (at most
    ``max_categories`` of them) stay categories; other numbers become equal-count bins; text with
    too many values keeps the commonest ``max_categories - 1`` plus "other"."""
    vals = [None if (v is None or (isinstance(v, float) and math.isnan(v))) else v for v in values]
    present = [v for v in vals if v is not None]
    if not present:
        return np.array([None] * len(vals), object), []
    uniq = {(type(v).__name__, v) for v in present if not isinstance(v, (list, dict))}
    levels = all(float(v).is_integer() for v in present if _is_num(v)) and len(uniq) <= cfg.max_categories
    if all(_is_num(v) for v in present) and not levels:  # measurements, not levels: bin them
        arr = np.array([math.nan if v is None else float(v) for v in vals])
        nb = numeric_bins(arr, cfg.quantile_bins)
        return nb.labels(arr), nb.bins

    def word(v: Any) -> str | None:
        if v is None:
            return None
        if isinstance(v, (bool, np.bool_)):
            return "yes" if v else "no"
        return _fmt(float(v)) if _is_num(v) else str(v)

    labels = [word(v) for v in vals]
    counts: dict[str, int] = {}
    for lab in labels:
        if lab is not None:
            counts[lab] = counts.get(lab, 0) + 1
    keep = sorted(counts, key=lambda k: -counts[k])
    if len(keep) > cfg.max_categories:
        top = set(keep[: cfg.max_categories - 1])
        labels = [lab if lab is None or lab in top else "other" for lab in labels]
        keep = [k for k in keep if k in top] + ["other"]
    order = sorted(keep, key=lambda k: (k == "other", _sort_key(k)))
    return np.array(labels, object), order


def _sort_key(label: str) -> tuple[int, Any]:
    try:
        return (0, float(label))
    except ValueError:
        return (1, label)


# -- measuring -------------------------------------------------------------------------------------


def _measure(
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


def _attributes(
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
        is_id = len(distinct) == len(present) and not all(_is_num(v) and float(v) % 1 for v in present)
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
                labelled_box.setdefault(k, [None] * len(g))[r] = _py(arr[src])
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


def _py(v: Any) -> Any:
    return v.item() if isinstance(v, np.generic) else v


# -- scoring slices --------------------------------------------------------------------------------


def _nanmean(a: np.ndarray, axis: int) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmean(a, axis=axis)


def _ci(samples: np.ndarray) -> tuple[float, float]:
    s = samples[np.isfinite(samples)]
    if s.size < 2:
        return (math.nan, math.nan)
    lo, hi = np.percentile(s, [2.5, 97.5])
    return (float(lo), float(hi))


def _region_scores(
    mt: Matches,
    g: BoxTable,
    d: BoxTable,
    a: int,
    classes: Sequence[int],
    fp_weight: float,
    threshold: float,
    n_images: int,
    resamples: np.ndarray | None,
) -> dict[str, Any]:
    """AP50, AP, recall (and their bootstrap samples) for region ``a``."""
    n_rep = 0 if resamples is None else len(resamples)
    ap50 = np.full((len(classes), 1 + n_rep), np.nan)
    ap = np.full((len(classes), 1 + n_rep), np.nan)
    curve = np.full((len(classes), len(REC_THRESHOLDS)), np.nan)
    T = mt.dt_gt.shape[1]
    for ci, k in enumerate(classes):
        rows = np.flatnonzero(d.class_id == k)
        rows = rows[np.argsort(-d.score[rows], kind="mergesort")]
        ig = mt.dt_ignore[a][:, rows]
        keep = ~ig.all(0)  # rows ignored at every threshold change nothing
        rows, ig = rows[keep], ig[:, keep]
        matched = mt.dt_gt[a][:, rows] >= 0
        tp = (matched & ~ig).astype(np.float64)
        fp = (~matched & ~ig) * fp_weight
        pos = (g.class_id == k) & ~mt.gt_ignore[a]
        per_img = np.bincount(g.image[pos], minlength=n_images).astype(np.float64)
        q, _, _ = precision_recall(tp, fp, per_img.sum())
        ap50[ci, 0], ap[ci, 0] = q[0].mean(), q.mean()
        curve[ci] = q[0]
        if n_rep and len(rows):
            chunk = max(1, 2_000_000 // max(1, T * len(rows)))
            img = d.image[rows]
            for s in range(0, n_rep, chunk):
                w = resamples[s : s + chunk][:, img][:, None, :]  # (r, 1, n)
                npos = (resamples[s : s + chunk] @ per_img)[:, None]
                qb, _, _ = precision_recall(tp[None] * w, fp[None] * w, npos, exact=False)
                ap50[ci, 1 + s : 1 + s + len(w)] = qb[:, 0].mean(-1)
                ap[ci, 1 + s : 1 + s + len(w)] = qb.mean((-2, -1))
        elif n_rep:  # no detections: AP is 0 wherever the resample has positives
            has = (resamples @ per_img) > 0
            ap50[ci, 1:] = np.where(has, 0.0, np.nan)
            ap[ci, 1:] = np.where(has, 0.0, np.nan)
    # recall at the operating point, pooled over classes
    pos = np.isin(g.class_id, classes) & ~mt.gt_ignore[a]
    det = mt.gt_dt[a, 0]
    hit = pos & (det >= 0) & (d.score[np.maximum(det, 0)] >= threshold) if len(d) else np.zeros(len(g), bool)
    n_per = np.bincount(g.image[pos], minlength=n_images).astype(np.float64)
    hit_per = np.bincount(g.image[hit], minlength=n_images).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        rec = np.r_[
            hit_per.sum() / n_per.sum() if n_per.sum() else math.nan,
            (resamples @ hit_per) / (resamples @ n_per) if n_rep else np.zeros(0),
        ]
    return {
        "ap50": _nanmean(ap50, 0),
        "ap": _nanmean(ap, 0),
        "recall": rec,
        "curve": _nanmean(curve, 0),
        "count": int(pos.sum()),
        "images": int((n_per > 0).sum()),
    }


def _stats(attr: str, value: str, source: str, r: dict[str, Any]) -> SliceStats:
    return SliceStats(
        attr,
        value,
        source,
        r["count"],
        r["images"],
        float(r["ap50"][0]),
        float(r["ap"][0]),
        float(r["recall"][0]),
        _ci(r["ap50"][1:]),
        _ci(r["ap"][1:]),
        _ci(r["recall"][1:]),
        [float(x) for x in r["curve"]],
    )


# -- causes ----------------------------------------------------------------------------------------


def _truthy(v: Any, numeric_above: float = 0.5) -> bool | None:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return None
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if _is_num(v):
        return float(v) > numeric_above
    return str(v).strip().lower() not in _NO


def _label(dataset: Dataset, g: BoxTable, row: int, names: Sequence[str]) -> Any:
    attrs = dataset.samples[int(g.image[row])].detections.attrs
    for n in names:
        if n in attrs:
            return _py(attrs[n][int(g.source[row])])
    return None


def _flag_extreme(
    dataset: Dataset,
    g: BoxTable,
    names: Sequence[str],
    measured: np.ndarray | None,
    low: bool,
    q: float,
    words: set[str],
) -> np.ndarray:
    """Boolean per GT row: a label says so (a word, true, or a numeric value in the worst quantile),
    else the measured value is in the worst quantile of the GT boxes. "Worst quantile" also means
    strictly worse than the median, so a common value (blur 0) is never flagged."""
    out = np.zeros(len(g), bool)
    labels = [_label(dataset, g, r, names) for r in range(len(g))]

    def rule(values: np.ndarray):
        v = values[np.isfinite(values)]
        if not v.size:
            return lambda x: False
        cut, mid = np.quantile(v, q if low else 1 - q), np.median(v)
        return (lambda x: x <= cut and x < mid) if low else (lambda x: x >= cut and x > mid)

    by_label = rule(np.array([float(v) if _is_num(v) else np.nan for v in labels]))
    by_measure = rule(measured) if measured is not None else (lambda x: False)
    for r, v in enumerate(labels):
        if v is None:
            out[r] = measured is not None and math.isfinite(measured[r]) and by_measure(measured[r])
        elif _is_num(v):
            out[r] = by_label(float(v))
        elif isinstance(v, (bool, np.bool_)):
            out[r] = bool(v)
        else:
            out[r] = str(v).strip().lower() in words
    return out


def _lookalikes(dataset: Dataset, i: int, targets: Sequence[int]) -> tuple[np.ndarray, list[str]]:
    """Boxes that look like a ball but are not: other classes' GT boxes, and ``Sample.attrs['lookalikes']``
    (a list of ``{"xyxy": [x1, y1, x2, y2], "kind": "helmet"}``) that a renderer or labeller recorded."""
    s = dataset.samples[i]
    found = s.lookalikes()
    boxes: list[list[float]] = [xyxy for xyxy, _ in found]
    kinds: list[str] = [kind for _, kind in found]
    other = ~np.isin(s.detections.class_id, targets)
    boxes += s.detections.xyxy[other].tolist()
    kinds += [dataset.classes[c] for c in s.detections.class_id[other].tolist()]
    return np.asarray(boxes, np.float64).reshape(-1, 4), kinds


def _causes(
    dataset: Dataset,
    g: BoxTable,
    d: BoxTable,
    mt: Matches,
    gm: dict[str, np.ndarray],
    targets: Sequence[int],
    cfg: AnalyzeConfig,
) -> list[ErrorCase]:
    thr = cfg.score_threshold
    errors: list[ErrorCase] = []
    gxyxy, dxyxy = g.xyxy, d.xyxy
    real = ~g.crowd
    # false positives: confident, unmatched at IoU .5, not on a crowd region
    fp_rows = np.flatnonzero((d.score >= thr) & (mt.dt_gt[0, 0] < 0) & ~mt.dt_ignore[0, 0])
    for r in fp_rows.tolist():
        i = int(d.image[r])
        same = np.flatnonzero((g.image == i) & (g.class_id == d.class_id[r]) & real)
        other = np.flatnonzero((g.image == i) & (g.class_id != d.class_id[r]) & real)
        ious = box_iou(dxyxy[r : r + 1], gxyxy[same])[0] if len(same) else np.zeros(0)
        best = float(ious.max()) if len(ious) else 0.0
        o_iou = box_iou(dxyxy[r : r + 1], gxyxy[other])[0] if len(other) else np.zeros(0)
        detail = ""
        if best >= 0.5:
            cause, detail = "duplicate", "its ball was already matched by a higher-scoring box"
        elif len(o_iou) and o_iou.max() >= 0.5:
            cause = "wrong class"
            detail = f"on a {dataset.classes[int(g.class_id[other[int(np.argmax(o_iou))]])]}"
        elif best >= 0.1:
            cause, detail = "poor localisation", f"IoU {best:.2f} with a true ball"
        else:
            boxes, kinds = _lookalikes(dataset, i, targets)
            cause = "background"
            if len(boxes):
                c = (dxyxy[r, :2] + dxyxy[r, 2:]) / 2
                inside = (
                    (boxes[:, 0] <= c[0])
                    & (c[0] <= boxes[:, 2])
                    & (boxes[:, 1] <= c[1])
                    & (c[1] <= boxes[:, 3])
                )
                near = inside | (box_iou(dxyxy[r : r + 1], boxes)[0] >= 0.1)
                if near.any():
                    area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
                    j = np.flatnonzero(near)[np.argmin(area[near])]
                    cause, detail = "look-alike", kinds[j]
        errors.append(
            ErrorCase(
                "false positive",
                i,
                dataset.samples[i].image,
                dxyxy[r].tolist(),
                dataset.classes[int(d.class_id[r])],
                float(d.score[r]),
                cause,
                detail,
                [cause],
                best,
                float(d.longest[r]),
            )
        )

    # misses: real target GT boxes with no confident match at IoU .5
    det = mt.gt_dt[0, 0]
    found = (det >= 0) & (d.score[np.maximum(det, 0)] >= thr) if len(d) else np.zeros(len(g), bool)
    miss_rows = np.flatnonzero(real & ~found)
    if not len(miss_rows):
        return errors
    occl = np.array(
        [
            _truthy(_label(dataset, g, r, ("occlusion", "occluded")), cfg.occluded_above)
            for r in range(len(g))
        ],
        object,
    )
    on_player = gm.get("player_distance", np.full(len(g), np.inf)) <= 0
    blurred = _flag_extreme(
        dataset,
        g,
        ("blur", "blurred", "motion_blur"),
        gm.get("blur"),
        False,
        cfg.cause_quantile,
        {"yes", "true", "blurred", "high", "heavy", "motion"},
    )
    low_con = _flag_extreme(
        dataset,
        g,
        ("contrast",),
        gm.get("contrast"),
        True,
        cfg.cause_quantile,
        {"low", "poor", "yes", "true"},
    )
    for r in miss_rows.tolist():
        i = int(g.image[r])
        flags, notes = [], {}
        if occl[r] is True or (occl[r] is None and on_player[r]):
            flags.append("occluded")
            notes["occluded"] = (
                "labelled" if occl[r] is True else "overlaps a player box (no occlusion label)"
            )
        if g.longest[r] < cfg.tiny_px:
            flags.append("tiny")
        if low_con[r]:
            flags.append("low contrast")
        if blurred[r]:
            flags.append("blurred")
        if gm["border"][r]:
            flags.append("at the border")
        cand = np.flatnonzero((d.image == i) & (d.class_id == g.class_id[r]))
        ious = box_iou(gxyxy[r : r + 1], dxyxy[cand])[0] if len(cand) else np.zeros(0)
        confident = d.score[cand] >= thr
        best = float(ious[confident].max()) if confident.any() else 0.0
        if ((ious >= 0.1) & (ious < 0.5) & confident).any():
            flags.append("poor localisation")
        if ((ious >= 0.5) & ~confident).any():
            flags.append("low score")
        cause = flags[0] if flags else "unexplained"
        errors.append(
            ErrorCase(
                "miss",
                i,
                dataset.samples[i].image,
                gxyxy[r].tolist(),
                dataset.classes[int(g.class_id[r])],
                None,
                cause,
                notes.get(cause, ""),
                flags,
                best,
                float(g.longest[r]),
            )
        )
    return errors


# -- findings --------------------------------------------------------------------------------------


_ADVICE = (
    (
        "size",
        "more frames with small, distant balls (wide shots); also consider a higher input resolution "
        "or tiling",
    ),
    (
        "occlu",
        "more frames where the ball is partly hidden: hand-offs, carries into a pile, the ball in hands",
    ),
    ("contrast", "more balls against similar colours: worn or brown turf, shadows, dark jerseys, the crowd"),
    ("blur", "more fast throws, kicks and punts with motion blur"),
    ("player", "more frames with the ball carried or held close to players"),
    ("position", "more frames with the ball near the frame edge (entering or leaving the shot)"),
    ("aspect", "more views of the ball end-on and side-on (it is elongated)"),
    ("in_air", "more balls in flight against the sky, stands and lights"),
)


def _advice(attr: str, value: str) -> str:
    for key, text in _ADVICE:
        if key in attr.lower():
            return f"{text} ({attr} = {value})"
    return f"more examples where {attr} = {value}"


def findings(
    overall: SliceStats,
    slices: Sequence[SliceStats],
    errors: Sequence[ErrorCase],
    min_count: int,
    top: int = 5,
) -> tuple[list[dict[str, Any]], list[str]]:
    """The weakest slice of each attribute, worst first, and what data to gather next.

    A slice is weak when its AP50 or its recall at the operating point is below the overall value
    (it needs ``min_count`` boxes); its weakness is the larger of the two gaps. It is *clearly* weak
    when that metric's whole 95% interval lies below the overall value, otherwise it may be noise.
    """
    worst: dict[str, tuple[float, str, SliceStats]] = {}
    for s in slices:
        if s.count < min_count:
            continue
        gaps = [(overall.ap50 - s.ap50, "AP50"), (overall.recall - s.recall, "recall")]
        gaps = [(g, m) for g, m in gaps if math.isfinite(g) and g > 0]
        if not gaps:
            continue
        gap, metric = max(gaps)
        if s.attribute not in worst or gap > worst[s.attribute][0]:
            worst[s.attribute] = (gap, metric, s)
    ranked = sorted(worst.values(), key=lambda t: -t[0])[:top]
    weakest, gather = [], []
    for gap, metric, s in ranked:
        value, ci, ref = (
            (s.ap50, s.ap50_ci, overall.ap50) if metric == "AP50" else (s.recall, s.recall_ci, overall.recall)
        )
        clear = math.isfinite(ci[1]) and ci[1] < ref
        ci_txt = f" [{ci[0]:.2f}, {ci[1]:.2f}]" if math.isfinite(ci[0]) else ""
        text = (
            f"{s.name}: {metric} {value:.2f}{ci_txt} vs {ref:.2f} overall "
            f"(AP50 {s.ap50:.2f}, recall {s.recall:.2f}, {s.count} boxes); "
            + (
                "the interval lies below the overall value"
                if clear
                else "the interval reaches the overall value, so this may be noise"
            )
        )
        weakest.append(
            {
                "slice": s.name,
                "attribute": s.attribute,
                "value": s.value,
                "metric": metric,
                "score": value,
                "ci": list(ci),
                "overall": ref,
                "gap": gap,
                "count": s.count,
                "clear": clear,
                "text": text,
            }
        )
        gather.append(("Gather " if clear else "Perhaps gather ") + _advice(s.attribute, s.value) + ".")
    fps = [e for e in errors if e.kind == "false positive"]
    if fps:
        counts: dict[str, int] = {}
        for e in fps:
            counts[e.cause] = counts.get(e.cause, 0) + 1
        top_cause = max(counts, key=lambda k: counts[k])
        n = counts[top_cause]
        if top_cause == "look-alike":
            kinds = sorted({e.detail for e in fps if e.cause == "look-alike"})
            gather.append(
                f"Gather hard negatives: frames with {', '.join(kinds)} and no ball "
                f"({n} of {len(fps)} false positives are on look-alikes)."
            )
        elif top_cause == "background":
            gather.append(
                f"Gather ball-free frames of the same scenes as hard negatives ({n} of {len(fps)} "
                "false positives are on background)."
            )
        elif top_cause == "duplicate":
            gather.append(
                f"{n} of {len(fps)} false positives are duplicates: tune NMS before gathering data."
            )
        elif top_cause == "poor localisation":
            gather.append(
                f"{n} of {len(fps)} false positives are poorly placed boxes: check label tightness "
                "and box regression before gathering data."
            )
    return weakest, gather


# -- the whole analysis ----------------------------------------------------------------------------


def analyze(
    dataset: Dataset, predictions: Sequence[Detections], config: AnalyzeConfig = AnalyzeConfig()
) -> Analysis:
    """Slice the data, score every slice with intervals, and explain every error at the operating point."""
    cfg = config
    if len(predictions) != len(dataset):
        raise ValueError(f"{len(dataset)} samples but {len(predictions)} prediction lists")
    targets = ball_class_ids(dataset.classes, cfg.classes)
    players = [
        k
        for k, c in enumerate(dataset.classes)
        if (c in cfg.player_classes if cfg.player_classes else "player" in c.lower()) and k not in targets
    ]
    n = len(dataset)
    g = gt_table([s.detections for s in dataset.samples])
    g = g.subset(np.isin(g.class_id, targets))
    d = det_table(predictions, 100)
    d = d.subset(np.isin(d.class_id, targets))
    notes: list[str] = [f"classes analysed: {[dataset.classes[k] for k in targets]}"]
    gm, dm = _measure(dataset, g, d, players, cfg, notes)
    attrs = _attributes(dataset, g, d, gm, dm, cfg)

    real = ~g.crowd
    specs: list[tuple[Attribute | None, str]] = [(None, "all")]
    gt_ign, dt_out, weights = [np.zeros(len(g), bool)], [np.zeros(len(d), bool)], [1.0]
    for a in attrs:
        for b in a.bins:
            inside = a.gt == b
            specs.append((a, b))
            gt_ign.append(~inside)
            if a.dt is None:
                dt_out.append(np.zeros(len(d), bool))
                weights.append(float((inside & real).sum()) / max(1, int(real.sum())))
            else:
                dt_out.append(a.dt != b)
                weights.append(1.0)
    mt = match(g, d, n, np.stack(gt_ign), np.stack(dt_out))

    rng = np.random.default_rng(cfg.seed)
    resamples = (
        rng.multinomial(n, np.full(n, 1.0 / n), size=cfg.bootstrap).astype(np.float64)
        if cfg.bootstrap and n
        else None
    )
    results = []
    for a_idx, (a, b) in enumerate(specs):
        r = _region_scores(
            mt,
            g,
            d,
            a_idx,
            sorted(set(g.class_id.tolist()) or targets),
            weights[a_idx],
            cfg.score_threshold,
            n,
            resamples,
        )
        results.append(_stats("all" if a is None else a.name, b, "all" if a is None else a.source, r))
    overall, slices = results[0], results[1:]

    errors = _causes(dataset, g, d, mt, gm, targets, cfg)
    fp_causes = {c: 0 for c in FP_CAUSES}
    miss_causes = {c: 0 for c in (*MISS_CAUSES, "unexplained")}
    miss_flags = {c: 0 for c in MISS_CAUSES}
    for e in errors:
        if e.kind == "false positive":
            fp_causes[e.cause] += 1
        else:
            miss_causes[e.cause] += 1
            for f in e.flags:
                miss_flags[f] += 1
    weakest, gather = findings(overall, slices, errors, cfg.min_count)
    return Analysis(
        cfg,
        [dataset.classes[k] for k in targets],
        overall,
        slices,
        errors,
        fp_causes,
        miss_causes,
        miss_flags,
        weakest,
        gather,
        notes,
    )
