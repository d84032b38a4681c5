"""Property tests: any dataset a format can hold comes back from write + read unchanged.

Tolerance: exact for Ground Truth and COCO (pixel values are written as the exact decimal of the
float32 box) and VOC (atol 1e-6 px: VOC's 1-based ``xmin = x1 + 1`` absorbs values under ~1e-8 px);
YOLO's normalised coordinates (10 significant digits) come back within 1e-3 px.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from pigskin.detections import Detections
from pigskin.formats import load, save
from pigskin.samples import Dataset, Sample

SETTINGS = settings(max_examples=25, deadline=None)
WORDS = st.sampled_from(["no", "partially", "yes", "heavy rain", "ÿ"])


@st.composite
def boxes(draw, width: int, height: int, n: int) -> np.ndarray:
    """``n`` float32 boxes inside the image, at least 1/4 px wide, integral or fractional."""
    coords = st.one_of(st.integers(0, 4 * 10_000), st.floats(0, 1))
    out = []
    for _ in range(n):
        vals = []
        for size in (width, height):
            a, b = (draw(coords) for _ in range(2))
            a = a / 4 % size if isinstance(a, int) else a * size
            b = b / 4 % size if isinstance(b, int) else b * size
            lo, hi = sorted((float(np.float32(a)), float(np.float32(b))))
            hi = min(max(hi, lo + 0.25), size)
            lo = min(lo, hi - 0.25)
            vals.append((lo, hi))
        out.append([vals[0][0], vals[1][0], vals[0][1], vals[1][1]])
    return np.array(out, np.float32).reshape(-1, 4)


@st.composite
def datasets(
    draw, *, confidence=False, tracks=False, box_attrs=None, sample_attrs=None, video=False
) -> Dataset:
    """2-5 images of random size (the first always empty), up to 50 boxes each, optional extras."""
    classes = draw(
        st.lists(
            st.sampled_from(["ball", "player", "ref", "pylon", "goal post"]),
            min_size=1,
            max_size=4,
            unique=True,
        )
    )
    n_images = draw(st.integers(2, 5))
    samples = []
    for i in range(n_images):
        w, h = draw(st.integers(2, 400)), draw(st.integers(2, 300))
        n = 0 if i == 0 else draw(st.integers(1 if i == 1 else 0, 50))  # scores need one box to show
        xyxy = draw(boxes(w, h, n))
        cls = draw(st.lists(st.integers(0, len(classes) - 1), min_size=n, max_size=n))
        conf = draw(st.lists(st.floats(0, 1, width=32), min_size=n, max_size=n)) if confidence else None
        tid = draw(st.lists(st.integers(0, 10_000), min_size=n, max_size=n)) if tracks else None
        columns = {
            k: draw(st.lists(strategy, min_size=n, max_size=n)) for k, strategy in (box_attrs or {}).items()
        }
        rows = [{k: v[j] for k, v in columns.items() if v[j] is not None} for j in range(n)]
        det = Detections(xyxy, np.array(cls, np.int64), conf, tid, Detections.from_attr_rows(rows))
        extra = draw(sample_attrs) if sample_attrs is not None else {}
        samples.append(
            Sample(
                f"img_{i:02d}.png",
                w,
                h,
                det,
                attrs=extra,
                video_id="v" if video else None,
                frame_index=i if video else None,
            )
        )
    return Dataset(classes, samples)


def _round_trip(ds: Dataset, fmt: str, dst: str) -> Dataset:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for s in ds:
            Image.new("L", (s.width, s.height)).save(root / s.image)
        ds = ds.replace(root=root)
        save(ds, root / dst, fmt)
        back = load(root / dst)
        assert back.meta["problems"] == []
        return back


@SETTINGS
@given(
    datasets(
        confidence=True,
        box_attrs={"occluded": st.one_of(st.none(), WORDS), "object:worker": st.integers()},
        sample_attrs=st.fixed_dictionaries({"metadata": st.fixed_dictionaries({"job-name": WORDS})}),
    )
)
def test_groundtruth_round_trip(ds):
    back = _round_trip(ds, "groundtruth", "out.manifest")
    assert back.equals(ds)  # exact, image references included


@SETTINGS
@given(
    datasets(
        confidence=True,
        tracks=True,
        box_attrs={"ignore": st.integers(0, 1), "note": WORDS},
        sample_attrs=st.fixed_dictionaries({"license": st.integers(1, 8)}),
        video=True,
    )
)
def test_coco_round_trip(ds):
    assert _round_trip(ds, "coco", "out.json").equals(ds)  # exact
    assert _round_trip(ds, "coco", "out_folder").equals(ds, images=False)


@SETTINGS
@given(st.booleans().flatmap(lambda scored: datasets(confidence=scored)))
def test_yolo_round_trip(ds):
    back = _round_trip(ds, "yolo", "out_yolo")
    assert back.equals(ds, atol=1e-3, images=False)
    assert [s.image for s in back] == [f"images/{s.image}" for s in ds]


@SETTINGS
@given(
    datasets(
        tracks=True,
        box_attrs={
            "truncated": st.integers(0, 1),
            "pose": st.sampled_from(["Left", "Frontal"]),
            "weather": WORDS,
        },
    )
)
def test_voc_round_trip(ds):
    back = _round_trip(ds, "voc", "out_voc")
    # exact but for coordinates under ~1e-8 px, which the +1 of VOC's 1-based pixel indices absorbs
    assert back.equals(ds, atol=1e-6, images=False)
