"""The tracker's model detector: the same answers on PyTorch and ONNX Runtime for a multi-frame model,
frames remembered without a search, and clear refusals."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from pigskin.config import ModelConfig
from pigskin.data.clips import stack_frames
from pigskin.errors import PigskinError
from pigskin.models import build_model
from pigskin.models.artifact import load_model, save_artifact
from pigskin.serve.backends import OnnxBackend
from pigskin.serve.export import add_to_artifact, compare_detections, export_onnx
from pigskin.track.detectors import FrameHistory, model_detector


def _frames(n: int = 4, h: int = 72, w: int = 96, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 255, (h, w, 3), dtype=np.uint8) for _ in range(n)]


def test_onnx_detector_matches_torch_on_whole_frames_and_windows(k3_artifact):
    torch_det = model_detector(k3_artifact, score_threshold=0.05, backend="torch")
    onnx_det = model_detector(k3_artifact, score_threshold=0.05, backend="onnx", threads=1)
    assert isinstance(onnx_det.model, OnnxBackend) and onnx_det.model.frames == 3
    ref, other = [], []
    for frame in _frames():
        for window in (None, (10, 5, 70, 61)):  # a second search of the same frame keeps the history
            ref.append(torch_det(frame, window))
            other.append(onnx_det(frame, window))
    comparison = compare_detections(ref, other)
    assert comparison.detections > 20
    assert comparison.ok(box_atol=1e-2, score_atol=1e-4), comparison.summary()
    assert all(d.xyxy[:, 0].min() >= 10 for d in ref[1::2] if len(d))  # window boxes in frame pixels


def test_the_onnx_graph_sees_the_past_frames_and_repeats_a_still(k3_artifact):
    backend = OnnxBackend(export_onnx(load_model(k3_artifact), frame_size=(64, 64)), threads=1)
    f = _frames(3)
    moving = backend.predict([stack_frames(f)], 0.0)[0]
    still = backend.predict([f[2]], 0.0)[0]
    assert still.equals(backend.predict([stack_frames([f[2]] * 3)], 0.0)[0], atol=1e-5)
    assert not moving.equals(still, atol=1e-4)
    with pytest.raises(ValueError, match=r"3 stacked frames \(H, W, 9\)"):
        backend.predict([np.zeros((8, 8, 6), np.uint8)], 0.0)


def test_a_stored_graph_of_other_weights_is_not_used(k3_artifact, tmp_path):
    other_config = ModelConfig(name="heatmap_mobilenet_v2", frames=3, pretrained=False, image_size=96)
    torch.manual_seed(5)
    other = save_artifact(tmp_path / "other.tar.gz", build_model(other_config).eval(), other_config, ["ball"])
    stale = tmp_path / "model.tar.gz"
    stale.write_bytes(k3_artifact.read_bytes())
    add_to_artifact(stale, export_onnx(load_model(other), frame_size=(64, 64)))  # wrong weights inside
    f = _frames(2, seed=3)
    onnx_det = model_detector(stale, score_threshold=0.05, backend="onnx", threads=1)
    torch_det = model_detector(stale, score_threshold=0.05, backend="torch")
    comparison = compare_detections([torch_det(x) for x in f], [onnx_det(x) for x in f])
    assert comparison.ok(box_atol=1e-2, score_atol=1e-4), comparison.summary()


def test_observed_frames_are_the_past_of_the_next_search(k3_artifact):
    predictor = load_model(k3_artifact)
    history = FrameHistory(predictor, score_threshold=0.0)
    f = _frames(4, seed=1)
    history(f[0])
    history.observe(f[1])  # not searched, still remembered
    history.observe(f[1])  # the same frame twice counts once
    got = history(f[2])
    assert got.equals(predictor.predict([stack_frames(f[:3])], 0.0)[0], atol=1e-4)


def test_bad_backend_requests_are_refused(k3_artifact):
    with pytest.raises(PigskinError, match="unknown backend 'tpu'"):
        model_detector(k3_artifact, backend="tpu")
    with pytest.raises(PigskinError, match="bf16 runs on the torch backend only"):
        model_detector(k3_artifact, precision="bf16", backend="onnx")
