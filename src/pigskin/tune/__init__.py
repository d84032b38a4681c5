"""Hyperparameter tuning on Optuna: many training runs, read like SageMaker reads them, one best model.

``space`` (search spaces as YAML), ``objective`` (a training command as a subprocess, parsed by regex),
``study`` (samplers, pruners, shared storage, budget, resume), ``report`` (outputs), ``deploy``.
Optuna is imported lazily, inside the functions that need it.
"""

from pigskin.tune.objective import DEFAULT_REGEX, MetricParser, SubprocessRunner, TrialFailed, parse_metrics
from pigskin.tune.space import Param, SearchSpace, load_space, parse_space, resolve_space
from pigskin.tune.study import TuneConfig, TuneResult, run_study

__all__ = [
    "DEFAULT_REGEX",
    "MetricParser",
    "Param",
    "SearchSpace",
    "SubprocessRunner",
    "TrialFailed",
    "TuneConfig",
    "TuneResult",
    "load_space",
    "parse_metrics",
    "parse_space",
    "resolve_space",
    "run_study",
]
