"""Which trials count towards a study's ``max_trials``, and which were lost with their worker.

A trial *counts* when it finished on its own: COMPLETE, PRUNED, or FAIL because the training command
failed (its ``error`` attribute). A trial that was RUNNING when its worker died (SIGKILL, power cut)
is marked FAIL with a ``lost`` attribute and does *not* count, so a resumed study re-runs that slot;
warm-start trials copied from earlier studies never count.
"""

from __future__ import annotations

import contextlib
import os
import socket
import warnings
from pathlib import Path


def counts_towards_budget(t) -> bool:
    """COMPLETE and PRUNED count; FAIL only when the command failed, not when its worker died."""
    from optuna.trial import TrialState

    if "warm_start" in t.user_attrs:
        return False
    if t.state in (TrialState.COMPLETE, TrialState.PRUNED):
        return True
    return t.state == TrialState.FAIL and "error" in t.user_attrs


def pending(t) -> bool:
    """RUNNING trials will count once they end. (WAITING ones, e.g. enqueued, do not: the next ask
    picks them up, so counting them would stop the study before they ran.)"""
    from optuna.trial import TrialState

    return t.state == TrialState.RUNNING and "warm_start" not in t.user_attrs


def worker_id() -> str:
    """host/boot/pid: unique per process across machines, and checkable for liveness on this one."""
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()[:8]
    except OSError:
        boot = "-"
    return f"{socket.gethostname()}/{boot}/{os.getpid()}"


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def fail_lost_trials(study, storage) -> list[int]:
    """Mark FAIL(lost) the RUNNING trials whose worker died: at once for dead processes on this
    machine (checked by pid), after the heartbeat grace period for any other machine."""
    import optuna
    from optuna.exceptions import UpdateFinishedTrialError
    from optuna.trial import TrialState

    me = worker_id()
    host_boot = me.rsplit("/", 1)[0]
    study_id = storage.get_study_id_from_name(study.study_name)
    lost = []
    for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        w = t.user_attrs.get("worker", "")
        prefix, _, pid = w.rpartition("/")
        if prefix != host_boot or not pid.isdigit() or pid_alive(int(pid)):
            continue
        trial_id = storage.get_trial_id_from_study_id_trial_number(study_id, t.number)
        with contextlib.suppress(UpdateFinishedTrialError):
            storage.set_trial_user_attr(trial_id, "lost", f"worker {w} exited while the trial ran")
            storage.set_trial_state_values(trial_id, state=TrialState.FAIL)
            lost.append(t.number)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        before = {t.number for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))}
        optuna.storages.fail_stale_trials(study)
        after = {t.number for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))}
    return lost + sorted(before - after)
