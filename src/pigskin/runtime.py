"""Process-wide settings for the heavy entry points (train, predict, serve): allocator and threads.

Call :func:`prepare` first thing in an entry point, before torch is imported.

Why the allocator: glibc hands big blocks (> 128 KiB by default, adaptively up to 32 MiB) to ``mmap``
and returns them on ``free``. A 1280x720 forward pass allocates many activations larger than that,
so each call maps fresh pages and faults them in again; raising the thresholds keeps those blocks in
the heap. ``MALLOC_*`` environment variables are read only when the allocator starts, i.e. before
Python runs, so we call ``mallopt`` on the live allocator instead. ``benchmarks/allocator.py``
measures the difference.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os

# glibc's mallopt parameter numbers (malloc.h)
M_TRIM_THRESHOLD = -1
M_TOP_PAD = -2
M_MMAP_THRESHOLD = -3

_tuned: dict[str, int] | None = None


def prepare(num_threads: int | None = None) -> dict[str, object]:
    """Everything below, in the right order; returns what was set (for logs)."""
    passive = passive_omp_wait()
    tuned = tune_allocator()
    threads = set_threads(num_threads)
    return {"omp_wait_policy_passive": passive, "malloc": tuned, "threads": threads}


def passive_omp_wait() -> bool:
    """Let idle OpenMP threads sleep instead of spin (``OMP_WAIT_POLICY=PASSIVE``), unless set already.

    Spinning threads on a machine shared with other processes (or other DDP ranks, or pytest-xdist
    workers) steal the cores the working threads need: on a busy 2-core box a MobileNetV2 training
    step ran more than ten times slower with the default policy. Read once when torch starts, so this must run
    before ``import torch``; returns whether it took effect.
    """
    import sys

    if "torch" in sys.modules or "OMP_WAIT_POLICY" in os.environ:
        return False
    os.environ["OMP_WAIT_POLICY"] = "PASSIVE"
    return True


def tune_allocator(
    mmap_threshold: int = 1 << 30, trim_threshold: int = 2 << 30, top_pad: int = 256 << 20
) -> dict[str, int]:
    """Keep large blocks in glibc's heap instead of mmap/munmap per call; idempotent.

    Returns the settings applied (empty when the C library is not glibc, e.g. macOS or musl).
    Set ``PIGSKIN_NO_MALLOPT=1`` to leave the allocator alone.
    """
    global _tuned
    if _tuned is not None:
        return _tuned
    _tuned = {}
    if os.environ.get("PIGSKIN_NO_MALLOPT"):
        return _tuned
    try:
        libc = ctypes.CDLL("libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return _tuned
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    # mallopt takes an int: clamp to what fits
    limit = 2**31 - 1
    wanted = {
        "M_MMAP_THRESHOLD": (M_MMAP_THRESHOLD, min(mmap_threshold, limit)),
        "M_TRIM_THRESHOLD": (M_TRIM_THRESHOLD, min(trim_threshold, limit)),
        "M_TOP_PAD": (M_TOP_PAD, min(top_pad, limit)),
    }
    for name, (param, value) in wanted.items():
        if mallopt(param, value) == 1:
            _tuned[name] = value
    return _tuned


def set_threads(num_threads: int | None = None) -> int:
    """Give torch one thread per core this process may use (divided among local DDP ranks).

    torch's default counts every core of the machine, even those another process or rank is using,
    and oversubscription makes CPU inference several times slower.
    """
    import torch

    if num_threads is None or num_threads <= 0:
        try:
            cores = len(os.sched_getaffinity(0))
        except AttributeError:  # pragma: no cover - not Linux
            cores = os.cpu_count() or 1
        local = int(os.environ.get("LOCAL_WORLD_SIZE", "1") or 1)
        num_threads = max(1, cores // max(1, local))
    torch.set_num_threads(num_threads)
    return num_threads
