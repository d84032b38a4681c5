"""What the tracking pipeline calls to find the ball: ``detector(rgb_frame, window) -> Detections``.

``window`` is ``(x1, y1, x2, y2)`` in frame pixels or ``None`` for the whole frame; boxes come back in
whole-frame pixels. :func:`model_detector` adapts a trained ``model.tar.gz`` on PyTorch or ONNX Runtime
(:class:`FrameHistory` gives a multi-frame model its past frames); :func:`windowed` adapts any
whole-image predictor; :class:`pigskin.track.simple.BlobDetector` is a training-free stand-in.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable
from typing import Any

import numpy as np

from pigskin.detections import Detections
from pigskin.errors import PigskinError

Window = tuple[int, int, int, int]
Detector = Callable[[np.ndarray, Window | None], Detections]
BACKENDS = ("auto", "torch", "onnx")


def clip_window(window: Window, width: int, height: int) -> Window:
    """Whole-pixel window inside a ``width`` x ``height`` frame, at least one pixel each way."""
    x1, y1, x2, y2 = (int(round(v)) for v in window)
    x1, y1 = max(0, min(x1, width - 1)), max(0, min(y1, height - 1))
    return x1, y1, max(x1 + 1, min(x2, width)), max(y1 + 1, min(y2, height))


def crop(frame: np.ndarray, window: Window | None) -> tuple[np.ndarray, tuple[int, int]]:
    """The window's pixels (the whole frame for None) and the window's top-left corner."""
    if window is None:
        return frame, (0, 0)
    x1, y1, x2, y2 = clip_window(window, frame.shape[1], frame.shape[0])
    return np.ascontiguousarray(frame[y1:y2, x1:x2]), (x1, y1)


def shift(d: Detections, offset: tuple[int, int]) -> Detections:
    """Boxes found in a crop, moved back into frame pixels."""
    if len(d) == 0 or offset == (0, 0):
        return d
    x, y = offset
    return d.replace(xyxy=d.xyxy + np.array([x, y, x, y], np.float32))


def windowed(predict: Callable[[list[np.ndarray]], list[Detections]]) -> Detector:
    """Make a whole-image predictor that works at any image size a :data:`Detector`: predict on the
    window's crop as it is, shift the boxes back into frame pixels."""

    def detect(frame: np.ndarray, window: Window | None = None) -> Detections:
        part, offset = crop(frame, window)
        return shift(predict([part])[0], offset)

    return detect


class FrameHistory:
    """A :data:`Detector` for a trained model, single- or multi-frame (``model.frames`` = K).

    ``model`` is a :class:`pigskin.models.predictor.Predictor` or a
    :class:`pigskin.serve.backends.OnnxBackend`: both have ``frames``, ``image_size``,
    ``score_threshold`` and ``predict(images, score_threshold, image_size=)``. It keeps the last
    ``K - 1`` whole frames, cuts the same window out of each, and runs the model on the window at the
    *frame's* scale (``image_size`` / the frame's long side, so the ball keeps the size the model
    learnt and a 256-px window costs a fraction of a frame); boxes come back in whole-frame pixels,
    only class ``keep_class`` when given. A second call with the same frame object (a wider search of
    one frame) does not advance the history. Call :meth:`reset` at a scene cut or a new video
    (``track_video`` does at the start).
    """

    def __init__(self, model: Any, score_threshold: float | None = None, keep_class: int | None = None
                 ) -> None:
        self.model = model
        self.frames = int(model.frames)
        self.score_threshold = model.score_threshold if score_threshold is None else float(score_threshold)
        self.keep_class = keep_class
        self.history: deque[np.ndarray] = deque(maxlen=self.frames)

    def reset(self) -> None:
        self.history.clear()

    def observe(self, frame: np.ndarray) -> None:
        """Remember a frame that is not searched (the pipeline skips some while no ball is tracked),
        so the next search still sees the true previous frames."""
        if self.history and self.history[-1].shape != frame.shape:
            self.history.clear()
        if not self.history or frame is not self.history[-1]:
            self.history.append(frame)

    def __call__(self, frame: np.ndarray, window: Window | None = None) -> Detections:
        from pigskin.data.clips import stack_frames

        self.observe(frame)
        past = list(self.history)
        past = [past[0]] * (self.frames - len(past)) + past
        h, w = frame.shape[:2]
        x1, y1, x2, y2 = (0, 0, w, h) if window is None else clip_window(window, w, h)
        stack = stack_frames([np.ascontiguousarray(f[y1:y2, x1:x2]) for f in past])
        size = max(1, round(max(y2 - y1, x2 - x1) * self.model.image_size / max(h, w)))
        d = self.model.predict([stack], self.score_threshold, image_size=size)[0]
        if self.keep_class is not None:
            d = d[d.class_id == self.keep_class]
        return shift(d, (x1, y1))


def onnx_available() -> bool:
    try:
        import onnx  # noqa: F401
        import onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True


def model_detector(path: str | os.PathLike[str], score_threshold: float | None = None,
                   ball_class: str | None = None, precision: str = "fp32", backend: str = "auto",
                   threads: int | None = None) -> FrameHistory:
    """A :data:`Detector` from a trained ``model.tar.gz`` (``pigskin.models.artifact``).

    ``backend``: ``torch``; ``onnx`` (ONNX Runtime: 1.4x faster on a whole 1280x720 frame and 2-5x
    on a 384-128 px window than eager PyTorch on 2 cores, benchmarks/tracker_backends.py); ``auto`` = onnx
    when onnxruntime is installed and ``precision`` is fp32. The ONNX graph is the artifact's
    ``model.onnx`` when it was exported from these weights with the model's frame count, else it is
    exported now (a few seconds). ``precision``: see :func:`pigskin.models.artifact.load_model`
    (bf16 is PyTorch only). Only the ball class is kept: ``ball_class`` by name, else ``football`` or
    ``ball``, else class 0.
    """
    from pigskin.models.released import resolve

    path = resolve(path)  # a released name (pigskin-ball) or a path
    if backend not in BACKENDS:
        raise PigskinError(f"unknown backend {backend!r}; expected one of {', '.join(BACKENDS)}")
    if backend == "onnx" and precision != "fp32":
        raise PigskinError(f"precision {precision} runs on the torch backend only (ONNX Runtime: fp32)")
    if backend == "onnx" and not onnx_available():
        raise PigskinError("backend onnx needs onnx and onnxruntime: pip install 'pigskin[serve]'")
    try:
        from pigskin.models.artifact import load_model
    except ImportError as exc:  # pragma: no cover - the models package needs torch
        raise PigskinError(f"{path}: cannot load models ({exc})") from exc
    predictor = load_model(path, precision=precision)
    classes = [str(c) for c in predictor.classes]
    if ball_class is not None and ball_class not in classes:
        raise PigskinError(f"{path}: no class {ball_class!r} in the model (it has {', '.join(classes)})")
    keep = classes.index(ball_class) if ball_class is not None else next(
        (i for i, c in enumerate(classes) if c.lower() in ("football", "ball")), 0)
    model: Any = predictor
    if backend == "onnx" or (backend == "auto" and precision == "fp32" and onnx_available()):
        model = onnx_model(path, predictor, threads)
    return FrameHistory(model, score_threshold, keep)


def onnx_model(path: str | os.PathLike[str], predictor: Any, threads: int | None = None) -> Any:
    """An ONNX Runtime session of ``predictor``'s model: the artifact's ``model.onnx`` if it matches
    these weights and frame count, else a fresh export (traced on a small frame: the graph is dynamic).
    Its workers do not spin, so the pipeline's video threads get the cores when the model waits."""
    from pigskin.serve.backends import default_threads
    from pigskin.serve.export import export_onnx
    from pigskin.serve.onnx_backend import OnnxBackend, artifact_onnx, onnx_metadata, weights_digest

    threads = threads or default_threads()
    data = artifact_onnx(path)
    if data is not None:  # read the metadata before paying for a session
        meta = onnx_metadata(data)
        if (meta.get("weights") == weights_digest(predictor.module)
                and int(meta.get("frames", 1)) == predictor.frames):
            return OnnxBackend(data, threads, f"{path} (model.onnx)", spin=False)
    graph = export_onnx(predictor, frame_size=(256, 256))
    return OnnxBackend(graph, threads, f"{path} (exported)", spin=False)
