"""The objective, read the way SageMaker reads it: run a training command, parse its log with a regex.

Each trial is a subprocess ``ENTRY --name value ... --out TRIAL_DIR EXTRA...``. Its stdout and stderr
are streamed line by line; every match of the metric regex is one intermediate value (one step), fed to
the pruner as it appears; the last one is the trial's objective. A non-zero exit, or no match at all,
fails the trial. Nothing in here knows about Optuna: the study passes a ``report(value, step)``
callback that answers "prune now?".
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import selectors
import shlex
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pigskin.errors import PigskinError

DEFAULT_REGEX = r"Validation: ([0-9.]+)"
DEFAULT_ENTRY_POINT = (sys.executable, "-m", "pigskin", "train")

# CSI sequences (colours, cursor moves) and other two-byte escapes that progress bars emit.
_ANSI = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|[@-Z\\-_])")
_CHUNK_END = re.compile(r"[\r\n]")

Report = Callable[[float, int], bool]
"""``report(value, step) -> prune?``: called for every metric value as it appears."""


class TrialFailed(PigskinError):
    """The training command failed (non-zero exit, timeout, or it never printed the metric)."""


class TrialPrunedByReport(Exception):
    """Raised when ``report`` asked to stop; the study turns it into Optuna's TrialPruned."""


def compile_metric_regex(pattern: str) -> re.Pattern[str]:
    """Compile a metric regex; its value is the group named ``value``, else group 1."""
    try:
        rx = re.compile(pattern)
    except re.error as exc:
        raise PigskinError(f"--metric-regex {pattern!r} is not a valid regular expression: {exc}") from None
    if rx.groups < 1:
        raise PigskinError(
            f"--metric-regex {pattern!r} needs a capture group around the number, e.g. '([0-9.]+)'"
        )
    return rx


def _to_float(text: str) -> float | None:
    for candidate in (text, text.rstrip(".")):  # "Validation: 0.41." at the end of a sentence
        try:
            return float(candidate)
        except ValueError:
            continue
    return None


class MetricParser:
    """Incremental parser: feed raw output as it arrives, get back the metric values it completed.

    Output is cut into chunks at ``\\r`` and ``\\n`` (so each redraw of a progress bar is its own
    chunk), ANSI escapes are removed, and every regex match in a chunk counts, so several metrics on
    one line work. A chunk is only parsed once its terminator arrived, so a number split across two
    reads is never half-parsed; ``close()`` parses the unterminated tail.
    """

    def __init__(self, pattern: str | re.Pattern[str] = DEFAULT_REGEX) -> None:
        self.regex = pattern if isinstance(pattern, re.Pattern) else compile_metric_regex(pattern)
        self._group: int | str = "value" if "value" in self.regex.groupindex else 1
        self._tail = ""
        self.values: list[float] = []

    def _parse_chunk(self, chunk: str) -> list[float]:
        found = []
        for m in self.regex.finditer(_ANSI.sub("", chunk)):
            v = _to_float(m.group(self._group) or "")
            if v is not None:
                found.append(v)
        self.values.extend(found)
        return found

    def feed(self, text: str) -> list[float]:
        parts = _CHUNK_END.split(self._tail + text)
        self._tail = parts.pop()
        return [v for chunk in parts for v in self._parse_chunk(chunk)]

    def close(self) -> list[float]:
        tail, self._tail = self._tail, ""
        return self._parse_chunk(tail)


def parse_metrics(text: str, pattern: str = DEFAULT_REGEX) -> list[float]:
    """Every metric value in a finished log, in order (the last one is the objective)."""
    p = MetricParser(pattern)
    p.feed(text)
    p.close()
    return p.values


def format_value(v) -> str:
    """A hyperparameter as a command-line string: floats round-trip exactly, booleans in lower case."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return repr(v)
    return str(v)


def build_command(
    entry_point: Sequence[str],
    params: Mapping[str, object],
    out_dir: Path | None,
    extra_args: Sequence[str] = (),
    out_flag: str = "--out",
) -> list[str]:
    """``ENTRY --name value ... --out DIR EXTRA...`` (fixed extras last, as SageMaker appends them)."""
    cmd = list(entry_point)
    for name, value in params.items():
        cmd += [f"--{name}", format_value(value)]
    if out_flag and out_dir is not None:
        cmd += [out_flag, str(out_dir)]
    return cmd + list(extra_args)


def split_entry_point(entry_point: str | Sequence[str] | None) -> tuple[str, ...]:
    if entry_point is None:
        return DEFAULT_ENTRY_POINT
    parts = tuple(shlex.split(entry_point)) if isinstance(entry_point, str) else tuple(entry_point)
    if not parts:
        raise PigskinError("--entry-point is empty")
    return parts


def _orphan_guard() -> list[str]:
    """Linux: make the child die with the tuner (SIGKILL of the tuner must not leave trainers running)."""
    if sys.platform.startswith("linux") and shutil.which("setpriv"):
        return ["setpriv", "--pdeathsig", "KILL", "--"]
    return []


def _kill_group(proc: subprocess.Popen, grace: float = 5.0) -> None:
    """SIGTERM the trial's whole process group (data-loader workers too), SIGKILL if it lingers."""
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, None)):
        try:
            os.killpg(proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            return
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


@dataclass(frozen=True)
class SubprocessRunner:
    """Runs one trial as a subprocess and returns its objective; the default (and tested) mode."""

    entry_point: tuple[str, ...] = DEFAULT_ENTRY_POINT
    extra_args: tuple[str, ...] = ()
    metric_regex: str = DEFAULT_REGEX
    out_flag: str = "--out"
    trial_timeout: float | None = None
    env: Mapping[str, str] = field(default_factory=dict)
    log_name: str = "stdout.log"

    def command(self, params: Mapping[str, object], trial_dir: Path) -> list[str]:
        return build_command(self.entry_point, params, trial_dir, self.extra_args, self.out_flag)

    def __call__(self, params: Mapping[str, object], trial_dir: Path, report: Report) -> float:
        trial_dir.mkdir(parents=True, exist_ok=True)
        cmd = self.command(params, trial_dir)
        env = {
            **os.environ,
            **self.env,
            "PYTHONUNBUFFERED": "1",  # a Python trainer's prints arrive per line, so pruning is prompt
            "PIGSKIN_TRIAL_DIR": str(trial_dir),
            "SM_HPS": json.dumps({k: format_value(v) for k, v in params.items()}),
        }
        parser = MetricParser(self.metric_regex)
        tail = ""
        deadline = None if self.trial_timeout is None else time.monotonic() + self.trial_timeout
        try:
            proc = subprocess.Popen(
                _orphan_guard() + cmd,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,  # its own process group, so a prune kills its children too
            )
        except OSError as exc:
            raise TrialFailed(f"cannot start {cmd[0]!r}: {exc}") from None
        pruned = timed_out = eof = False
        try:
            with open(trial_dir / self.log_name, "wb") as log, selectors.DefaultSelector() as sel:
                fd = proc.stdout.fileno()
                sel.register(fd, selectors.EVENT_READ)
                step = 0
                while not (pruned or timed_out or eof):
                    wait = None if deadline is None else max(0.0, deadline - time.monotonic())
                    if not sel.select(timeout=wait):
                        timed_out = True
                        break
                    data = os.read(fd, 65536)
                    eof = not data
                    log.write(data)
                    log.flush()
                    text = data.decode("utf-8", errors="replace")
                    tail = (tail + text)[-4000:]
                    for value in parser.feed(text) if data else parser.close():
                        pruned = report(value, step) and not eof
                        step += 1
                        if pruned:
                            break
            if eof:
                with contextlib.suppress(subprocess.TimeoutExpired):  # closed its output, still running
                    proc.wait(timeout=30)
        finally:
            if proc.poll() is None:  # pruned, timed out, or the tuner itself is going down (Ctrl-C)
                _kill_group(proc)
            proc.stdout.close()
        if pruned:
            raise TrialPrunedByReport(f"pruned at step {step - 1} (value {parser.values[step - 1]})")
        if timed_out:
            raise TrialFailed(f"timed out after {self.trial_timeout:g} s")
        last = "\n    ".join([c for c in _CHUNK_END.split(_ANSI.sub("", tail)) if c.strip()][-15:])
        if proc.returncode != 0:
            raise TrialFailed(f"exit code {proc.returncode}; last output:\n    {last}")
        if not parser.values:
            raise TrialFailed(f"no line matched {self.metric_regex!r}; last output:\n    {last}")
        return parser.values[-1]
