"""Decode-ahead and encode-behind threads: order, bounded memory, errors where they belong, and the
pipeline giving the same answer with and without them."""

from __future__ import annotations

import threading
import time

import pytest

from pigskin.errors import PigskinError
from pigskin.track.pipeline import PipelineConfig, track_video
from pigskin.track.simple import BlobDetector
from pigskin.track.threads import Behind, Prefetch
from pigskin.video import count_frames


def test_prefetch_keeps_order_and_raises_after_the_good_items():
    def items():
        yield from range(5)
        raise PigskinError("clip.mp4: frame 5: cannot decode")

    ahead = Prefetch(items(), depth=2)
    got = []
    with pytest.raises(PigskinError, match="frame 5"):
        for x in ahead:
            got.append(x)
    assert got == [0, 1, 2, 3, 4]
    ahead.close()


def test_prefetch_stays_depth_ahead_and_close_stops_it():
    made = []

    def items():
        for i in range(1000):
            made.append(i)
            yield i

    ahead = Prefetch(items(), depth=3)
    assert next(ahead) == 0
    time.sleep(0.2)
    assert len(made) <= 1 + 3 + 1  # the one taken, the queue, one waiting to be put
    ahead.close()
    assert not any(t.name == "pigskin-prefetch" for t in threading.enumerate())


def test_behind_runs_in_order_and_raises_a_failure_at_put_or_close():
    done = []
    behind = Behind(lambda x: done.append(x), depth=2)
    for i in range(20):
        behind.put(i)
    behind.close()
    assert done == list(range(20))

    def work(x):
        if x == 3:
            raise ValueError("encoder broke at 3")
        done.append(x)

    done.clear()
    behind = Behind(work, depth=1)
    with pytest.raises(ValueError, match="at 3"):
        for i in range(50):
            behind.put(i)
            time.sleep(0.001)
        behind.close()
    assert done == [0, 1, 2]  # nothing after the failure


def test_pipeline_gives_the_same_track_with_and_without_threads(tmp_path, demo_video):
    video, _ = demo_video
    quiet = dict(progress=False)
    a = track_video(video, BlobDetector(), tmp_path / "threads", PipelineConfig(threads=True, **quiet))
    b = track_video(video, BlobDetector(), tmp_path / "plain", PipelineConfig(threads=False, **quiet))
    assert a.rows == b.rows
    assert count_frames(tmp_path / "threads" / "annotated.mp4") == len(a.rows) == 45
    assert a.timing.threaded and not b.timing.threaded and "wait" not in b.timing.to_dict()["stages"]
