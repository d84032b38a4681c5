"""Our COCO evaluation equals pycocotools' on random data: crowded, empty and single-box images,
crowd boxes, tied scores."""

from __future__ import annotations

import numpy as np
import pytest

from pigskin.evaluate.metrics import COCO_RANGES, coco_eval, evaluate
from pigskin.evaluate.reference import STAT_NAMES, pycocotools_eval, to_coco_gt, to_coco_results


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4])
def test_summary_equals_pycocotools(make_random, seed):
    ds, preds = make_random(seed)
    ours = evaluate(ds, preds).metrics
    ev = pycocotools_eval(to_coco_gt(ds), to_coco_results(preds))
    for name, ref in zip(STAT_NAMES, ev.stats, strict=True):
        mine = ours[name]
        if ref == -1:
            assert np.isnan(mine), name
        else:
            assert abs(mine - ref) <= 1e-4, (name, mine, ref)
    assert any(len(s.detections) > 14 for s in ds) and any(len(s.detections) == 0 for s in ds)


@pytest.mark.parametrize("seed", [10, 11])
def test_full_precision_array_equals_pycocotools(make_random, seed):
    # stronger than the summary: every (threshold, recall point, class, area) cell and its score
    ds, preds = make_random(seed, n_images=30)
    ours = coco_eval([s.detections for s in ds], preds, len(ds.classes), COCO_RANGES)
    ev = pycocotools_eval(to_coco_gt(ds), to_coco_results(preds))
    for key, mine in (("precision", ours.precision), ("recall", ours.recall), ("scores", ours.scores)):
        ref = np.where(ev.eval[key] == -1, np.nan, ev.eval[key])
        np.testing.assert_allclose(mine, ref, atol=1e-12, equal_nan=True, err_msg=key)


def test_single_class_single_box_images(make_random):
    ds, preds = make_random(7, n_images=25, n_classes=1)
    ours = evaluate(ds, preds).metrics
    ev = pycocotools_eval(to_coco_gt(ds), to_coco_results(preds))
    assert ours["AP"] == pytest.approx(ev.stats[0], abs=1e-4)
    assert ours["AP_small"] == pytest.approx(ev.stats[3], abs=1e-4)
