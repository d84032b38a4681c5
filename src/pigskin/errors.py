"""Errors that name the file and the place in it, so a user can fix bad labels without a debugger."""

from __future__ import annotations

from os import PathLike


class PigskinError(Exception):
    """Base of every error pigskin raises on purpose (the CLI prints these without a traceback)."""


class FormatError(PigskinError, ValueError):
    """Bad input in a dataset file: says which file, where (line, record, field) and what was expected."""

    def __init__(self, path: str | PathLike[str], where: str | None, message: str) -> None:
        self.path = str(path)
        self.where = where
        self.message = message
        loc = f"{self.path}: {where}" if where else self.path
        super().__init__(f"{loc}: {message}")
