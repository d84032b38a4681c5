"""Each detector family's ONNX graph against PyTorch on frames of several sizes (the graph is
dynamic: one export serves every frame size)."""

from __future__ import annotations

import pytest
from serve_helpers import noise, save_tiny

from pigskin.models.artifact import load_model
from pigskin.serve.export import check_onnx, export_onnx

BOX_ATOL = 1e-3  # px: two runtimes, same float32 maths in another order
SCORE_ATOL = 1e-4
SIZES = [(160, 120), (120, 160), (97, 61), (200, 50)]


@pytest.mark.filterwarnings("ignore:ssdlite_mobilenet_v2 at image_size")
@pytest.mark.parametrize("name", ["fasterrcnn_mobilenet_v2", "ssdlite_mobilenet_v2", "heatmap_mobilenet_v2"])
def test_export_of_each_family_matches_pytorch(tmp_path, name):
    """(YOLOv3 goes through `pigskin export` in test_serve_onnx.py; the heatmap family exports
    through its own ``onnx_graph()`` hook.)"""
    predictor = load_model(save_tiny(tmp_path / f"{name}.tar.gz", name, image_size=128))
    frames = [noise(w, h, i) for i, (w, h) in enumerate(SIZES)]
    result = check_onnx(predictor, export_onnx(predictor, (160, 120)), frames, score_threshold=0.0)
    assert result.ok(BOX_ATOL, SCORE_ATOL), result.summary()
    assert result.detections > 0  # real boxes were compared
