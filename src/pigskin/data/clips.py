"""Multi-frame data: each frame with the ``K - 1`` frames before it, for models that see motion.

A multi-frame model (``model.frames > 1``, e.g. ``heatmap_mobilenet_v2``) takes a frame and its
predecessors stacked on the channel axis, oldest first: ``(H, W, 3K)``. The predecessors come from
the same Dataset, found by where each frame sits in its video:

- ``Sample.video_id`` + ``Sample.frame_index`` (synthetic clips written with ``frames=True``, Ground
  Truth video manifests, ``pigskin frames --every 1`` dumps); frames without a video id are then
  stand-alone stills; or, in a Dataset with no video id at all,
- the trailing number of the image name within the same folder and prefix (``frame_100.jpg`` follows
  ``frame_99.jpg``; Roboflow's ``_jpg.rf.<hash>`` suffix is ignored), as :func:`frame_run_groups` does.

A predecessor that is not in the Dataset (the first frames of a clip, a gap, a still image) is
replaced by the oldest frame found, as TrackNet pads the start of a rally: a frame with no history
is a frame that did not move. Only labels of the current frame are used.

Also here: look-alike boxes recorded by :mod:`pigskin.synth` (``Sample.attrs["lookalikes"]``: flags,
pylons, shoes, towels) for hard-negative crops. The tracker's detector for a multi-frame model is
:class:`pigskin.track.detectors.FrameHistory`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from pigskin.data.images import load_checked
from pigskin.detections import Detections
from pigskin.samples import Dataset, Sample

_NUMBERED = re.compile(r"^(.*?)(\d+)(\D*)$")

FrameKey = tuple[str, int]


def frame_key(sample: Sample, by_name: bool = True) -> FrameKey | None:
    """``(sequence, frame number)`` of a sample, or None for a stand-alone image (``by_name``: read
    the number from the file name when there is no video id)."""
    if sample.video_id is not None and sample.frame_index is not None:
        return f"video:{sample.video_id}", int(sample.frame_index)
    if not by_name:
        return None
    stem = Path(sample.image.split("#")[0]).stem.split(".rf.")[0]
    m = _NUMBERED.match(stem)
    if m is None:
        return None
    parent = str(Path(sample.image.split("#")[0]).parent)
    return f"name:{parent}/{m.group(1)}|{m.group(3)}", int(m.group(2))


def frame_stacks(dataset: Dataset, frames: int, step: int = 1) -> list[tuple[int, ...]]:
    """For each sample, the dataset indices of frames ``t - (K-1)*step, ..., t`` (oldest first); a
    missing predecessor repeats the oldest one found (the chain stops at the first gap)."""
    if frames < 1 or step < 1:
        raise ValueError(f"frames and step must be >= 1, got {frames} and {step}")
    index: dict[FrameKey, int] = {}
    by_name = not any(s.video_id is not None for s in dataset.samples)  # as pigskin.train splits them
    keys = [frame_key(s, by_name) for s in dataset.samples]
    for i, key in enumerate(keys):
        if key is not None:
            index.setdefault(key, i)
    out = []
    for i, key in enumerate(keys):
        chain = [i]
        if key is not None:
            for j in range(1, frames):
                prev = index.get((key[0], key[1] - j * step))
                if prev is None:
                    break
                chain.append(prev)
        chain += [chain[-1]] * (frames - len(chain))
        out.append(tuple(reversed(chain)))
    return out


def stack_frames(images: Sequence[np.ndarray]) -> np.ndarray:
    """``K`` RGB frames -> one ``(H, W, 3K)`` uint8 array (a single frame comes back as it is)."""
    if len(images) == 1:
        return images[0]
    shapes = {im.shape for im in images}
    if len(shapes) != 1:
        raise ValueError(f"frames of one stack differ in size: {sorted(shapes)}")
    return np.concatenate(images, axis=2)


def load_stack(dataset: Dataset, stack: Sequence[int]) -> list[np.ndarray]:
    """The RGB frames of one stack (sizes checked against the labels)."""
    cache: dict[int, np.ndarray] = {}
    for i in stack:
        if i not in cache:
            cache[i] = load_checked(dataset, dataset[i])
    return [cache[i] for i in stack]


def model_frames(model: Any) -> int:
    """How many frames a model (module or Predictor) takes; 1 for single-frame detectors."""
    module = getattr(model, "module", model)
    return int(getattr(module, "frames", 1) or 1)


def predict_dataset(
    predict: Callable[[list[np.ndarray]], list[Detections]],
    dataset: Dataset,
    frames: int = 1,
    batch_size: int = 1,
    limit: int = 0,
    progress: bool = False,
) -> list[Detections]:
    """``predict`` (e.g. ``Predictor.predict`` with a threshold bound) over the dataset's frames, each
    with its predecessors when ``frames > 1``: one Detections per sample (of the first ``limit``)."""
    from tqdm import tqdm

    n = min(len(dataset), limit) if limit else len(dataset)
    stacks = frame_stacks(dataset, frames) if frames > 1 else [(i,) for i in range(n)]
    out: list[Detections] = []
    for start in tqdm(range(0, n, batch_size), desc="predict", disable=not progress, leave=False):
        chunk = range(start, min(n, start + batch_size))
        out += predict([stack_frames(load_stack(dataset, stacks[i])) for i in chunk])
    return out


# -- hard negatives ----------------------------------------------------------------------------------


def lookalike_boxes(sample: Sample) -> Detections:
    """Boxes of the things that look like a ball (:meth:`pigskin.samples.Sample.lookalikes`), as class 0
    detections: where hard-negative crops are cut."""
    boxes = [xyxy for xyxy, _ in sample.lookalikes()]
    if not boxes:
        return Detections.empty()
    return Detections(np.array(boxes, np.float32), np.zeros(len(boxes), np.int64))
