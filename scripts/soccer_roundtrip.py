"""Round-trip the real soccer-ball YOLO set through every other format and back; report box drift.

    python scripts/soccer_roundtrip.py [--data ../shared/data/soccer-ball] [--work DIR]

For each format F (groundtruth, coco, voc, and recordio when pigskin has it): YOLO -> F -> YOLO.
Both legs are compared with the YOLO set as read (boxes the reader had to clip stay clipped). Exits 1
if any box moved more than 0.5 px or was lost, 0 otherwise (also when the data is absent).
"""

from __future__ import annotations

import argparse
import importlib.util
import re
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from pigskin.formats import load, save
from pigskin.samples import Dataset, Sample

DEFAULT_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "soccer-ball"
OUT_NAME = {
    "groundtruth": "soccer.manifest",
    "coco": "coco",
    "voc": "voc",
    "recordio": "soccer.rec",
    "yolo": "yolo",
}
IMAGE_FORMATS = ("coco", "voc", "yolo")  # these put the images beside the labels (symlinked here)


def _keys(sample: Sample, index: int) -> list[tuple[str, object]]:
    """How to find a sample's original: its file name, or its record position for RecordIO images."""
    if "#" in sample.image:
        return [("pos", int(sample.image.rsplit("#", 1)[1]))]
    name = Path(sample.image).name
    m = re.fullmatch(r".+_(\d{6})\.\w+", name)  # written out of a .rec: <stem>_<record key>.jpg
    return [("name", name)] + ([("pos", int(m.group(1)))] if m else [])


def compare(ref: Dataset, got: Dataset) -> tuple[int, int, float]:
    """(boxes lost, boxes found, max displacement in px) of ``got`` against ``ref``."""
    table: dict[tuple[str, object], Sample] = {}
    for i, s in enumerate(ref):
        table[("name", Path(s.image).name)] = s
        table[("pos", i)] = s
    lost, worst, seen = 0, 0.0, set()
    for i, s in enumerate(got):
        orig = next((table[k] for k in _keys(s, i) if k in table), None)
        if orig is None:
            continue
        seen.add(id(orig))
        a, b = orig.detections, s.detections
        if len(a) != len(b) or not np.array_equal(a.class_id, b.class_id):
            lost += max(len(a) - len(b), 1)
            continue
        if len(a):
            worst = max(worst, float(np.abs(a.xyxy.astype(np.float64) - b.xyxy).max()))
    lost += sum(len(s.detections) for s in ref if id(s) not in seen)
    return lost, got.num_boxes, worst


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="the soccer-ball YOLO folder")
    parser.add_argument("--work", type=Path, help="where to write the conversions (default: a temp folder)")
    args = parser.parse_args(argv)
    if not (args.data / "data.yaml").is_file():
        print(f"soccer-ball data not found at {args.data}; nothing to do")
        return 0
    formats = ["groundtruth", "coco", "voc"]
    if importlib.util.find_spec("pigskin.formats.recordio") is not None:
        formats.append("recordio")
    t0 = time.perf_counter()
    ref = load(args.data)
    print(
        f"read {args.data}: {len(ref)} images, {ref.num_boxes} boxes in {time.perf_counter() - t0:.2f} s; "
        f"{len(ref.meta['problems'])} boxes clipped by the reader"
    )
    rows, failed = [], False
    with tempfile.TemporaryDirectory(dir=args.work) as tmp:
        for fmt in formats:
            work = Path(tmp) / fmt
            there, t0 = work / OUT_NAME[fmt], time.perf_counter()
            save(ref, there, fmt, **({"image_mode": "symlink"} if fmt in IMAGE_FORMATS else {}))
            mid = load(there, fmt)
            back_path = work / "back"
            save(mid, back_path, "yolo", image_mode="symlink")
            back = load(back_path, "yolo")
            seconds = time.perf_counter() - t0
            for leg, ds in ((f"yolo -> {fmt}", mid), (f"{fmt} -> yolo", back)):
                lost, boxes, worst = compare(ref, ds)
                failed |= lost > 0 or worst > 0.5 or len(ds) != len(ref)
                rows.append((leg, len(ds), boxes, lost, worst, seconds))
    print(f"\n{'conversion':<22}{'images':>8}{'boxes':>8}{'lost':>6}{'max shift px':>14}{'both legs s':>13}")
    for leg, n, boxes, lost, worst, seconds in rows:
        print(f"{leg:<22}{n:>8}{boxes:>8}{lost:>6}{worst:>14.2e}{seconds:>13.2f}")
    print(
        "\nFAIL: a box moved more than 0.5 px or was lost"
        if failed
        else "\nOK: no box lost, none moved > 0.5 px"
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
