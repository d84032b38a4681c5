"""Checkpoints: everything a killed run needs to continue where it stopped, written atomically.

A checkpoint holds the weights, optimiser and EMA state, the position (epoch, batch inside it,
global step, seconds trained), the metric history and the config it was made with. It is written to
a temporary name and renamed, so a SIGKILL mid-write leaves the previous checkpoint intact.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import torch

from pigskin.config import TrainConfig, flatten, to_dict
from pigskin.errors import PigskinError
from pigskin.fileio import write_bytes

CHECKPOINT = "checkpoint.pt"
BEST = "best.pt"
VERSION = 1

# settings that may differ when a run resumes: they change how long or how it runs, not what it learns
RESUMABLE = {
    "out",
    "checkpoint_dir",
    "epochs",
    "max_minutes",
    "session_minutes",
    "patience",
    "progress",
    "workers",
    "resume",
    "checkpoint_every",
    "device",
    "val_max_images",
    "amp",
    # a running average of the weights is kept beside them and never feeds back into training: it may
    # start (from the weights as they are) or stop when a run resumes
    "ema",
    "ema_decay",
}


def save(path: Path, state: dict[str, Any]) -> None:
    buf = io.BytesIO()
    torch.save({"version": VERSION, **state}, buf)
    write_bytes(path, buf.getvalue())


def load(path: Path) -> dict[str, Any]:
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # a truncated or foreign file
        raise PigskinError(
            f"{path}: cannot read the checkpoint ({exc}); delete it or pass --resume false"
        ) from None
    if not isinstance(state, dict) or state.get("version") != VERSION:
        raise PigskinError(f"{path}: not a pigskin checkpoint of version {VERSION}")
    return state


def check_compatible(path: Path, saved: dict[str, Any], config: TrainConfig) -> None:
    """Refuse to resume a checkpoint made with different learning settings (a new run needs a new out).

    Settings the checkpoint does not know (added to pigskin since) are taken as they are now.
    """
    old, new = flatten(saved), flatten(to_dict(config))
    changed = [
        f"{k}: {old.get(k)!r} -> {new.get(k)!r}"
        for k in sorted(old)
        if k not in RESUMABLE and old.get(k) != new.get(k)
    ]
    if changed:
        raise PigskinError(
            f"{path} was made with other settings ({'; '.join(changed[:6])}); use another --out, "
            "or --resume false to start over"
        )
