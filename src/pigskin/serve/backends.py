"""One ``predict(frames, score_threshold) -> list[Detections]`` over PyTorch or ONNX Runtime.

Both backends see the same frames the same way: resized so the long side is ``image_size``
(:func:`pigskin.models.predictor.resize_long_side`), scaled to [0, 1], padded bottom/right to
``size_divisible``, and the boxes mapped back to the frame's pixels. The ONNX graph holds the network
*and* its post-processing (NMS included, see :mod:`pigskin.serve.export`); only the resize, pad and
un-resize run here in numpy, so its answers equal the PyTorch backend's to float precision.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from pigskin.boxes import clip
from pigskin.detections import Detections
from pigskin.errors import PigskinError

BACKENDS = ("torch", "onnx")
ONNX_NAME = "model.onnx"  # inside an artifact (tar or unpacked folder), next to weights.pt
META_PREFIX = "pigskin."  # ONNX metadata_props keys written by the exporter


class Backend(Protocol):
    kind: str

    def predict(self, images: list[np.ndarray], score_threshold: float) -> list[Detections]: ...


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


def default_threads(workers: int = 1) -> int:
    """Cores this process may use, shared among ``workers`` processes."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        cores = os.cpu_count() or 1
    return max(1, cores // max(1, workers))


# -- PyTorch --------------------------------------------------------------------------------------------


@dataclass
class TorchBackend:
    predictor: Any  # pigskin.models.predictor.Predictor
    kind: str = "torch"

    def predict(self, images: list[np.ndarray], score_threshold: float) -> list[Detections]:
        return self.predictor.predict(images, score_threshold=score_threshold)


# -- ONNX Runtime ---------------------------------------------------------------------------------------


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


# -- the served model -----------------------------------------------------------------------------------


@dataclass
class ServedModel:
    """What the server holds: a backend plus what ``/v1/model`` and every response say about it."""

    backend: Backend
    name: str
    version: str
    classes: list[str]
    score_threshold: float
    max_detections: int
    manifest: dict[str, Any] = field(default_factory=dict)
    load_seconds: float = 0.0

    def describe(self) -> dict[str, Any]:
        """Short form for every response."""
        return {"name": self.name, "version": self.version, "backend": self.backend.kind}

    def info(self) -> dict[str, Any]:
        """Long form for ``GET /v1/model``."""
        m = self.manifest
        return {
            **self.describe(),
            "classes": self.classes,
            "defaults": {"score_threshold": self.score_threshold, "max_detections": self.max_detections},
            "created": m.get("created"),
            "pigskin_version": m.get("pigskin_version"),
            "model_config": m.get("model_config"),
            "preprocessing": m.get("preprocessing"),
            "metrics": m.get("metrics") or {},
            "load_seconds": round(self.load_seconds, 3),
        }


def load_served_model(
    path: str | os.PathLike[str],
    backend: str = "torch",
    threads: int = 1,
    onnx: str | os.PathLike[str] | None = None,
) -> ServedModel:
    """Load an artifact for serving. ``backend="onnx"`` uses ``onnx`` if given, else the artifact's
    ``model.onnx``, else exports one now (and checks it was made from these weights)."""
    import torch

    from pigskin.models.artifact import load_model

    if backend not in BACKENDS:
        raise PigskinError(f"unknown backend {backend!r}; expected one of {', '.join(BACKENDS)}")
    start = time.perf_counter()
    predictor = load_model(path)
    version = weights_digest(predictor.module)
    if backend == "torch":
        torch.set_num_threads(max(1, threads))
        served: Backend = TorchBackend(predictor)
    else:
        where = str(onnx) if onnx else f"{path} ({ONNX_NAME})"
        data = Path(onnx).read_bytes() if onnx else artifact_onnx(path)
        if data is None:
            from pigskin.serve.export import export_onnx

            where, data = f"{path} (exported at start-up)", export_onnx(predictor)
        served = OnnxBackend(data, threads, where)
        if served.weights != version:
            raise PigskinError(
                f"{where}: exported from other weights ({served.weights}) than {path} ({version}); "
                "export it again with `pigskin export`"
            )
    return ServedModel(
        backend=served,
        name=predictor.name,
        version=version,
        classes=list(predictor.classes),
        score_threshold=float(predictor.config.score_threshold),
        max_detections=int(predictor.config.max_detections),
        manifest=dict(predictor.meta),
        load_seconds=time.perf_counter() - start,
    )
