"""Box metrics: COCO AP (equal to pycocotools'), AP by COCO and ball size, VOC AP, PR curves, P/R/F1.

``evaluate(dataset, predictions)`` is the entry point; the pieces below it are plain functions on
the flat tables of :mod:`pigskin.evaluate.matching` so that slices and bootstraps reuse them.
Undefined values (a class or size range with no ground truth) are NaN here and ``null`` in JSON,
where pycocotools writes -1.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from pigskin.detections import Detections
from pigskin.errors import PigskinError
from pigskin.evaluate.matching import IOU_THRESHOLDS, BoxTable, Matches, det_table, gt_table, match
from pigskin.evaluate.points import PointMetrics, point_metrics
from pigskin.evaluate.pr import f1_score, voc_ap
from pigskin.samples import Dataset

REC_THRESHOLDS = np.linspace(0.0, 1.00, int(np.round((1.00 - 0.0) / 0.01)) + 1, endpoint=True)


@dataclass(frozen=True)
class SizeRange:
    """A size range in COCO's sense: GT outside it is ignored, and so are unmatched detections outside it.

    ``measure`` is ``"area"`` (w*h, COCO) or ``"longest"`` (longest side, the ball buckets).
    COCO's ranges include both ends; ``closed=False`` makes ``[lo, hi)`` so ball buckets do not overlap.
    """

    name: str
    lo: float
    hi: float
    measure: str = "area"
    closed: bool = True

    def outside(self, t: BoxTable) -> np.ndarray:
        v = t.area if self.measure == "area" else t.longest
        return (v < self.lo) | ((v > self.hi) if self.closed else (v >= self.hi))


COCO_RANGES = (
    SizeRange("all", 0, 1e10),
    SizeRange("small", 0, 32**2),
    SizeRange("medium", 32**2, 96**2),
    SizeRange("large", 96**2, 1e10),
)
BALL_RANGES = (
    SizeRange("ball_lt8", 0, 8, "longest", False),
    SizeRange("ball_8_16", 8, 16, "longest", False),
    SizeRange("ball_16_32", 16, 32, "longest", False),
    SizeRange("ball_gt32", 32, math.inf, "longest", False),
)


def precision_recall(
    tp: np.ndarray,
    fp: np.ndarray,
    n_pos: np.ndarray | float,
    rec_thresholds: np.ndarray = REC_THRESHOLDS,
    exact: bool = True,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """COCO's accumulate step for detections already sorted best first.

    ``tp``/``fp`` are (..., n) weights (booleans, or bootstrap multiplicities); ``n_pos`` broadcasts
    to the leading shape. Returns the interpolated precision at each recall threshold (..., R) (the
    precision envelope read at the first rank reaching that recall, 0 beyond the last recall), the
    final recall (...), and the rank used for each threshold (..., R), -1 where none. Where
    ``n_pos == 0`` precision and recall are NaN.

    ``exact=False`` finds all ranks with one search over the rows laid end to end (offset by 2 per
    row), which can move a recall that equals a threshold to within 1e-12 by one rank: fine for
    bootstrap resamples, not for agreement with pycocotools.
    """
    tp = np.asarray(tp, np.float64)
    fp = np.asarray(fp, np.float64)
    lead, n = tp.shape[:-1], tp.shape[-1]
    n_pos = np.broadcast_to(np.asarray(n_pos, np.float64), lead)
    R = len(rec_thresholds)
    q = np.zeros(lead + (R,))
    rank = np.full(lead + (R,), -1, np.int64)
    recall = np.zeros(lead)
    if n:
        tps, fps = np.cumsum(tp, -1), np.cumsum(fp, -1)
        with np.errstate(divide="ignore", invalid="ignore"):
            rc = tps / n_pos[..., None]
        pr = tps / (fps + tps + np.spacing(1))
        pr = np.maximum.accumulate(pr[..., ::-1], axis=-1)[..., ::-1]  # precision envelope
        recall = rc[..., -1].copy()
        if exact:
            ind = np.full(lead + (R,), n, np.int64)
            for idx in np.ndindex(*lead):
                if n_pos[idx] > 0:
                    ind[idx] = np.searchsorted(rc[idx], rec_thresholds, side="left")
        else:
            rows = int(np.prod(lead, dtype=np.int64))
            off = 2.0 * np.arange(rows)[:, None]
            flat = (np.nan_to_num(rc.reshape(rows, n), nan=0.0) + off).ravel()
            ind = np.searchsorted(flat, (rec_thresholds[None, :] + off).ravel(), side="left")
            ind = (ind.reshape(rows, R) - n * np.arange(rows)[:, None]).reshape(lead + (R,))
        ok = ind < n
        q = np.where(ok, np.take_along_axis(pr, np.minimum(ind, n - 1), axis=-1), 0.0)
        rank = np.where(ok, ind, -1)
    undefined = n_pos <= 0
    q[undefined] = np.nan
    rank[undefined] = -1
    recall = np.where(undefined, np.nan, recall)
    return q, recall, rank


@dataclass
class CocoResult:
    """Everything COCOeval keeps, plus the tables and matches for later slicing."""

    precision: np.ndarray  # (T, R, K, A, M), NaN where a class has no GT in a range
    recall: np.ndarray  # (T, K, A, M)
    scores: np.ndarray  # (T, R, K, A, M): score at each recall threshold, 0 where unreached
    gt: BoxTable
    dt: BoxTable
    matches: Matches
    ranges: tuple[SizeRange, ...]
    max_dets: tuple[int, ...]
    n_classes: int

    def mean(
        self,
        kind: str = "ap",
        iou: float | None = None,
        rng: str = "all",
        max_det: int | None = None,
        classes: Sequence[int] | None = None,
    ) -> float:
        """COCO's ``_summarize``: mean over thresholds, recall points and classes with GT; NaN if none."""
        a = [r.name for r in self.ranges].index(rng)
        m = self.max_dets.index(max_det if max_det is not None else self.max_dets[-1])
        k = list(range(self.n_classes)) if classes is None else list(classes)
        s = self.precision[:, :, k, a, m] if kind == "ap" else self.recall[:, k, a, m]
        if iou is not None:
            s = s[int(np.argmin(np.abs(IOU_THRESHOLDS - iou)))]
        s = s[np.isfinite(s)]
        return float(s.mean()) if s.size else math.nan

    def ranked(self, k: int, max_det: int | None = None) -> np.ndarray:
        """Detection rows of class ``k`` (at most ``max_det`` per image) in COCO's global score order."""
        m = max_det if max_det is not None else self.max_dets[-1]
        rows = np.flatnonzero((self.dt.class_id == k) & (self.dt.rank < m))
        return rows[np.argsort(-self.dt.score[rows], kind="mergesort")]


def coco_eval(
    gt: Sequence[Detections],
    predictions: Sequence[Detections],
    n_classes: int,
    ranges: Sequence[SizeRange] = COCO_RANGES + BALL_RANGES,
    max_dets: Sequence[int] = (1, 10, 100),
) -> CocoResult:
    """COCOeval (bbox) on per-image Detections: evaluate + accumulate, one matching pass for every range."""
    if len(gt) != len(predictions):
        raise ValueError(f"{len(gt)} ground-truth images but {len(predictions)} prediction lists")
    ranges, max_dets = tuple(ranges), tuple(sorted(max_dets))
    g, d = gt_table(gt), det_table(predictions, max_dets[-1])
    gt_ign = np.stack([r.outside(g) for r in ranges])
    dt_out = np.stack([r.outside(d) for r in ranges])
    mt = match(g, d, len(gt), gt_ign, dt_out)
    T, R, K, A, M = len(IOU_THRESHOLDS), len(REC_THRESHOLDS), n_classes, len(ranges), len(max_dets)
    precision = np.full((T, R, K, A, M), np.nan)
    recall = np.full((T, K, A, M), np.nan)
    scores = np.full((T, R, K, A, M), np.nan)
    result = CocoResult(precision, recall, scores, g, d, mt, ranges, max_dets, n_classes)
    for k in range(K):
        gk = g.class_id == k
        n_pos = (gk[None, :] & ~mt.gt_ignore).sum(1)  # (A,)
        for m, md in enumerate(max_dets):
            rows = result.ranked(k, md)
            tp = (mt.dt_gt[:, :, rows] >= 0) & ~mt.dt_ignore[:, :, rows]
            fp = (mt.dt_gt[:, :, rows] < 0) & ~mt.dt_ignore[:, :, rows]
            q, rc, rank = precision_recall(tp, fp, n_pos[:, None])  # (A, T, R), (A, T)
            precision[:, :, k, :, m] = q.transpose(1, 2, 0)
            recall[:, k, :, m] = rc.T
            sc = np.where(rank >= 0, d.score[rows][np.maximum(rank, 0)] if len(rows) else 0.0, 0.0)
            sc[~np.isfinite(q)] = np.nan
            scores[:, :, k, :, m] = sc.transpose(1, 2, 0)
    return result


# -- the whole evaluation -------------------------------------------------------------------------


def ball_class_ids(classes: Sequence[str], names: Sequence[str] | None = None) -> list[int]:
    """Classes the ball metrics are about: ``names`` if given, else every class named '*ball*', else all."""
    if names:
        missing = [n for n in names if n not in classes]
        if missing:
            raise PigskinError(
                f"ball class {missing[0]!r} is not among the dataset's classes {list(classes)}"
            )
        return [list(classes).index(n) for n in names]
    ids = [i for i, c in enumerate(classes) if "ball" in c.lower()]
    return ids or list(range(len(classes)))


@dataclass(frozen=True)
class EvalConfig:
    """What to score and where to set the operating point."""

    score_threshold: float = 0.5  # operating point for precision / recall / F1 and the point metrics
    point_distance: float = 4.0  # px: a point hit is a centre within this distance (TrackNet / WASB: 4)
    ball_classes: tuple[str, ...] | None = None  # None: classes named '*ball*' (else all)
    max_dets: tuple[int, ...] = (1, 10, 100)


@dataclass
class EvalReport:
    """Flat headline metrics, per-class detail, point metrics and PR curves (JSON-ready via ``to_dict``)."""

    metrics: dict[str, float]
    per_class: dict[str, dict[str, float]]
    points: PointMetrics
    pr_curves: dict[str, dict[str, list[float]]]
    config: EvalConfig
    counts: dict[str, int]
    notes: list[str] = field(default_factory=list)
    coco: CocoResult | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {k: _json_num(v) for k, v in self.metrics.items()}
        out["point"] = self.points.to_dict()
        out["per_class"] = {c: {k: _json_num(v) for k, v in d.items()} for c, d in self.per_class.items()}
        out["counts"] = dict(self.counts)
        out["config"] = {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self.config).items()}
        out["pr_curve"] = {
            c: {k: [_json_num(x) for x in v] if isinstance(v, list) else v for k, v in d.items()}
            for c, d in self.pr_curves.items()
        }
        out["notes"] = list(self.notes)
        return out

    def table(self) -> str:
        """The headline numbers as a fixed-width text table."""
        m, p = self.metrics, self.points
        rows = [
            ("AP @[.50:.95]", m["AP"]),
            ("AP50", m["AP50"]),
            ("AP75", m["AP75"]),
            ("AP small / medium / large", (m["AP_small"], m["AP_medium"], m["AP_large"])),
            (
                "AP ball <8 / 8-16 / 16-32 / >32 px",
                (m["AP_ball_lt8"], m["AP_ball_8_16"], m["AP_ball_16_32"], m["AP_ball_gt32"]),
            ),
            ("AR1 / AR10 / AR100", (m["AR1"], m["AR10"], m["AR100"])),
            ("VOC AP50 all-point / 11-point", (m["VOC_AP50"], m["VOC_AP50_11pt"])),
            (f"P / R / F1 @ score {self.config.score_threshold:g}", (m["precision"], m["recall"], m["F1"])),
            (f"point P / R / F1 @ {p.distance:g} px", (p.precision, p.recall, p.f1)),
            ("point accuracy / RMSE px", (p.accuracy, p.rmse)),
        ]
        if len(self.per_class) > 1:
            for name, c in self.per_class.items():
                rows.append((f"{name}: AP / AP50 / P / R", (c["AP"], c["AP50"], c["precision"], c["recall"])))
        width = max(len(r[0]) for r in rows)
        lines = [f"{'metric':<{width}}  value", "-" * (width + 30)]
        for name, v in rows:
            vals = v if isinstance(v, tuple) else (v,)
            lines.append(f"{name:<{width}}  " + " / ".join(_fmt(x) for x in vals))
        lines.append(
            f"{'counts':<{width}}  {self.counts['images']} images, {self.counts['gt_boxes']} GT, "
            f"{self.counts['predictions']} predictions; point TP {p.tp} FP1 {p.fp1} FP2 {p.fp2} "
            f"TN {p.tn} FN {p.fn}"
        )
        return "\n".join(lines)


def _fmt(x: float) -> str:
    return "  -  " if x is None or not np.isfinite(x) else f"{x:.3f}"


def _json_num(v: Any) -> Any:
    if isinstance(v, (float, np.floating)):
        return float(v) if np.isfinite(v) else None
    if isinstance(v, np.integer):
        return int(v)
    return v


def _operating_point(res: CocoResult, classes: Sequence[int], threshold: float) -> dict[str, float]:
    """TP/FP/FN, precision, recall and F1 at IoU .5 for detections scoring at least ``threshold``."""
    mt, d = res.matches, res.dt
    sel = np.isin(d.class_id, classes) & (d.score >= threshold)
    counted = sel & ~mt.dt_ignore[0, 0]
    tp = int((counted & (mt.dt_gt[0, 0] >= 0)).sum())
    fp = int((counted & (mt.dt_gt[0, 0] < 0)).sum())
    n_pos = int((np.isin(res.gt.class_id, classes) & ~mt.gt_ignore[0]).sum())
    p = tp / (tp + fp) if tp + fp else math.nan
    r = tp / n_pos if n_pos else math.nan
    return {"precision": p, "recall": r, "F1": f1_score(p, r), "TP": tp, "FP": fp, "FN": n_pos - tp}


def _voc(res: CocoResult, k: int) -> tuple[float, float]:
    """VOC AP50 (all-point, 11-point) for class ``k`` from the same IoU .5 matching (ignored rows dropped)."""
    mt = res.matches
    rows = res.ranked(k)
    rows = rows[~mt.dt_ignore[0, 0, rows]]
    n_pos = int(((res.gt.class_id == k) & ~mt.gt_ignore[0]).sum())
    if n_pos == 0:
        return math.nan, math.nan
    tp = np.cumsum(mt.dt_gt[0, 0, rows] >= 0)
    fp = np.cumsum(mt.dt_gt[0, 0, rows] < 0)
    rec = tp / n_pos
    prec = tp / np.maximum(tp + fp, np.finfo(np.float64).eps)
    return voc_ap(rec, prec), voc_ap(rec, prec, eleven_point=True)


def evaluate(
    dataset: Dataset, predictions: Sequence[Detections], config: EvalConfig = EvalConfig()
) -> EvalReport:
    """Score ``predictions`` (one Detections per sample, class ids in ``dataset.classes``)."""
    gt = [s.detections for s in dataset.samples]
    K = len(dataset.classes)
    for i, p in enumerate(predictions):
        if len(p) and int(p.class_id.max()) >= K:
            raise PigskinError(
                f"predictions for {dataset.samples[i].image}: class id {int(p.class_id.max())} "
                f"but the dataset has {K} classes"
            )
    res = coco_eval(gt, predictions, K, COCO_RANGES + BALL_RANGES, config.max_dets)
    balls = ball_class_ids(dataset.classes, config.ball_classes)
    md = config.max_dets
    m: dict[str, float] = {
        "AP": res.mean(),
        "AP50": res.mean(iou=0.5),
        "AP75": res.mean(iou=0.75),
        "AP_small": res.mean(rng="small"),
        "AP_medium": res.mean(rng="medium"),
        "AP_large": res.mean(rng="large"),
        "AR1": res.mean("ar", max_det=md[0]),
        "AR10": res.mean("ar", max_det=md[min(1, len(md) - 1)]),
        "AR100": res.mean("ar"),
        "AR_small": res.mean("ar", rng="small"),
        "AR_medium": res.mean("ar", rng="medium"),
        "AR_large": res.mean("ar", rng="large"),
    }
    for r in BALL_RANGES:
        m[f"AP_{r.name}"] = res.mean(rng=r.name, classes=balls)
        m[f"AP50_{r.name}"] = res.mean(iou=0.5, rng=r.name, classes=balls)
    voc = [_voc(res, k) for k in range(K)]
    m["VOC_AP50"] = _nanmean([v[0] for v in voc])
    m["VOC_AP50_11pt"] = _nanmean([v[1] for v in voc])
    m.update(_operating_point(res, range(K), config.score_threshold))

    per_class: dict[str, dict[str, float]] = {}
    curves: dict[str, dict[str, Any]] = {}
    for k, name in enumerate(dataset.classes):
        per_class[name] = {
            "AP": res.mean(classes=[k]),
            "AP50": res.mean(iou=0.5, classes=[k]),
            "AP75": res.mean(iou=0.75, classes=[k]),
            "VOC_AP50": voc[k][0],
            "VOC_AP50_11pt": voc[k][1],
            "n_gt": int(((res.gt.class_id == k) & ~res.gt.crowd).sum()),
            "n_pred": int((res.dt.class_id == k).sum()),
            **_operating_point(res, [k], config.score_threshold),
        }
        prec = res.precision[0, :, k, 0, -1]
        if np.isfinite(prec).all():
            curves[name] = {
                "iou": 0.5,
                "recall": REC_THRESHOLDS.tolist(),
                "precision": prec.tolist(),
                "score": res.scores[0, :, k, 0, -1].tolist(),
            }
    pts = point_metrics(gt, predictions, balls, config.point_distance, config.score_threshold)
    counts = {
        "images": len(dataset),
        "gt_boxes": int((~res.gt.crowd).sum()),
        "crowd_boxes": int(res.gt.crowd.sum()),
        "predictions": int(sum(len(p) for p in predictions)),
    }
    notes = [f"ball metrics use classes {[dataset.classes[k] for k in balls]}"]
    return EvalReport(m, per_class, pts, curves, config, counts, notes, res)


def _nanmean(v: Sequence[float]) -> float:
    a = np.asarray(v, np.float64)
    a = a[np.isfinite(a)]
    return float(a.mean()) if a.size else math.nan
