"""ONNX export of a trained model, checked against PyTorch on sample frames.

The graph takes one padded frame ``images (1, 3, H, W)`` in [0, 1] (H and W dynamic) and its
unpadded ``size (2,) = (h, w)``, and returns ``boxes (N, 4)``, ``scores (N,)``, ``labels (N,)`` in the
resized frame's pixels: the network *and* its post-processing (box decoding, NMS), so a client of the
graph needs no torch. :mod:`pigskin.serve.onnx_backend` does the resize, pad and un-resize in numpy.

We export with the TorchScript tracer (``dynamo=False``): torchvision's detectors (data-dependent
NMS and RoI sampling) do not export through ``torch.export`` today, and the tracer with opset >= 11
does. Tracing bakes Python control flow, so each family gets a wrapper (:func:`onnx_graph`) whose
sizes stay tensors: torchvision's own RPN/RoI heads and SSD post-processing already take that care;
YOLOv3 gets a trace-friendly restatement of its ``decode``. A family can supply its own wrapper as a
method ``onnx_graph()`` on its module. :func:`check_onnx` is what makes any of this trustworthy.
"""

from __future__ import annotations

import io
import json
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from pigskin.detections import Detections
from pigskin.errors import PigskinError
from pigskin.serve.onnx_backend import META_PREFIX, ONNX_NAME, OnnxBackend, preprocess, weights_digest

OPSET = 17
OUTPUTS = ("boxes", "scores", "labels")
YOLO_PRE_NMS = 4000  # as YOLOv3.decode: candidates kept before NMS


class _TorchvisionGraph(nn.Module):
    """Faster R-CNN / SSDlite: our backbone forward plus torchvision's own post-processing."""

    def __init__(self, detector: nn.Module) -> None:
        super().__init__()
        self.detector = detector

    def forward(self, images: Tensor, size: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        from torchvision.models.detection.image_list import ImageList

        det = self.detector
        raw = det(images)
        image_list = ImageList(raw["images"], [(size[0], size[1])])  # tensors: the trace stays dynamic
        if det.is_rcnn:
            proposals, _ = det.model.rpn(image_list, raw["features"])
            outs, _ = det.model.roi_heads(raw["features"], proposals, image_list.image_sizes)
        else:
            outs = det.model.postprocess_detections(raw["head"], raw["anchors"], image_list.image_sizes)
        return outs[0]["boxes"], outs[0]["scores"], outs[0]["labels"] - 1


class _YoloGraph(nn.Module):
    """YOLOv3: ``decode`` for one image, restated without Python branches on data (top-k by a tensor
    count, clipping by the ``size`` tensor) so the traced graph is right for every frame size."""

    def __init__(self, detector: nn.Module) -> None:
        super().__init__()
        self.detector = detector

    def forward(self, images: Tensor, size: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        from torchvision.models.detection._utils import _topk_min
        from torchvision.ops import batched_nms

        det = self.detector
        cfg = det.config
        k = cfg.num_classes
        raw = det(images)
        boxes = torch.cat([det._boxes(p, level).reshape(-1, 4) for level, p in enumerate(raw)])
        scores = torch.cat([(p[..., 4:5].sigmoid() * p[..., 5:].sigmoid()).reshape(-1, k) for p in raw])
        flat = scores.reshape(-1)
        score, index = flat.topk(_topk_min(flat, YOLO_PRE_NMS, 0))
        keep = score > cfg.min_score
        score, index = score[keep], index[keep]
        box, label = boxes[torch.div(index, k, rounding_mode="floor")], index % k
        h, w = size[0].to(box.dtype), size[1].to(box.dtype)
        zero = torch.zeros_like(h)
        x = torch.minimum(torch.maximum(box[:, 0::2], zero), w)
        y = torch.minimum(torch.maximum(box[:, 1::2], zero), h)
        box = torch.stack([x[:, 0], y[:, 0], x[:, 1], y[:, 1]], 1)
        keep = batched_nms(box, score, label, cfg.nms_iou)[: cfg.max_detections]
        return box[keep], score[keep], label[keep]


def onnx_graph(module: nn.Module) -> nn.Module:
    """The exportable wrapper of a detector (its own ``onnx_graph()`` when it has one)."""
    hook = getattr(module, "onnx_graph", None)
    if callable(hook):
        return hook()
    from pigskin.models.torchvision_adapter import TorchvisionDetector
    from pigskin.models.yolo import YOLOv3

    if isinstance(module, TorchvisionDetector):
        return _TorchvisionGraph(module)
    if isinstance(module, YOLOv3):
        return _YoloGraph(module)
    raise PigskinError(f"no ONNX export for {type(module).__name__}: give it an onnx_graph() method")


def export_onnx(predictor: Any, frame_size: tuple[int, int] = (1280, 720), opset: int = OPSET) -> bytes:
    """The predictor's model as ONNX bytes (traced on a ``frame_size`` frame; any size runs), with
    metadata tying it to these weights: image size, padding, classes, weight digest."""
    import onnx

    if opset < 11:
        raise PigskinError(f"opset {opset}: detection graphs need opset >= 11 (NonMaxSuppression, RoiAlign)")
    module = predictor.torch_module
    config = predictor.config
    divisible = int(getattr(module, "size_divisible", 32))
    graph = onnx_graph(module).eval()
    frames = int(getattr(module, "frames", 1) or 1)  # a multi-frame model's graph takes K stacked frames
    frame = np.zeros((frame_size[1], frame_size[0], 3 * frames), np.uint8)
    batch, size, _ = preprocess(frame, config.image_size, divisible)
    buffer = io.BytesIO()
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # the tracer warns of Python values: what the wrappers take care of
        torch.onnx.export(
            graph,
            (torch.from_numpy(batch), torch.from_numpy(size)),
            buffer,
            dynamo=False,
            opset_version=opset,
            input_names=["images", "size"],
            output_names=list(OUTPUTS),
            dynamic_axes={"images": {2: "height", 3: "width"}, **{n: {0: "detections"} for n in OUTPUTS}},
        )
    model = onnx.load_from_string(buffer.getvalue())
    meta = {
        "model": predictor.name,
        "weights": weights_digest(module),
        "image_size": str(config.image_size),
        "size_divisible": str(divisible),
        "classes": json.dumps(list(predictor.classes)),
        "score_threshold": str(config.score_threshold),
        "frames": str(frames),
    }
    for key, value in meta.items():
        prop = model.metadata_props.add()
        prop.key, prop.value = META_PREFIX + key, value
    model.producer_name = "pigskin"
    onnx.checker.check_model(model)
    return model.SerializeToString()


# -- the check -------------------------------------------------------------------------------------------


@dataclass
class Comparison:
    """How far two lists of per-frame detections are apart (matched in score order)."""

    frames: int
    detections: int  # in the reference
    count_mismatches: list[str]  # "frame 3: 5 vs 4"
    max_box_diff: float  # px
    max_score_diff: float
    class_mismatches: int

    def ok(self, box_atol: float, score_atol: float) -> bool:
        return (not self.count_mismatches and not self.class_mismatches and self.max_box_diff <= box_atol
                and self.max_score_diff <= score_atol)

    def summary(self) -> str:
        counts = "; ".join(self.count_mismatches[:5]) or "none"
        return (f"{self.frames} frames, {self.detections} detections: max |box diff| "
                f"{self.max_box_diff:.3g} px, max |score diff| {self.max_score_diff:.3g}, "
                f"count mismatches {counts}, class mismatches {self.class_mismatches}")


def _pair(a: Detections, b: Detections) -> tuple[np.ndarray, np.ndarray]:
    """Match two frames' detections one to one: same class, then nearest score and box. Sorting by
    score is not enough: a network can give several boxes the very same score (a uniform patch of
    sky), and two runtimes may list those in different orders."""
    from scipy.optimize import linear_sum_assignment

    box = np.abs(a.xyxy[:, None, :] - b.xyxy[None, :, :]).max(-1)
    score = np.abs(a.confidence[:, None] - b.confidence[None, :])
    other_class = a.class_id[:, None] != b.class_id[None, :]
    rows, cols = linear_sum_assignment(box + 1e3 * score + 1e6 * other_class)
    return rows, cols


def compare_detections(reference: list[Detections], other: list[Detections]) -> Comparison:
    """How far ``other`` is from ``reference``, frame by frame (detections need confidences)."""
    if len(reference) != len(other):
        raise ValueError(f"compare_detections: {len(reference)} frames vs {len(other)}")
    counts, box, score, classes, total = [], 0.0, 0.0, 0, 0
    for i, (a, b) in enumerate(zip(reference, other, strict=True)):
        total += len(a)
        if len(a) != len(b):
            counts.append(f"frame {i}: {len(a)} vs {len(b)}")
            continue
        if not len(a):
            continue
        rows, cols = _pair(a, b)
        box = max(box, float(np.abs(a.xyxy[rows] - b.xyxy[cols]).max()))
        score = max(score, float(np.abs(a.confidence[rows] - b.confidence[cols]).max()))
        classes += int((a.class_id[rows] != b.class_id[cols]).sum())
    return Comparison(len(reference), total, counts, box, score, classes)


def noise_frames(n: int, width: int = 1280, height: int = 720, seed: int = 0) -> list[np.ndarray]:
    """Random pixels: enough to compare two runtimes on, not to judge a model, and no renderer needed
    (:func:`pigskin.synth.scene.sample_frames` draws broadcast stills where the renderer is installed)."""
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 256, (height, width, 3), dtype=np.uint8) for _ in range(n)]


def check_onnx(
    predictor: Any, model_bytes: bytes, frames: list[np.ndarray], score_threshold: float | None = None,
    threads: int = 1,
) -> Comparison:
    """Run PyTorch and ONNX Runtime on ``frames`` and compare their detections."""
    threshold = predictor.config.score_threshold if score_threshold is None else score_threshold
    reference = predictor.predict(frames, score_threshold=threshold)
    other = OnnxBackend(model_bytes, threads).predict(frames, threshold)
    return compare_detections(reference, other)


# -- files -----------------------------------------------------------------------------------------------


def add_to_artifact(artifact: str | os.PathLike[str], model_bytes: bytes) -> Path:
    """Store ``model.onnx`` with an artifact (rewritten atomically; an older ``model.onnx`` is replaced),
    where ``pigskin serve --backend onnx`` finds it."""
    from pigskin.models.artifact import update_artifact

    return update_artifact(artifact, {ONNX_NAME: model_bytes})
