"""Slice labels from attribute values: equal-count bins for measurements (a very common value keeps a
bin of its own), fixed-edge bins, and categories for text, booleans and integer levels."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from pigskin.evaluate.analysis import AnalyzeConfig


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


def is_num(x: Any) -> bool:
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
    levels = all(float(v).is_integer() for v in present if is_num(v)) and len(uniq) <= cfg.max_categories
    if all(is_num(v) for v in present) and not levels:  # measurements, not levels: bin them
        arr = np.array([math.nan if v is None else float(v) for v in vals])
        nb = numeric_bins(arr, cfg.quantile_bins)
        return nb.labels(arr), nb.bins

    def word(v: Any) -> str | None:
        if v is None:
            return None
        if isinstance(v, (bool, np.bool_)):
            return "yes" if v else "no"
        return _fmt(float(v)) if is_num(v) else str(v)

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


def py_value(v: Any) -> Any:
    return v.item() if isinstance(v, np.generic) else v
