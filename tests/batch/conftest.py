"""Fixtures of the batch tests: a tiny real model artifact (with its ONNX graph, so a worker loads it
in a moment) and small real clips, one of them truncated."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from batch_helpers import TRUNCATED

from pigskin.models.artifact import load_model
from pigskin.serve.export import add_to_artifact, export_onnx
from pigskin.synth import generate_clips, preset


@pytest.fixture(scope="session")
def tiny_model(k3_artifact: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The untrained K = 3 heatmap model (it reports detections on every frame, so the tracker's rows
    depend on all the frames the detector sees) with its ONNX graph stored beside the weights."""
    path = tmp_path_factory.mktemp("model") / "model.tar.gz"
    shutil.copyfile(k3_artifact, path)
    add_to_artifact(path, export_onnx(load_model(path), frame_size=(96, 96)))
    return path


@pytest.fixture(scope="session")
def clips(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Six 320x180 synthetic clips of 45 frames; ``TRUNCATED`` keeps only 60 % of its bytes."""
    out = tmp_path_factory.mktemp("season") / "synth"
    generate_clips(preset("broadcast", width=320, height=180, seed=21), 6, out, seconds=1.5, fps=30,
                   workers=1)
    paths = sorted((out / "clips").glob("*.mp4"))
    cut = out / "clips" / f"{TRUNCATED}.mp4"
    data = cut.read_bytes()
    cut.write_bytes(data[: int(len(data) * 0.6)])
    return paths
