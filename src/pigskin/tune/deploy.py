"""``tuner.deploy()``: serve the best trial's model.tar.gz, found through the study's storage."""

from __future__ import annotations

from pathlib import Path

from pigskin.errors import PigskinError


def best_model(study_name: str, storage_url: str) -> tuple[Path, object]:
    """The best COMPLETE trial's model.tar.gz (and the trial); a clear error when there is none."""
    import optuna

    from pigskin.tune.storage import open_storage, redact

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = open_storage(storage_url, create=False)
    try:
        study = optuna.load_study(study_name=study_name, storage=storage)
    except KeyError:
        names = [s.study_name for s in optuna.get_all_study_summaries(storage)]
        raise PigskinError(
            f"no study named {study_name!r} in {redact(storage_url)} "
            f"(studies there: {', '.join(names) or 'none'})"
        ) from None
    try:
        best = study.best_trial
    except ValueError:
        raise PigskinError(f"study {study_name!r} has no completed trial yet") from None
    model = best.user_attrs.get("model")
    if not model:
        raise PigskinError(
            f"the best trial of {study_name!r} (#{best.number}, value {best.value:.6g}) wrote no "
            f"model.tar.gz into its --out folder ({best.user_attrs.get('trial_dir', '?')})"
        )
    if not Path(model).is_file():
        raise PigskinError(
            f"the best trial's model {model} is not on this machine (trial #{best.number} ran on "
            f"{best.user_attrs.get('worker', '?')}); copy it here or deploy from that machine"
        )
    return Path(model), best


def deploy(study_name: str, storage_url: str, host: str = "0.0.0.0", port: int = 8080, **options) -> None:
    """Start ``pigskin serve`` on the best trial's model (blocks until the server stops); ``options``
    (e.g. ``backend="onnxruntime"``) go to ``pigskin.serve.app.run``."""
    model, best = best_model(study_name, storage_url)
    try:
        from pigskin.serve.app import run
    except ImportError as exc:
        raise PigskinError(
            f"pigskin's serving endpoint is not available ({exc}); the best model is {model}"
        ) from None
    print(f"serving trial #{best.number} (value {best.value:.6g}): {model} on {host}:{port}", flush=True)
    run(str(model), host, port, **options)
