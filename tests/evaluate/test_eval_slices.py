"""Slice assignment, the per-slice AP rule, bins, and error causes, on scripted scenes."""

from __future__ import annotations

import numpy as np
import pytest

from pigskin.detections import Detections
from pigskin.evaluate.bins import label_values, numeric_bins
from pigskin.evaluate.slices import AnalyzeConfig, analyze
from pigskin.samples import Dataset, Sample


def by_name(result):
    return {s.name: s for s in result.slices}


def test_slice_rule_labels_measures_and_images(sq):
    # two visible 20 px balls (camera a, found at .9) and two occluded 10 px balls (camera b, missed);
    # one 12 px false positive at .95 in image 0, far from everything.
    gt = [
        (sq(50, 50, 20), "none", "a"),
        (sq(100, 100, 20), "none", "a"),
        (sq(60, 60, 10), "heavy", "b"),
        (sq(120, 120, 10), "heavy", "b"),
    ]
    samples = [
        Sample(
            f"f{i}.jpg",
            200,
            200,
            Detections(np.array([b], np.float32), [0], attrs={"occlusion": [o]}),
            attrs={"camera": c},
        )
        for i, (b, o, c) in enumerate(gt)
    ]
    # a fifth, empty frame from camera c: a bin without balls is no slice; per-frame ids are no slices
    samples.append(Sample("f4.jpg", 200, 200, attrs={"camera": "c"}))
    for i, s in enumerate(samples):
        s.attrs["frame"] = 1000 + i
    ds = Dataset(["football"], samples)
    preds = [
        Detections(np.array([gt[0][0], sq(150, 150, 12)], np.float32), [0, 0], [0.9, 0.95]),
        Detections(np.array([gt[1][0]], np.float32), [0], [0.9]),
        Detections.empty(True),
        Detections.empty(True),
        Detections.empty(True),
    ]
    res = analyze(ds, preds, AnalyzeConfig(bootstrap=0, measure_pixels=False, min_count=1))
    s = by_name(res)
    assert set(s) == {
        "camera = a",
        "camera = b",
        "occlusion = heavy",
        "occlusion = none",
        "size = 8-16 px",
        "size = 16-32 px",
    }  # one-bin attributes (aspect, position) dropped
    assert [s[k].source for k in ("camera = a", "occlusion = none", "size = 8-16 px")] == [
        "image label",
        "box label",
        "measured",
    ]
    assert all(x.count == 2 and x.images == 2 for x in res.slices)
    # overall: FP(.95) TP TP of 4 -> recall [0, .25, .5], precision envelope 2/3 up to recall .5
    assert res.overall.ap50 == pytest.approx(51 * (2 / 3) / 101, abs=1e-9)
    assert res.overall.recall == pytest.approx(0.5)
    # box label: the FP cannot be placed, so it weighs its share 2/4: precision 2 / 2.5 = .8 throughout
    assert s["occlusion = none"].ap50 == pytest.approx(0.8, abs=1e-9) and s["occlusion = none"].recall == 1.0
    # the detections matched to "none" balls are ignored for "heavy", the FP weighs .5: AP 0
    assert s["occlusion = heavy"].ap50 == 0.0 and s["occlusion = heavy"].recall == 0.0
    # image label: the FP is in a camera-a image and counts fully there, not at all in camera b
    assert s["camera = a"].ap50 == pytest.approx(2 / 3, abs=1e-9) and s["camera = b"].ap50 == 0.0
    # measured: the 12 px FP belongs to "8-16 px" only, so "16-32 px" is perfect
    assert s["size = 16-32 px"].ap50 == pytest.approx(1.0, abs=1e-9) and s["size = 8-16 px"].ap50 == 0.0
    assert {w["attribute"] for w in res.weakest} >= {"occlusion", "camera", "size"}
    assert res.weakest[0]["gap"] >= res.weakest[-1]["gap"]


def test_bootstrap_intervals_bracket_the_estimate(make_random):
    ds, preds = make_random(3, n_images=30, n_classes=1)
    res = analyze(ds, preds, AnalyzeConfig(bootstrap=60, seed=1, measure_pixels=False, classes=("c0",)))
    again = analyze(ds, preds, AnalyzeConfig(bootstrap=60, seed=1, measure_pixels=False, classes=("c0",)))
    ov = res.overall
    assert ov.ap50_ci[0] <= ov.ap50 <= ov.ap50_ci[1] and ov.ap50_ci[0] < ov.ap50_ci[1]
    assert ov.recall_ci[0] <= ov.recall <= ov.recall_ci[1]
    assert ov.ap50_ci == again.overall.ap50_ci  # seeded


def test_numeric_bins_give_a_common_value_its_own_bin():
    nb = numeric_bins(np.array([0, 0, 0, 0, 0, 0, 0.1, 0.2, 0.5, 0.9]), 3)
    assert nb.bins == ["0", "low (0.1-0.2)", "high (0.5-0.9)"]
    assert nb.labels(np.array([0.0, 0.15, 0.7, np.nan])).tolist() == [
        "0",
        "low (0.1-0.2)",
        "high (0.5-0.9)",
        None,
    ]
    top = numeric_bins(np.array([1, 1, 1, 1, 1, 0.25, 0.3, 0.5, 0.9, 0.95]), 3)  # "visible": mode on top
    assert top.bins == ["low (0.25-0.3)", "high (0.5-0.95)", "1"]
    even = numeric_bins(np.arange(9.0), 3)
    assert even.bins == ["low (0-2)", "mid (3-5)", "high (6-8)"]


def test_label_values_categories_bools_and_overflow():
    cfg = AnalyzeConfig(max_categories=3)
    lab, bins = label_values(["heavy", "none", None, "heavy", "partial", "x", "y"], cfg)
    assert bins == ["heavy", "none", "other"] and lab[2] is None and lab[5] == "other"
    lab, bins = label_values([True, False, True], cfg)
    assert bins == ["no", "yes"] and lab.tolist() == ["yes", "no", "yes"]


def test_error_causes(sq):
    # classes football + player; threshold .5
    balls = [sq(50, 50, 20), sq(120, 50, 20), sq(100, 120, 5), [2, 90, 22, 110], sq(60, 150, 20)]
    player = [140, 100, 180, 190]
    gt = Detections(
        np.array(balls + [player], np.float32),
        [0, 0, 0, 0, 0, 1],
        attrs={"occlusion": [None, None, None, "heavy", None, None]},
    )
    sample = Sample(
        "f.jpg", 200, 200, gt, attrs={"lookalikes": [{"xyxy": [20, 150, 36, 166], "kind": "helmet"}]}
    )
    pred_boxes = [
        (balls[0], 0.9),  # TP
        ([41, 40, 61, 60], 0.8),  # duplicate of ball 0 (IoU ~ .9)
        ([120, 40, 140, 60], 0.7),  # ball 1 shifted 10 px: IoU 1/3 -> poor localisation
        (sq(160, 110, 8), 0.7),  # on the player -> look-alike: player
        (sq(28, 158, 10), 0.6),  # on the helmet -> look-alike: helmet
        (sq(100, 180, 8), 0.6),  # nothing there -> background
        (balls[4], 0.2),  # ball 4 found, but under the threshold
    ]
    preds = [
        Detections(np.array([b for b, _ in pred_boxes], np.float32), [0] * 7, [s for _, s in pred_boxes])
    ]
    res = analyze(
        Dataset(["football", "player"], [sample]), preds, AnalyzeConfig(bootstrap=0, measure_pixels=False)
    )
    fps = {(e.cause, e.detail) for e in res.errors if e.kind == "false positive"}
    assert res.fp_causes == {
        "duplicate": 1,
        "wrong class": 0,
        "poor localisation": 1,
        "look-alike": 2,
        "background": 1,
    }
    assert ("look-alike", "helmet") in fps and ("look-alike", "player") in fps
    misses = {tuple(round(v) for v in e.xyxy): e for e in res.errors if e.kind == "miss"}
    assert misses[(110, 40, 130, 60)].cause == "poor localisation"
    assert misses[(98, 118, 102, 122)].cause == "tiny"
    assert misses[(2, 90, 22, 110)].cause == "occluded" and "at the border" in misses[(2, 90, 22, 110)].flags
    assert misses[(50, 140, 70, 160)].cause == "low score"
    assert len(misses) == 4 and res.miss_causes["unexplained"] == 0
    assert res.classes == ["football"]
