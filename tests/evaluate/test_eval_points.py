"""Ball-point metrics (TrackNet / WASB counting) on a scripted sequence of frames."""

from __future__ import annotations

import math

import numpy as np
import pytest

from pigskin.detections import Detections
from pigskin.evaluate.points import best_threshold, point_metrics


def ball(cx: float, cy: float) -> list[float]:
    return [cx - 3, cy - 3, cx + 3, cy + 3]


def dets(rows: list[tuple[list[float], float]], cls: int = 0) -> Detections:
    return Detections(
        np.array([b for b, _ in rows], np.float32).reshape(-1, 4),
        [cls] * len(rows),
        np.array([s for _, s in rows], np.float32),
    )


def gt(*centres: tuple[float, float]) -> Detections:
    return Detections(np.array([ball(*c) for c in centres], np.float32).reshape(-1, 4), [0] * len(centres))


def scripted() -> list[tuple[Detections, Detections]]:
    return [
        (
            gt((10, 10)),
            dets([(ball(12, 10), 0.9), (ball(90, 90), 0.2)]),
        ),  # TP, 2 px (the .2 box is not top-1)
        (gt((50, 50)), dets([(ball(60, 50), 0.8)])),  # FP1: 10 px away
        (gt(), dets([(ball(30, 30), 0.7)])),  # FP2: no ball
        (gt(), dets([])),  # TN
        (gt((20, 20)), dets([(ball(20, 20), 0.3)])),  # FN: under the threshold
        (gt((20, 20)), dets([])),  # FN: nothing
        (gt((20, 20)), dets([(ball(100, 100), 0.6), (ball(21, 20), 0.95)])),  # TP, 1 px: the top-1 is near
        (gt((40, 40)), dets([(ball(40, 40), 0.99)], cls=1)),  # FN: a player box is not a ball
    ]


def test_point_counts_on_a_scripted_sequence():
    frames = scripted()
    m = point_metrics(
        [g for g, _ in frames], [p for _, p in frames], classes=[0], distance=4.0, score_threshold=0.5
    )
    assert (m.tp, m.fp1, m.fp2, m.tn, m.fn, m.frames, m.visible) == (2, 1, 1, 1, 3, 8, 6)
    assert m.precision == pytest.approx(2 / 4) and m.recall == pytest.approx(2 / 5)
    assert m.f1 == pytest.approx(2 * 0.5 * 0.4 / 0.9)
    assert m.accuracy == pytest.approx(3 / 8)
    assert m.rmse == pytest.approx(math.sqrt((2**2 + 1**2) / 2))


def test_best_threshold_maximises_f1():
    frames = scripted()
    g, p = [g for g, _ in frames], [p for _, p in frames]
    # F1 by threshold: .95 -> .29, .9 -> .50, .8 -> .50, .7 -> .44, .3 -> .60 (3 TP, 2 FP, 2 FN)
    m = best_threshold(g, p, [0], distance=4.0)
    assert m.score_threshold == pytest.approx(0.3) and (m.tp, m.fp1, m.fp2, m.fn) == (3, 1, 1, 2)
    assert m.f1 == pytest.approx(0.6)
    nothing = best_threshold(g, [dets([]) for _ in g], [0], distance=4.0)
    assert nothing.score_threshold == math.inf and nothing.tp == 0


def test_point_distance_is_inclusive_and_configurable():
    g, p = [gt((10, 10))], [dets([(ball(14, 10), 0.9)])]  # exactly 4 px
    assert point_metrics(g, p, [0], distance=4.0).tp == 1
    assert point_metrics(g, p, [0], distance=3.9).fp1 == 1


def test_point_ap_ranks_frames_by_top_score():
    # 3 visible frames ranked: hit (.9), misplaced (.8), hit (.4) -> recall [1/3, 1/3, 2/3],
    # precision [1, 1/2, 2/3]; VOC area = 1/3 * 1 + 1/3 * 2/3 = 5/9
    g = [gt((10, 10)), gt((10, 10)), gt((10, 10))]
    p = [dets([(ball(10, 10), 0.9)]), dets([(ball(50, 50), 0.8)]), dets([(ball(11, 10), 0.4)])]
    m = point_metrics(g, p, [0])
    assert m.ap == pytest.approx(5 / 9)
    assert point_metrics([gt()], [dets([])], [0]).to_dict()["rmse"] is None
