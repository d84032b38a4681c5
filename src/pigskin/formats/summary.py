"""What is in a dataset and what is wrong with it: the numbers behind ``pigskin inspect``."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from pigskin.formats._common import image_size
from pigskin.samples import Dataset

SIZE_EDGES = (8, 16, 32, 64)  # longest box side in px, half-open buckets: [0, 8), [8, 16), ... [64, inf)
SIZE_LABELS = ("<8", "8-16", "16-32", "32-64", ">=64")


@dataclass
class Summary:
    images: int
    boxes: int
    empty: int
    class_counts: list[tuple[str, int]]
    size_hist: list[tuple[str, int]]
    missing: list[str] = field(default_factory=list)
    unchecked: int = 0  # s3:// images with no --image-root to look them up in
    problems: list[str] = field(default_factory=list)  # everything a user should fix, incl. the above


def summarize(dataset: Dataset, check_images: bool = True) -> Summary:
    """Counts, per-class boxes, a box-size histogram and every problem (reader repairs, missing
    images, image sizes that disagree with the labels, class ids without a name)."""
    counts = np.zeros(len(dataset.classes), np.int64)
    sides = [s.detections.wh.max(axis=1) for s in dataset if len(s.detections)]
    longest = np.concatenate(sides) if sides else np.zeros(0)
    hist = np.bincount(np.searchsorted(SIZE_EDGES, longest, side="right"), minlength=len(SIZE_LABELS))
    problems = list(dataset.meta.get("problems", []))
    for s in dataset:
        cid = s.detections.class_id
        bad = cid[cid >= len(dataset.classes)]
        if bad.size:
            problems.append(
                f"{s.image}: class id {int(bad[0])} has no name (only {len(dataset.classes)} classes)"
            )
        counts += np.bincount(cid[cid < len(dataset.classes)], minlength=len(dataset.classes))
    out = Summary(
        images=len(dataset),
        boxes=dataset.num_boxes,
        empty=sum(1 for s in dataset if not len(s.detections)),
        class_counts=list(zip(dataset.classes, counts.tolist(), strict=True)),
        size_hist=list(zip(SIZE_LABELS, hist.tolist(), strict=True)),
    )
    if check_images:
        for s in dataset:
            if s.image.startswith("s3://") and dataset.image_root is None:
                out.unchecked += 1
                continue
            try:
                size = image_size(dataset.image_bytes(s) if ".rec#" in s.image else dataset.image_path(s))
            except (FileNotFoundError, KeyError):
                out.missing.append(s.image)
                problems.append(f"{s.image}: image not found")
                continue
            except OSError as e:
                problems.append(f"{s.image}: image unreadable: {e}")
                continue
            if size != (s.width, s.height):
                problems.append(
                    f"{s.image}: labels say {s.width}x{s.height}, the image is {size[0]}x{size[1]}"
                )
    out.problems = problems
    return out


def render(summary: Summary, width: int = 40) -> str:
    """Plain-text report (the histogram bars scale to ``width`` characters)."""
    lines = [
        f"images: {summary.images}   boxes: {summary.boxes}   empty frames: {summary.empty}",
        "",
        "classes:",
    ]
    name_w = max((len(c) for c, _ in summary.class_counts), default=5)
    lines += [f"  {c:<{name_w}}  {n:>8}" for c, n in summary.class_counts] or ["  (none)"]
    lines += ["", "box size (longest side, px):"]
    top = max((n for _, n in summary.size_hist), default=0) or 1
    lines += [
        f"  {label:>6}  {n:>8}  {'#' * round(width * n / top)}".rstrip() for label, n in summary.size_hist
    ]
    lines += ["", f"missing images: {len(summary.missing)}"]
    if summary.unchecked:
        lines.append(
            f"unchecked images: {summary.unchecked} (s3:// references; pass --image-root to check them)"
        )
    lines += ["", f"problems: {len(summary.problems)}"]
    lines += [f"  {p}" for p in summary.problems]
    return "\n".join(lines) + "\n"
