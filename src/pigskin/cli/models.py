"""pigskin models: list the model names `pigskin train --model` accepts."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("models", help="list the detector models pigskin can train")
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from pigskin.models import DESCRIPTIONS, MODELS

    width = max(len(n) for n in MODELS)
    for name in MODELS:
        print(f"{name:<{width}}  {DESCRIPTIONS.get(name, '')}")
    return 0
