"""The whole pipeline on real (small) videos with the training-free blob detector."""

from __future__ import annotations

import json

import numpy as np
import pytest

from pigskin.errors import PigskinError
from pigskin.formats import load
from pigskin.track.detectors import windowed
from pigskin.track.pipeline import PipelineConfig, merge_windows, search_plan, search_window, track_video
from pigskin.track.rows import read_rows
from pigskin.track.simple import BlobDetector
from pigskin.track.tracker import BallTracker, TrackerConfig
from pigskin.video import VideoWriter, count_frames, read_frames

QUIET = dict(progress=False)


def _hits(rows, truth, tol=3.0):
    visible = [t for t in truth if t["visible"]]
    ok = [t for t in visible if rows[t["frame"]]["state"] == "detected"
          and np.hypot(rows[t["frame"]]["cx"] - t["cx"], rows[t["frame"]]["cy"] - t["cy"]) <= tol]
    return len(ok) / len(visible)


def test_track_video_writes_every_output(tmp_path, demo_video):
    video, truth = demo_video
    out = tmp_path / "out"
    res = track_video(video, BlobDetector(), out, PipelineConfig(smooth=True, save_frames=True, **QUIET))
    assert res.complete and len(res.rows) == len(truth) == 45
    assert read_rows(out / "tracks.csv") == res.rows == read_rows(out / "tracks.jsonl")
    assert _hits(res.rows, truth) > 0.9
    hidden = [t["frame"] for t in truth if not t["visible"]]
    assert hidden and all(res.rows[i]["state"] != "detected" for i in hidden)
    assert count_frames(out / "annotated.mp4") == 45
    timing = json.loads((out / "timing.json").read_text())
    assert timing["complete"] is True and timing["frames"] == 45 and timing["error"] is None
    assert set(timing["stages"]) == {"decode", "detect", "track", "draw", "encode", "wait"}
    assert timing["threaded"] is True and timing["full_frames"] + timing["window_frames"] == 45
    assert 0 < timing["window_frames"] < 45
    assert len(read_rows(out / "tracks_smoothed.csv")) == 45
    # the label file loads back as one video of 45 frames, a box wherever the track had a position
    ds = load(out / "groundtruth.manifest")
    assert len(ds.samples) == 45 and ds.classes == ["football"]
    assert {s.video_id for s in ds.samples} == {"clip.mp4"}
    with_box = [s for s in ds.samples if len(s.detections)]
    smoothed = read_rows(out / "tracks_smoothed.csv")
    assert len(with_box) == sum(r["cx"] is not None for r in smoothed)
    assert all(int(s.detections.track_id[0]) == 1 for s in with_box)
    assert (out / "frames" / "clip_000044.jpg").exists()


def _redness(img, ys, x):
    edge = img[ys, x - 1 : x + 2].astype(int)
    return (edge[..., 0] - edge[..., 1]).mean()


def test_annotated_video_shows_the_overlay(tmp_path, demo_video):
    video, _ = demo_video
    out = tmp_path / "out"
    res = track_video(video, BlobDetector(), out, PipelineConfig(**QUIET))
    src = {f.index: f.image for f in read_frames(video)}
    gains = []
    for f in read_frames(out / "annotated.mp4"):
        row = res.rows[f.index]
        assert f.image[4:14, 4:60].mean() < src[f.index][4:14, 4:60].mean() - 30  # the dark label band
        if row["state"] == "detected":
            x = int(round(row["x1"])) - 3  # the box's left edge (padded by 3 px) is drawn in red
            ys = slice(max(int(row["y1"]), 0), int(row["y2"]))
            if x < 1:
                continue
            gains.append(_redness(f.image, ys, x) - _redness(src[f.index], ys, x))
    assert len(gains) > 30 and np.median(gains) > 60 and min(gains) > 20


def test_window_search_tracks_like_the_full_search(tmp_path, demo_video):
    video, truth = demo_video
    win = track_video(video, BlobDetector(), tmp_path / "w", PipelineConfig(write_video=False, **QUIET))
    full = track_video(video, BlobDetector(), tmp_path / "f",
                       PipelineConfig(window=False, write_video=False, **QUIET))
    assert full.timing.window_frames == 0 and win.timing.window_frames > 20
    assert not (tmp_path / "w" / "annotated.mp4").exists()
    assert _hits(win.rows, truth) >= _hits(full.rows, truth) - 0.05
    both = [(a, b) for a, b in zip(win.rows, full.rows, strict=True)
            if a["state"] == b["state"] == "detected"]
    assert len(both) > 30
    assert max(abs(a["cx"] - b["cx"]) + abs(a["cy"] - b["cy"]) for a, b in both) < 2.0


def test_full_search_every_k_frames(tmp_path, demo_video):
    video, _ = demo_video
    config = PipelineConfig(full_every=5, write_video=False, **QUIET)
    res = track_video(video, BlobDetector(), tmp_path / "o", config)
    assert res.timing.window_frames <= 45 * 4 // 5


def test_a_rerun_clears_what_a_killed_run_was_writing(tmp_path, demo_video):
    """A run killed mid-write leaves ``.<name>.partial`` and ``.<name>.*.tmp`` files; the next run into
    the folder removes them (a batch rerun's folders match ``pigskin track``'s, file for file)."""
    video, _ = demo_video
    out = tmp_path / "out"
    out.mkdir()
    leftovers = [out / ".tracks.csv.partial", out / ".groundtruth.manifest.k9x2ab.tmp",
                 out / ".timing.json.0qz.tmp", out / ".annotated.mp4.partial"]
    for p in leftovers:
        p.write_text("half")
    mine = out / "notes.txt"  # not ours: kept
    mine.write_text("keep")
    track_video(video, BlobDetector(), out, PipelineConfig(**QUIET))
    assert not [p for p in leftovers if p.exists()] and mine.read_text() == "keep"
    assert not list(out.glob(".*"))


def test_truncated_video_keeps_valid_outputs(tmp_path):
    from pigskin.synth.demo_clip import DemoConfig, demo_frames

    full = tmp_path / "full.mp4"
    with VideoWriter(full, 320, 180, 30) as w:
        for img, _ in demo_frames(DemoConfig(width=320, height=180, frames=60, noise=12.0)):
            w.write(img)
    data = full.read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: int(len(data) * 0.6)])
    out = tmp_path / "out"
    with pytest.raises(PigskinError, match=r"cut\.mp4: frame (\d+)") as info:
        track_video(cut, BlobDetector(), out, PipelineConfig(**QUIET))
    failed_at = int(str(info.value).split("frame ")[1].split(":")[0])
    assert 0 < failed_at < 60
    rows = read_rows(out / "tracks.csv")  # parses: complete rows only
    assert [r["frame"] for r in rows] == list(range(failed_at))
    assert (out / "tracks.csv").read_text().endswith("\n")
    assert count_frames(out / "annotated.mp4") == failed_at  # closed properly: playable
    timing = json.loads((out / "timing.json").read_text())
    assert timing["complete"] is False and "cut.mp4" in timing["error"]
    assert not list(out.glob(".*partial"))


def test_unreadable_video_writes_nothing(tmp_path):
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"\x00" * 1000)
    with pytest.raises(PigskinError, match="junk.mp4"):
        track_video(junk, BlobDetector(), tmp_path / "out", PipelineConfig(**QUIET))
    assert not (tmp_path / "out").exists()


def test_windowed_adapter_shifts_boxes_back(demo_video):
    video, truth = demo_video
    frame = next(f for f in read_frames(video) if truth[f.index]["visible"])
    t = truth[frame.index]
    blob = BlobDetector()
    detect = windowed(lambda images: [blob(im) for im in images])
    window = (int(t["cx"]) - 40, int(t["cy"]) - 30, int(t["cx"]) + 40, int(t["cy"]) + 30)
    d = detect(frame.image, window)
    assert len(d) >= 1
    assert np.min(np.hypot(d.centers[:, 0] - t["cx"], d.centers[:, 1] - t["cy"])) < 2.0
    empty = detect(frame.image, (0, 0, 8, 8))
    assert len(empty) == 0


def test_search_window_covers_the_prediction_and_stays_inside(boxes_at):
    tracker = BallTracker(image_size=(320, 180))
    assert search_window(tracker, 320, 180, 64) is None
    for t in range(4):
        tracker.update(boxes_at([(300.0 + 4 * t, 20.0)], [0.9]), t)
    x1, y1, x2, y2 = search_window(tracker, 320, 180, 64)
    center, _, _ = tracker.predicted()
    assert 0 <= x1 < center[0] < x2 <= 320 and 0 <= y1 < center[1] < y2 <= 180
    assert x2 - x1 >= 64 and y2 - y1 >= 64


class _Recorder:
    """A detector that finds nothing and records what it was asked to search."""

    def __init__(self) -> None:
        self.calls: list[tuple[int, object]] = []
        self.observed: list[int] = []
        self.frame = -1
        self.last = None

    def _see(self, image) -> None:
        if image is not self.last:
            self.frame, self.last = self.frame + 1, image

    def observe(self, image) -> None:
        self._see(image)
        self.observed.append(self.frame)

    def __call__(self, image, window=None):
        from pigskin.detections import Detections

        self._see(image)
        self.calls.append((self.frame, window))
        return Detections.empty(with_confidence=True)


def test_without_a_track_the_whole_frame_is_searched_every_lost_every_frames(tmp_path, demo_video):
    video, _ = demo_video
    recorder = _Recorder()
    cfg = PipelineConfig(lost_every=3, write_video=False, **QUIET)
    res = track_video(video, recorder, tmp_path / "o", cfg)
    assert {r["state"] for r in res.rows} == {"lost"}
    assert [f for f, _ in recorder.calls] == list(range(0, 45, 3))
    assert all(w is None for _, w in recorder.calls)
    assert recorder.observed == [f for f in range(45) if f % 3]  # the rest only remembered
    assert res.timing.full_frames == 15


def test_search_plan_follows_the_track_and_its_candidates(boxes_at):
    cfg = PipelineConfig(window_px=64, full_every=10, lost_every=3)
    tracker = BallTracker(image_size=(640, 360))
    assert search_plan(tracker, 640, 360, cfg, since_full=1) == []  # lost, between whole searches
    assert search_plan(tracker, 640, 360, cfg, since_full=2) is None
    tracker.update(boxes_at([(100.0, 100.0), (500.0, 300.0)], [0.9, 0.5]), 0)  # two sightings, no track
    regions = search_plan(tracker, 640, 360, cfg, since_full=0)
    assert len(regions) == 2
    for (x, y), (x1, y1, x2, y2) in zip([(500.0, 300.0), (100.0, 100.0)], sorted(regions, reverse=True),
                                        strict=True):
        assert x1 < x < x2 and y1 < y < y2 and x2 - x1 >= 2 * TrackerConfig().acquire_radius_px
    tracker.update(boxes_at([(104.0, 100.0)], [0.9]), 1)  # the first one again: a track
    assert tracker.active and tracker.candidates_ahead() == []
    (window,) = search_plan(tracker, 640, 360, cfg, since_full=0)
    assert window[0] < 108 < window[2]
    assert search_plan(tracker, 640, 360, cfg, since_full=9) is None  # the periodic whole frame
    assert search_plan(tracker, 640, 360, PipelineConfig(window=False), since_full=0) is None


def test_overlapping_windows_merge_into_one():
    merged = merge_windows([(0, 0, 10, 10), (5, 5, 20, 20), (50, 50, 60, 60)])
    assert merged == [(0, 0, 20, 20), (50, 50, 60, 60)]
    assert merge_windows([(0, 0, 10, 10), (10, 0, 20, 10)]) == [(0, 0, 10, 10), (10, 0, 20, 10)]  # touching
    assert merge_windows([(0, 0, 10, 10), (30, 0, 40, 10), (8, 0, 32, 10)]) == [(0, 0, 40, 10)]
