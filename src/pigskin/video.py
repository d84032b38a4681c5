"""Streaming video input and output with PyAV: frames go through one at a time, never a whole video.

Input is anything PyAV (FFmpeg) decodes (mp4/H.264, mov, mkv, ...) or a folder of images (sorted
by the numbers in their names). Output is H.264 in mp4 (yuv420p, so every player shows it), with
the libx264 encoder bundled in PyAV's wheels, falling back to MPEG-4 part 2 if a build lacks it.
The writer always finishes the file (flushes the encoder, writes the index) even when the code
feeding it fails, so whatever was written before an error is a playable video.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import NamedTuple

import numpy as np

from pigskin.errors import PigskinError

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff")
CODECS = ("libx264", "h264", "mpeg4")


class Frame(NamedTuple):
    index: int
    time_s: float
    image: np.ndarray  # RGB uint8, H x W x 3


@dataclass(frozen=True)
class VideoInfo:
    path: str
    width: int
    height: int
    fps: float
    frames: int | None  # as declared by the container; None when it does not say


def frame_name(video: str | os.PathLike[str], index: int) -> str:
    """File name of a frame image: the same in ``pigskin frames`` and in the tracking label file."""
    return f"{Path(video).stem}_{index:06d}.jpg"


def _natural_key(p: Path) -> list:
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", p.name)]


def image_files(folder: str | os.PathLike[str]) -> list[Path]:
    """Image files of a folder in frame order (``frame_2`` before ``frame_10``)."""
    files = [p for p in Path(folder).iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()]
    return sorted(files, key=_natural_key)


class VideoReader:
    """Iterate over ``Frame``s of a video file or an image folder; use as a context manager.

    ``fps`` is needed only for image folders (they carry no timing). Decoding errors become a
    :class:`PigskinError` naming the file and the frame; so does an mp4/mov that ends before the
    number of frames its index declares (a truncated download or copy).
    """

    def __init__(self, path: str | os.PathLike[str], fps: float | None = None) -> None:
        self.path = Path(path)
        self._container = None
        if not self.path.exists():
            raise FileNotFoundError(f"{self.path}: no such file or folder")
        if self.path.is_dir():
            self._files = image_files(self.path)
            if not self._files:
                raise PigskinError(f"{self.path}: no images ({', '.join(IMAGE_SUFFIXES)}) in this folder")
            first = self._load_image(0)
            h, w = first.shape[:2]
            self.info = VideoInfo(str(self.path), w, h, float(fps or 30.0), len(self._files))
            return
        import av

        try:
            self._container = av.open(str(self.path))
            stream = self._container.streams.video[0]
        except (av.FFmpegError, IndexError) as exc:
            self.close()
            raise PigskinError(f"{self.path}: cannot open as a video ({exc})") from exc
        rate = stream.average_rate or stream.guessed_rate or fps or 30
        declared = int(stream.frames or 0) or None
        self.info = VideoInfo(str(self.path), stream.width, stream.height, float(rate), declared)

    def _load_image(self, i: int) -> np.ndarray:
        from PIL import Image

        path = self._files[i]
        try:
            with Image.open(path) as im:
                return np.asarray(im.convert("RGB"))
        except (OSError, ValueError) as exc:
            raise PigskinError(f"{path}: frame {i}: cannot read image ({exc})") from exc

    def __iter__(self) -> Iterator[Frame]:
        if self._container is None:
            yield from self._iter_images()
        else:
            yield from self._iter_video()

    def _iter_images(self) -> Iterator[Frame]:
        w, h = self.info.width, self.info.height
        for i in range(len(self._files)):
            img = self._load_image(i)
            if img.shape[:2] != (h, w):
                raise PigskinError(
                    f"{self._files[i]}: frame {i}: size {img.shape[1]}x{img.shape[0]} differs from "
                    f"the first image's {w}x{h}"
                )
            yield Frame(i, i / self.info.fps, img)

    def _iter_video(self) -> Iterator[Frame]:
        import av

        stream = self._container.streams.video[0]
        stream.thread_type = "AUTO"  # frame + slice threads: ~1.6x faster 720p decoding on 2 cores
        t0: float | None = None
        i = 0
        frames = self._container.decode(stream)
        while True:
            try:
                frame = next(frames)
            except StopIteration:
                break
            except av.FFmpegError as exc:
                raise PigskinError(
                    f"{self.path}: frame {i}: cannot decode ({exc}); the file looks truncated or corrupt"
                ) from exc
            t = frame.time
            if t is not None and t0 is None:
                t0 = t
            time_s = (t - t0) if t is not None and t0 is not None else i / self.info.fps
            yield Frame(i, float(time_s), frame.to_ndarray(format="rgb24"))
            i += 1
        declared = self.info.frames
        if declared and i < declared - 2:
            raise PigskinError(
                f"{self.path}: frame {i}: the video ends after {i} of the {declared} frames its "
                "index declares; the file looks truncated"
            )

    def close(self) -> None:
        if self._container is not None:
            self._container.close()
            self._container = None

    def __enter__(self) -> "VideoReader":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def read_frames(path: str | os.PathLike[str], fps: float | None = None) -> Iterator[Frame]:
    """Generator of ``(index, time_s, rgb)``; the file is closed when the loop ends or breaks."""
    with VideoReader(path, fps) as reader:
        yield from reader


def available_codec() -> str:
    """The first encoder in :data:`CODECS` that this PyAV build has."""
    import av

    for name in CODECS:
        try:
            av.codec.Codec(name, "w")
            return name
        except Exception:  # noqa: BLE001 - PyAV raises different types per version
            continue
    raise PigskinError(f"PyAV has none of the video encoders {', '.join(CODECS)}")


class VideoWriter:
    """Write RGB frames (numpy or PIL) to an mp4 as they come; always leaves a finished file.

    Odd widths or heights are cropped by one pixel (yuv420p needs even sizes). Use it as a context
    manager, or call :meth:`close` in a ``finally``.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        width: int,
        height: int,
        fps: float,
        crf: int = 23,
        preset: str = "veryfast",
        codec: str | None = None,
        threads: int = 0,
    ) -> None:
        """``threads``: encoder threads, 0 = the encoder's choice (x264 then picks by the cores, and its
        bytes differ from machine to machine; a fixed count gives the same file everywhere)."""
        import av

        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.width, self.height = int(width) - int(width) % 2, int(height) - int(height) % 2
        if self.width <= 0 or self.height <= 0:
            raise ValueError(f"video size must be at least 2x2, got {width}x{height}")
        self.codec = codec or available_codec()
        self.frames = 0
        suffix = self.path.suffix.lower()
        fmt = "mp4" if suffix in (".mp4", ".partial", ".tmp") else None
        # faststart: the index goes to the front, so players (and a truncated copy) can start at once
        options = {"movflags": "+faststart"} if fmt == "mp4" or suffix in (".mov", ".m4v") else {}
        self._container = av.open(str(self.path), "w", format=fmt, options=options)
        rate = Fraction(fps).limit_denominator(1001)
        self._stream = self._container.add_stream(self.codec, rate=rate)
        self._stream.width, self._stream.height = self.width, self.height
        self._stream.pix_fmt = "yuv420p"
        if self.codec in ("libx264", "h264"):
            self._stream.options = {"crf": str(crf), "preset": preset}
        if threads:
            self._stream.codec_context.thread_count = int(threads)

    def write(self, image) -> None:
        import av

        if self._container is None:
            raise ValueError(f"{self.path}: writer is closed")
        if isinstance(image, np.ndarray):
            frame = av.VideoFrame.from_ndarray(
                np.ascontiguousarray(image[: self.height, : self.width]), format="rgb24"
            )
        else:
            if image.size != (self.width, self.height):
                image = image.crop((0, 0, self.width, self.height))
            frame = av.VideoFrame.from_image(image)
        for packet in self._stream.encode(frame):
            self._container.mux(packet)
        self.frames += 1

    def close(self) -> None:
        """Flush the encoder and write the index; safe to call twice."""
        if self._container is None:
            return
        container, self._container = self._container, None
        try:
            for packet in self._stream.encode():
                container.mux(packet)
        finally:
            container.close()

    def __enter__(self) -> "VideoWriter":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def count_frames(path: str | os.PathLike[str]) -> int:
    """Decode a whole video and count its frames (for checks and tests; slow on long videos)."""
    with VideoReader(path) as reader:
        return sum(1 for _ in reader)
