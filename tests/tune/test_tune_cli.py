"""`pigskin tune` as users run it: real processes on one SQLite file, killed, resumed, side by side."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from optuna.trial import TrialState
from tune_helpers import SPACE, load_study, run_tune, tune_cmd, write_space

from pigskin.tune.study import counts_towards_budget


def _wait_for(path: Path, proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert proc.poll() is None, proc.communicate()[0]
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.05)


def _dead(pid: int, timeout: float = 10) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return False


def test_kill_and_resume_loses_no_finished_trial(tmp_path: Path) -> None:
    space = write_space(tmp_path / "space.yaml", SPACE)
    out = tmp_path / "run"
    args = ["--space", str(space), "--study", "s", "--max-trials", "4", "--out", str(out)]
    args += ["--sampler", "random", "--pruner", "none", "--no-report"]
    # trial 2 hangs inside the trainer, so the kill lands mid-trial, with trials 0 and 1 finished
    proc = subprocess.Popen(
        tune_cmd(*args),
        env={**os.environ, "TOY_HANG_FROM": "2"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    _wait_for(out / "trials" / "2" / "hanging", proc)
    before = {
        t.number: (t.params, t.value) for t in load_study(out, "s").get_trials() if t.state.is_finished()
    }
    assert sorted(before) == [0, 1]
    trainer_pid = int((out / "trials" / "2" / "pid").read_text())
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert _dead(trainer_pid), "the killed tuner left its trainer running"
    assert load_study(out, "s").get_trials()[2].state == TrialState.RUNNING  # what a kill leaves behind

    res = run_tune(*args)
    assert res.returncode == 0, res.stderr
    assert "marked 1 trial(s) of dead workers as FAIL (lost): [2]" in res.stdout
    trials = load_study(out, "s").get_trials()
    assert {n: (trials[n].params, trials[n].value) for n in before} == before  # kept, unchanged
    assert trials[2].state == TrialState.FAIL and "lost" in trials[2].user_attrs
    assert sum(counts_towards_budget(t) for t in trials) == 4  # the lost slot was run again
    assert [t.state for t in trials].count(TrialState.COMPLETE) == 4 and len(trials) == 5
    assert json.loads((out / "best.json").read_text())["value"] == max(t.value or 0 for t in trials)

    again = run_tune(*args)  # a finished study runs nothing more
    assert again.returncode == 0 and len(load_study(out, "s").get_trials()) == 5


def test_two_workers_share_one_study(tmp_path: Path) -> None:
    space = write_space(tmp_path / "space.yaml", SPACE)
    out = tmp_path / "run"
    args = ["--space", str(space), "--study", "shared", "--max-trials", "6", "--out", str(out)]
    args += ["--sampler", "random", "--pruner", "none", "--no-report"]
    env = {**os.environ, "TOY_PEERS": "2"}  # each first trial waits until the other worker runs one too
    workers = [
        subprocess.Popen(tune_cmd(*args), env=env, stdout=subprocess.PIPE, text=True) for _ in range(2)
    ]
    for w in workers:
        assert w.wait(timeout=120) == 0, w.communicate()
    trials = load_study(out, "shared").get_trials()
    counted = [t for t in trials if counts_towards_budget(t)]
    assert len(counted) == 6
    assert all(t.state == TrialState.COMPLETE or t.user_attrs.get("surplus") for t in trials)
    assert len({t.number for t in counted}) == 6
    assert len({t.user_attrs["trial_dir"] for t in counted}) == 6
    assert len({t.user_attrs["worker"] for t in counted}) == 2  # both workers ran trials
    for t in counted:  # each trial ran exactly once: one log, one trainer pid
        log = (Path(t.user_attrs["trial_dir"]) / "stdout.log").read_text()
        assert log.count("Validation: ") == 2


def test_fixed_arguments_after_double_dash(tmp_path: Path) -> None:
    space = write_space(tmp_path / "space.yaml", "lr: {type: float, low: 0.01, high: 0.1}\n")
    out = tmp_path / "run"
    base = ["--space", str(space), "--study", "s", "--max-trials", "2", "--out", str(out), "--no-report"]
    res = run_tune(
        *base, "--direction", "minimize", "--metric-regex", r"loss: (?P<value>[0-9.]+)", "--", "--epochs", "4"
    )
    assert res.returncode == 0, res.stderr
    trials = load_study(out, "s").get_trials()
    for t in trials:
        assert t.user_attrs["command"][-2:] == ["--epochs", "4"] and len(t.intermediate_values) == 4
        log = (out / "trials" / str(t.number) / "stdout.log").read_text()
        assert t.value == float(log.rsplit("loss: ", 1)[1].split()[0])  # the loss, not the Validation
    deploy = subprocess.run(
        [sys.executable, "-m", "pigskin", "deploy", "--study", "s", "--out", str(out), "--print-model"],
        capture_output=True,
        text=True,
    )
    best = min(trials, key=lambda t: t.value)
    assert deploy.stdout.strip() == str(out.resolve() / "trials" / str(best.number) / "model.tar.gz")
    clash = run_tune(*base, "--", "--lr", "0.5")
    assert clash.returncode == 2 and "--lr after '--' clashes" in clash.stderr
