"""Decode ahead and encode behind the detector, each in its own thread.

PyAV decodes, converts and encodes with the GIL released, so on a 2-core machine the ~13 ms of video
work per 1280x720 frame runs beside the model instead of after it (benchmarks/track_throughput.py).
Order is kept, memory is bounded (``depth`` frames in flight), and an error in a worker is raised in
the caller at the same place it would have been without threads: a decoding error after the frames
before it were delivered, an encoding error at the next ``put`` or at ``close``.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any

_END = object()


class Prefetch:
    """``for item in Prefetch(items)``: ``items`` is iterated in a background thread, ``depth`` ahead.
    ``close()`` stops the thread (call it when the loop ends early)."""

    def __init__(self, items: Iterable[Any], depth: int = 4, name: str = "pigskin-prefetch") -> None:
        self._queue: queue.Queue[tuple[Any, BaseException | None]] = queue.Queue(maxsize=max(1, depth))
        self._stop = threading.Event()
        self._done = False
        self._thread = threading.Thread(target=self._run, args=(items,), name=name, daemon=True)
        self._thread.start()

    def _put(self, entry: tuple[Any, BaseException | None]) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(entry, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _run(self, items: Iterable[Any]) -> None:
        try:
            for item in items:
                if not self._put((item, None)):
                    return
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer, raised there
            self._put((_END, exc))
            return
        self._put((_END, None))

    def __iter__(self) -> Iterator[Any]:
        return self

    def __next__(self) -> Any:
        if self._done:
            raise StopIteration
        item, error = self._queue.get()
        if item is _END:
            self._done = True
            if error is not None:
                raise error
            raise StopIteration
        return item

    def close(self) -> None:
        self._stop.set()
        self._thread.join()


class Behind:
    """``Behind(work).put(args)`` runs ``work(*args)`` in one background thread, in order, at most
    ``depth`` calls queued. A failure is raised by the next ``put`` or by ``close``, which waits for
    the queued work; after a failure the rest of the queue is skipped."""

    def __init__(self, work: Callable[..., None], depth: int = 4, name: str = "pigskin-behind") -> None:
        self._work = work
        self._queue: queue.Queue[tuple | object] = queue.Queue(maxsize=max(1, depth))
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            args = self._queue.get()
            if args is _END:
                return
            if self._error is None:
                try:
                    self._work(*args)
                except BaseException as exc:  # noqa: BLE001 - raised in the caller
                    self._error = exc

    def put(self, *args: Any) -> None:
        if self._error is not None:
            raise self._error
        self._queue.put(args)

    def close(self) -> None:
        """Wait for the queued work, then raise the worker's error if there was one."""
        self._queue.put(_END)
        self._thread.join()
        if self._error is not None:
            raise self._error
