"""The ``pigskin`` command: argument parsing only; every command calls the Python API.

Each module in this package that defines ``register(subparsers)`` adds one command, so a new
command is a new file and nothing else changes.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

from pigskin import __version__
from pigskin.errors import PigskinError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pigskin", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"pigskin {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        if hasattr(module, "register"):
            module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    # a command that takes free-form ``--name value`` pairs (e.g. SageMaker hyperparameters) says so
    # with ``set_defaults(extra_args=True)`` and finds them in ``args.extra``
    if extra and not getattr(args, "extra_args", False):
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    args.extra = extra
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except (PigskinError, FileNotFoundError, FileExistsError) as exc:
        print(f"pigskin {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"pigskin {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
