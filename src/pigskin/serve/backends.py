"""One ``predict(frames, score_threshold) -> list[Detections]`` over PyTorch or ONNX Runtime, and the
served model that holds one.

Both backends see the same frames the same way (resize, scale, pad; see
:mod:`pigskin.serve.onnx_backend`, where the ONNX Runtime side lives). An artifact without a
``model.onnx`` is exported at start-up (:mod:`pigskin.serve.export`, which sits below this module).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from pigskin.detections import Detections
from pigskin.errors import PigskinError
from pigskin.serve.onnx_backend import ONNX_NAME, OnnxBackend, artifact_onnx, weights_digest

BACKENDS = ("torch", "onnx")


class Backend(Protocol):
    kind: str

    def predict(self, images: list[np.ndarray], score_threshold: float) -> list[Detections]: ...


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
