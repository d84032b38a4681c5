"""Bayesian (TPE, and GP) against random search on a cheap real objective, at equal trial counts.

    python benchmarks/tune_bayes_vs_random.py [--metric loss|accuracy] [--trials 100] [--seeds 8]
        [--gp-seeds 0] [--subprocess-trials 100] [--max-parallel 2] [--plot docs/tune_bayes_vs_random.png]
    python benchmarks/tune_bayes_vs_random.py train --lr 0.1 --batch 32 ... --out DIR   # one trial

The objective is a real training run: a one-hidden-layer MLP (numpy, SGD with momentum and weight
decay) trained for 2 epochs on a fixed synthetic 3-class problem (2,000 training and 1,000 validation
points in 20 dimensions, labelled by a random "teacher" network with 5 % label noise). Five
hyperparameters: lr, batch, hidden, weight-decay, momentum. Data and initialisation are seeded, so a
configuration always scores the same and the samplers are compared on one fixed function. The
objective is the validation cross-entropy (``--metric loss``, minimised; the default) or accuracy
(``--metric accuracy``, maximised: coarser, 1/1000 steps on a wide plateau, so it separates the
samplers less).

1. For each seed, one in-process study per sampler (``pigskin.tune.run_study`` with an in-process
   runner, in-memory storage, no pruning), ``--trials`` trials each. Table: mean +- sd over seeds of
   the best value after 10/25/50/100 trials, and TPE - random paired by seed (the same seed gives
   both the same 10 random start-up trials) with the number of seeds where TPE was better.
2. One study of ``--subprocess-trials`` trials through the default path, ``pigskin tune`` with
   this file's ``train`` sub-command as the entry point (a subprocess per trial, SQLite, median
   pruning), to show the whole machinery at 100+ trials and what a subprocess costs per trial.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import math
import os
import platform
import shlex
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import numpy as np

SPACE_YAML = """\
lr: {type: float, low: 0.0001, high: 1.0, log: true}
batch: {type: int, low: 8, high: 256, log: true}
hidden: {type: int, low: 4, high: 128, log: true}
weight-decay: {type: float, low: 1.0e-6, high: 0.1, log: true}
momentum: {type: float, low: 0.0, high: 0.99}
"""
EPOCHS = 2
CHECKPOINTS = (10, 25, 50, 100)


def _data():
    """A fixed 3-class problem: points labelled by a random teacher MLP, 5 % of labels flipped."""
    rng = np.random.default_rng(12345)
    x = rng.normal(size=(3000, 20)).astype(np.float32)
    w1, w2 = rng.normal(size=(20, 16)), rng.normal(size=(16, 3))
    y = np.argmax(np.tanh(x @ w1) @ w2, axis=1)
    flip = rng.random(len(y)) < 0.05
    y[flip] = rng.integers(0, 3, flip.sum())
    return x[:2000], y[:2000], x[2000:], y[2000:]


_DATA = None


def train_mlp(
    lr: float,
    batch: int,
    hidden: int,
    weight_decay: float,
    momentum: float,
    epochs: int = EPOCHS,
    on_epoch=None,
) -> tuple[dict, dict]:
    """SGD on a tanh MLP with softmax cross-entropy; returns the last validation metrics and weights.

    ``loss`` is the mean validation cross-entropy (capped at 5, also for a diverged network),
    ``accuracy`` the share of validation points classified right."""
    global _DATA
    if _DATA is None:
        _DATA = _data()
    xt, yt, xv, yv = _DATA
    rng = np.random.default_rng(0)
    w = {
        "w1": rng.normal(scale=1 / math.sqrt(20), size=(20, hidden)),
        "b1": np.zeros(hidden),
        "w2": rng.normal(scale=1 / math.sqrt(hidden), size=(hidden, 3)),
        "b2": np.zeros(3),
    }
    vel = {k: np.zeros_like(v) for k, v in w.items()}
    metrics = {}
    for epoch in range(epochs):
        order = rng.permutation(len(xt))
        for i in range(0, len(xt), batch):
            j = order[i : i + batch]
            h = np.tanh(xt[j] @ w["w1"] + w["b1"])
            logits = h @ w["w2"] + w["b2"]
            p = np.exp(logits - logits.max(1, keepdims=True))
            p /= p.sum(1, keepdims=True)
            p[np.arange(len(j)), yt[j]] -= 1
            g2 = p / len(j)
            gh = (g2 @ w["w2"].T) * (1 - h**2)
            grads = {"w2": h.T @ g2, "b2": g2.sum(0), "w1": xt[j].T @ gh, "b1": gh.sum(0)}
            for k in w:
                vel[k] = momentum * vel[k] - lr * (grads[k] + weight_decay * w[k])
                w[k] = np.clip(w[k] + vel[k], -1e3, 1e3)
        logits = np.tanh(xv @ w["w1"] + w["b1"]) @ w["w2"] + w["b2"]
        logits = np.nan_to_num(logits, nan=0.0, posinf=1e3, neginf=-1e3)
        z = logits - logits.max(1, keepdims=True)
        nll = np.log(np.exp(z).sum(1)) - z[np.arange(len(yv)), yv]
        metrics = {
            "loss": min(5.0, float(nll.mean())),
            "accuracy": float(np.mean(np.argmax(logits, 1) == yv)),
        }
        if on_epoch is not None:
            on_epoch(epoch, metrics)
    return metrics, w


def _params(p) -> dict:
    return dict(
        lr=float(p["lr"]),
        batch=int(p["batch"]),
        hidden=int(p["hidden"]),
        weight_decay=float(p["weight-decay"]),
        momentum=float(p["momentum"]),
    )


def in_process(metric: str):
    """pigskin.tune's in-process mode: the same objective, no subprocess, values reported per epoch."""

    def run(params, trial_dir, report) -> float:
        metrics, _ = train_mlp(**_params(params), on_epoch=lambda e, m: report(m[metric], e))
        return metrics[metric]

    return run


def train_main(argv: list[str]) -> int:
    """The entry point for the subprocess study: ``--name value`` in, ``Validation: x`` out."""
    ap = argparse.ArgumentParser(prog="tune_bayes_vs_random.py train")
    ap.add_argument("--lr", type=float, required=True)
    ap.add_argument("--batch", type=int, required=True)
    ap.add_argument("--hidden", type=int, required=True)
    ap.add_argument("--weight-decay", type=float, required=True)
    ap.add_argument("--momentum", type=float, required=True)
    ap.add_argument("--epochs", type=int, default=EPOCHS)
    ap.add_argument("--out", required=True)
    a = ap.parse_args(argv)

    def show(epoch: int, m: dict) -> None:
        sys.stderr.write(f"\repoch {epoch + 1}/{a.epochs} 100%|##########|")
        print(f"\nepoch {epoch + 1} val_loss: {m['loss']:.5f} Validation: {m['accuracy']:.4f}", flush=True)

    _, w = train_mlp(a.lr, a.batch, a.hidden, a.weight_decay, a.momentum, a.epochs, show)
    buf = io.BytesIO()
    np.savez(buf, **w)
    with tarfile.open(Path(a.out) / "model.tar.gz", "w:gz") as tar:
        info = tarfile.TarInfo("weights.npz")
        info.size = buf.tell()
        buf.seek(0)
        tar.addfile(info, buf)
    return 0


METRICS = {  # metric -> (direction, regex for the subprocess study)
    "loss": ("minimize", r"val_loss: ([0-9.]+)"),
    "accuracy": ("maximize", r"Validation: ([0-9.]+)"),
}


def _curve(rows: list[dict], direction: str) -> np.ndarray:
    """Best value so far after each trial, in trial order."""
    worst = 5.0 if direction == "minimize" else 0.0
    values = [
        r["value"] if r["value"] is not None else worst for r in sorted(rows, key=lambda r: r["number"])
    ]
    acc = np.minimum.accumulate if direction == "minimize" else np.maximum.accumulate
    return acc(values)


def compare(plan: dict[str, int], n_trials: int, metric: str, tmp: Path) -> dict[str, np.ndarray]:
    """One in-process study per (sampler, seed); returns the best-so-far curves, seeds x trials."""
    import yaml

    from pigskin.tune import TuneConfig, parse_space, run_study

    direction = METRICS[metric][0]
    space = parse_space(yaml.safe_load(SPACE_YAML), "benchmark space")
    curves: dict[str, np.ndarray] = {}
    for sampler, n_seeds in plan.items():
        rows = []
        for seed in range(n_seeds):
            t0 = time.perf_counter()
            cfg = TuneConfig(
                space,
                f"{sampler}-{seed}",
                tmp / f"{sampler}-{seed}",
                max_trials=n_trials,
                storage=":memory:",
                direction=direction,
                sampler=sampler,
                pruner="none",
                seed=seed,
                report=False,
                quiet=True,
            )
            with contextlib.redirect_stdout(io.StringIO()):
                result = run_study(cfg, in_process(metric))
            rows.append(_curve(result.rows, direction))
            print(
                f"  {sampler:<6} seed {seed}: best {metric} {rows[-1][-1]:.4f} after {len(rows[-1])} trials "
                f"({time.perf_counter() - t0:.1f} s)",
                flush=True,
            )
        curves[sampler] = np.array(rows)
    return curves


def _sd(x: np.ndarray) -> float:
    return float(x.std(ddof=1)) if len(x) > 1 else 0.0


def _table(curves: dict[str, np.ndarray], metric: str) -> None:
    """Mean +- sd of the best value per sampler, and TPE - random paired by seed (same first 10 trials)."""
    names = list(curves)
    n = min(c.shape[1] for c in curves.values())
    points = [k for k in CHECKPOINTS if k <= n]
    better = "lower" if METRICS[metric][0] == "minimize" else "higher"
    head = f"{'trials':>6}  " + "  ".join(f"{s + ' (' + str(len(curves[s])) + ' seeds)':>20}" for s in names)
    head += f"  {'tpe - random (paired)':>22}  tpe better"
    print(f"\nbest validation {metric} found ({better} is better), mean +- sd over seeds")
    print(head)
    print("-" * len(head))
    m = min(len(curves["tpe"]), len(curves["random"]))
    sign = -1 if METRICS[metric][0] == "minimize" else 1
    for k in points:
        cells = [f"{curves[s][:, k - 1].mean():.4f} +- {_sd(curves[s][:, k - 1]):.4f}" for s in names]
        diff = curves["tpe"][:m, k - 1] - curves["random"][:m, k - 1]
        wins = int(np.sum(sign * diff > 0))
        print(
            f"{k:>6}  "
            + "  ".join(f"{c:>20}" for c in cells)
            + f"  {f'{diff.mean():+.4f} +- {_sd(diff):.4f}':>22}  {wins:>4}/{m}"
        )


def _plot(curves: dict[str, np.ndarray], metric: str, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4.5))
    for name, c in curves.items():
        x = np.arange(1, c.shape[1] + 1)
        m, sd = c.mean(0), c.std(0)
        ax.plot(x, m, label=f"{name} ({len(c)} seeds)")
        ax.fill_between(x, m - sd, m + sd, alpha=0.2)
    ax.set_xlabel("trials")
    ax.set_ylabel(f"best validation {metric} so far")
    ax.set_title(f"pigskin tune: Bayesian vs random search, 2-epoch MLP ({metric}; mean +- sd over seeds)")
    tail = np.concatenate([c[:, 9:].ravel() for c in curves.values()])
    lo, hi = np.percentile(tail, [1, 99])
    pad = 0.1 * (hi - lo)
    ax.set_ylim(lo - pad, hi + pad)
    ax.grid(alpha=0.3)
    ax.legend(loc="upper right" if METRICS[metric][0] == "minimize" else "lower right")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    print(f"wrote {path}")


def _subprocess_study(n: int, tmp: Path, curves: dict[str, np.ndarray], metric: str, parallel: int) -> None:
    """The default path at 100+ trials: `pigskin tune`, a subprocess per trial, SQLite, median pruning."""
    direction, regex = METRICS[metric]
    space = tmp / "space.yaml"
    space.write_text(SPACE_YAML)
    out = tmp / "subprocess-study"
    entry = f"{shlex.quote(sys.executable)} {shlex.quote(str(Path(__file__).resolve()))} train"
    flags = [
        "--sampler",
        "tpe",
        "--pruner",
        "median",
        "--seed",
        "0",
        "--max-parallel",
        str(parallel),
        "--direction",
        direction,
        "--metric-regex",
        regex,
    ]
    cmd = [
        sys.executable,
        "-m",
        "pigskin",
        "tune",
        "--space",
        str(space),
        "--study",
        "bench",
        "--max-trials",
        str(n),
        "--out",
        str(out),
        "--entry-point",
        entry,
        "--quiet",
        *flags,
    ]
    print(
        f"\n$ pigskin tune --space space.yaml --study bench --max-trials {n} --out DIR "
        f"--entry-point '{Path(sys.executable).name} {Path(__file__).name} train' {shlex.join(flags)}"
    )
    t0 = time.perf_counter()
    res = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if res.returncode != 0:
        raise SystemExit(f"pigskin tune failed:\n{res.stdout}\n{res.stderr}")
    print("\n".join(res.stdout.splitlines()[-3:]))
    import json

    best = json.loads((out / "best.json").read_text())
    inproc = curves["tpe"][:, n - 1].mean() if curves["tpe"].shape[1] >= n else float("nan")
    print(
        f"subprocess study: {n} trials in {wall:.1f} s ({wall / n:.2f} s/trial wall, {parallel} in parallel),"
        f" states {best['states']}, best {metric} {best['value']:.4f}"
        f" (in-process TPE mean at {n}: {inproc:.4f})"
    )
    print(
        f"report: {(out / 'report.html').stat().st_size / 1e3:.0f} kB, best model "
        f"{(out / 'best' / 'model.tar.gz').stat().st_size / 1e3:.1f} kB"
    )


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "train":
        sys.exit(train_main(sys.argv[2:]))
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--metric", choices=list(METRICS), default="loss", help="the objective (default loss)")
    ap.add_argument("--trials", type=int, default=100)
    ap.add_argument("--seeds", type=int, default=8, help="seeds for random and TPE")
    ap.add_argument(
        "--gp-seeds", type=int, default=0, help="seeds for the GP sampler (about 3 min each here)"
    )
    ap.add_argument("--subprocess-trials", type=int, default=100, help="0 = skip the pigskin tune study")
    ap.add_argument("--max-parallel", type=int, default=2, help="trials at once in the subprocess study")
    ap.add_argument("--plot", default="docs/tune_bayes_vs_random.png", help="'' = no plot")
    args = ap.parse_args()
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cpus, python {platform.python_version()}, "
        f"load {os.getloadavg()[0]:.1f}"
    )
    t0 = time.perf_counter()
    m, _ = train_mlp(0.1, 32, 32, 1e-4, 0.9)
    print(
        f"one trial in-process: {1000 * (time.perf_counter() - t0):.0f} ms (lr 0.1, batch 32, hidden 32): "
        f"loss {m['loss']:.4f}, accuracy {m['accuracy']:.4f}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        plan = {"random": args.seeds, "tpe": args.seeds}
        if args.gp_seeds:
            plan["gp"] = args.gp_seeds
        t0 = time.perf_counter()
        curves = compare(plan, args.trials, args.metric, tmp)
        print(f"in-process studies: {time.perf_counter() - t0:.0f} s")
        _table(curves, args.metric)
        if args.plot:
            _plot(curves, args.metric, Path(args.plot))
        if args.subprocess_trials:
            _subprocess_study(args.subprocess_trials, tmp, curves, args.metric, args.max_parallel)


if __name__ == "__main__":
    main()
