"""Review mode: the frames where the labels and a model disagree, so a labeller can fix the labels.

A frame disagrees when a labelled box has no prediction of its class at IoU >= ``iou_threshold``
(a miss, in the analysis report's words) or a prediction scoring >= ``score_threshold`` has no
labelled box (a false positive). Predictions below the threshold never count against a label.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pigskin.boxes import iou
from pigskin.detections import Detections


@dataclass(frozen=True)
class Disagreement:
    index: int  # frame position
    misses: int  # labelled boxes with no matching prediction
    false_positives: int  # confident predictions with no matching label

    @property
    def note(self) -> str:
        parts = []
        if self.misses:
            parts.append(f"{self.misses} miss{'es' if self.misses > 1 else ''}")
        if self.false_positives:
            parts.append(f"{self.false_positives} false positive{'s' if self.false_positives > 1 else ''}")
        return ", ".join(parts)


def match(labels: Detections, predictions: Detections, iou_threshold: float = 0.5) -> tuple[int, int]:
    """Greedy one-to-one matching, best prediction first.

    Returns (unmatched labels, unmatched predictions).
    """
    if not len(labels) or not len(predictions):
        return len(labels), len(predictions)
    scores = np.ones(len(predictions)) if predictions.confidence is None else predictions.confidence
    overlap = iou(predictions.xyxy, labels.xyxy)
    same = predictions.class_id[:, None] == labels.class_id[None, :]
    overlap = np.where(same, overlap, 0.0)
    taken = np.zeros(len(labels), bool)
    matched = 0
    for p in np.argsort(-scores, kind="stable"):
        row = np.where(taken, -1.0, overlap[p])
        g = int(np.argmax(row))
        if row[g] >= iou_threshold:
            taken[g] = True
            matched += 1
    return len(labels) - matched, len(predictions) - matched


def disagreements(
    labels: dict[int, Detections],
    predictions: dict[int, Detections],
    iou_threshold: float = 0.5,
    score_threshold: float = 0.5,
) -> list[Disagreement]:
    """Labelled frames whose labels and predictions disagree, in frame order."""
    out = []
    for i in sorted(labels):
        pred = predictions.get(i, Detections.empty(with_confidence=True))
        if pred.confidence is not None:
            pred = pred[pred.confidence >= score_threshold]
        misses, fps = match(labels[i], pred, iou_threshold)
        if misses or fps:
            out.append(Disagreement(i, misses, fps))
    return out
