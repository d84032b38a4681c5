"""Video in, tracked ball out: decode -> detect -> track -> draw -> encode, one frame at a time.

The pipeline takes any *detector*, a callable ``detector(rgb_frame, window) -> Detections``, where
``window`` is ``(x1, y1, x2, y2)`` in frame pixels or ``None`` for the whole frame, and boxes come
back in whole-frame pixels. :func:`model_detector` adapts a trained ``model.tar.gz``;
:class:`pigskin.track.simple.BlobDetector` is a training-free stand-in.

Window search: while the track is confident (the last frame was a detection) the detector sees
only a square around the predicted centre, at full resolution; the whole frame is searched every
``full_every`` frames and whenever the track is coasting or lost.

Outputs in ``out_dir`` (see docs/track.md): ``annotated.mp4``, ``tracks.csv``, ``tracks.jsonl``,
``groundtruth.manifest`` (+ ``.seq/``: a Ground Truth video-object-tracking label to review),
``timing.json``; with ``smooth``, ``tracks_smoothed.csv``/``.jsonl`` too. On an error mid-video
every output is still finished (a playable mp4, complete rows up to the failing frame) and
``timing.json`` says ``"complete": false`` and why, before the error is raised again.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from pigskin.boxes import clip
from pigskin.detections import Detections
from pigskin.errors import PigskinError
from pigskin.fileio import write_text
from pigskin.track.draw import Trail, render
from pigskin.track.offline import smooth
from pigskin.track.rows import RowWriter, partial_name, write_rows
from pigskin.track.tracker import BallTracker, TrackerConfig
from pigskin.track.video import VideoInfo, VideoReader, VideoWriter, frame_name

Window = tuple[int, int, int, int]
Detector = Callable[[np.ndarray, Window | None], Detections]
STAGES = ("decode", "detect", "track", "draw", "encode")


@dataclass(frozen=True)
class PipelineConfig:
    window: bool = True  # search a window around the prediction while the track is confident
    window_px: int = 256  # smallest window side; grows with the gate and the ball's size
    full_every: int = 15  # search the whole frame at least this often (frames)
    trail: int = 20  # positions shown behind the ball
    write_video: bool = True
    crf: int = 23  # H.264 quality (lower = better, bigger)
    preset: str = "superfast"  # x264 speed preset (veryfast: 3x smaller files, ~1.4x slower)
    smooth: bool = False  # also write the offline RTS-smoothed, gap-filled track
    max_gap: int = 15  # gaps up to this many frames are filled by smoothing
    save_frames: bool = False  # write every frame as frames/<video>_<n>.jpg (for the Ground Truth file)
    fps: float | None = None  # frame rate of an image folder (default 30)
    progress: bool = True

    def __post_init__(self) -> None:
        if self.full_every < 1 or self.window_px < 16:
            raise ValueError(
                f"full_every >= 1 and window_px >= 16 required, got {self.full_every}, {self.window_px}"
            )


@dataclass
class StageTiming:
    """Seconds spent per stage; printed as a table and saved in ``timing.json``."""

    seconds: dict[str, float] = field(default_factory=lambda: dict.fromkeys(STAGES, 0.0))
    frames: int = 0
    window_frames: int = 0
    wall_s: float = 0.0

    @contextlib.contextmanager
    def stage(self, name: str) -> Iterator[None]:
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - t0

    @property
    def fps(self) -> float:
        return self.frames / self.wall_s if self.wall_s > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        n = max(self.frames, 1)
        return {
            "frames": self.frames,
            "window_frames": self.window_frames,
            "wall_s": round(self.wall_s, 4),
            "fps": round(self.fps, 2),
            "stages": {k: {"seconds": round(v, 4), "ms_per_frame": round(1000 * v / n, 3)}
                       for k, v in self.seconds.items()},
        }

    def table(self) -> str:
        n = max(self.frames, 1)
        total = sum(self.seconds.values()) or 1.0
        lines = [f"{'stage':<8} {'ms/frame':>9} {'share':>6}"]
        for k, v in self.seconds.items():
            lines.append(f"{k:<8} {1000 * v / n:9.2f} {100 * v / total:5.1f}%")
        lines.append(f"{'total':<8} {1000 * self.wall_s / n:9.2f}  -> {self.fps:.1f} frames/s "
                     f"({self.frames} frames, {self.window_frames} searched in a window)")
        return "\n".join(lines)


@dataclass
class TrackResult:
    info: VideoInfo
    rows: list[dict[str, Any]]
    timing: StageTiming
    out_dir: Path
    smoothed: list[dict[str, Any]] | None = None
    complete: bool = True
    error: str | None = None


# -- detectors ------------------------------------------------------------------------------------
def clip_window(window: Window, width: int, height: int) -> Window:
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


def model_detector(path: str | os.PathLike[str], score_threshold: float | None = None,
                   ball_class: str | None = None, precision: str = "fp32") -> Detector:
    """A :data:`Detector` from a trained ``model.tar.gz`` (``pigskin.models.artifact``).

    A window is cropped and shown to the model at the scale the model sees a whole frame at
    (``image_size`` / the frame's long side: 1 for a 1280-px frame and the default 1280), so the
    ball keeps the size the model learnt, and a 256-px window costs a fraction of a frame. Only
    the ball class is kept: ``ball_class`` by name, else ``football`` or ``ball``, else class 0.
    A multi-frame model (the heatmap family, ``K`` frames) sees the same window cut from the current
    frame and the ``K - 1`` before it (:class:`pigskin.data.clips.FrameHistory`), as it was trained.
    ``precision``: see :func:`pigskin.models.artifact.load_model`.
    """
    try:
        from pigskin.data.clips import FrameHistory
        from pigskin.models.artifact import load_model
    except ImportError as exc:  # pragma: no cover - the models package needs torch
        raise PigskinError(f"{path}: cannot load models ({exc})") from exc
    predictor = load_model(path, precision=precision)
    classes = [str(c) for c in predictor.classes]
    if ball_class is not None and ball_class not in classes:
        raise PigskinError(f"{path}: no class {ball_class!r} in the model (it has {', '.join(classes)})")
    keep = classes.index(ball_class) if ball_class is not None else next(
        (i for i, c in enumerate(classes) if c.lower() in ("football", "ball")), 0)
    return FrameHistory(predictor, score_threshold, keep)


# -- the loop -------------------------------------------------------------------------------------
def search_window(tracker: BallTracker, width: int, height: int, min_side: int) -> Window | None:
    """A square around the tracker's next predicted centre, big enough for its gate and the ball."""
    pred = tracker.predicted()
    if pred is None:
        return None
    center, gate, size = pred
    half = max(min_side / 2, gate + float(np.max(size)))
    half = min(half, max(width, height) / 2)
    x1 = int(np.clip(center[0] - half, 0, max(width - 2 * half, 0)))
    y1 = int(np.clip(center[1] - half, 0, max(height - 2 * half, 0)))
    return clip_window((x1, y1, x1 + 2 * half, y1 + 2 * half), width, height)


def track_video(
    source: str | os.PathLike[str],
    detector: Detector,
    out_dir: str | os.PathLike[str],
    config: PipelineConfig | None = None,
    tracker_config: TrackerConfig | None = None,
) -> TrackResult:
    """Track the ball through ``source`` (a video file or an image folder); see the module doc."""
    cfg = config or PipelineConfig()
    out = Path(out_dir)
    reader = VideoReader(source, fps=cfg.fps)  # fails here, before any output, if unreadable
    info = reader.info
    out.mkdir(parents=True, exist_ok=True)
    _clear_outputs(out)
    tracker = BallTracker(tracker_config, image_size=(info.width, info.height))
    timing = StageTiming()
    rows: list[dict[str, Any]] = []
    result = TrackResult(info, rows, timing, out)
    trail = Trail(cfg.trail)
    video_path = out / "annotated.mp4"
    row_writer = RowWriter(out / "tracks.csv", out / "tracks.jsonl")
    video = None
    t_start = time.perf_counter()
    try:
        if cfg.write_video:
            video = VideoWriter(partial_name(video_path), info.width, info.height, info.fps,
                                cfg.crf, cfg.preset)
        since_full = 0
        reset = getattr(detector, "reset", None)
        if callable(reset):  # a new video: a multi-frame detector forgets the last one's frames
            reset()
        frames = iter(reader)
        with _progress(info, cfg.progress) as bar:
            while True:
                with timing.stage("decode"):
                    item = next(frames, None)
                if item is None:
                    break
                index, time_s, image = item
                window = None
                if cfg.window and tracker.confident and since_full < cfg.full_every - 1:
                    window = search_window(tracker, info.width, info.height, cfg.window_px)
                since_full = since_full + 1 if window is not None else 0
                with timing.stage("detect"):
                    dets = detector(image, window)
                with timing.stage("track"):
                    state = tracker.update(dets, index, window)
                    row = state.row(time_s)
                    rows.append(row)
                    row_writer.write(row)
                    trail.push(state)
                if cfg.save_frames:
                    _save_frame(out / "frames" / frame_name(info.path, index), image)
                if video is not None:
                    with timing.stage("draw"):
                        picture = render(image, state, trail.points)
                    with timing.stage("encode"):
                        video.write(picture)
                timing.frames += 1
                timing.window_frames += window is not None
                bar.update(1)
    except BaseException as exc:
        result.complete, result.error = False, str(exc) or type(exc).__name__
        raise
    finally:
        timing.wall_s = time.perf_counter() - t_start
        _finish(result, reader, row_writer, video, video_path, cfg, tracker_config)
    return result


def _finish(result: TrackResult, reader: VideoReader, row_writer: RowWriter, video: VideoWriter | None,
            video_path: Path, cfg: PipelineConfig, tracker_config: TrackerConfig | None) -> None:
    """Close and name every output; on an error path a failure here must not hide the first error."""
    failing = not result.complete
    steps: list[Callable[[], None]] = [reader.close, row_writer.close]
    if video is not None:
        steps.append(lambda: _finish_video(video, video_path))
    if cfg.smooth:
        steps.append(lambda: _write_smoothed(result, cfg, tracker_config))
    steps.append(lambda: write_groundtruth(result.out_dir / "groundtruth.manifest", result.info,
                                           result.smoothed or result.rows))
    steps.append(lambda: write_text(result.out_dir / "timing.json",
                                    json.dumps(_summary(result), indent=1) + "\n"))
    for step in steps:
        if failing:
            with contextlib.suppress(Exception):
                step()
        else:
            step()


OUTPUTS = ("annotated.mp4", "tracks.csv", "tracks.jsonl", "tracks_smoothed.csv", "tracks_smoothed.jsonl",
           "groundtruth.manifest", "groundtruth.manifest.seq", "timing.json")


def _clear_outputs(out: Path) -> None:
    """Remove a previous run's outputs, so a failed run never sits beside stale files of another."""
    for name in OUTPUTS:
        p = out / name
        if p.is_dir():
            shutil.rmtree(p)
        elif p.exists():
            p.unlink()


def _finish_video(video: VideoWriter, final: Path) -> None:
    """Close the mp4 and give it its final name; a video with no frames is not a video: remove it."""
    try:
        video.close()
    finally:
        if video.frames:
            os.replace(video.path, final)
        else:
            video.path.unlink(missing_ok=True)


def _write_smoothed(result: TrackResult, cfg: PipelineConfig, tracker_config: TrackerConfig | None) -> None:
    result.smoothed = smooth(result.rows, tracker_config, cfg.max_gap)
    out = result.out_dir
    write_rows(out / "tracks_smoothed.csv", out / "tracks_smoothed.jsonl", result.smoothed)


def _summary(result: TrackResult) -> dict[str, Any]:
    return {"source": result.info.path, "video": asdict(result.info), "complete": result.complete,
            "error": result.error, **result.timing.to_dict()}


def _save_frame(path: Path, image: np.ndarray) -> None:
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(image).save(path, quality=92)


@contextlib.contextmanager
def _progress(info: VideoInfo, enabled: bool):
    from tqdm import tqdm

    with tqdm(total=info.frames, unit="frame", desc=Path(info.path).name, disable=not enabled) as bar:
        yield bar


def write_groundtruth(path: str | os.PathLike[str], info: VideoInfo, rows: list[dict[str, Any]],
                      class_name: str = "football") -> None:
    """The track as a Ground Truth video-object-tracking label (manifest + ``SeqLabel.json``).

    Every frame with a position gets one box (object id 1) with ``label-category-attributes``
    ``{"tracker-state": "detected" | "predicted"}`` so a reviewer sees what was only predicted; frame
    images are ``frames/<video>_<n>.jpg`` beside the manifest (``pigskin frames --every 1`` or
    ``track --save-frames`` writes them).
    """
    from pigskin.formats import save
    from pigskin.samples import Dataset, Sample

    path = Path(path)
    video_id = Path(info.path).name
    samples = []
    for r in rows:
        box = None if r["x1"] is None else clip([r["x1"], r["y1"], r["x2"], r["y2"]], info.width, info.height)
        if box is None or box[0, 2] - box[0, 0] < 1 or box[0, 3] - box[0, 1] < 1:  # lost, or off the picture
            det = Detections.empty()
        else:
            det = Detections(box, [0], track_id=[1], attrs={"tracker-state": [r["state"]]})
        samples.append(Sample(f"frames/{frame_name(info.path, r['frame'])}", info.width, info.height, det,
                              video_id=video_id, frame_index=int(r["frame"])))
    meta = {"sequences": {video_id: {"metadata": {"human-annotated": "no", "job-name": "pigskin-track"}}}}
    save(Dataset([class_name], samples, root=path.parent, meta=meta), path, "groundtruth",
         label_attribute="ball-tracking-ref")
