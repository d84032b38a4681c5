"""Streaming video IO with PyAV: round trips, image folders, truncated and broken input."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from pigskin.errors import PigskinError
from pigskin.video import VideoReader, VideoWriter, count_frames, image_files, read_frames


def _frame(i: int, w: int = 160, h: int = 96) -> np.ndarray:
    img = np.full((h, w, 3), (40, 110, 50), np.uint8)
    x = 10 + 6 * i
    img[40:52, x : x + 16] = (125, 72, 38)  # a drawn ball moving right
    return img


@pytest.mark.parametrize("suffix", [".mp4", ".mkv"])
def test_video_round_trip(tmp_path, suffix):
    path = tmp_path / f"clip{suffix}"
    with VideoWriter(path, 160, 96, fps=25, crf=12) as w:
        for i in range(20):
            w.write(_frame(i))
    assert w.frames == 20
    with VideoReader(path) as reader:
        assert (reader.info.width, reader.info.height) == (160, 96)
        assert reader.info.fps == pytest.approx(25)
        frames = list(reader)
    assert [f.index for f in frames] == list(range(20))
    assert frames[4].time_s == pytest.approx(4 / 25, abs=1e-3)
    for f in frames:
        assert f.image.shape == (96, 160, 3) and f.image.dtype == np.uint8
        assert np.abs(f.image.astype(int) - _frame(f.index)).mean() < 4.0
        x = 10 + 6 * f.index
        assert np.abs(f.image[46, x + 8].astype(int) - (125, 72, 38)).max() < 30


def test_writer_accepts_pil_images_and_crops_odd_sizes(tmp_path):
    path = tmp_path / "odd.mp4"
    with VideoWriter(path, 161, 97, fps=30) as w:
        w.write(Image.fromarray(np.zeros((97, 161, 3), np.uint8)))
        w.write(np.zeros((97, 161, 3), np.uint8))
    with VideoReader(path) as r:
        assert (r.info.width, r.info.height) == (160, 96)
    assert count_frames(path) == 2


def test_writer_leaves_a_playable_file_when_the_producer_fails(tmp_path):
    path = tmp_path / "partial.mp4"
    with pytest.raises(RuntimeError), VideoWriter(path, 160, 96, fps=30) as w:
        for i in range(12):
            w.write(_frame(i))
        raise RuntimeError("detector crashed")
    assert count_frames(path) == 12


def test_image_folder_in_natural_order(tmp_path):
    folder = tmp_path / "frames"
    folder.mkdir()
    for i in (2, 10, 1):
        Image.fromarray(_frame(i)).save(folder / f"f_{i}.png")
    (folder / "notes.txt").write_text("not an image")
    assert [p.name for p in image_files(folder)] == ["f_1.png", "f_2.png", "f_10.png"]
    frames = list(read_frames(folder, fps=10))
    assert [f.index for f in frames] == [0, 1, 2]
    assert frames[2].time_s == pytest.approx(0.2)
    assert np.array_equal(frames[2].image, _frame(10))


def test_image_folder_with_a_different_size_names_the_file(tmp_path):
    folder = tmp_path / "frames"
    folder.mkdir()
    Image.fromarray(_frame(0)).save(folder / "a_1.png")
    Image.fromarray(_frame(0, w=100)).save(folder / "a_2.png")
    with pytest.raises(PigskinError, match=r"a_2\.png: frame 1: size 100x96"):
        list(read_frames(folder))


def test_truncated_video_names_file_and_frame(tmp_path):
    path = tmp_path / "full.mp4"
    with VideoWriter(path, 160, 96, fps=30) as w:
        for i in range(40):
            w.write(np.random.default_rng(i).integers(0, 255, (96, 160, 3), dtype=np.uint8))
    data = path.read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: int(len(data) * 0.6)])
    got = []
    with pytest.raises(PigskinError, match=r"cut\.mp4: frame \d+: .*truncated") as info:
        for f in read_frames(cut):
            got.append(f.index)
    assert 0 < len(got) < 40
    assert f"frame {len(got)}:" in str(info.value)


def test_unreadable_files_give_clear_errors(tmp_path):
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"this is not a video" * 10)
    with pytest.raises(PigskinError, match=r"junk\.mp4: cannot open as a video"):
        VideoReader(junk)
    with pytest.raises(FileNotFoundError, match="missing"):
        VideoReader(tmp_path / "missing.mp4")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(PigskinError, match="no images"):
        VideoReader(empty)
