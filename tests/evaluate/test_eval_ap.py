"""Hand-computed AP cases; each expected value is worked out in the comments."""

from __future__ import annotations

import math

import numpy as np
import pytest

from pigskin.detections import Detections
from pigskin.evaluate.metrics import REC_THRESHOLDS, EvalConfig, evaluate, precision_recall, voc_ap
from pigskin.evaluate.reference import pycocotools_stats
from pigskin.samples import Dataset, Sample

FAR = [500.0, 400.0, 520.0, 420.0]  # overlaps nothing below


def dataset(gt_boxes: list[list[list[float]]]) -> Dataset:
    return Dataset(
        ["football"],
        [
            Sample(
                f"f{i}.jpg",
                640,
                480,
                Detections(np.array(b, np.float32).reshape(-1, 4), np.zeros(len(b), int)),
            )
            for i, b in enumerate(gt_boxes)
        ],
    )


def preds(rows: list[list[tuple[list[float], float]]]) -> list[Detections]:
    return [
        Detections(
            np.array([b for b, _ in r], np.float32).reshape(-1, 4),
            np.zeros(len(r), int),
            np.array([s for _, s in r], np.float32),
        )
        for r in rows
    ]


def test_all_right():
    # two 20x20 balls (area 400: COCO "small", longest side 20: ball bucket 16-32), found exactly.
    # Every threshold: TP, TP -> recall [.5, 1], precision [1, 1] -> precision 1 at all 101 points.
    gt = dataset([[[10, 10, 30, 30]], [[50, 50, 70, 70]]])
    rep = evaluate(gt, preds([[([10, 10, 30, 30], 0.9)], [([50, 50, 70, 70], 0.8)]]))
    m = rep.metrics
    for k in ("AP", "AP50", "AP75", "AP_small", "AP_ball_16_32", "VOC_AP50", "VOC_AP50_11pt", "AR100"):
        assert m[k] == pytest.approx(1.0, abs=1e-12), k
    for k in ("AP_medium", "AP_large", "AP_ball_lt8", "AP_ball_gt32"):  # no GT there: undefined
        assert math.isnan(m[k]), k
    assert (m["precision"], m["recall"], m["F1"], m["TP"], m["FP"], m["FN"]) == pytest.approx(
        (1, 1, 1, 2, 0, 0)
    )
    assert rep.to_dict()["AP_medium"] is None


def test_all_wrong():
    # detections overlap no GT: recall stays 0, precision 0 -> every recall point reads 0.
    gt = dataset([[[10, 10, 30, 30]], [[50, 50, 70, 70]]])
    rep = evaluate(gt, preds([[(FAR, 0.9)], [(FAR, 0.8)]]))
    assert rep.metrics["AP"] == 0.0 and rep.metrics["AP50"] == 0.0 and rep.metrics["VOC_AP50"] == 0.0
    assert (rep.metrics["precision"], rep.metrics["recall"], rep.metrics["F1"]) == (0.0, 0.0, 0.0)


def test_no_ground_truth():
    # nothing to find: AP is undefined (pycocotools' -1), precision 0 (2 FPs), recall undefined.
    gt = dataset([[], []])
    rep = evaluate(gt, preds([[(FAR, 0.9)], []]))
    assert (
        math.isnan(rep.metrics["AP"])
        and math.isnan(rep.metrics["AP50"])
        and math.isnan(rep.metrics["recall"])
    )
    assert rep.metrics["precision"] == 0.0
    assert rep.to_dict()["AP"] is None


def test_no_predictions():
    # 2 GT, no detections: recall 0 everywhere -> AP 0; precision undefined, F1 0 (nothing found).
    gt = dataset([[[10, 10, 30, 30]], [[50, 50, 70, 70]]])
    rep = evaluate(gt, [Detections.empty(True), Detections.empty(True)])
    assert rep.metrics["AP"] == 0.0 and rep.metrics["AP50"] == 0.0
    assert math.isnan(rep.metrics["precision"]) and rep.metrics["recall"] == 0.0 and rep.metrics["F1"] == 0.0
    assert rep.points.fn == 2 and rep.points.recall == 0.0


def test_mixed_ranking_101_point_and_voc():
    # 3 GT balls (one per image); ranked detections TP(.9) FP(.8) TP(.7) FP(.6):
    # recall [1/3, 1/3, 2/3, 2/3], precision [1, 1/2, 2/3, 1/2], envelope [1, 2/3, 2/3, 1/2].
    # COCO 101-point: t=0..0.33 (34 points) read 1, t=0.34..0.66 (33) read 2/3, t>=0.67 (34) read 0
    #   -> AP50 = (34 + 33 * 2/3) / 101 = 56/101.
    # VOC all-point: 1/3 * 1 + 1/3 * 2/3 = 5/9;  11-point: t=0..0.3 -> 1 (4), 0.4..0.6 -> 2/3 (3), rest 0
    #   -> (4 + 2) / 11 = 6/11.
    gt = dataset([[[10, 10, 30, 30]], [[50, 50, 70, 70]], [[100, 100, 120, 120]]])
    p = preds([[([10, 10, 30, 30], 0.9), (FAR, 0.8)], [([50, 50, 70, 70], 0.7), (FAR, 0.6)], []])
    rep = evaluate(gt, p)
    assert rep.metrics["AP50"] == pytest.approx(56 / 101, abs=1e-12)
    assert rep.metrics["VOC_AP50"] == pytest.approx(5 / 9, abs=1e-12)
    assert rep.metrics["VOC_AP50_11pt"] == pytest.approx(6 / 11, abs=1e-12)
    assert pycocotools_stats(gt, p)["AP50"] == pytest.approx(56 / 101, abs=1e-12)


@pytest.mark.parametrize("tp_first, expected", [(True, 1.0), (False, 0.5)])
def test_tied_scores_follow_file_order(tp_first, expected):
    # one GT, two detections both scoring .9. Ties keep file order (pycocotools' stable sort):
    # TP then FP: recall [1, 1], precision [1, .5] -> envelope reads 1 everywhere -> AP50 1.
    # FP then TP: recall [0, 1], precision [0, .5] -> envelope [.5, .5] -> AP50 .5.
    gt = dataset([[[10, 10, 30, 30]]])
    rows = [([10, 10, 30, 30], 0.9), (FAR, 0.9)]
    p = preds([rows if tp_first else rows[::-1]])
    assert evaluate(gt, p).metrics["AP50"] == pytest.approx(expected, abs=1e-12)
    assert pycocotools_stats(gt, p)["AP50"] == pytest.approx(expected, abs=1e-12)


def test_tied_scores_across_images_follow_image_order():
    # image 0 holds an FP at .9, image 1 the only GT and a TP at .9: image order puts the FP first -> .5
    gt = dataset([[], [[10, 10, 30, 30]]])
    p = preds([[(FAR, 0.9)], [([10, 10, 30, 30], 0.9)]])
    assert evaluate(gt, p).metrics["AP50"] == pytest.approx(0.5, abs=1e-12)
    assert pycocotools_stats(gt, p)["AP50"] == pytest.approx(0.5, abs=1e-12)


def test_iou_threshold_boundaries():
    # GT 0..20 x 0..10; detection 0..20 x 0..15: IoU = 200 / 300 = 2/3: a hit at .50-.65 (4 of the
    # 10 thresholds), a miss from .70 up. Precision 1 or 0 at every point -> AP = 4/10, AP75 = 0.
    gt = dataset([[[0, 0, 20, 10]]])
    rep = evaluate(gt, preds([[([0, 0, 20, 15], 0.5)]]))
    assert rep.metrics["AP50"] == pytest.approx(1.0) and rep.metrics["AP75"] == 0.0
    assert rep.metrics["AP"] == pytest.approx(0.4, abs=1e-12)


def test_crowd_box_absorbs_detections():
    # a crowd GT is ignored: detections inside it are neither TP nor FP, so the real ball's AP stays 1
    gt = Dataset(
        ["football"],
        [
            Sample(
                "a.jpg",
                640,
                480,
                Detections(
                    np.array([[10, 10, 30, 30], [100, 100, 300, 300]], np.float32),
                    [0, 0],
                    attrs={"iscrowd": [0, 1]},
                ),
            )
        ],
    )
    p = preds([[([10, 10, 30, 30], 0.5), ([120, 120, 140, 140], 0.9), ([150, 150, 170, 170], 0.8)]])
    rep = evaluate(gt, p)
    assert (
        rep.metrics["AP50"] == pytest.approx(1.0)
        and rep.metrics["FP"] == 0
        and rep.counts["crowd_boxes"] == 1
    )
    assert pycocotools_stats(gt, p)["AP50"] == pytest.approx(1.0)


def test_precision_recall_and_voc_functions():
    # the same ranking as test_mixed_ranking, straight into the accumulate step
    q, rc, rank = precision_recall(np.array([1, 0, 1, 0]), np.array([0, 1, 0, 1]), 3)
    assert q.mean() == pytest.approx(56 / 101) and rc == pytest.approx(2 / 3)
    assert rank[0] == 0 and rank[50] == 2 and rank[-1] == -1  # recall .5 first reached at rank 2
    assert REC_THRESHOLDS.shape == (101,)
    rec, prec = np.array([1, 1, 2, 2]) / 3, np.array([1, 1 / 2, 2 / 3, 1 / 2])
    assert voc_ap(rec, prec) == pytest.approx(5 / 9) and voc_ap(
        rec, prec, eleven_point=True
    ) == pytest.approx(6 / 11)
    q, rc, _ = precision_recall(np.zeros(0), np.zeros(0), 0)
    assert np.isnan(q).all() and np.isnan(rc)


def test_operating_threshold_and_ball_classes():
    # two classes; ball metrics default to the '*ball*' class; threshold .5 drops the .4 TP
    ds = Dataset(
        ["football", "player"],
        [
            Sample(
                "a.jpg",
                640,
                480,
                Detections(np.array([[10, 10, 30, 30], [100, 100, 140, 200]], np.float32), [0, 1]),
            )
        ],
    )
    p = [Detections(np.array([[10, 10, 30, 30], [100, 100, 140, 200]], np.float32), [0, 1], [0.4, 0.9])]
    rep = evaluate(ds, p, EvalConfig(score_threshold=0.5))
    assert rep.per_class["football"]["recall"] == 0.0 and rep.per_class["player"]["recall"] == 1.0
    assert rep.metrics["AP50"] == pytest.approx(1.0)  # ranking is perfect in each class
    assert rep.points.fn == 1 and rep.points.tp == 0  # the ball's only prediction is under .5
    assert rep.metrics["AP_ball_16_32"] == pytest.approx(1.0)
    assert math.isnan(rep.metrics["AP_ball_gt32"])  # the 40x100 player is not a ball
