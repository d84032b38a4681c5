"""What a tuning study is asked to do (:class:`TuneConfig`) and what it reports (:class:`TuneResult`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from pigskin.errors import PigskinError
from pigskin.tune.objective import Report
from pigskin.tune.space import SearchSpace
from pigskin.tune.storage import default_storage

SAMPLERS = ("tpe", "gp", "random", "grid")
PRUNERS = ("median", "hyperband", "halving", "none")
DIRECTIONS = ("maximize", "minimize")

Runner = Callable[[Mapping[str, object], Path, Report], float]
"""``runner(params, trial_dir, report) -> objective``; SubprocessRunner is the default one."""


@dataclass(frozen=True)
class TuneConfig:
    space: SearchSpace
    study: str
    out: Path
    max_trials: int
    storage: str | None = None  # None: sqlite:///OUT/study.db; ":memory:": this process only
    direction: str = "maximize"
    sampler: str = "tpe"
    pruner: str = "median"
    max_parallel: int = 1
    timeout: float | None = None  # seconds; no new trial starts after it, running ones finish
    seed: int | None = None
    warm_start: tuple[str, ...] = ()
    warm_start_storage: str | None = None  # None: the study's own storage
    prune_startup_trials: int = 5  # median rule: no pruning until this many trials finished
    prune_warmup_steps: int = 1  # ... and never at the first reported value (epoch 0 is noisy)
    heartbeat_interval: int = 10  # a worker's trials are FAIL(lost) after grace_period s without a beat
    grace_period: int = 60
    report: bool = True
    quiet: bool = False  # no per-trial lines

    def __post_init__(self) -> None:
        if self.max_trials < 1:
            raise PigskinError(f"--max-trials must be at least 1, got {self.max_trials}")
        if self.max_parallel < 1:
            raise PigskinError(f"--max-parallel must be at least 1, got {self.max_parallel}")
        for name, value, allowed in (
            ("--sampler", self.sampler, SAMPLERS),
            ("--pruner", self.pruner, PRUNERS),
            ("--direction", self.direction, DIRECTIONS),
        ):
            if value not in allowed:
                raise PigskinError(f"{name} must be one of {', '.join(allowed)}, got {value!r}")
        if self.study in self.warm_start:
            raise PigskinError(f"--warm-start cannot name the study itself ({self.study})")
        if self.sampler == "grid":
            self.space.grid()  # says which entry lacks discrete values, before anything is written

    @property
    def storage_url(self) -> str:
        return self.storage or default_storage(self.out)


@dataclass(frozen=True)
class TuneResult:
    study: str
    storage: str
    counted: int  # trials that count towards max_trials
    states: dict[str, int]
    best: dict | None  # what best.json holds
    out: Path
    rows: list[dict] = field(default_factory=list)  # the trials table
