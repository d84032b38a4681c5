"""Datasets on disk (or in memory): stills as JPEGs + a Ground Truth manifest, clips as mp4s.

Frames are rendered by a process pool, one task per still or per clip; each result depends only on
``(config, index)``, so any number of workers writes the same bytes. Labels go through the
project's Ground Truth writer, so synthetic data takes the same import path as real labels.

Layout of ``generate_images(cfg, n, out)``::

    out/images/000000.jpg ...
    out/manifest.jsonl            Ground Truth object-detection output manifest

Layout of ``generate_clips(cfg, n, out, seconds, fps)``::

    out/clips/000000.mp4          H.264, yuv420p
    out/clips/000000.truth.jsonl  exact per-frame truth, hidden frames included (true centre, visible=false)
    out/manifest.jsonl            Ground Truth video-object-tracking manifest, one line per clip,
    out/manifest.jsonl.seq/<k>/SeqLabel.json   with its per-frame boxes (ball = object 1)
    out/frames/000000_000000.jpg  only with ``frames=True``
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from pigskin.detections import Detections
from pigskin.fileio import atomic_dir, write_text
from pigskin.samples import Dataset, Sample
from pigskin.synth.config import SynthConfig
from pigskin.synth.effects import jpeg_bytes
from pigskin.synth.render import CLASSES

JOB_NAME = "pigskin-synth"
IMAGE_ATTR = "football"
TRACK_ATTR = "football-tracking-ref"
BALL_TRACK, PLAYER_TRACK0 = 1, 100


@dataclass(eq=False)
class InMemoryDataset(Dataset):
    """A :class:`Dataset` whose encoded images live in ``blobs`` (keyed by ``Sample.image``)."""

    blobs: dict[str, bytes] = field(default_factory=dict)

    def image_bytes(self, sample: Sample) -> bytes:
        if sample.image in self.blobs:
            return self.blobs[sample.image]
        return super().image_bytes(sample)

    def missing_images(self) -> list[Sample]:
        return [s for s in super().missing_images() if s.image not in self.blobs]


def default_workers() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - macOS, Windows
        return max(1, os.cpu_count() or 1)


def _pool_map(fn: Callable, items: list, workers: int | None, progress: Callable[[int], None] | None) -> list:
    """``[fn(x) for x in items]`` over a process pool (in order), or in-process for one worker."""
    workers = default_workers() if workers is None else max(1, int(workers))
    out = []
    if workers == 1 or len(items) <= 1:
        for x in items:
            out.append(fn(x))
            if progress:
                progress(1)
        return out
    chunk = max(1, min(16, len(items) // (workers * 6)))
    with ProcessPoolExecutor(max_workers=min(workers, len(items))) as pool:
        for r in pool.map(fn, items, chunksize=chunk):
            out.append(r)
            if progress:
                progress(1)
    return out


# -- stills ---------------------------------------------------------------------------------------
def _still_job(args: tuple[SynthConfig, int, str | None]) -> tuple[int, Detections, dict, bytes | None]:
    from pigskin.synth.scene import render_still

    cfg, index, folder = args
    frame, look = render_still(cfg, index)
    data = jpeg_bytes(frame.rgb, look.jpeg_quality)
    if folder is not None:
        Path(folder, "images", image_name(index)).write_bytes(data)
        data = None
    return index, frame.detections, frame.attrs, data


def image_name(index: int) -> str:
    return f"{index:06d}.jpg"


def _sample(cfg: SynthConfig, index: int, dets: Detections, attrs: dict) -> Sample:
    attrs = dict(attrs)
    attrs["metadata"] = {"human-annotated": "no", "job-name": JOB_NAME}
    return Sample(f"images/{image_name(index)}", cfg.width, cfg.height, dets, attrs=attrs)


def classes_for(cfg: SynthConfig) -> list[str]:
    return list(CLASSES) if cfg.players else CLASSES[:1]


def generate_images(
    cfg: SynthConfig,
    n: int,
    out: str | os.PathLike[str] | None = None,
    *,
    workers: int | None = None,
    start: int = 0,
    progress: Callable[[int], None] | None = None,
) -> Dataset:
    """Render stills ``start .. start+n-1``; with ``out`` write them (atomically, replacing ``out``).

    Without ``out`` the JPEG bytes stay in memory (an :class:`InMemoryDataset`), so tests and the
    trainer can use the data without a disk round trip. Either way the returned samples are the
    ones written to the manifest.
    """
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    indices = list(range(start, start + n))
    if out is None:
        results = _pool_map(_still_job, [(cfg, i, None) for i in indices], workers, progress)
        samples = [_sample(cfg, i, d, a) for i, d, a, _ in results]
        blobs = {s.image: data for s, (_, _, _, data) in zip(samples, results, strict=True)}
        return InMemoryDataset(classes_for(cfg), samples, meta=_meta(cfg), blobs=blobs)
    out = Path(out)
    with atomic_dir(out) as tmp:
        (tmp / "images").mkdir()
        results = _pool_map(_still_job, [(cfg, i, str(tmp)) for i in indices], workers, progress)
        samples = [_sample(cfg, i, d, a) for i, d, a, _ in results]
        ds = Dataset(classes_for(cfg), samples, root=tmp, meta=_meta(cfg))
        _save_manifest(ds, tmp / "manifest.jsonl", IMAGE_ATTR)
        write_text(tmp / "synth.json", json.dumps(config_dict(cfg), indent=1, sort_keys=True) + "\n")
    return ds.replace(root=out)


def _meta(cfg: SynthConfig) -> dict[str, Any]:
    return {"label_attribute": IMAGE_ATTR, "synth": config_dict(cfg)}


def config_dict(cfg: SynthConfig) -> dict[str, Any]:
    from dataclasses import asdict

    return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(cfg).items()}


def _save_manifest(ds: Dataset, path: Path, attr: str) -> None:
    from pigskin.formats import save

    save(ds, path, "groundtruth", label_attribute=attr)


# -- clips ----------------------------------------------------------------------------------------
def clip_id(index: int) -> str:
    return f"{index:06d}"


def _clip_job(args: tuple[SynthConfig, int, float, float, str, bool]) -> tuple[int, list[Sample], int]:
    from pigskin.synth.clips import clip_frames
    from pigskin.video import VideoWriter, frame_name

    cfg, index, seconds, fps, folder, frames = args
    cid = clip_id(index)
    video = Path(folder, "clips", f"{cid}.mp4")
    truth_rows, samples = [], []
    writer = None
    try:
        for frame, look in clip_frames(cfg, index, seconds, fps):
            if writer is None:
                crf = int(round(min(40, max(16, 51 - 0.36 * look.jpeg_quality))))
                writer = VideoWriter(video, cfg.width, cfg.height, fps, crf=crf)
            writer.write(frame.rgb)
            k = frame.attrs["synth"]["frame"]
            name = f"frames/{frame_name(video, k)}"
            if frames:
                Path(folder, name).write_bytes(jpeg_bytes(frame.rgb, look.jpeg_quality))
            truth_rows.append(truth_row(frame, k, fps))
            samples.append(_clip_sample(cfg, frame, name, f"clips/{cid}.mp4", k))
    finally:
        if writer is not None:
            writer.close()
    write_text(
        Path(folder, "clips", f"{cid}.truth.jsonl"),
        "".join(json.dumps(r, separators=(",", ":")) + "\n" for r in truth_rows),
    )
    return index, samples, len(truth_rows)


def truth_row(frame, k: int, fps: float) -> dict[str, Any]:
    """The tracker-evaluation row of one clip frame: the true centre even when the ball is hidden."""
    s = frame.attrs["synth"]
    d = frame.detections
    ball = d[d.class_id == 0]
    row: dict[str, Any] = {
        "frame": k,
        "time_s": round(k / fps, 4),
        "cx": s["ball_center"][0],
        "cy": s["ball_center"][1],
        "visible": bool(len(ball)),
        "visible_fraction": round(s["ball_visible"], 3),
        "box": [round(float(v), 2) for v in ball.xyxy[0]] if len(ball) else None,
    }
    for key in ("occlusion", "contrast", "blur"):
        row[key] = ball.attrs[key][0] if len(ball) else None
    row.update(
        in_air=frame.attrs["in_air"],
        ball_state=frame.attrs["ball_state"],
        phase=frame.attrs["phase"],
        camera=frame.attrs["camera"],
        ball_xyz=s["ball_xyz"],
        ball_length=s["ball_length"],
        # field registration: image px -> field yd (x from the left goal line, y from the near sideline)
        field_h=s["field_h"],
        ball_field=s["ball_field"],
        ball_height=s["ball_height"],
    )
    return row


def _clip_sample(cfg: SynthConfig, frame, image: str, video_id: str, k: int) -> Sample:
    d = frame.detections
    pidx = frame.attrs["synth"].get("player_index", [])
    tids = np.where(d.class_id == 0, BALL_TRACK, 0).astype(np.int64)
    tids[d.class_id == 1] = [PLAYER_TRACK0 + i for i in pidx]
    flat = {k2: v for k2, v in frame.attrs.items() if isinstance(v, (str, bool, int, float))}
    # the look-alikes' boxes (flags, pylons, shoes...) let training cut hard negatives from clip frames
    # as from stills (pigskin.data.clips.lookalike_boxes); SeqLabel.json keeps them as a frame attribute
    flat["lookalikes"] = frame.attrs.get("lookalikes", [])
    return Sample(
        image,
        cfg.width,
        cfg.height,
        d.replace(track_id=tids),
        video_id=video_id,
        frame_index=k,
        attrs={**flat, "frame-attributes": flat},
    )


def generate_clips(
    cfg: SynthConfig,
    n: int,
    out: str | os.PathLike[str],
    *,
    seconds: float = 8.0,
    fps: float = 30.0,
    workers: int | None = None,
    frames: bool = False,
    start: int = 0,
    progress: Callable[[int], None] | None = None,
) -> Dataset:
    """Render clips ``start .. start+n-1`` into ``out`` (atomically); returns every frame as a Sample."""
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    out = Path(out)
    with atomic_dir(out) as tmp:
        (tmp / "clips").mkdir()
        if frames:
            (tmp / "frames").mkdir()
        jobs = [(cfg, i, float(seconds), float(fps), str(tmp), bool(frames)) for i in range(start, start + n)]
        results = _pool_map(_clip_job, jobs, workers, progress)
        samples = [s for _, part, _ in results for s in part]
        meta = _meta(cfg) | {
            "label_attribute": TRACK_ATTR,
            "sequences": {
                f"clips/{clip_id(i)}.mp4": {"metadata": {"human-annotated": "no", "job-name": JOB_NAME}}
                for i, _, _ in results
            },
        }
        ds = Dataset(classes_for(cfg), samples, root=tmp, meta=meta)
        _save_manifest(ds, tmp / "manifest.jsonl", TRACK_ATTR)
        write_text(
            tmp / "synth.json",
            json.dumps(config_dict(cfg) | {"seconds": seconds, "fps": fps}, indent=1, sort_keys=True) + "\n",
        )
    return ds.replace(root=out)


def iter_truth(path: str | os.PathLike[str]) -> Iterable[dict[str, Any]]:
    """Rows of a ``<clip>.truth.jsonl`` file."""
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                yield json.loads(line)
