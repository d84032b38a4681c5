"""Helpers for the tuner's tests: the real toy trainer (toy_train.py) as a subprocess, real SQLite files.

A plain module, not a conftest: test folders here have no ``__init__.py``, so the name must be unique.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

TOY = Path(__file__).with_name("toy_train.py")
TOY_ENTRY = f"{shlex.quote(sys.executable)} {shlex.quote(str(TOY))}"


def write_space(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def tune_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "pigskin", "tune", "--entry-point", TOY_ENTRY, "--quiet", *args]


def run_tune(*args: str, env: dict | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        tune_cmd(*args), capture_output=True, text=True, timeout=timeout, env={**os.environ, **(env or {})}
    )


def load_study(out: Path, name: str):
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna.load_study(study_name=name, storage=f"sqlite:///{out / 'study.db'}")


SPACE = (
    "lr: {type: float, low: 0.001, high: 0.2, log: true}\nbatch: {type: int, low: 4, high: 64}\nepochs: 2\n"
)
