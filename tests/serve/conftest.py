"""Session fixtures of the serving tests: one tiny real model artifact and its predictor."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from serve_helpers import save_tiny

from pigskin.models.artifact import load_model


@pytest.fixture(scope="session")
def artifact(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_tiny(tmp_path_factory.mktemp("model") / "model.tar.gz")


@pytest.fixture(scope="session")
def predictor(artifact: Path):
    return load_model(artifact)


@pytest.fixture(scope="module", autouse=True)
def one_torch_thread():
    """Reference predictions in this process on one thread, like the servers (``--threads 1``): on a
    shared 2-core machine, more threads than free cores makes OpenMP spin and crawl."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
