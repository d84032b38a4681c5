"""One trial as a subprocess: crash, silence, pruning and timeouts kill or fail it cleanly."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from tune_helpers import TOY

from pigskin.tune.objective import SubprocessRunner, TrialFailed, TrialPrunedByReport

RUNNER = SubprocessRunner(entry_point=(sys.executable, str(TOY)))


def _dead(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def test_reports_every_epoch_and_returns_the_last(tmp_path: Path) -> None:
    seen = []
    value = RUNNER({"lr": 0.05, "epochs": 3}, tmp_path / "t", lambda v, s: seen.append((s, v)) or False)
    assert [s for s, _ in seen] == [0, 1, 2] and value == seen[-1][1]
    log = (tmp_path / "t" / "stdout.log").read_bytes()
    assert log.count(b"Validation: ") == 3 and b"\r" in log  # stdout and stderr, as written
    assert (tmp_path / "t" / "model.tar.gz").is_file()


@pytest.mark.parametrize(
    "mode, words", [("crash", ["exit code 1", "CUDA out of memory"]), ("silent", ["no line matched"])]
)
def test_a_failing_command_raises_trial_failed(tmp_path: Path, mode: str, words: list[str]) -> None:
    with pytest.raises(TrialFailed) as e:
        RUNNER({"mode": mode, "epochs": 2}, tmp_path / "t", lambda v, s: False)
    assert all(w in str(e.value) for w in words)


def test_prune_kills_the_process_group_at_once(tmp_path: Path) -> None:
    with pytest.raises(TrialPrunedByReport, match="step 1"):
        RUNNER({"epochs": 20, "sleep": 0.2}, tmp_path / "t", lambda v, s: s >= 1)
    assert _dead(int((tmp_path / "t" / "pid").read_text()))
    assert (tmp_path / "t" / "stdout.log").read_bytes().count(b"Validation: ") < 20
    assert not (tmp_path / "t" / "model.tar.gz").exists()


def test_trial_timeout_kills_and_fails(tmp_path: Path) -> None:
    slow = SubprocessRunner(entry_point=(sys.executable, str(TOY)), trial_timeout=1.0)
    with pytest.raises(TrialFailed, match="timed out after 1 s"):
        slow({"epochs": 50, "sleep": 0.2}, tmp_path / "t", lambda v, s: False)
    assert _dead(int((tmp_path / "t" / "pid").read_text()))


def test_missing_program_fails_the_trial(tmp_path: Path) -> None:
    bad = SubprocessRunner(entry_point=(str(tmp_path / "no-such-trainer"),))
    with pytest.raises(TrialFailed):
        bad({"lr": 0.1}, tmp_path / "t", lambda v, s: False)
