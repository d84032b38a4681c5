"""Tiny factories shared by every test folder: real image files written into tmp_path."""

from __future__ import annotations

import os

# two cores shared by two xdist workers: busy-waiting OpenMP threads would slow every conv many times over
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from pigskin.detections import Detections
from pigskin.samples import Dataset, Sample


def write_image(path: Path, width: int, height: int, seed: int = 0, fmt: str | None = None) -> Path:
    """A small noisy RGB image on disk (JPEG or PNG by suffix)."""
    rng = np.random.default_rng(seed)
    arr = rng.integers(0, 255, (height, width, 3), dtype=np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(arr).save(path, format=fmt)
    return path


@pytest.fixture
def tiny_dataset(tmp_path: Path) -> Dataset:
    """Four images (one with no ball, one with several boxes) and real files under tmp_path/images."""
    classes = ["football", "player"]
    boxes = [
        ([[10, 12, 22, 20]], [0]),
        ([], []),
        ([[1, 1, 9, 7], [30, 20, 62, 60], [40.5, 5.25, 50.75, 11.5]], [0, 1, 1]),
        ([[0, 0, 64, 48]], [1]),
    ]
    samples = []
    for i, (xyxy, cls) in enumerate(boxes):
        name = f"images/frame_{i:03d}.jpg"
        write_image(tmp_path / name, 64, 48, seed=i)
        samples.append(Sample(name, 64, 48, Detections(np.array(xyxy, np.float32).reshape(-1, 4), cls)))
    return Dataset(classes, samples, root=tmp_path)


@pytest.fixture(autouse=True)
def one_torch_thread():
    """One torch thread per test: two xdist workers share two cores, and OpenMP threads spinning
    for a core another worker holds make small conv layers many times slower."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def k3_artifact(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An untrained K = 3 heatmap model whose past frames matter (stem weights randomised) and whose
    scores sit near 0.5, so there is plenty to compare (tests/track, tests/batch)."""
    import torch

    from pigskin.config import ModelConfig
    from pigskin.models import build_model
    from pigskin.models.artifact import save_artifact

    config = ModelConfig(name="heatmap_mobilenet_v2", frames=3, pretrained=False, image_size=96,
                         min_score=0.0)
    torch.manual_seed(4)
    model = build_model(config).eval()
    with torch.no_grad():
        model.body.body[0][0].weight.normal_(0, 0.2)
        model.out.bias[0] = 0.0
    return save_artifact(tmp_path_factory.mktemp("k3") / "model.tar.gz", model, config, ["ball"])
