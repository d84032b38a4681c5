"""Studies through the library: failures, pruning, outputs, samplers, warm start, deploy's model lookup."""

from __future__ import annotations

import json
import math
import sys
import time
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState
from tune_helpers import TOY, load_study

from pigskin.errors import PigskinError
from pigskin.tune.deploy import best_model
from pigskin.tune.objective import SubprocessRunner
from pigskin.tune.space import parse_space
from pigskin.tune.study import TuneConfig, open_study, run_study

TOY_RUNNER = SubprocessRunner(entry_point=(sys.executable, str(TOY)))


def quadratic(params, trial_dir: Path, report) -> float:
    """An in-process objective (the fast mode): a smooth bowl with its top at x=0.3, y=2."""
    value = 1.0 - (params["x"] - 0.3) ** 2 - 0.01 * (params["y"] - 2) ** 2
    for step in range(2):
        if report(value - 0.1 * (1 - step), step):
            raise optuna.TrialPruned()
    return value


XY = parse_space({"x": {"type": "float", "low": 0.0, "high": 1.0}, "y": {"type": "int", "low": 0, "high": 4}})


def test_crashing_trials_fail_and_the_study_goes_on(tmp_path: Path) -> None:
    space = parse_space(
        {
            "mode": {"type": "categorical", "choices": ["ok", "crash", "silent"]},
            "lr": {"type": "float", "low": 0.01, "high": 0.1, "grid": [0.01, 0.1]},
            "epochs": 2,
        }
    )
    cfg = TuneConfig(
        space, "crashy", tmp_path, max_trials=6, sampler="grid", pruner="none", quiet=True, report=False
    )
    result = run_study(cfg, TOY_RUNNER)
    trials = load_study(tmp_path, "crashy").get_trials()
    assert len(trials) == 6 and result.counted == 6
    for t in trials:
        if t.params["mode"] == "ok":
            assert t.state == TrialState.COMPLETE and t.value > 0
        else:
            assert t.state == TrialState.FAIL
            assert ("exit code 1" if t.params["mode"] == "crash" else "no line matched") in t.user_attrs[
                "error"
            ]
    assert json.loads((tmp_path / "best.json").read_text())["params"]["mode"] == "ok"
    csv = (tmp_path / "trials.csv").read_text()
    assert csv.count("FAIL") == 4 and "CUDA out of memory" not in csv.splitlines()[0]


def test_median_rule_prunes_a_deliberately_bad_trial(tmp_path: Path) -> None:
    space = parse_space(
        {
            "quality": {"type": "categorical", "choices": ["good", "bad"]},
            "lr": {"type": "float", "low": 0.02, "high": 0.1},
            "sleep": {"type": "categorical", "choices": [0.0, 0.3]},
            "epochs": 6,
        }
    )
    cfg = TuneConfig(
        space, "prune", tmp_path, max_trials=6, sampler="random", pruner="median", quiet=True, report=False
    )
    study, _ = open_study(cfg)
    for i in range(5):
        study.enqueue_trial({"quality": "good", "lr": 0.05 + 0.01 * i, "sleep": 0.0})
    study.enqueue_trial({"quality": "bad", "lr": 0.05, "sleep": 0.3})
    run_study(cfg, TOY_RUNNER)
    trials = load_study(tmp_path, "prune").get_trials()
    assert [t.state for t in trials] == [TrialState.COMPLETE] * 5 + [TrialState.PRUNED]
    assert all(len(t.intermediate_values) == 6 for t in trials[:5])
    bad = trials[-1]
    assert bad.params["quality"] == "bad" and sorted(bad.intermediate_values) == [0, 1]  # warm-up: step 0
    log = (tmp_path / "trials" / "5" / "stdout.log").read_text()
    assert log.count("Validation: ") < 6  # killed before its 6 epochs ended
    assert not (tmp_path / "trials" / "5" / "model.tar.gz").exists()


def test_best_json_model_and_offline_report(tmp_path: Path) -> None:
    space = parse_space({"lr": {"type": "float", "low": 0.001, "high": 0.2, "log": True}, "epochs": 2})
    cfg = TuneConfig(
        space, "best", tmp_path, max_trials=5, sampler="random", seed=3, max_parallel=2, quiet=True
    )
    run_study(cfg, TOY_RUNNER)
    best = json.loads((tmp_path / "best.json").read_text())
    every = load_study(tmp_path, "best").get_trials()
    # two threads may both ask for the last slot: the later one stands down as a FAIL marked surplus
    assert all(t.state == TrialState.FAIL for t in every if t.user_attrs.get("surplus"))
    trials = [t for t in every if not t.user_attrs.get("surplus")]
    assert len(trials) == 5 and len({t.user_attrs["trial_dir"] for t in trials}) == 5  # 2 threads, 5 trials
    complete = [t for t in trials if t.state == TrialState.COMPLETE]
    top = max(complete, key=lambda t: t.value)
    assert best["value"] == top.value and best["number"] == top.number and best["params"] == top.params
    assert best["fixed"] == {"epochs": 2} and best["direction"] == "maximize"
    assert best["command"][-2:] == ["--out", str(tmp_path.resolve() / "trials" / str(top.number))]
    src = tmp_path / "trials" / str(top.number) / "model.tar.gz"
    assert best["model"] == "best/model.tar.gz"
    assert (tmp_path / "best" / "model.tar.gz").read_bytes() == src.read_bytes()
    html = (tmp_path / "report.html").read_text()
    assert html.count("<img") == 4 and "data:image/png;base64," in html
    assert "<script" not in html and "src='http" not in html and 'src="http' not in html
    # deploy finds the same model through the storage alone
    model, trial = best_model("best", f"sqlite:///{tmp_path / 'study.db'}")
    assert model == src.resolve() and trial.number == top.number


@pytest.mark.parametrize(
    "sampler, pruner, n",
    [("gp", "none", 11), ("tpe", "hyperband", 10), ("random", "halving", 6), ("grid", "median", 50)],
)
def test_every_sampler_and_pruner_runs(tmp_path: Path, sampler: str, pruner: str, n: int) -> None:
    space = XY
    if sampler == "grid":
        space = parse_space(
            {
                "x": {"type": "float", "low": 0.0, "high": 1.0, "grid": [0.0, 0.3, 1.0]},
                "y": {"type": "int", "low": 0, "high": 4, "step": 2},
            }
        )
    cfg = TuneConfig(
        space, "s", tmp_path, max_trials=n, sampler=sampler, pruner=pruner, seed=0, quiet=True, report=False
    )
    result = run_study(cfg, quadratic)
    trials = load_study(tmp_path, "s").get_trials()
    if sampler == "grid":  # grid stops by itself once its 3 x 3 points are done
        n = 9
        assert {(t.params["x"], t.params["y"]) for t in trials} == {
            (x, y) for x in (0.0, 0.3, 1.0) for y in (0, 2, 4)
        }
    assert result.counted == n == len(trials)
    assert result.best["value"] > (0.95 if sampler != "grid" else 0.999)  # grid holds the optimum (0.3, 2)


def test_warm_start_copies_completed_trials_once(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'shared.db'}"
    first = TuneConfig(
        XY, "old", tmp_path / "old", 6, db, sampler="random", pruner="none", seed=1, quiet=True, report=False
    )
    run_study(first, quadratic)
    narrower = parse_space(
        {"x": {"type": "float", "low": 0.0, "high": 0.5}, "y": {"type": "int", "low": 0, "high": 4}}
    )
    cfg = TuneConfig(narrower, "new", tmp_path / "new", 3, db, pruner="none", warm_start=("old",), quiet=True)
    run_study(cfg, quadratic)
    run_study(cfg, quadratic)  # a resume imports nothing twice and runs nothing more
    import optuna

    old = optuna.load_study(study_name="old", storage=db).get_trials()
    new = optuna.load_study(study_name="new", storage=db).get_trials()
    fits = [t for t in old if t.params["x"] <= 0.5]
    copies = [t for t in new if "warm_start" in t.user_attrs]
    assert sorted(t.user_attrs["warm_start"] for t in copies) == sorted(f"old#{t.number}" for t in fits)
    assert {t.value for t in copies} == {t.value for t in fits}
    assert len(new) - len(copies) == 3  # warm-start trials do not count towards --max-trials
    best = json.loads((tmp_path / "new" / "best.json").read_text())
    assert math.isclose(best["value"], max(t.value for t in new))


def test_timeout_stops_starting_trials(tmp_path: Path) -> None:
    def slow(params, trial_dir, report) -> float:
        time.sleep(0.3)
        return params["x"]

    cfg = TuneConfig(XY, "t", tmp_path, max_trials=1000, timeout=0.5, pruner="none", quiet=True, report=False)
    result = run_study(cfg, slow)
    assert 1 <= result.counted <= 3 and result.states == {"COMPLETE": result.counted}


def test_one_output_folder_per_study(tmp_path: Path) -> None:
    run_study(TuneConfig(XY, "first", tmp_path, max_trials=1, quiet=True, report=False), quadratic)
    with pytest.raises(PigskinError, match="holds the outputs of study 'first'.*its own --out"):
        run_study(TuneConfig(XY, "second", tmp_path, max_trials=1, quiet=True, report=False), quadratic)


def test_resume_refuses_a_changed_space_or_direction(tmp_path: Path) -> None:
    run_study(TuneConfig(XY, "s", tmp_path, max_trials=2, quiet=True, report=False), quadratic)
    other = parse_space(
        {"x": {"type": "float", "low": 0.0, "high": 2.0}, "y": {"type": "int", "low": 0, "high": 4}}
    )
    with pytest.raises(PigskinError, match="different search space"):
        run_study(TuneConfig(other, "s", tmp_path, max_trials=4, quiet=True, report=False), quadratic)
    with pytest.raises(PigskinError, match="created to maximize"):
        run_study(
            TuneConfig(XY, "s", tmp_path, max_trials=4, direction="minimize", quiet=True, report=False),
            quadratic,
        )


def test_deploy_lookup_errors_are_clear(tmp_path: Path) -> None:
    run_study(TuneConfig(XY, "nomodel", tmp_path, max_trials=2, quiet=True, report=False), quadratic)
    url = f"sqlite:///{tmp_path / 'study.db'}"
    with pytest.raises(PigskinError, match="wrote no model.tar.gz"):
        best_model("nomodel", url)
    with pytest.raises(PigskinError, match="no study named 'typo'.*nomodel"):
        best_model("typo", url)
    with pytest.raises(PigskinError, match="no study database"):
        best_model("nomodel", f"sqlite:///{tmp_path / 'missing.db'}")
