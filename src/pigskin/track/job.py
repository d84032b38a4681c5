"""One `pigskin track` run described as data: which detector, which settings.

``pigskin track`` builds a :class:`TrackJob` from its arguments and runs it on one video;
``pigskin batch`` sends the same job to every worker, which loads the detector once and runs it on
many videos. One description, one code path, so a batch writes exactly what ``track`` writes.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from dataclasses import dataclass, field

from pigskin.track.detectors import Detector
from pigskin.track.pipeline import PipelineConfig, TrackResult, track_video
from pigskin.track.tracker import TrackerConfig


@dataclass(frozen=True)
class TrackJob:
    """What to track with (picklable: a batch ships it to its workers)."""

    model: str | None = None  # a model.tar.gz or a released name; None (and no detector) = pigskin-ball
    detector: str | None = None  # "simple": the built-in colour-blob detector instead of a model
    score_threshold: float | None = None
    ball_class: str | None = None
    precision: str = "fp32"
    backend: str = "auto"
    threads: int | None = None  # model threads (ONNX Runtime intra-op, torch); None = every core
    min_score: float | None = None  # None: the model's score threshold (TrackerConfig.at_threshold)
    pipeline: PipelineConfig = field(default_factory=PipelineConfig)
    tracker: TrackerConfig = field(default_factory=TrackerConfig)

    def load_detector(self) -> Detector:
        """The detector, loaded now (seconds for a model: do it once and reuse it across videos)."""
        if self.detector == "simple":
            from pigskin.track.simple import BlobDetector

            return BlobDetector()
        if self.detector is not None:
            raise ValueError(f"unknown detector {self.detector!r}; expected 'simple' or a model")
        from pigskin.runtime import prepare

        prepare(self.threads)  # before torch is imported: allocator, OpenMP wait policy, threads
        from pigskin.models.released import DEFAULT_MODEL
        from pigskin.track.detectors import model_detector

        return model_detector(self.model or DEFAULT_MODEL, self.score_threshold, self.ball_class,
                              self.precision, self.backend, self.threads)

    def tracker_config(self, detector: Detector) -> TrackerConfig:
        """The tracker settings: ``min_score`` by hand, else scaled to a model's operating point."""
        if self.min_score is not None:
            return dataclasses.replace(self.tracker, min_score=self.min_score)
        threshold = getattr(detector, "score_threshold", None)
        if self.detector is None and threshold is not None:
            return self.tracker.at_threshold(threshold)
        return self.tracker

    def run(self, video: str | os.PathLike[str], out_dir: str | os.PathLike[str],
            detector: Detector | None = None, on_frame: Callable[[], None] | None = None) -> TrackResult:
        """Track ``video`` into ``out_dir`` with ``detector`` (loaded now when not given); ``on_frame``
        after each frame."""
        detector = detector if detector is not None else self.load_detector()
        return track_video(video, detector, out_dir, self.pipeline, self.tracker_config(detector),
                           on_frame)
