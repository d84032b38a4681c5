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

This module puts the pieces together; each lives in its own: which slices exist
(:mod:`~pigskin.evaluate.attributes`, labels from :mod:`~pigskin.evaluate.bins`), their scores and
intervals (:mod:`~pigskin.evaluate.bootstrap`), the error causes (:mod:`~pigskin.evaluate.causes`),
the weakest slices (:mod:`~pigskin.evaluate.findings`) and the result types
(:mod:`~pigskin.evaluate.analysis`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from pigskin.detections import Detections
from pigskin.evaluate.analysis import Analysis, AnalyzeConfig
from pigskin.evaluate.attributes import Attribute, measure, slice_attributes
from pigskin.evaluate.bootstrap import region_scores, slice_stats
from pigskin.evaluate.causes import FP_CAUSES, MISS_CAUSES, error_cases
from pigskin.evaluate.findings import findings
from pigskin.evaluate.matching import det_table, gt_table, match
from pigskin.evaluate.metrics import ball_class_ids
from pigskin.samples import Dataset


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
    gm, dm = measure(dataset, g, d, players, cfg, notes)
    attrs = slice_attributes(dataset, g, d, gm, dm, cfg)

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
        r = region_scores(
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
        results.append(slice_stats("all" if a is None else a.name, b, "all" if a is None else a.source, r))
    overall, slices = results[0], results[1:]

    errors = error_cases(dataset, g, d, mt, gm, targets, cfg)
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
