"""Video in, tracked ball out: decode -> detect -> track -> draw -> encode, one frame at a time.

The pipeline takes any *detector*, a callable ``detector(rgb_frame, window) -> Detections``, where
``window`` is ``(x1, y1, x2, y2)`` in frame pixels or ``None`` for the whole frame, and boxes come
back in whole-frame pixels. :func:`model_detector` adapts a trained ``model.tar.gz``;
:class:`pigskin.track.simple.BlobDetector` is a training-free stand-in.

Window search (:func:`search_plan`): while there is a track (following or coasting) the detector sees
only a square around the predicted centre, at full resolution, plus a square around each candidate
that is not tracked yet; the whole frame is searched every ``full_every`` frames with a track and
every ``lost_every`` frames without one (between those, a lost track searches only its candidates).

Outputs in ``out_dir`` (see docs/track.md): ``annotated.mp4``, ``tracks.csv``, ``tracks.jsonl``,
``groundtruth.manifest`` (+ ``.seq/``: a Ground Truth video-object-tracking label to review),
``timing.json``; with ``smooth``, ``tracks_smoothed.csv``/``.jsonl`` too. On an error mid-video
every output is still finished (a playable mp4, complete rows up to the failing frame) and
``timing.json`` says ``"complete": false`` and why, before the error is raised again.
"""

from __future__ import annotations

import contextlib
import glob
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
from pigskin.field import FieldConfig
from pigskin.fileio import write_text
from pigskin.track.detectors import Detector, Window, clip_window
from pigskin.track.draw import DEFAULT_ANNOTATORS, Trail, render
from pigskin.track.field_run import FIELD_OUTPUTS, FieldRun
from pigskin.track.offline import smooth
from pigskin.track.rows import FIELD_ROW_FIELDS, ROW_FIELDS, RowWriter, partial_name, write_rows
from pigskin.track.threads import Behind, Prefetch
from pigskin.track.tracker import STATES, BallTracker, TrackerConfig
from pigskin.video import VideoInfo, VideoReader, VideoWriter, frame_name

STAGES = ("decode", "detect", "track", "draw", "encode")  # + "wait": the loop waiting for a decoded frame


@dataclass(frozen=True)
class PipelineConfig:
    window: bool = True  # search windows around the prediction and candidates (see search_plan)
    window_px: int = 256  # smallest window side; grows with the gate and the ball's size
    full_every: int = 15  # search the whole frame at least this often (frames) while tracking ...
    lost_every: int = 1  # ... and this often without a track (docs/track.md: 3 cost 9-14 points of recall)
    candidates: int = 3  # untracked sightings followed in windows between whole-frame searches
    trail: int = 20  # positions shown behind the ball
    write_video: bool = True
    crf: int = 23  # H.264 quality (lower = better, bigger)
    preset: str = "superfast"  # x264 speed preset (veryfast: 3x smaller files, ~1.4x slower)
    smooth: bool = False  # also write the offline RTS-smoothed, gap-filled track
    max_gap: int = 15  # gaps up to this many frames are filled by smoothing
    threads: bool = True  # decode ahead and draw + encode behind the detector, in two threads
    save_frames: bool = False  # write every frame as frames/<video>_<n>.jpg (for the Ground Truth file)
    fps: float | None = None  # frame rate of an image folder (default 30)
    progress: bool = True
    # field registration (docs/field.md): the first frame's homography (a JSON file, or a clip's
    # truth.jsonl); None = off. On: field columns in tracks.csv, spots.csv, field.jsonl, drawn lines
    field_start: str | None = None
    field: FieldConfig = field(default_factory=FieldConfig)

    def __post_init__(self) -> None:
        if min(self.full_every, self.lost_every) < 1 or self.window_px < 16 or self.candidates < 0:
            raise ValueError(
                f"full_every >= 1, lost_every >= 1, window_px >= 16 and candidates >= 0 required, got "
                f"{self.full_every}, {self.lost_every}, {self.window_px}, {self.candidates}"
            )


@dataclass
class StageTiming:
    """Seconds spent per stage; printed as a table and saved in ``timing.json``."""

    seconds: dict[str, float] = field(default_factory=lambda: dict.fromkeys(STAGES, 0.0))
    frames: int = 0
    window_frames: int = 0  # frames searched in windows only (or, while lost, not at all)
    full_frames: int = 0  # frames searched whole
    wall_s: float = 0.0
    threaded: bool = False  # decode and draw + encode ran in threads beside the loop (times overlap)

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
            "full_frames": self.full_frames,
            "threaded": self.threaded,
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
                     f"({self.frames} frames, {self.full_frames} searched whole)")
        if self.threaded:
            lines.append("(decode, draw and encode ran in threads beside detect: the stages overlap, and "
                         "wait is the loop waiting for a decoded frame)")
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


# -- the loop -------------------------------------------------------------------------------------
def square(center: np.ndarray, half: float, width: int, height: int) -> Window:
    """A square of side ``2 * half`` around ``center``, slid (not cut) to stay inside the frame."""
    half = min(half, max(width, height) / 2)
    x1 = int(np.clip(center[0] - half, 0, max(width - 2 * half, 0)))
    y1 = int(np.clip(center[1] - half, 0, max(height - 2 * half, 0)))
    return clip_window((x1, y1, x1 + 2 * half, y1 + 2 * half), width, height)


def search_window(tracker: BallTracker, width: int, height: int, min_side: int) -> Window | None:
    """A square around the tracker's next predicted centre, big enough for its gate and the ball."""
    pred = tracker.predicted()
    if pred is None:
        return None
    center, gate, size = pred
    return square(center, max(min_side / 2, gate + float(np.max(size))), width, height)


def merge_windows(windows: list[Window]) -> list[Window]:
    """Overlapping windows become their bounding box, so no pixel is searched twice and no ball is
    reported twice."""
    out = list(windows)
    merged = True
    while merged:
        merged = False
        for i in range(len(out)):
            for j in range(i + 1, len(out)):
                a, b = out[i], out[j]
                if a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]:
                    out[i] = (min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3]))
                    del out[j]
                    merged = True
                    break
            if merged:
                break
    return out


def search_plan(tracker: BallTracker, width: int, height: int, cfg: PipelineConfig,
                since_full: int) -> list[Window] | None:
    """Where to look in the next frame: ``None`` = the whole frame; else windows around the track's
    prediction (while it follows or coasts) and around up to ``cfg.candidates`` untracked sightings
    (so a ball seen once in a whole-frame search is confirmed in the frames after); ``[]`` = nowhere
    (a multi-frame detector still remembers the frame). The whole frame is searched at least every
    ``full_every`` frames with a track, every ``lost_every`` without one."""
    if not cfg.window or since_full >= cfg.full_every - 1:
        return None
    if not tracker.active and since_full >= cfg.lost_every - 1:
        return None
    regions = []
    track = search_window(tracker, width, height, cfg.window_px)
    if track is not None:
        regions.append(track)
    for center, radius in tracker.candidates_ahead()[: cfg.candidates]:
        regions.append(square(center, max(cfg.window_px / 2, radius), width, height))
    return merge_windows(regions)


def search(detector: Detector, image: np.ndarray, regions: list[Window] | None) -> Detections:
    """Run ``detector`` on the whole frame (None) or on each region; with no region, only let a
    detector that keeps past frames (:class:`pigskin.track.detectors.FrameHistory`) see this one."""
    if regions is None:
        return detector(image, None)
    if not regions:
        observe = getattr(detector, "observe", None)
        if callable(observe):
            observe(image)
        return Detections.empty(with_confidence=True)
    found = [detector(image, w) for w in regions]
    return found[0] if len(found) == 1 else Detections.concat(found)


def track_video(
    source: str | os.PathLike[str],
    detector: Detector,
    out_dir: str | os.PathLike[str],
    config: PipelineConfig | None = None,
    tracker_config: TrackerConfig | None = None,
    on_frame: Callable[[], None] | None = None,
) -> TrackResult:
    """Track the ball through ``source`` (a video file or an image folder); see the module doc.
    ``on_frame`` is called after each frame (a batch worker counts frames for the driver's bar)."""
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
    field_run = FieldRun(cfg.field_start, info.fps, cfg.field) if cfg.field_start else None
    row_writer = RowWriter(out / "tracks.csv", out / "tracks.jsonl",
                           FIELD_ROW_FIELDS if field_run else ROW_FIELDS)
    video = None
    t_start = time.perf_counter()
    try:
        if cfg.write_video:
            video = VideoWriter(partial_name(video_path), info.width, info.height, info.fps,
                                cfg.crf, cfg.preset)
        since_full = cfg.full_every  # frames since the last whole-frame search: none yet
        stop_frames: Callable[[], None] = lambda: None  # noqa: E731
        stop_video: Callable[[], None] = lambda: None  # noqa: E731
        reset = getattr(detector, "reset", None)
        if callable(reset):  # a new video: a multi-frame detector forgets the last one's frames
            reset()
        timing.threaded = cfg.threads
        frames, stop_frames = _frames(reader, timing, cfg.threads)
        drawing = _Drawing(video, timing, cfg.threads)
        stop_video = drawing.close
        with _progress(info, cfg.progress) as bar:
            while True:
                with timing.stage("wait" if cfg.threads else "decode"):
                    item = next(frames, None)
                if item is None:
                    break
                index, time_s, image = item
                regions = search_plan(tracker, info.width, info.height, cfg, since_full)
                since_full = since_full + 1 if regions is not None else 0
                with timing.stage("detect"):
                    dets = search(detector, image, regions)
                with timing.stage("track"):
                    state = tracker.update(dets, index, regions)
                    row = state.row(time_s)
                    trail.push(state)
                overlay = ()
                if field_run is not None:
                    with timing.stage("field"):
                        cols, drawn = field_run.step(image, index, state)
                        row.update(cols)
                        overlay = (drawn,)
                rows.append(row)
                row_writer.write(row)
                if cfg.save_frames:
                    _save_frame(out / "frames" / frame_name(info.path, index), image)
                drawing.put(image, state, list(trail.points), overlay)
                timing.frames += 1
                timing.window_frames += regions is not None
                timing.full_frames += regions is None
                bar.update(1)
                if on_frame is not None:
                    on_frame()
    except BaseException as exc:
        result.complete, result.error = False, str(exc) or type(exc).__name__
        raise
    finally:
        timing.wall_s = time.perf_counter() - t_start
        closing = [stop_frames, reader.close, row_writer.close]
        if field_run is not None:
            closing.append(lambda: field_run.finish(out))
        _finish(result, closing, video, stop_video, video_path, cfg, tracker_config, field_run)
    return result


def _frames(reader: VideoReader, timing: StageTiming, threads: bool
            ) -> tuple[Iterator[Any], Callable[[], None]]:
    """The reader's frames, timed as "decode", decoded ahead in a thread when ``threads``; and what
    stops that thread."""

    def timed() -> Iterator[Any]:
        frames = iter(reader)
        while True:
            with timing.stage("decode"):
                item = next(frames, None)
            if item is None:
                return
            yield item

    if not threads:
        return timed(), lambda: None
    ahead = Prefetch(timed(), depth=4, name="pigskin-decode")
    return ahead, ahead.close


class _Drawing:
    """Draw the overlay and encode each frame (timed as "draw" and "encode"), in a thread behind the
    loop when ``threads``; nothing without a video."""

    def __init__(self, video: VideoWriter | None, timing: StageTiming, threads: bool) -> None:
        self.video, self.timing = video, timing
        self.behind = Behind(self._write, depth=4, name="pigskin-encode") if video and threads else None

    def _write(self, image: np.ndarray, state: Any, trail: list[Any], extra: tuple = ()) -> None:
        with self.timing.stage("draw"):
            picture = render(image, state, trail, (*extra, *DEFAULT_ANNOTATORS))
        with self.timing.stage("encode"):
            self.video.write(picture)

    def put(self, image: np.ndarray, state: Any, trail: list[Any], extra: tuple = ()) -> None:
        """Queue a frame; ``extra`` annotators (the field overlay) draw under the default ones."""
        if self.video is None:
            return
        if self.behind is not None:
            self.behind.put(image, state, trail, extra)
        else:
            self._write(image, state, trail, extra)

    def close(self) -> None:
        """Wait until every frame put is encoded (the mp4 then holds all of them)."""
        if self.behind is not None:
            self.behind.close()


def _finish(result: TrackResult, closing: list[Callable[[], None]], video: VideoWriter | None,
            stop_video: Callable[[], None], video_path: Path, cfg: PipelineConfig,
            tracker_config: TrackerConfig | None, field_run: FieldRun | None = None) -> None:
    """Close and name every output; on an error path a failure here must not hide the first error."""
    failing = not result.complete
    steps = list(closing)
    if video is not None:
        steps.append(stop_video)
        steps.append(lambda: _finish_video(video, video_path))
    if cfg.smooth:
        steps.append(lambda: _write_smoothed(result, cfg, tracker_config, field_run))
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
           "groundtruth.manifest", "groundtruth.manifest.seq", "timing.json", *FIELD_OUTPUTS)


def _clear_outputs(out: Path) -> None:
    """Remove a previous run's outputs, so a failed run never sits beside stale files of another, and
    the temporary files of a run killed while writing (``.<name>.partial``, ``.<name>.*.tmp``)."""
    for name in OUTPUTS:
        for p in [out / name, partial_name(out / name), *out.glob(f".{glob.escape(name)}.*.tmp")]:
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


def _write_smoothed(result: TrackResult, cfg: PipelineConfig, tracker_config: TrackerConfig | None,
                    field_run: FieldRun | None) -> None:
    """The smoothed track; with ``--field`` its field columns are located again from its centres."""
    result.smoothed = smooth(result.rows, tracker_config, cfg.max_gap)
    fields = ROW_FIELDS
    if field_run is not None:
        for row, cols in zip(result.smoothed, field_run.columns(result.smoothed), strict=True):
            row.update(cols)
        fields = FIELD_ROW_FIELDS
    out = result.out_dir
    write_rows(out / "tracks_smoothed.csv", out / "tracks_smoothed.jsonl", result.smoothed, fields)


def _summary(result: TrackResult) -> dict[str, Any]:
    states = dict.fromkeys(STATES, 0)  # per-state frame counts: a season table needs no tracks.csv pass
    for r in result.rows:
        states[r["state"]] += 1
    return {"source": result.info.path, "video": asdict(result.info), "complete": result.complete,
            "error": result.error, "states": states, **result.timing.to_dict()}


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
