"""ONNX export checked against PyTorch, and the ONNX Runtime backend serving the same answers."""

from __future__ import annotations

import shutil
import tarfile
import time
from pathlib import Path

import httpx
import numpy as np
import pytest
from serve_helpers import noise, rss_kib, save_tiny, start_server, stop_server

from pigskin.cli import main
from pigskin.client import Client
from pigskin.errors import PigskinError
from pigskin.models.artifact import load_model
from pigskin.serve.backends import load_served_model, weights_digest
from pigskin.serve.export import compare_detections

BOX_ATOL = 1e-3  # px: two runtimes, same float32 maths in another order
SCORE_ATOL = 1e-4
SIZES = [(160, 120), (120, 160), (97, 61), (200, 50)]  # odd sizes and aspect ratios: the graph is dynamic


def frames(seed: int = 0) -> list[np.ndarray]:
    return [noise(w, h, seed + i) for i, (w, h) in enumerate(SIZES)]


@pytest.fixture(scope="module")
def exported(artifact, tmp_path_factory):
    """`pigskin export --add-to-artifact` on a copy of the artifact: (copy, model.onnx, printed text)."""
    folder = tmp_path_factory.mktemp("export")
    copy = shutil.copy(artifact, folder / "model.tar.gz")
    onnx = folder / "model.onnx"
    rc = main(["export", "--model", str(copy), "--out", str(onnx), "--add-to-artifact", "--check-frames", "2",
               "--frame-size", "160x120"])
    assert rc == 0
    return Path(copy), onnx


def test_cli_export_writes_a_checked_graph_into_the_artifact(exported, artifact):
    copy, onnx = exported
    with tarfile.open(copy) as tar:
        names = tar.getnames()
        stored = tar.extractfile("model.onnx").read()
    assert {"pigskin-model.json", "weights.pt", "model.onnx"} <= set(names)
    assert stored == onnx.read_bytes()
    assert load_model(copy).config == load_model(artifact).config  # the rest of the artifact is intact


def test_onnx_backend_from_the_artifact_equals_pytorch(exported, predictor):
    copy, _ = exported
    served = load_served_model(copy, backend="onnx", threads=1)
    assert served.backend.kind == "onnx" and served.name == predictor.name
    images = frames(10)
    got = served.backend.predict(images, 0.0)
    result = compare_detections(predictor.predict(images, score_threshold=0.0), got)
    assert result.ok(BOX_ATOL, SCORE_ATOL) and result.detections > 0, result.summary()


def test_an_onnx_file_from_other_weights_is_refused(exported, tmp_path):
    _, onnx = exported
    other = save_tiny(tmp_path / "other.tar.gz", seed=1)
    with pytest.raises(PigskinError, match="other weights"):
        load_served_model(other, backend="onnx", onnx=onnx)


def test_onnx_backend_exports_at_start_up_when_the_artifact_has_no_graph(artifact, predictor):
    served = load_served_model(artifact, backend="onnx", threads=1)
    images = frames(20)
    result = compare_detections(predictor.predict(images), served.backend.predict(images, 0.05))
    assert result.ok(BOX_ATOL, SCORE_ATOL), result.summary()


def first_answer(url: str, timeout: float = 180.0) -> httpx.Response:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            return httpx.get(url, timeout=5)
        except httpx.TransportError:
            time.sleep(0.02)
    raise AssertionError(f"{url}: no answer within {timeout} s")


def test_onnx_server_with_two_workers_from_an_unpacked_folder(exported, predictor, tmp_path):
    copy, _ = exported
    folder = tmp_path / "opt-ml-model"  # what SageMaker makes of model.tar.gz
    with tarfile.open(copy) as tar:
        tar.extractall(folder, filter="data")
    args = ("--backend", "onnx", "--workers", "2", "--threads", "1")
    server = start_server(folder, tmp_path / "server.log", *args)
    try:
        first = first_answer(server.url + "/ping")  # the socket opens before the model loads
        assert first.status_code == 503 and first.json()["status"] == 503
        # the client's retries carry it over the rest of the start-up (503 while loading)
        with Client(server.url, retries=200, backoff=0.25, max_backoff=1.0) as client:
            info = client.model_info()
            assert info["backend"] == "onnx" and info["version"] == weights_digest(predictor.module)
            assert client.retried > 0
            client.wait_ready(timeout=120)  # both workers: the first may answer before the second loads
            images = frames(30)
            got = [client.detect(im, score_threshold=0.0).detections for im in images * 2]
            result = compare_detections(predictor.predict(images * 2, score_threshold=0.0), got)
            assert result.ok(BOX_ATOL, SCORE_ATOL) and result.detections > 0, result.summary()
        children = Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()
        assert len(children) >= 2, server.log_text()  # the uvicorn supervisor and its two workers
        assert rss_kib(server.pid) > 0
    finally:
        stop_server(server)
    assert server.process.returncode is not None
