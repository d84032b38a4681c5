"""SageMaker script mode: the settings a training container receives, as flat config overrides.

SageMaker passes the data channels and the model folder as ``SM_CHANNEL_<NAME>`` and ``SM_MODEL_DIR``,
the hyperparameters as ``SM_HPS`` (JSON) and in ``/opt/ml/input/config/hyperparameters.json`` (every
value a string), and also as ``--name value`` arguments, which the CLI parses like any other option.
Hyperparameters SageMaker adds for itself (``_tuning_objective_metric``, ``sagemaker_*``) are ignored.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pigskin.errors import FormatError

HYPERPARAMETERS = Path("/opt/ml/input/config/hyperparameters.json")
CHECKPOINTS = Path("/opt/ml/checkpoints")  # synced to S3 when the job sets checkpoint_s3_uri


def is_internal(name: str) -> bool:
    """SageMaker's own hyperparameters, not ours."""
    return name.startswith("_") or name.startswith("sagemaker_")


def channel_path(folder: str) -> str:
    """A channel folder holding one file (e.g. ``train.manifest``) means that file; else the folder."""
    p = Path(folder)
    if p.is_dir():
        entries = [e for e in p.iterdir() if not e.name.startswith(".")]
        if len(entries) == 1 and entries[0].is_file():
            return str(entries[0])
    return str(p)


def environment(
    env: Mapping[str, str] | None = None, hyperparameters: Path = HYPERPARAMETERS
) -> dict[str, Any]:
    """Flat overrides from SageMaker's environment; empty outside SageMaker."""
    env = os.environ if env is None else env
    values: dict[str, Any] = {}
    if hyperparameters.is_file():
        try:
            data = json.loads(hyperparameters.read_text(encoding="utf-8"))
        except ValueError as exc:
            raise FormatError(hyperparameters, None, f"not valid JSON: {exc}") from None
        if not isinstance(data, dict):
            raise FormatError(hyperparameters, None, "expected a JSON object of hyperparameters")
        values.update(data)
    if env.get("SM_HPS"):
        try:
            data = json.loads(env["SM_HPS"])
        except ValueError as exc:
            raise FormatError("SM_HPS", None, f"not valid JSON: {exc}") from None
        if not isinstance(data, dict):
            raise FormatError("SM_HPS", None, "expected a JSON object of hyperparameters")
        values.update(data)
    if env.get("SM_CHANNEL_TRAIN"):
        values.setdefault("data", channel_path(env["SM_CHANNEL_TRAIN"]))
    for name in ("SM_CHANNEL_VALIDATION", "SM_CHANNEL_VAL"):
        if env.get(name):
            values.setdefault("val", channel_path(env[name]))
            break
    if env.get("SM_MODEL_DIR"):
        values.setdefault("out", env["SM_MODEL_DIR"])
        if CHECKPOINTS.is_dir():
            values.setdefault("checkpoint_dir", str(CHECKPOINTS))
    if env.get("SM_MODEL_DIR") or env.get("SM_TRAINING_ENV"):
        values.setdefault("progress", "false")  # CloudWatch logs are no place for a progress bar
    return values
