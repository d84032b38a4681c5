"""What a sensitivity analysis is asked (:class:`AnalyzeConfig`) and what it finds: per-slice scores,
error cases with their causes, the weakest slices (:class:`Analysis`, JSON-ready via ``to_dict``)."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np


@dataclass(frozen=True)
class AnalyzeConfig:
    """Knobs of the sensitivity analysis; the defaults are what ``pigskin analyze`` uses."""

    score_threshold: float = 0.5  # operating point for recall and for which errors are listed
    classes: tuple[str, ...] | None = None  # classes analysed; None: '*ball*' classes (else all)
    player_classes: tuple[str, ...] | None = None  # context for "distance to a player"; None: '*player*'
    bootstrap: int = 200  # resamples of images for the 95% intervals (0: no intervals)
    seed: int = 0
    min_count: int = 10  # slices with fewer GT boxes are listed but never named weakest
    quantile_bins: int = 3  # bins for numeric attributes with many values
    max_categories: int = 12  # a text attribute with more values keeps the commonest, rest "other"
    border_margin: float = 0.02  # "at the border": within this fraction of min(width, height)
    tiny_px: float = 8.0  # "tiny": longest side below this
    cause_quantile: float = 0.25  # "low contrast" / "blurred": the worst quarter of the GT boxes
    occluded_above: float = 0.25  # a numeric occlusion label above this counts as occluded
    measure_pixels: bool = True  # contrast and blur need the images


@dataclass
class SliceStats:
    attribute: str
    value: str
    source: str  # "all", "measured", "box label" or "image label"
    count: int  # GT boxes in the slice
    images: int  # images with at least one of them
    ap50: float
    ap: float
    recall: float
    ap50_ci: tuple[float, float] = (math.nan, math.nan)
    ap_ci: tuple[float, float] = (math.nan, math.nan)
    recall_ci: tuple[float, float] = (math.nan, math.nan)
    curve: list[float] = field(default_factory=list)  # precision at REC_THRESHOLDS, IoU .5

    @property
    def name(self) -> str:
        return "all" if self.source == "all" else f"{self.attribute} = {self.value}"


@dataclass
class ErrorCase:
    """One false positive or one miss at the operating threshold, with its cause."""

    kind: str  # "false positive" or "miss"
    image: int  # sample index
    ref: str
    xyxy: list[float]
    class_name: str
    score: float | None
    cause: str
    detail: str = ""
    flags: list[str] = field(default_factory=list)
    iou: float = 0.0  # best IoU with a GT box of the class (FP) or with a confident detection (miss)
    size: float = 0.0  # longest side, px


@dataclass
class Analysis:
    config: AnalyzeConfig
    classes: list[str]
    overall: SliceStats
    slices: list[SliceStats]
    errors: list[ErrorCase]
    fp_causes: dict[str, int]
    miss_causes: dict[str, int]
    miss_flags: dict[str, int]
    weakest: list[dict[str, Any]]
    gather_next: list[str]
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        def stats(s: SliceStats) -> dict[str, Any]:
            d = asdict(s)
            d.pop("curve")
            return clean(d)

        return {
            "config": clean(asdict(self.config)),
            "classes": self.classes,
            "overall": stats(self.overall),
            "slices": [stats(s) for s in self.slices],
            "false_positive_causes": self.fp_causes,
            "miss_causes": self.miss_causes,
            "miss_flags": self.miss_flags,
            "weakest": clean(self.weakest),
            "gather_next": self.gather_next,
            "notes": self.notes,
            "errors": [clean(asdict(e)) for e in self.errors],
        }


def clean(v: Any) -> Any:
    """JSON-safe: NaN/inf -> None, tuples -> lists, numpy scalars -> Python."""
    if isinstance(v, dict):
        return {k: clean(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [clean(x) for x in v]
    if isinstance(v, (float, np.floating)):
        return float(v) if math.isfinite(v) else None
    if isinstance(v, np.integer):
        return int(v)
    return v
