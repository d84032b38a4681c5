"""pigskin tune: hyperparameter search over a training command (SageMaker-style), on Optuna."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "tune",
        help="search hyperparameters: run many trainings, keep the best model",
        description="Run or resume a study. Everything after `--` is appended to every trial's command.",
    )
    p.add_argument(
        "--space", required=True, help="search space YAML, or a built-in family: detector, fasterrcnn, yolov3"
    )
    p.add_argument("--study", required=True, help="study name (the key that workers and resumes share)")
    p.add_argument(
        "--max-trials", type=int, required=True, help="trials in the whole study, across workers and resumes"
    )
    p.add_argument(
        "--out", required=True, help="output folder: trials/<n>/, trials.csv, best.json, report.html"
    )
    p.add_argument("--storage", help="SQLAlchemy URL shared by all workers (default sqlite:///OUT/study.db)")
    p.add_argument("--entry-point", help="training command (default: python -m pigskin train)")
    p.add_argument(
        "--metric-regex", default=None, help="objective regex, one group (default 'Validation: ([0-9.]+)')"
    )
    p.add_argument("--direction", choices=["maximize", "minimize"], default="maximize")
    p.add_argument("--sampler", choices=["tpe", "gp", "random", "grid"], default="tpe")
    p.add_argument("--pruner", choices=["median", "hyperband", "halving", "none"], default="median")
    p.add_argument("--max-parallel", type=int, default=1, help="trials at once in this worker")
    p.add_argument("--timeout", type=float, help="seconds after which this worker starts no new trial")
    p.add_argument("--trial-timeout", type=float, help="seconds after which a trial is killed and FAIL")
    p.add_argument("--seed", type=int, help="sampler seed (give each worker its own)")
    p.add_argument("--warm-start", help="earlier studies to learn from: NAME[,NAME]")
    p.add_argument("--warm-start-storage", help="their storage URL (default: --storage)")
    p.add_argument("--out-flag", default="--out", help="flag that passes each trial's folder ('' for none)")
    p.add_argument("--no-report", action="store_true", help="skip report.html")
    p.add_argument("--quiet", action="store_true", help="no per-trial lines")
    p.add_argument("trial_args", nargs="*", help=argparse.SUPPRESS)  # after `--`
    p.set_defaults(func=_tune)


def _tune(args: argparse.Namespace) -> int:
    from pathlib import Path

    from pigskin.tune.objective import (
        DEFAULT_REGEX,
        SubprocessRunner,
        compile_metric_regex,
        split_entry_point,
    )
    from pigskin.tune.report import format_table
    from pigskin.tune.space import resolve_space
    from pigskin.tune.study import TuneConfig, check_extra_args, run_study

    space = resolve_space(args.space)
    regex = args.metric_regex or DEFAULT_REGEX
    compile_metric_regex(regex)
    check_extra_args(space, args.trial_args, args.out_flag)
    cfg = TuneConfig(
        space=space,
        study=args.study,
        out=Path(args.out),
        max_trials=args.max_trials,
        storage=args.storage,
        direction=args.direction,
        sampler=args.sampler,
        pruner=args.pruner,
        max_parallel=args.max_parallel,
        timeout=args.timeout,
        seed=args.seed,
        warm_start=tuple(s for s in (args.warm_start or "").split(",") if s),
        warm_start_storage=args.warm_start_storage,
        report=not args.no_report,
        quiet=args.quiet,
    )
    runner = SubprocessRunner(
        entry_point=split_entry_point(args.entry_point),
        extra_args=tuple(args.trial_args),
        metric_regex=regex,
        out_flag=args.out_flag,
        trial_timeout=args.trial_timeout,
    )
    result = run_study(cfg, runner)
    print(format_table(result.rows, cfg.direction))
    print(f"{result.counted}/{cfg.max_trials} trials counted; by state: {result.states}")
    if result.best:
        b = result.best
        print(f"best: trial #{b['number']} value {b['value']:.6g} {b['params']}  model: {b['model']}")
    print(f"wrote {result.out}/trials.csv, best.json{', report.html' if cfg.report else ''}")
    return 0
