"""The weakest slice of each attribute, worst first, and what data to gather next."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from pigskin.evaluate.analysis import ErrorCase, SliceStats

_ADVICE = (
    (
        "size",
        "more frames with small, distant balls (wide shots); also consider a higher input resolution "
        "or tiling",
    ),
    (
        "occlu",
        "more frames where the ball is partly hidden: hand-offs, carries into a pile, the ball in hands",
    ),
    ("contrast", "more balls against similar colours: worn or brown turf, shadows, dark jerseys, the crowd"),
    ("blur", "more fast throws, kicks and punts with motion blur"),
    ("player", "more frames with the ball carried or held close to players"),
    ("position", "more frames with the ball near the frame edge (entering or leaving the shot)"),
    ("aspect", "more views of the ball end-on and side-on (it is elongated)"),
    ("in_air", "more balls in flight against the sky, stands and lights"),
)


def _advice(attr: str, value: str) -> str:
    for key, text in _ADVICE:
        if key in attr.lower():
            return f"{text} ({attr} = {value})"
    return f"more examples where {attr} = {value}"


def findings(
    overall: SliceStats,
    slices: Sequence[SliceStats],
    errors: Sequence[ErrorCase],
    min_count: int,
    top: int = 5,
) -> tuple[list[dict[str, Any]], list[str]]:
    """The weakest slice of each attribute, worst first, and what data to gather next.

    A slice is weak when its AP50 or its recall at the operating point is below the overall value
    (it needs ``min_count`` boxes); its weakness is the larger of the two gaps. It is *clearly* weak
    when that metric's whole 95% interval lies below the overall value, otherwise it may be noise.
    """
    worst: dict[str, tuple[float, str, SliceStats]] = {}
    for s in slices:
        if s.count < min_count:
            continue
        gaps = [(overall.ap50 - s.ap50, "AP50"), (overall.recall - s.recall, "recall")]
        gaps = [(g, m) for g, m in gaps if math.isfinite(g) and g > 0]
        if not gaps:
            continue
        gap, metric = max(gaps)
        if s.attribute not in worst or gap > worst[s.attribute][0]:
            worst[s.attribute] = (gap, metric, s)
    ranked = sorted(worst.values(), key=lambda t: -t[0])[:top]
    weakest, gather = [], []
    for gap, metric, s in ranked:
        value, ci, ref = (
            (s.ap50, s.ap50_ci, overall.ap50) if metric == "AP50" else (s.recall, s.recall_ci, overall.recall)
        )
        clear = math.isfinite(ci[1]) and ci[1] < ref
        ci_txt = f" [{ci[0]:.2f}, {ci[1]:.2f}]" if math.isfinite(ci[0]) else ""
        text = (
            f"{s.name}: {metric} {value:.2f}{ci_txt} vs {ref:.2f} overall "
            f"(AP50 {s.ap50:.2f}, recall {s.recall:.2f}, {s.count} boxes); "
            + (
                "the interval lies below the overall value"
                if clear
                else "the interval reaches the overall value, so this may be noise"
            )
        )
        weakest.append(
            {
                "slice": s.name,
                "attribute": s.attribute,
                "value": s.value,
                "metric": metric,
                "score": value,
                "ci": list(ci),
                "overall": ref,
                "gap": gap,
                "count": s.count,
                "clear": clear,
                "text": text,
            }
        )
        gather.append(("Gather " if clear else "Perhaps gather ") + _advice(s.attribute, s.value) + ".")
    fps = [e for e in errors if e.kind == "false positive"]
    if fps:
        counts: dict[str, int] = {}
        for e in fps:
            counts[e.cause] = counts.get(e.cause, 0) + 1
        top_cause = max(counts, key=lambda k: counts[k])
        n = counts[top_cause]
        if top_cause == "look-alike":
            kinds = sorted({e.detail for e in fps if e.cause == "look-alike"})
            gather.append(
                f"Gather hard negatives: frames with {', '.join(kinds)} and no ball "
                f"({n} of {len(fps)} false positives are on look-alikes)."
            )
        elif top_cause == "background":
            gather.append(
                f"Gather ball-free frames of the same scenes as hard negatives ({n} of {len(fps)} "
                "false positives are on background)."
            )
        elif top_cause == "duplicate":
            gather.append(
                f"{n} of {len(fps)} false positives are duplicates: tune NMS before gathering data."
            )
        elif top_cause == "poor localisation":
            gather.append(
                f"{n} of {len(fps)} false positives are poorly placed boxes: check label tightness "
                "and box regression before gathering data."
            )
    return weakest, gather
