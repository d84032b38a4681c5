"""pigskin train: train a detector and write DIR/model.tar.gz; also SageMaker's training entry point.

Every field of the training config is an option (``--lr 0.01``, ``--image-size 640``, ``--image_size
640``). Values are read, lowest priority first, from SageMaker (``SM_CHANNEL_*``, ``SM_MODEL_DIR``,
hyperparameters.json, ``SM_HPS``), ``--config FILE``, then the command line.
"""

from __future__ import annotations

import argparse
import os
from typing import Any


def _fmt(value: Any) -> str:
    if isinstance(value, tuple):
        return ",".join(str(v) for v in value)
    return repr(value) if isinstance(value, str) else str(value)


def register(sub: argparse._SubParsersAction) -> None:
    from pigskin.config import TrainConfig, flat_fields

    p = sub.add_parser(
        "train",
        help="train a detector (writes DIR/model.tar.gz)",
        description="Train a detector on labelled frames and write OUT/model.tar.gz. "
        "Example: pigskin train --model fasterrcnn_mobilenet_v2 --data train.manifest --val val.manifest "
        "--epochs 20 --out runs/frcnn",
        epilog="See docs/train.md. Every hyperparameter also accepts its underscore spelling (--image_size).",
    )
    p.add_argument(
        "--config", dest="config_file", metavar="FILE", help="YAML or JSON file of hyperparameters"
    )
    p.add_argument("--model", dest="name", metavar="NAME", help="model name (see `pigskin models`)")
    group = p.add_argument_group("hyperparameters")
    for name, (_, f) in flat_fields(TrainConfig).items():
        if name == "name":
            continue
        flags = [f"--{name.replace('_', '-')}"] + ([f"--{name}"] if "_" in name else [])
        default = f.default
        kw: dict[str, Any] = {
            "dest": name,
            "default": None,
            "help": f"{f.metadata.get('help', '')} (default: {_fmt(default)})",
        }
        if isinstance(default, bool):
            kw.update(nargs="?", const="true", metavar="BOOL")
        else:
            kw["metavar"] = name.upper()
        group.add_argument(*flags, **kw)
    p.set_defaults(func=_run, extra_args=True)


def _pairs(tokens: list[str]) -> dict[str, str]:
    """``--name value`` / ``--name=value`` tokens the parser did not know."""
    from pigskin.errors import PigskinError

    out: dict[str, str] = {}
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        if not tok.startswith("--"):
            raise PigskinError(f"unexpected argument {tok!r} (hyperparameters are --name value)")
        if "=" in tok:
            name, value = tok[2:].split("=", 1)
            i += 1
        elif i + 1 < len(tokens) and not tokens[i + 1].startswith("--"):
            name, value = tok[2:], tokens[i + 1]
            i += 2
        else:
            name, value = tok[2:], "true"
            i += 1
        out[name] = value
    return out


def build_config(args: argparse.Namespace) -> Any:
    """The TrainConfig these arguments (and SageMaker's environment) describe."""
    from pigskin.config import ConfigError, TrainConfig, flat_fields, flatten, load_file, override
    from pigskin.train import sagemaker

    known = flat_fields(TrainConfig)
    values: dict[str, Any] = dict(sagemaker.environment())
    if args.config_file:
        values.update(flatten(load_file(args.config_file)))
    values.update({k: v for k, v in vars(args).items() if k in known and v is not None})
    values.update(_pairs(list(getattr(args, "extra", []) or [])))
    clean: dict[str, Any] = {}
    for raw, value in values.items():
        name = raw.replace("-", "_")
        if name == "model" and not isinstance(value, dict):
            name = "name"  # the hyperparameter "model" is the model's name
        if sagemaker.is_internal(name):
            print(f"note: ignoring SageMaker's own hyperparameter {raw}={value!r}")
            continue
        if name not in known:
            raise ConfigError(f"unknown hyperparameter {raw!r}; see `pigskin train --help`")
        clean[name] = value
    return override(TrainConfig(), clean, source="train")


def _run(args: argparse.Namespace) -> int:
    from pigskin.runtime import prepare

    config = build_config(args)
    prepare()  # before torch is imported
    from pigskin.train import train

    path = train(config)
    if os.environ.get("RANK", "0") == "0":  # under torchrun, one line is enough
        print(f"model: {path}")
    return 0
