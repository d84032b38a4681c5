"""A tuning study on Optuna: samplers, pruners, shared storage, the trial budget, resume and warm start.

The study lives in an RDB storage (SQLite file by default, any SQLAlchemy URL such as PostgreSQL), so
every worker that opens the same ``--study`` on the same ``--storage`` joins it, and a killed tuner
resumes from it. Trials are what the storage says; nothing about a study is kept only in memory.

The budget. ``max_trials`` counts the whole study, across workers and restarts (which trials count:
:mod:`pigskin.tune.budget`). A failing entry point therefore still uses up the budget, so a broken
command cannot loop forever. Storage: :mod:`pigskin.tune.storage`; outputs: :mod:`pigskin.tune.report`.
"""

from __future__ import annotations

import json
import shutil
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path

from pigskin.errors import PigskinError
from pigskin.tune.budget import counts_towards_budget, fail_lost_trials, pending, worker_id
from pigskin.tune.config import Runner, TuneConfig, TuneResult
from pigskin.tune.objective import SubprocessRunner, TrialFailed, TrialPrunedByReport
from pigskin.tune.report import write_outputs
from pigskin.tune.space import SearchSpace
from pigskin.tune.storage import open_storage, redact


def check_extra_args(space: SearchSpace, extra: list[str] | tuple[str, ...], out_flag: str = "--out") -> None:
    """Arguments after ``--`` must not set a searched or fixed hyperparameter, nor the trial folder:
    appended last, they would silently override what the study records."""
    taken = {f"--{n}" for n in [*space.names, *space.fixed]} | ({out_flag} if out_flag else set())
    for arg in extra:
        flag = arg.split("=", 1)[0]
        if flag in taken:
            raise PigskinError(
                f"argument {flag} after '--' clashes with the search space {space.source} "
                f"or the trial folder; remove it there or here"
            )


def make_sampler(name: str, space: SearchSpace, seed: int | None):
    import optuna

    if name == "tpe":
        return optuna.samplers.TPESampler(seed=seed)
    if name == "gp":
        try:
            return optuna.samplers.GPSampler(seed=seed)
        except ImportError as exc:
            raise PigskinError(f"--sampler gp needs torch and scipy: {exc}") from None
    if name == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    return optuna.samplers.GridSampler(space.grid(), seed=seed)


def make_pruner(name: str, startup_trials: int = 5, warmup_steps: int = 1):
    import optuna

    if name == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=startup_trials, n_warmup_steps=warmup_steps)
    if name == "hyperband":
        return optuna.pruners.HyperbandPruner(min_resource=1, max_resource="auto", reduction_factor=3)
    if name == "halving":
        return optuna.pruners.SuccessiveHalvingPruner(min_resource=1, reduction_factor=3)
    return optuna.pruners.NopPruner()


def _space_record(space: SearchSpace) -> dict:
    return {"params": [asdict(p) for p in space.params], "fixed": dict(space.fixed)}


def open_study(cfg: TuneConfig):
    """Create or join the study; refuse to mix a different space or direction into an existing one."""
    import optuna

    storage = open_storage(cfg.storage_url, cfg.heartbeat_interval, cfg.grace_period)
    study = optuna.create_study(
        storage=storage,
        study_name=cfg.study,
        direction=cfg.direction,
        sampler=make_sampler(cfg.sampler, cfg.space, cfg.seed),
        pruner=make_pruner(cfg.pruner, cfg.prune_startup_trials, cfg.prune_warmup_steps),
        load_if_exists=True,
    )
    if study.direction.name.lower() != cfg.direction:
        raise PigskinError(
            f"study {cfg.study!r} in {redact(cfg.storage_url)} was created to "
            f"{study.direction.name.lower()}, not to {cfg.direction}"
        )
    record = json.loads(json.dumps(_space_record(cfg.space)))  # tuples -> lists, as stored
    stored = study.user_attrs.get("space")
    if stored is None:
        study.set_user_attr("space", record)
    elif stored != record:
        raise PigskinError(
            f"study {cfg.study!r} was created with a different search space than {cfg.space.source}; "
            f"use a new --study name (and --warm-start {cfg.study} to learn from it)"
        )
    return study, storage


def warm_start(study, space: SearchSpace, names: tuple[str, ...], storage) -> int:
    """Copy the COMPLETE trials of earlier studies into this one, so the sampler starts informed.

    Parameters outside the current space are dropped; a trial with a value outside a current range
    is skipped. Copies carry ``warm_start = "study#number"`` and are imported once, however often the
    study is resumed.
    """
    import optuna
    from optuna.trial import TrialState

    done = {
        t.user_attrs["warm_start"] for t in study.get_trials(deepcopy=False) if "warm_start" in t.user_attrs
    }
    by_name = {p.name: p for p in space.params}
    new = []
    for name in names:
        try:
            source = optuna.load_study(study_name=name, storage=storage)
        except KeyError:
            raise PigskinError(f"--warm-start: no study named {name!r} in that storage") from None
        if source.direction != study.direction:
            raise PigskinError(f"--warm-start: study {name!r} optimises in the other direction")
        for t in source.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
            key = f"{name}#{t.number}"
            if key in done:
                continue
            params = {k: v for k, v in t.params.items() if k in by_name}
            if not params or not all(by_name[k].contains(v) for k, v in params.items()):
                continue
            attrs = {k: v for k, v in t.user_attrs.items() if k != "warm_start"}
            new.append(
                optuna.trial.create_trial(
                    params=params,
                    distributions={k: by_name[k].distribution() for k in params},
                    value=t.value,
                    intermediate_values=t.intermediate_values,
                    user_attrs={**attrs, "warm_start": key},
                )
            )
    study.add_trials(new)
    return len(new)


def _budget_callback(max_trials: int):
    def stop_when_full(study, trial) -> None:
        trials = study.get_trials(deepcopy=False)
        if sum(counts_towards_budget(t) or pending(t) for t in trials) >= max_trials:
            study.stop()

    return stop_when_full


def _progress_callback():
    def show(study, t) -> None:
        from optuna.trial import TrialState

        if t.state == TrialState.FAIL and not ({"error", "lost"} & set(t.user_attrs)):
            return
        note = f"{t.value:.6g}" if t.value is not None else ""
        if t.state == TrialState.FAIL:
            note = (t.user_attrs.get("error") or t.user_attrs.get("lost", "")).splitlines()[0]
        elif t.state == TrialState.PRUNED and t.intermediate_values:
            step = max(t.intermediate_values)
            note = f"at step {step} ({t.intermediate_values[step]:.6g})"
        try:
            best = f"best {study.best_value:.6g} (#{study.best_trial.number})"
        except ValueError:
            best = "no best yet"
        params = " ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in t.params.items())
        print(f"trial {t.number:>4} {t.state.name:<8} {note}  | {best} | {params}", flush=True)

    return show


class _Surplus(Exception):
    """Two workers asked for the last slot at the same moment; the later trial stands down."""


@dataclass
class _Objective:
    cfg: TuneConfig
    runner: Runner
    worker: str = field(default_factory=worker_id)

    def __call__(self, trial) -> float:
        import optuna

        trial.set_user_attr("worker", self.worker)
        earlier = [
            t
            for t in trial.study.get_trials(deepcopy=False)
            if t.number < trial.number and (counts_towards_budget(t) or pending(t))
        ]
        if len(earlier) >= self.cfg.max_trials:
            trial.set_user_attr("surplus", True)
            trial.study.stop()
            raise _Surplus(f"the study already has {self.cfg.max_trials} trials")
        params = {**self.cfg.space.fixed, **self.cfg.space.suggest(trial)}
        trial_dir = Path(self.cfg.out).resolve() / "trials" / str(trial.number)
        if trial_dir.exists():  # left by an earlier study of this name that was deleted and made anew
            shutil.rmtree(trial_dir)
        trial.set_user_attr("trial_dir", str(trial_dir))
        if isinstance(self.runner, SubprocessRunner):
            trial.set_user_attr("command", self.runner.command(params, trial_dir))

        def report(value: float, step: int) -> bool:
            trial.report(value, step)
            return trial.should_prune()

        try:
            value = self.runner(params, trial_dir, report)
        except TrialPrunedByReport as exc:
            raise optuna.TrialPruned(str(exc)) from None
        except optuna.TrialPruned:
            raise
        except TrialFailed as exc:
            trial.set_user_attr("error", str(exc)[:2000])
            raise
        except Exception as exc:  # an in-process runner's own error fails the trial, not the study
            trial.set_user_attr("error", f"{type(exc).__name__}: {exc}"[:2000])
            raise TrialFailed(str(exc)) from exc
        model = trial_dir / "model.tar.gz"
        if model.is_file():
            trial.set_user_attr("model", str(model))
        return value


def claim_out_dir(out: Path, study: str) -> None:
    """One output folder per study: best.json, report.html and trials/<n>/ would collide otherwise
    (and a trainer resuming from another study's trials/<n>/checkpoint.pt would be worse)."""
    from pigskin.fileio import write_text

    out.mkdir(parents=True, exist_ok=True)
    marker = out / "tune.json"
    if marker.exists():
        owner = json.loads(marker.read_text()).get("study")
        if owner != study:
            raise PigskinError(
                f"{out} holds the outputs of study {owner!r}; give study {study!r} its own --out "
                f"(to learn from it: --warm-start {owner} --warm-start-storage sqlite:///{out / 'study.db'})"
            )
    else:
        write_text(marker, json.dumps({"study": study}) + "\n")


def run_study(cfg: TuneConfig, runner: Runner | None = None) -> TuneResult:
    """Run (or resume, or join) a study until it holds ``max_trials`` counted trials, then write outputs."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    runner = runner or SubprocessRunner()
    claim_out_dir(Path(cfg.out), cfg.study)
    study, storage = open_study(cfg)

    def say(*a) -> None:
        print(*a, flush=True)

    lost = fail_lost_trials(study, storage)
    if lost:
        say(f"marked {len(lost)} trial(s) of dead workers as FAIL (lost): {lost}")
    if cfg.warm_start:
        ws_storage = storage if cfg.warm_start_storage is None else open_storage(cfg.warm_start_storage)
        n = warm_start(study, cfg.space, cfg.warm_start, ws_storage)
        if n:
            say(f"warm start: copied {n} completed trial(s) from {', '.join(cfg.warm_start)}")
    trials = study.get_trials(deepcopy=False)
    have = sum(counts_towards_budget(t) or pending(t) for t in trials)
    say(
        f"study {cfg.study!r} in {redact(cfg.storage_url)}: {have}/{cfg.max_trials} trials done or running; "
        f"sampler {cfg.sampler}, pruner {cfg.pruner}, {cfg.max_parallel} in parallel"
    )
    if have < cfg.max_trials:
        callbacks = [_budget_callback(cfg.max_trials)]
        if not cfg.quiet:
            callbacks.append(_progress_callback())
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            study.optimize(
                _Objective(cfg, runner),
                timeout=cfg.timeout,
                n_jobs=cfg.max_parallel,
                catch=(TrialFailed, _Surplus),
                callbacks=callbacks,
            )
    return write_outputs(study, cfg)
