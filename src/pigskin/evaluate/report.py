"""The analysis as files: a self-contained HTML report (inline CSS and base64 PNGs, no scripts, no
network), ``slices.json``, ``slices.csv`` and ``errors.csv``."""

from __future__ import annotations

import base64
import csv
import html
import io
import json
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from pigskin.detections import Detections
from pigskin.evaluate import plots
from pigskin.evaluate.analysis import Analysis, ErrorCase, SliceStats
from pigskin.evaluate.metrics import REC_THRESHOLDS
from pigskin.fileio import write_bytes, write_text
from pigskin.samples import Dataset

CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px auto;max-width:1180px;
color:#222;padding:0 16px}
h1{font-size:24px;margin-bottom:4px}
h2{font-size:19px;border-bottom:1px solid #ddd;padding-bottom:4px;margin-top:32px}
h3{font-size:15px;margin:18px 0 6px}.meta{color:#666;margin-top:0}
table{border-collapse:collapse;font-size:13px;margin:8px 0}th,td{padding:3px 9px;border-bottom:1px solid #eee;
text-align:right}th{background:#f5f5f5;position:sticky;top:0}td.l,th.l{text-align:left}
tr.weak td{background:#fde8e8}tr.small td{color:#999}tr.all td{font-weight:600;background:#eef4fb}
.ci{color:#777;font-size:12px}.figs{display:flex;flex-wrap:wrap;gap:12px;align-items:flex-start}
.figs img{max-width:100%;border:1px solid #eee}.gallery{display:flex;flex-wrap:wrap;gap:10px}
figure{margin:0;width:170px;font-size:11px;color:#444}figure img{width:160px;height:160px;
image-rendering:pixelated;border:1px solid #ccc;display:block}figcaption{margin-top:3px;word-break:break-all}
.key span{display:inline-block;margin-right:14px}
.g{color:#1a9641;font-weight:600}.r{color:#d7191c;font-weight:600}
li{margin:3px 0}
"""


def _img(data: bytes, alt: str) -> str:
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{base64.b64encode(data).decode()}">'


def _num(x: float, digits: int = 3) -> str:
    return "&ndash;" if x is None or not math.isfinite(x) else f"{x:.{digits}f}"


def _ci(ci: Sequence[float]) -> str:
    lo, hi = ci
    return (
        ""
        if not (math.isfinite(lo) and math.isfinite(hi))
        else f' <span class="ci">[{lo:.2f}, {hi:.2f}]</span>'
    )


def crop_png(
    image: np.ndarray,
    focus: Sequence[float],
    gt: np.ndarray,
    pred: np.ndarray,
    pred_scores: Sequence[float],
    size: int = 160,
) -> bytes:
    """A square crop around ``focus`` (xyxy) with true boxes in green and predictions in red."""
    from PIL import Image, ImageDraw

    h, w = image.shape[:2]
    x1, y1, x2, y2 = focus
    side = max(48.0, 2.5 * max(x2 - x1, y2 - y1))
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    left = int(round(min(max(cx - side / 2, 0), max(w - side, 0))))
    top = int(round(min(max(cy - side / 2, 0), max(h - side, 0))))
    right, bottom = min(int(round(left + side)), w), min(int(round(top + side)), h)
    crop = Image.fromarray(np.ascontiguousarray(image[top:bottom, left:right]))
    scale = size / max(crop.width, crop.height, 1)
    crop = crop.resize(
        (max(1, round(crop.width * scale)), max(1, round(crop.height * scale))),
        Image.NEAREST if scale >= 2 else Image.BILINEAR,
    )
    draw = ImageDraw.Draw(crop)
    for boxes, colour in ((gt, (26, 150, 65)), (pred, (215, 25, 28))):
        for b in np.asarray(boxes, np.float64).reshape(-1, 4):
            bb = [(b[0] - left) * scale, (b[1] - top) * scale, (b[2] - left) * scale, (b[3] - top) * scale]
            if bb[2] < 0 or bb[3] < 0 or bb[0] > crop.width or bb[1] > crop.height:
                continue
            draw.rectangle(bb, outline=colour, width=2)
    canvas = Image.new("RGB", (size, size), (245, 245, 245))
    canvas.paste(crop, ((size - crop.width) // 2, (size - crop.height) // 2))
    buf = io.BytesIO()
    canvas.save(buf, format="PNG")
    return buf.getvalue()


def _gallery(
    cases: Sequence[ErrorCase],
    dataset: Dataset,
    predictions: Sequence[Detections],
    classes: Sequence[int],
    threshold: float,
) -> str:
    if not cases:
        return "<p>None.</p>"
    cells = []
    cache: dict[int, np.ndarray | None] = {}
    for e in cases:
        if e.image not in cache:
            try:
                cache[e.image] = dataset.load_image(dataset.samples[e.image])
            except (OSError, ValueError):
                cache[e.image] = None
        img = cache[e.image]
        s, p = dataset.samples[e.image], predictions[e.image]
        gt = s.detections.xyxy[np.isin(s.detections.class_id, classes)]
        conf = np.ones(len(p)) if p.confidence is None else p.confidence
        keep = np.isin(p.class_id, classes) & (conf >= threshold)
        what = f"score {e.score:.2f}" if e.score is not None else f"{e.size:.0f} px"
        detail = f" ({e.detail})" if e.detail else ""
        more = [f for f in e.flags if f != e.cause]
        also = f"<br>also: {html.escape(', '.join(more))}" if more else ""
        caption = (
            f"<b>{html.escape(e.cause)}</b>{html.escape(detail)}{also}<br>{what}, IoU {e.iou:.2f}<br>"
            f"{html.escape(os.path.basename(e.ref))}"
        )
        pic = (
            _img(crop_png(img, e.xyxy, gt, p.xyxy[keep], conf[keep]), e.cause)
            if img is not None
            else "<p>(image not readable)</p>"
        )
        cells.append(f"<figure>{pic}<figcaption>{caption}</figcaption></figure>")
    return '<div class="gallery">' + "".join(cells) + "</div>"


def clearly_weak(s: SliceStats, overall: SliceStats) -> bool:
    """The whole 95% interval of AP50 or of recall lies below the overall value."""
    return (math.isfinite(s.ap50_ci[1]) and s.ap50_ci[1] < overall.ap50) or (
        math.isfinite(s.recall_ci[1]) and s.recall_ci[1] < overall.recall
    )


def _slice_rows(analysis: Analysis) -> str:
    rows = []
    ov = analysis.overall
    for s in [ov, *analysis.slices]:
        cls = (
            "all"
            if s is ov
            else ("small" if s.count < analysis.config.min_count else ("weak" if clearly_weak(s, ov) else ""))
        )
        rows.append(
            f'<tr class="{cls}"><td class="l">{html.escape(s.attribute)}</td>'
            f'<td class="l">{html.escape(s.value)}</td>'
            f'<td class="l">{html.escape(s.source)}</td><td>{s.count}</td><td>{s.images}</td>'
            f"<td>{_num(s.ap50)}{_ci(s.ap50_ci)}</td><td>{_num(s.ap)}{_ci(s.ap_ci)}</td>"
            f"<td>{_num(s.recall)}{_ci(s.recall_ci)}</td></tr>"
        )
    head = (
        '<tr><th class="l">attribute</th><th class="l">slice</th><th class="l">source</th><th>GT boxes</th>'
        "<th>images</th><th>AP50 [95%]</th><th>AP [95%]</th><th>recall@thr [95%]</th></tr>"
    )
    return f"<table>{head}{''.join(rows)}</table>"


def _attribute_figures(analysis: Analysis) -> str:
    parts = []
    by_attr: dict[str, list[SliceStats]] = {}
    for s in analysis.slices:
        by_attr.setdefault(s.attribute, []).append(s)
    ov = analysis.overall
    for attr, group in by_attr.items():
        labels = [f"{s.value}\n(n={s.count})" for s in group]
        series = {
            "AP50": ([s.ap50 for s in group], [s.ap50_ci[0] for s in group], [s.ap50_ci[1] for s in group]),
            "recall@thr": (
                [s.recall for s in group],
                [s.recall_ci[0] for s in group],
                [s.recall_ci[1] for s in group],
            ),
        }
        bars = plots.bars_png(
            labels,
            series,
            {"AP50": ov.ap50, "recall@thr": ov.recall},
            f"{attr} ({group[0].source}), 95% intervals",
        )
        curves = {"all": (REC_THRESHOLDS, ov.curve)}
        curves.update({f"{s.value} (n={s.count})": (REC_THRESHOLDS, s.curve) for s in group})
        pr = plots.pr_curves_png(curves, f"PR at IoU .5 by {attr}")
        parts.append(
            f'<h3>{html.escape(attr)}</h3><div class="figs">{_img(bars, attr + " bars")}'
            f"{_img(pr, attr + ' PR curves')}</div>"
        )
    return "".join(parts) or "<p>No attribute splits the data into two or more slices.</p>"


def render_html(
    analysis: Analysis,
    dataset: Dataset,
    predictions: Sequence[Detections],
    title: str = "pigskin sensitivity analysis",
    gallery: int = 12,
) -> str:
    cfg, ov = analysis.config, analysis.overall
    targets = [dataset.classes.index(c) for c in analysis.classes]
    n_pred = sum(int(np.isin(p.class_id, targets).sum()) for p in predictions)
    fps = sorted([e for e in analysis.errors if e.kind == "false positive"], key=lambda e: -(e.score or 0))
    misses = sorted([e for e in analysis.errors if e.kind == "miss"], key=lambda e: (-e.size, e.image))
    weak = (
        "".join(f"<li>{html.escape(w['text'])}</li>" for w in analysis.weakest)
        or "<li>No slice with enough boxes scores below the overall AP50.</li>"
    )
    gather = (
        "".join(f"<li>{html.escape(t)}</li>" for t in analysis.gather_next) or "<li>Nothing stands out.</li>"
    )
    cause_figs = (
        _img(plots.counts_png(analysis.fp_causes, f"false positives by cause ({len(fps)})"), "FP causes")
        + _img(plots.counts_png(analysis.miss_causes, f"misses by main cause ({len(misses)})"), "miss causes")
        + _img(plots.counts_png(analysis.miss_flags, "misses by every cause that applies"), "miss flags")
    )
    pr_all = _img(
        plots.pr_curves_png({"all": (REC_THRESHOLDS, ov.curve)}, "PR at IoU .5, all", 4.2, 3.0), "PR"
    )
    notes = "".join(f"<li>{html.escape(n)}</li>" for n in analysis.notes)
    body = f"""
<h1>{html.escape(title)}</h1>
<p class="meta">{len(dataset)} images, {ov.count} {html.escape("/".join(analysis.classes))} boxes,
{n_pred} predictions; operating threshold {cfg.score_threshold:g}; 95% intervals from {cfg.bootstrap}
bootstrap resamples of images (seed {cfg.seed}).</p>
<h2>Summary</h2>
<div class="figs"><table><tr><th class="l">metric</th><th>value [95%]</th></tr>
<tr><td class="l">AP50</td><td>{_num(ov.ap50)}{_ci(ov.ap50_ci)}</td></tr>
<tr><td class="l">AP @[.50:.95]</td><td>{_num(ov.ap)}{_ci(ov.ap_ci)}</td></tr>
<tr><td class="l">recall at score &ge; {cfg.score_threshold:g}</td>
<td>{_num(ov.recall)}{_ci(ov.recall_ci)}</td></tr>
<tr><td class="l">false positives / misses at the threshold</td>
<td>{len(fps)} / {len(misses)}</td></tr></table>
{pr_all}</div>
<h2>Weakest slices</h2><ol>{weak}</ol>
<h3>Data to gather next</h3><ul>{gather}</ul>
<h2>Errors by cause</h2><div class="figs">{cause_figs}</div>
<h2>All slices</h2>
<p>Red rows: the whole 95% interval of AP50 or of recall lies below the overall value. Grey rows: fewer than
{cfg.min_count} boxes (their intervals mean little).</p>
{_slice_rows(analysis)}
<h2>Per attribute</h2>{_attribute_figures(analysis)}
<h2>Worst false positives</h2>
<p class="key"><span class="g">green: true boxes</span>
<span class="r">red: predictions &ge; {cfg.score_threshold:g}</span> highest-scoring first</p>
{_gallery(fps[:gallery], dataset, predictions, targets, cfg.score_threshold)}
<h2>Worst misses</h2><p>Largest missed balls first.</p>
{_gallery(misses[:gallery], dataset, predictions, targets, cfg.score_threshold)}
<h2>Notes</h2><ul>{notes}</ul>
"""
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
        f'<link rel="icon" href="data:,"><meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<style>{CSS}</style></head><body>{body}</body></html>\n"
    )


SLICE_COLUMNS = (
    "attribute",
    "value",
    "source",
    "count",
    "images",
    "ap50",
    "ap50_lo",
    "ap50_hi",
    "ap",
    "ap_lo",
    "ap_hi",
    "recall",
    "recall_lo",
    "recall_hi",
)
ERROR_COLUMNS = (
    "kind",
    "image",
    "x1",
    "y1",
    "x2",
    "y2",
    "class",
    "score",
    "size",
    "iou",
    "cause",
    "detail",
    "flags",
)


def _csv(rows: Sequence[Sequence[Any]], header: Sequence[str]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    for r in rows:
        w.writerow(
            [
                ""
                if (isinstance(v, float) and not math.isfinite(v)) or v is None
                else (f"{v:.6g}" if isinstance(v, float) else v)
                for v in r
            ]
        )
    return buf.getvalue()


def slices_csv(analysis: Analysis) -> str:
    return _csv(
        [
            [
                s.attribute,
                s.value,
                s.source,
                s.count,
                s.images,
                s.ap50,
                *s.ap50_ci,
                s.ap,
                *s.ap_ci,
                s.recall,
                *s.recall_ci,
            ]
            for s in [analysis.overall, *analysis.slices]
        ],
        SLICE_COLUMNS,
    )


def errors_csv(analysis: Analysis) -> str:
    return _csv(
        [
            [
                e.kind,
                e.ref,
                *e.xyxy,
                e.class_name,
                e.score,
                e.size,
                e.iou,
                e.cause,
                e.detail,
                ";".join(e.flags),
            ]
            for e in analysis.errors
        ],
        ERROR_COLUMNS,
    )


def write_report(
    analysis: Analysis,
    dataset: Dataset,
    predictions: Sequence[Detections],
    out_dir: str | os.PathLike[str],
    gallery: int = 12,
) -> dict[str, Path]:
    """Write report.html, slices.json, slices.csv and errors.csv into ``out_dir`` (each atomically)."""
    out = Path(out_dir)
    paths = {name: out / name for name in ("report.html", "slices.json", "slices.csv", "errors.csv")}
    write_text(paths["slices.json"], json.dumps(analysis.to_dict(), indent=1) + "\n")
    write_text(paths["slices.csv"], slices_csv(analysis))
    write_text(paths["errors.csv"], errors_csv(analysis))
    write_bytes(
        paths["report.html"], render_html(analysis, dataset, predictions, gallery=gallery).encode("utf-8")
    )
    return paths
