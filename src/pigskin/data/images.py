"""A frame's pixels, checked against its labels: the one image loader the torch dataset, frame stacks
and validation share (below both, so neither imports the other)."""

from __future__ import annotations

import numpy as np

from pigskin.errors import FormatError
from pigskin.samples import Dataset, Sample


def load_checked(dataset: Dataset, sample: Sample) -> np.ndarray:
    """The frame's pixels; an error naming the file if its size differs from what the labels say."""
    image = dataset.load_image(sample)
    h, w = image.shape[:2]
    if (w, h) != (sample.width, sample.height):
        raise FormatError(
            dataset.image_path(sample),
            None,
            f"image is {w}x{h} but its labels say {sample.width}x{sample.height}",
        )
    return image
