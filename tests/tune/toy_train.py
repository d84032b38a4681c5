"""A real, tiny training entry point for the tuner's tests: SGD least squares on synthetic data.

Speaks the trainer's contract: hyperparameters as ``--name value``, ``--out DIR``, one
``Validation: <score>`` per epoch (higher is better), ``DIR/model.tar.gz`` at the end. It also prints
what real trainers print around that line (tqdm-style ``\\r`` progress bars with ANSI colours, several
metrics on one line), so parsing is tested against noise, not a clean log.

Switches for the tests: ``--mode crash`` exits 1 after one epoch, ``--mode silent`` never prints the
metric, ``--quality bad`` gives a poor score (to be pruned); environment ``TOY_HANG_FROM=N`` makes trial
N and later hang (to be killed), ``TOY_PEERS=N`` makes a trial wait until N trials have started.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import tarfile
import time
from pathlib import Path

import numpy as np


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--lr", type=float, default=0.05)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--mode", default="ok", choices=["ok", "crash", "silent"])
    ap.add_argument("--quality", default="good", choices=["good", "bad"])
    ap.add_argument("--sleep", type=float, default=0.0, help="seconds per epoch")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    out = Path(a.out)
    (out / "pid").write_text(str(os.getpid()))
    (out / "started").write_text("")
    trial = int(out.name) if out.name.isdigit() else -1

    peers = int(os.environ.get("TOY_PEERS", "0"))
    deadline = time.monotonic() + 30
    while peers and len(list(out.parent.glob("*/started"))) < peers and time.monotonic() < deadline:
        time.sleep(0.05)
    hang_from = os.environ.get("TOY_HANG_FROM")
    if hang_from is not None and trial >= int(hang_from):
        (out / "hanging").write_text("")
        time.sleep(120)

    rng = np.random.default_rng(0)
    x = rng.normal(size=(320, 8))
    w_true = rng.normal(size=8)
    y = x @ w_true + 0.1 * rng.normal(size=320)
    xt, yt, xv, yv = x[:256], y[:256], x[256:], y[256:]
    w = np.zeros(8)
    order = np.random.default_rng(1)
    for epoch in range(a.epochs):
        idx = order.permutation(len(xt))
        n_batches = max(1, len(xt) // a.batch)
        for b in range(n_batches):
            j = idx[b * a.batch : (b + 1) * a.batch]
            grad = 2 * xt[j].T @ (xt[j] @ w - yt[j]) / len(j)
            w = np.clip(w - a.lr * grad, -1e6, 1e6)
            if b % 4 == 0:  # a tqdm-like bar on stderr: \r redraws, ANSI colour
                pct = 100 * (b + 1) // n_batches
                sys.stderr.write(
                    f"\r\x1b[32mepoch {epoch}\x1b[0m {pct:3d}%|{'#' * (pct // 10):<10}| {b + 1}/{n_batches}"
                )
                sys.stderr.flush()
        mse = float(np.mean((xv @ w - yv) ** 2))
        score = max(0.0, 1.0 - mse / float(np.var(yv)))
        if a.quality == "bad":
            score *= 0.01
        sys.stderr.write("\n")
        if a.mode != "silent":
            print(f"epoch {epoch} loss: {mse:.4f} Validation: {score:.6f} lr: {a.lr}", flush=True)
        if a.mode == "crash":
            print("RuntimeError: CUDA out of memory (pretend)", file=sys.stderr)
            return 1
        time.sleep(a.sleep)
    buf = io.BytesIO()
    np.save(buf, w)
    with tarfile.open(out / "model.tar.gz", "w:gz") as tar:
        info = tarfile.TarInfo("weights.npy")
        info.size = buf.tell()
        buf.seek(0)
        tar.addfile(info, buf)
    return 0


if __name__ == "__main__":
    sys.exit(main())
