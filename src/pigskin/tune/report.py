"""A study's outputs: the trials table, best.json with the best model beside it, and an HTML report.

The report draws Optuna's own plots with its matplotlib backend and embeds them as base64 PNGs:
one file that opens anywhere with no network and needs no plotting dependency beyond matplotlib
(Optuna's plotly plots would need plotly installed and several MB of JavaScript inlined per file).
"""

from __future__ import annotations

import base64
import contextlib
import csv
import html
import io
import json
import shutil
import warnings
from pathlib import Path

from pigskin.fileio import atomic_write, write_text
from pigskin.tune.budget import counts_towards_budget
from pigskin.tune.config import TuneResult
from pigskin.tune.storage import redact


def _row(t, names: list[str]) -> dict:
    dur = t.duration.total_seconds() if t.duration is not None else None
    note = t.user_attrs.get("error") or t.user_attrs.get("lost") or ""
    if t.user_attrs.get("surplus"):
        note = "surplus: the study was already full when it started (not counted)"
    elif t.state.name == "FAIL" and not note:
        note = "lost: its worker stopped sending heartbeats (not counted)"
    return {
        "number": t.number,
        "state": t.state.name,
        "value": t.value,
        "steps": len(t.intermediate_values),
        "duration_s": None if dur is None else round(dur, 3),
        **{n: t.params.get(n) for n in names},
        "worker": t.user_attrs.get("worker", ""),
        "warm_start": t.user_attrs.get("warm_start", ""),
        "model": t.user_attrs.get("model", ""),
        "note": note.splitlines()[0] if note else "",
    }


def trials_table(study) -> list[dict]:
    """One dict per trial (all states), parameters as columns in the space's order."""
    trials = study.get_trials(deepcopy=False)
    names: list[str] = []
    for p in study.user_attrs.get("space", {}).get("params", []):
        names.append(p["name"])
    for t in trials:
        names += [n for n in t.params if n not in names]
    return [_row(t, names) for t in trials]


def write_trials_csv(path: Path, rows: list[dict]) -> None:
    with atomic_write(path, "w", newline="", encoding="utf-8") as f:
        if not rows:
            return
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows({k: "" if v is None else v for k, v in r.items()} for r in rows)


def format_table(rows: list[dict], direction: str = "maximize", limit: int = 20) -> str:
    """A plain-text table for the terminal: COMPLETE trials best first, then the rest by number."""
    keys = [k for k in (rows[0] if rows else {}) if k not in ("worker", "model", "warm_start", "note")]
    sign = -1 if direction == "maximize" else 1
    shown = sorted(rows, key=lambda r: (r["state"] != "COMPLETE", sign * (r["value"] or 0), r["number"]))[
        :limit
    ]

    def cell(v) -> str:
        return "" if v is None else f"{v:.5g}" if isinstance(v, float) else str(v)

    widths = {k: max([len(k)] + [len(cell(r[k])) for r in shown]) for k in keys}
    lines = ["  ".join(k.ljust(widths[k]) for k in keys)]
    lines += ["  ".join(cell(r[k]).ljust(widths[k]) for k in keys) for r in shown]
    if len(rows) > limit:
        lines.append(f"... {len(rows) - limit} more in trials.csv")
    return "\n".join(lines)


def best_record(study, out: Path, storage: str) -> dict | None:
    """best.json: the best COMPLETE trial's value and hyperparameters, and where its model is."""
    from optuna.trial import TrialState

    try:
        best = study.best_trial
    except ValueError:  # no COMPLETE trial yet
        return None
    states: dict[str, int] = {}
    for t in study.get_trials(deepcopy=False):
        states[t.state.name] = states.get(t.state.name, 0) + 1
    record = {
        "study": study.study_name,
        "storage": redact(storage),
        "direction": study.direction.name.lower(),
        "number": best.number,
        "value": best.value,
        "params": best.params,
        "fixed": study.user_attrs.get("space", {}).get("fixed", {}),
        "command": best.user_attrs.get("command"),
        "trial_dir": best.user_attrs.get("trial_dir"),
        "warm_start": best.user_attrs.get("warm_start"),
        "model": None,
        "model_source": best.user_attrs.get("model"),
        "counted_trials": sum(counts_towards_budget(t) for t in study.get_trials(deepcopy=False)),
        "states": states,
        "complete_trials": len(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))),
    }
    src = best.user_attrs.get("model")
    if src and Path(src).is_file():
        dst = Path(out) / "best" / "model.tar.gz"
        if Path(src).resolve() != dst.resolve():
            with open(src, "rb") as fin, atomic_write(dst, "wb") as fout:
                shutil.copyfileobj(fin, fout)
        record["model"] = str(Path("best") / "model.tar.gz")
    return record


def _plots(study) -> list[tuple[str, str | None, str]]:
    """(title, base64 PNG or None, note) for each of Optuna's plots; a plot that cannot be drawn
    (too few trials, no intermediate values) says why instead of failing the report."""
    import matplotlib

    previous = matplotlib.get_backend()
    import matplotlib.pyplot as plt
    import optuna
    import optuna.visualization.matplotlib as ov
    from optuna.importance import PedAnovaImportanceEvaluator

    plt.switch_backend("agg")  # headless; restored below for notebook users
    verbosity = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.ERROR)  # "no complete trials" is said in the page
    plots = [
        ("Optimisation history", lambda: ov.plot_optimization_history(study)),
        ("Intermediate values (what the pruner saw)", lambda: ov.plot_intermediate_values(study)),
        (
            "Parameter importances (PED-ANOVA)",
            lambda: ov.plot_param_importances(study, evaluator=PedAnovaImportanceEvaluator()),
        ),
        ("Parallel coordinates", lambda: ov.plot_parallel_coordinate(study)),
    ]
    out = []
    try:
        for title, draw in plots:
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    ax = draw()
                fig = ax.flat[0].figure if hasattr(ax, "flat") else ax.figure
                legend = getattr(ax, "get_legend", lambda: None)()
                if legend is not None and len(legend.get_texts()) > 12:  # one entry per trial: noise
                    legend.remove()
                fig.set_size_inches(9, 4.5)
                fig.tight_layout()
                buf = io.BytesIO()
                fig.savefig(buf, format="png", dpi=90)
                plt.close(fig)
                out.append((title, base64.b64encode(buf.getvalue()).decode("ascii"), ""))
            except Exception as exc:
                out.append((title, None, f"not drawn: {exc}"))
            finally:
                plt.close("all")
    finally:
        optuna.logging.set_verbosity(verbosity)
        with contextlib.suppress(Exception):
            plt.switch_backend(previous)
    return out


_CSS = """body{font-family:system-ui,sans-serif;margin:2em;max-width:75em;color:#222}
table{border-collapse:collapse;font-size:.85em}td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}
th{background:#eee}tr.COMPLETE td:nth-child(2){color:#070}tr.FAIL td:nth-child(2){color:#b00}
tr.PRUNED td:nth-child(2){color:#a60}img{max-width:100%;border:1px solid #ddd;margin:.5em 0}
.note{color:#777}"""


def render_html(study, rows: list[dict], best: dict | None) -> str:
    e = html.escape
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>pigskin tune: {e(study.study_name)}</title><style>{_CSS}</style></head><body>",
        f"<h1>Study {e(study.study_name)}</h1>",
    ]
    if best:
        params = "".join(f"<tr><th>{e(k)}</th><td>{e(str(v))}</td></tr>" for k, v in best["params"].items())
        fixed = "".join(
            f"<tr><th>{e(k)}</th><td>{e(str(v))} (fixed)</td></tr>" for k, v in best["fixed"].items()
        )
        parts += [
            f"<p>Best trial <b>#{best['number']}</b>: value <b>{best['value']:.6g}</b> "
            f"({best['direction']}); model: {e(str(best['model']))}. "
            f"Trials by state: {e(json.dumps(best['states']))}.</p>",
            f"<table>{params}{fixed}</table>",
        ]
    else:
        parts.append("<p>No trial has completed yet.</p>")
    for title, png, note in _plots(study):
        parts.append(f"<h2>{e(title)}</h2>")
        parts.append(
            f"<img alt='{e(title)}' src='data:image/png;base64,{png}'>"
            if png
            else f"<p class=note>{e(note)}</p>"
        )
    parts.append("<h2>Trials</h2>")
    if rows:
        keys = list(rows[0])
        parts.append("<table><tr>" + "".join(f"<th>{e(k)}</th>" for k in keys) + "</tr>")
        for r in rows:
            cells = "".join(
                f"<td>{e('' if v is None else f'{v:.6g}' if isinstance(v, float) else str(v))}</td>"
                for v in r.values()
            )
            parts.append(f"<tr class={r['state']}>{cells}</tr>")
        parts.append("</table>")
    parts.append("</body></html>")
    return "\n".join(parts)


def write_outputs(study, cfg):
    """trials.csv, best.json, best/model.tar.gz and report.html under ``cfg.out``."""
    out = Path(cfg.out)
    rows = trials_table(study)
    write_trials_csv(out / "trials.csv", rows)
    best = best_record(study, out, cfg.storage_url)
    if best is not None:
        write_text(out / "best.json", json.dumps(best, indent=2) + "\n")
    if cfg.report:
        write_text(out / "report.html", render_html(study, rows, best))
    states: dict[str, int] = {}
    for r in rows:
        states[r["state"]] = states.get(r["state"], 0) + 1
    counted = sum(counts_towards_budget(t) for t in study.get_trials(deepcopy=False))
    return TuneResult(study.study_name, cfg.storage_url, counted, states, best, out, rows)
