"""COCO-style greedy matching of detections to ground truth, vectorised across images.

The rule is pycocotools' ``COCOeval.evaluateImg``, reproduced exactly so that our AP equals
theirs: per image and class, detections in score order (stable sort, at most ``max_dets``) each
take the unmatched ground truth (GT) box with the highest IoU at or above the threshold, ties going
to the *later* box; a regular GT box always beats an ignored one; crowd boxes may be matched many
times and their IoU divides by the detection's area only.

"Regions" generalise COCO's area ranges: a region marks some GT boxes as ignored (out of range,
out of slice) and some detections as outside it. A detection matched to an ignored box, or unmatched
and outside the region, is neither a true nor a false positive there. Every region is matched in one
pass.

Instead of pycocotools' Python loops over threshold x detection x GT, we step through detection
*ranks*: step ``r`` handles the r-th detection of every (image, class) group at once, for every
IoU threshold and region, as boolean arrays of shape (groups, regions, thresholds, GT boxes).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from pigskin.detections import Detections

IOU_THRESHOLDS = np.linspace(0.5, 0.95, int(np.round((0.95 - 0.5) / 0.05)) + 1, endpoint=True)
_CHUNK_ELEMENTS = 4_000_000  # bound on (groups x regions x thresholds x GT) per step: memory, not speed


def is_crowd(dets: Detections) -> np.ndarray:
    """COCO's ``iscrowd`` from a box attribute (absent means no crowd boxes)."""
    v = dets.attrs.get("iscrowd")
    if v is None:
        return np.zeros(len(dets), bool)
    return np.array([bool(x) and x not in ("0", "false", "no") for x in v.tolist()], bool)


@dataclass
class BoxTable:
    """Boxes of many images as flat arrays, sorted by (class, image, rank).

    ``rank`` is the position inside the (image, class) group: score order for detections (stable,
    so ties keep the file order, as pycocotools), file order for GT. ``source`` indexes the box in
    its own sample's :class:`Detections`.
    """

    xywh: np.ndarray  # (N, 4) float64
    image: np.ndarray  # (N,) int64
    class_id: np.ndarray  # (N,) int64
    score: np.ndarray  # (N,) float64; 1 for GT
    crowd: np.ndarray  # (N,) bool; False for detections
    rank: np.ndarray  # (N,) int64
    source: np.ndarray  # (N,) int64

    def __len__(self) -> int:
        return int(self.image.shape[0])

    @property
    def xyxy(self) -> np.ndarray:
        return np.concatenate([self.xywh[:, :2], self.xywh[:, :2] + self.xywh[:, 2:]], axis=1)

    @property
    def area(self) -> np.ndarray:
        return self.xywh[:, 2] * self.xywh[:, 3]

    @property
    def longest(self) -> np.ndarray:
        return np.maximum(self.xywh[:, 2], self.xywh[:, 3])

    def subset(self, mask: np.ndarray) -> "BoxTable":
        return BoxTable(*(getattr(self, f)[mask] for f in self.__dataclass_fields__))


def _table(per_image: Sequence[Detections], is_gt: bool, max_dets: int | None) -> BoxTable:
    n = [len(d) for d in per_image]
    total = sum(n)
    if total == 0:
        z = np.zeros(0, np.int64)
        return BoxTable(np.zeros((0, 4)), z, z, np.zeros(0), np.zeros(0, bool), z, z)
    xyxy = np.concatenate([d.xyxy for d in per_image if len(d)]).astype(np.float64)
    xywh = np.concatenate([xyxy[:, :2], xyxy[:, 2:] - xyxy[:, :2]], axis=1)
    image = np.repeat(np.arange(len(per_image)), n)
    cls = np.concatenate([d.class_id for d in per_image if len(d)])
    source = np.concatenate([np.arange(k) for k in n if k])
    if is_gt:
        score = np.ones(total)
        crowd = np.concatenate([is_crowd(d) for d in per_image if len(d)])
        order = np.lexsort((source, image, cls))
    else:
        score = np.concatenate(
            [
                np.ones(len(d)) if d.confidence is None else d.confidence.astype(np.float64)
                for d in per_image
                if len(d)
            ]
        )
        crowd = np.zeros(total, bool)
        order = np.lexsort((source, -score, image, cls))
    t = BoxTable(
        xywh[order],
        image[order],
        cls[order],
        score[order],
        crowd[order],
        np.zeros(total, np.int64),
        source[order],
    )
    key = t.class_id * len(per_image) + t.image
    starts = np.r_[0, np.flatnonzero(np.diff(key)) + 1]
    t.rank = np.arange(total) - np.repeat(starts, np.diff(np.r_[starts, total]))
    if max_dets is not None:
        t = t.subset(t.rank < max_dets)
    return t


def gt_table(per_image: Sequence[Detections]) -> BoxTable:
    """Ground truth of every image; ``attrs['iscrowd']`` marks crowd boxes."""
    return _table(per_image, True, None)


def det_table(per_image: Sequence[Detections], max_dets: int = 100) -> BoxTable:
    """Detections of every image, best first per (image, class), at most ``max_dets`` each.

    Missing ``confidence`` counts as 1.0 (a labelled file used as predictions).
    """
    return _table(per_image, False, max_dets)


def box_iou_xywh(d: np.ndarray, g: np.ndarray, crowd: np.ndarray) -> np.ndarray:
    """pycocotools' ``bbIou`` on broadcastable (..., 4) xywh arrays; crowd GT: divide by the dt area."""
    w = np.minimum(d[..., 0] + d[..., 2], g[..., 0] + g[..., 2]) - np.maximum(d[..., 0], g[..., 0])
    h = np.minimum(d[..., 1] + d[..., 3], g[..., 1] + g[..., 3]) - np.maximum(d[..., 1], g[..., 1])
    inter = np.where((w > 0) & (h > 0), w * h, 0.0)
    da = d[..., 2] * d[..., 3]
    union = np.where(crowd, da, da + g[..., 2] * g[..., 3] - inter)
    return np.where(inter > 0, inter / np.where(union > 0, union, 1.0), 0.0)


@dataclass
class Matches:
    """Outcome of matching, per region ``a`` and IoU threshold ``t``."""

    dt_gt: np.ndarray  # (A, T, D) int64: GT row matched by each detection, -1 if none
    dt_ignore: np.ndarray  # (A, T, D) bool: matched an ignored GT, or unmatched and outside the region
    gt_dt: np.ndarray  # (A, T, G) int64: detection row matched to each GT, -1 if none
    gt_ignore: np.ndarray  # (A, G) bool: crowd or outside the region


def _groups(t: BoxTable, n_images: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    key = t.class_id * n_images + t.image
    uniq, start, count = np.unique(key, return_index=True, return_counts=True)
    return uniq, start, count


def match(
    gt: BoxTable,
    dt: BoxTable,
    n_images: int,
    gt_ignore: np.ndarray | None = None,
    dt_outside: np.ndarray | None = None,
    iou_thresholds: np.ndarray = IOU_THRESHOLDS,
) -> Matches:
    """Match ``dt`` to ``gt`` per (image, class) for every region and IoU threshold.

    ``gt_ignore`` (A, G) and ``dt_outside`` (A, D) define the regions (default: one region, all
    boxes in); crowd GT boxes are always ignored, as in COCO.
    """
    thr = np.minimum(np.asarray(iou_thresholds, np.float64), 1 - 1e-10)
    T, G, D = len(thr), len(gt), len(dt)
    if gt_ignore is None:
        gt_ignore = np.zeros((1, G), bool)
    ign = np.asarray(gt_ignore, bool) | gt.crowd[None, :]
    A = ign.shape[0]
    outside = np.zeros((A, D), bool) if dt_outside is None else np.asarray(dt_outside, bool)
    if outside.shape != (A, D):
        raise ValueError(f"dt_outside: expected shape {(A, D)}, got {outside.shape}")
    dt_gt = np.full((A, T, D), -1, np.int64)
    gt_dt = np.full((A, T, G), -1, np.int64)
    dt_ig = np.zeros((A, T, D), bool)

    gkey, gstart, gcount = _groups(gt, n_images)
    dkey, dstart, dcount = _groups(dt, n_images)
    both, gi, di = np.intersect1d(gkey, dkey, assume_unique=True, return_indices=True)
    if len(both):
        _match_groups(gt, dt, ign, thr, gstart[gi], gcount[gi], dstart[di], dcount[di], dt_gt, dt_ig, gt_dt)
    dt_ig |= (dt_gt < 0) & outside[:, None, :]
    return Matches(dt_gt, dt_ig, gt_dt, ign)


def _match_groups(gt, dt, ign, thr, gstart, gcount, dstart, dcount, dt_gt, dt_ig, gt_dt) -> None:
    """Greedy matching of groups that have both GT and detections, in memory-bounded chunks.

    Groups are bucketed by powers of two of their GT and detection counts, so padding costs at
    most 4x; inside a chunk they are sorted by detection count, so the groups still active at
    rank ``r`` are a suffix.
    """
    A, T = ign.shape[0], len(thr)
    gb = np.ceil(np.log2(gcount)).astype(np.int64)
    db = np.ceil(np.log2(dcount)).astype(np.int64)
    order = np.lexsort((dcount, db, gb))
    bounds = np.flatnonzero(np.diff(gb[order]) | np.diff(db[order])) + 1
    for block in np.split(order, bounds):
        gmax, dmax = int(gcount[block].max()), int(dcount[block].max())
        per_chunk = max(1, _CHUNK_ELEMENTS // (gmax * (A * T + dmax)))
        for i in range(0, len(block), per_chunk):
            chunk = block[i : i + per_chunk]
            chunk = chunk[np.argsort(dcount[chunk], kind="stable")]
            _match_chunk(
                gt,
                dt,
                ign,
                thr,
                gstart[chunk],
                gcount[chunk],
                dstart[chunk],
                dcount[chunk],
                int(gcount[chunk].max()),
                int(dcount[chunk].max()),
                dt_gt,
                dt_ig,
                gt_dt,
            )


def _match_chunk(gt, dt, ign, thr, gs, gc, ds, dc, gmax, dmax, dt_gt, dt_ig, gt_dt) -> None:
    A, T, B = ign.shape[0], len(thr), len(gs)
    ar_g, ar_d = np.arange(gmax), np.arange(dmax)
    gvalid = ar_g[None, :] < gc[:, None]
    # GT columns in reverse file order: argmax returns the first maximum, which is then the *last*
    # box in file order, pycocotools' tie rule
    gidx = np.where(gvalid, gs[:, None] + gc[:, None] - 1 - ar_g[None, :], 0)  # (B, Gm) rows into gt
    dvalid = ar_d[None, :] < dc[:, None]
    didx = np.where(dvalid, ds[:, None] + ar_d[None, :], 0)  # (B, Dm) rows into dt
    crowd = gt.crowd[gidx] & gvalid
    iou = box_iou_xywh(dt.xywh[didx][:, :, None, :], gt.xywh[gidx][:, None, :, :], crowd[:, None, :])
    iou = np.where(gvalid[:, None, :] & dvalid[:, :, None], iou, -1.0)  # padding never matches
    gig = ign[:, gidx].transpose(1, 0, 2)  # (B, A, Gm)
    # a regular box always beats an ignored one: rank regular IoUs x4 (exact, order-preserving)
    scale = np.where(gig, 1.0, 4.0)
    free = np.ones((B, A, T, gmax), bool)  # not yet taken (crowd boxes stay free)
    for r in range(dmax):
        s = int(np.searchsorted(dc, r, side="right"))  # groups with more than r detections
        iou_r = iou[s:, r, :]  # (b, Gm)
        cand = iou_r[:, None, :] >= thr[None, :, None]  # (b, T, Gm)
        if not cand.any():
            continue
        c = free[s:] & cand[:, None, :, :]  # (b, A, T, Gm)
        hit = c.any(-1)
        bi, ai, ti = np.nonzero(hit)
        if not len(bi):
            continue
        key = np.where(c, (iou_r[:, None, :] * scale[s:])[:, :, None, :], -np.inf)
        m = np.argmax(key, axis=-1)[bi, ai, ti]
        b = s + bi
        free[b, ai, ti, m] = crowd[b, m]
        drow = didx[b, r]
        grow = gidx[b, m]
        dt_gt[ai, ti, drow] = grow
        dt_ig[ai, ti, drow] = gig[b, ai, m]
        gt_dt[ai, ti, grow] = drow
