"""Released models: trained artifacts that ship inside the package, loaded by name.

A user who installs pigskin gets a ball model on day one (``pigskin track VIDEO`` with no
``--model``), as Ultralytics users get ``yolo11n.pt``, and fine-tunes it on their own labels with
``pigskin train --init pigskin-ball``. The files live in ``pigskin/released/`` (package data, never a
download); docs/models.md is their model card and ``scripts/train_pigskin_ball.py`` the recipe that
makes them.
"""

from __future__ import annotations

import os
from pathlib import Path

from pigskin.errors import PigskinError

RELEASED_DIR = Path(__file__).resolve().parent.parent / "released"
DEFAULT_MODEL = "pigskin-ball"
RELEASED: dict[str, str] = {
    "pigskin-ball": "pigskin-ball.tar.gz",  # multi-frame heatmap ball detector, synthetic broadcast data
}


def resolve(model: str | os.PathLike[str]) -> Path:
    """The artifact a ``--model`` value names: a released name, or a path (returned as given).

    A path that exists wins over a name, so a folder called ``pigskin-ball`` still means the folder."""
    path = Path(model)
    if path.exists() or str(model) not in RELEASED:
        return path
    released = RELEASED_DIR / RELEASED[str(model)]
    if not released.is_file():
        raise PigskinError(
            f"the released model {model!r} is not in this install ({released} is missing); "
            "reinstall pigskin, or pass --model PATH to a model.tar.gz"
        )
    return released
