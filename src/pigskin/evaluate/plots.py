"""Figures as PNG bytes (matplotlib's object API with the Agg canvas: no pyplot state, no display)."""

from __future__ import annotations

import io
import math
from collections.abc import Mapping, Sequence

import numpy as np

_COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#17becf"]


def _figure(width: float, height: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    return buf.getvalue()


def pr_curves_png(
    curves: Mapping[str, tuple[Sequence[float], Sequence[float]]],
    title: str,
    width: float = 5.2,
    height: float = 3.8,
) -> bytes:
    """Precision against recall, one line per label (curves with no data are left out)."""
    fig = _figure(width, height)
    ax = fig.add_subplot()
    for i, (label, (rec, prec)) in enumerate(curves.items()):
        p = np.asarray(prec, np.float64)
        if not np.isfinite(p).any():
            continue
        ax.plot(rec, p, label=label, color=_COLOURS[i % len(_COLOURS)], lw=1.6)
    ax.set(xlim=(0, 1), ylim=(0, 1.02), xlabel="recall", ylabel="precision", title=title)
    ax.grid(alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=7, loc="lower left")
    return _png(fig)


def bars_png(
    labels: Sequence[str],
    series: Mapping[str, tuple[Sequence[float], Sequence[float], Sequence[float]]],
    overall: Mapping[str, float],
    title: str,
) -> bytes:
    """Grouped bars (value, low, high) with 95% interval whiskers and a dashed overall line per series."""
    fig = _figure(max(4.0, 1.1 * len(labels) + 2), 3.4)
    ax = fig.add_subplot()
    x = np.arange(len(labels))
    width = 0.8 / max(1, len(series))
    for i, (name, (val, lo, hi)) in enumerate(series.items()):
        v = np.array(val, np.float64)
        err = np.array(
            [
                np.where(np.isfinite(lo), v - np.array(lo, np.float64), 0),
                np.where(np.isfinite(hi), np.array(hi, np.float64) - v, 0),
            ]
        )
        err = np.clip(np.nan_to_num(err), 0, None)
        colour = _COLOURS[i % len(_COLOURS)]
        ax.bar(
            x + (i - (len(series) - 1) / 2) * width,
            np.nan_to_num(v),
            width,
            yerr=err,
            capsize=3,
            color=colour,
            alpha=0.85,
            label=name,
        )
        if name in overall and math.isfinite(overall[name]):
            ax.axhline(overall[name], color=colour, ls="--", lw=1)
    ax.set_xticks(x, labels, rotation=20 if max((len(s) for s in labels), default=0) > 10 else 0, fontsize=8)
    ax.set_ylim(0, 1.05)
    ax.set_title(title, fontsize=10)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=7, loc="lower left", framealpha=0.9)
    return _png(fig)


def counts_png(counts: Mapping[str, int], title: str) -> bytes:
    """Horizontal bars of counts (error causes)."""
    items = [(k, v) for k, v in counts.items()]
    fig = _figure(3.7, 0.32 * len(items) + 1.0)
    ax = fig.add_subplot()
    y = np.arange(len(items))
    ax.barh(y, [v for _, v in items], color="#7f7f7f")
    ax.set_yticks(y, [k for k, _ in items], fontsize=8)
    ax.invert_yaxis()
    for yi, (_, v) in zip(y, items, strict=True):
        ax.text(v, yi, f" {v}", va="center", fontsize=8)
    ax.set_title(title, fontsize=10)
    ax.set_xlim(0, max([v for _, v in items] + [1]) * 1.2)
    return _png(fig)
