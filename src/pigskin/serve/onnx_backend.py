"""An exported graph in ONNX Runtime, and what ties it to a model: the weights digest, the metadata,
``model.onnx`` beside an artifact. Needs numpy and onnxruntime, never torch.

The frames go in as the PyTorch model sees them: resized so the long side is ``image_size``
(:func:`pigskin.models.predictor.resize_long_side`), scaled to [0, 1], padded bottom/right to
``size_divisible``, and the boxes mapped back to the frame's pixels. The graph holds the network
*and* its post-processing (NMS included, see :mod:`pigskin.serve.export`); only the resize, pad and
un-resize run here in numpy, so its answers equal the PyTorch backend's to float precision. Below
both the exporter (which writes what this reads) and :mod:`pigskin.serve.backends`.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from pigskin.boxes import clip
from pigskin.detections import Detections
from pigskin.errors import PigskinError

ONNX_NAME = "model.onnx"  # inside an artifact (tar or unpacked folder), next to weights.pt
META_PREFIX = "pigskin."  # ONNX metadata_props keys written by the exporter


def weights_digest(module: Any) -> str:
    """A short hash of a module's weights: the served model's ``version``, and what ties an exported
    ONNX graph to the weights it came from. Batch counters are left out (loading may drop them)."""
    h = hashlib.sha256()
    for name, tensor in sorted(module.state_dict().items()):
        if name.endswith("num_batches_tracked"):
            continue
        arr = tensor.detach().cpu().contiguous().numpy()
        h.update(f"{name}:{arr.dtype}:{arr.shape};".encode())
        h.update(arr.tobytes())
    return h.hexdigest()[:16]


def preprocess(
    image: np.ndarray, image_size: int, divisible: int
) -> tuple[np.ndarray, np.ndarray, tuple[float, float]]:
    """A frame (or ``K`` stacked frames, ``(H, W, 3K)``) -> the graph's inputs ``images (1, 3K, H, W)``
    float32 in [0, 1] padded to ``divisible``, ``size (2,)`` int64 (the unpadded height, width), and
    the (x, y) resize scale."""
    from pigskin.models.predictor import resize_long_side

    resized, scale = resize_long_side(image, image_size)
    h, w, c = resized.shape
    ph, pw = -(-h // divisible) * divisible, -(-w // divisible) * divisible
    batch = np.zeros((1, c, ph, pw), np.float32) if (ph, pw) != (h, w) else np.empty((1, c, h, w), np.float32)
    inside = batch[0, :, :h, :w]
    inside[...] = resized.transpose(2, 0, 1)  # in place: no float temporaries of the whole stack
    inside *= np.float32(1 / 255)
    return batch, np.array([h, w], np.int64), scale


def to_frame(boxes: np.ndarray, scores: np.ndarray, labels: np.ndarray, scale: tuple[float, float],
             frame_shape: tuple[int, ...]) -> Detections:
    """Graph outputs (boxes in the resized frame) -> Detections in the frame's pixels, as ``detect`` does:
    boxes that collapse to zero area, when clipped or mapped back, are dropped."""
    boxes = boxes.reshape(-1, 4).astype(np.float32)
    keep = (boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1])
    boxes, scores, labels = boxes[keep], scores.reshape(-1)[keep], labels.reshape(-1)[keep]
    sx, sy = scale
    xyxy = clip(boxes / np.array([sx, sy, sx, sy], np.float32), frame_shape[1], frame_shape[0])
    xyxy = xyxy.astype(np.float32)
    keep = (xyxy[:, 2] > xyxy[:, 0]) & (xyxy[:, 3] > xyxy[:, 1])
    return Detections(xyxy[keep], labels[keep].astype(np.int64), scores[keep].astype(np.float32))


def onnx_metadata(model_bytes: bytes) -> dict[str, str]:
    import onnx

    model = onnx.load_from_string(model_bytes)
    return {p.key[len(META_PREFIX):]: p.value for p in model.metadata_props if p.key.startswith(META_PREFIX)}


class OnnxBackend:
    """An exported graph in an ONNX Runtime session (``threads`` intra-op threads).

    A multi-frame graph (metadata ``frames`` = K > 1) takes ``(H, W, 3K)`` stacks, oldest frame first;
    a plain RGB frame is repeated K times (a frame that did not move), as the PyTorch model does.
    ``predict`` has the :class:`pigskin.models.predictor.Predictor` signature, so the tracker's
    :class:`pigskin.track.detectors.FrameHistory` runs on either. ``spin=False`` stops idle ONNX
    Runtime workers from busy-waiting, which the tracker needs: its decode and encode threads share the
    cores (docs/track.md)."""

    kind = "onnx"

    def __init__(self, model_bytes: bytes, threads: int = 1, where: str = "ONNX model", spin: bool = True
                 ) -> None:
        import onnxruntime as ort

        meta = onnx_metadata(model_bytes)
        try:
            self.image_size = int(meta["image_size"])
            self.size_divisible = int(meta["size_divisible"])
            self.weights = meta["weights"]
            self.classes = json.loads(meta["classes"])
            self.frames = int(meta.get("frames", 1))
            self.score_threshold = float(meta.get("score_threshold", 0.5))
        except (KeyError, ValueError) as exc:
            raise PigskinError(f"{where}: not exported by `pigskin export` (metadata {exc} missing or bad)"
                               ) from None
        options = ort.SessionOptions()
        options.intra_op_num_threads = max(1, int(threads))
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        if not spin:  # idle workers sleep instead of spinning: the CPU goes to other threads (video IO)
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        try:
            self.session = ort.InferenceSession(model_bytes, options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own exception types for a bad graph
            raise PigskinError(f"{where}: ONNX Runtime cannot load it: {exc}") from None

    def predict(self, images: list[np.ndarray], score_threshold: float | None = None,
                image_size: int | None = None) -> list[Detections]:
        """Boxes in each frame's pixels with scores >= ``score_threshold`` (default: the exported
        model's); ``image_size`` overrides the long side frames are resized to."""
        threshold = self.score_threshold if score_threshold is None else float(score_threshold)
        out = []
        for image in images:
            if image.ndim == 3 and image.shape[2] == 3 and self.frames > 1:
                image = np.concatenate([image] * self.frames, axis=2)
            if image.ndim != 3 or image.shape[2] != 3 * self.frames:
                raise ValueError(f"this ONNX model takes RGB frames (H, W, 3) or {self.frames} stacked "
                                 f"frames (H, W, {3 * self.frames}), got {image.shape}")
            batch, size, scale = preprocess(image, image_size or self.image_size, self.size_divisible)
            boxes, scores, labels = self.session.run(None, {"images": batch, "size": size})
            d = to_frame(boxes, scores, labels, scale, image.shape)
            out.append(d[d.confidence >= threshold])
        return out


def artifact_onnx(path: str | os.PathLike[str]) -> bytes | None:
    """``model.onnx`` stored with an artifact (in the tar, or next to it in an unpacked folder), if any."""
    import tarfile

    from pigskin.models.artifact import ARTIFACT_NAME

    path = Path(path)
    if path.is_dir():
        if (path / ONNX_NAME).is_file():
            return (path / ONNX_NAME).read_bytes()
        path = path / ARTIFACT_NAME
    if not path.is_file():
        return None
    try:
        with tarfile.open(path) as tar:
            for member in tar.getmembers():
                if member.isfile() and member.name.lstrip("./") == ONNX_NAME:
                    f = tar.extractfile(member)
                    return f.read() if f is not None else None
    except (tarfile.TarError, OSError, EOFError):
        return None  # load_model reports what is wrong with the artifact
    return None
