"""`pigskin train` as real processes: killed with SIGKILL mid-run it resumes; torchrun with 2 ranks works."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from pigskin.data.toy import toy_dataset
from pigskin.formats import save
from pigskin.models.artifact import load_model

ARGS = [
    "--model",
    "yolov3_darknet53",
    "--pretrained",
    "false",
    "--width",
    "0.125",
    "--image-size",
    "96",
    "--crop-size",
    "64",
    "--batch",
    "2",
    "--optimizer",
    "adamw",
    "--lr",
    "0.002",
    "--warmup-steps",
    "2",
    "--progress",
    "false",
]


@pytest.fixture(scope="module")
def coco(tmp_path_factory) -> tuple[Path, Path]:
    """Eight training and two validation frames as COCO files (any format pigskin.formats.load reads)."""
    root = tmp_path_factory.mktemp("coco")
    ds = toy_dataset(root, n=10, width=128, height=96, ball=(10, 14))
    save(ds.subset(list(range(8))), root / "train.json", "coco")
    save(ds.subset([8, 9]), root / "val.json", "coco")
    return root / "train.json", root / "val.json"


def _env() -> dict[str, str]:
    env = dict(os.environ, PYTHONUNBUFFERED="1", OMP_NUM_THREADS="1")
    env.pop("WORLD_SIZE", None)
    return env


def _state(path: Path) -> dict | None:
    try:
        return torch.load(path, map_location="cpu", weights_only=True)["state"]
    except (FileNotFoundError, RuntimeError, EOFError, KeyError):
        return None


@pytest.mark.slow
def test_a_run_killed_mid_epoch_resumes_with_its_history(tmp_path, coco):
    train_json, val_json = coco
    out = tmp_path / "run"
    cmd = [
        sys.executable,
        "-m",
        "pigskin",
        "train",
        "--data",
        str(train_json),
        "--val",
        str(val_json),
        "--out",
        str(out),
        "--checkpoint-every",
        "1",
        *ARGS,
    ]
    proc = subprocess.Popen(
        [*cmd, "--epochs", "1000"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=_env()
    )
    deadline = time.monotonic() + 240
    killed = None
    try:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                pytest.fail(f"training ended before it was killed:\n{proc.stdout.read()}")
            # one whole epoch behind it (a validation in the history) and part of the next one
            state = _state(out / "checkpoint.pt") if (out / "metrics.jsonl").exists() else None
            if state and state["epoch"] >= 1 and state["batch"] >= 1:
                proc.send_signal(signal.SIGKILL)
                killed = state
                break
            time.sleep(0.1)
    finally:
        proc.kill()
        proc.wait()
    assert killed is not None, "no mid-epoch checkpoint within the time limit"
    assert proc.returncode == -signal.SIGKILL
    state = _state(out / "checkpoint.pt")  # the last one written before the kill
    assert state["step"] >= killed["step"] and state["history"]
    before = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    # the checkpoint is written first: a kill between the two writes leaves the file one record behind
    assert before in (state["history"], state["history"][:-1])

    # the same command, asking to end after the epoch it was killed in
    done = subprocess.run(
        [*cmd, "--epochs", str(state["epoch"] + 1)], capture_output=True, text=True, env=_env(), timeout=240
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert (
        f"resuming from {out / 'checkpoint.pt'}: epoch {state['epoch'] + 1}, batch {state['batch']}, "
        f"step {state['step']}" in done.stdout
    )
    after = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    assert after[: len(state["history"])] == state["history"]  # the pre-kill epochs are still there
    assert after[-1]["epoch"] == state["epoch"] + 1 and after[-1]["complete"]
    steps_per_epoch = 4  # 8 frames, batch 2
    assert after[-1]["step"] == (state["epoch"] + 1) * steps_per_epoch  # the step counter went on
    assert load_model(out / "model.tar.gz").metrics["epochs_trained"] == state["epoch"] + 1


@pytest.mark.slow
def test_torchrun_with_two_processes_trains_one_epoch(tmp_path, coco):
    train_json, val_json = coco
    out = tmp_path / "ddp"
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node",
        "2",
        "-m",
        "pigskin",
        "train",
        "--data",
        str(train_json),
        "--val",
        str(val_json),
        "--out",
        str(out),
        "--epochs",
        "1",
        "--device",
        "cpu",
        *ARGS,
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, env=_env(), timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "on cpu x2" in done.stdout and done.stdout.count("Validation: ") == 1
    history = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    assert len(history) == 1 and history[0]["step"] == 2  # 8 frames / 2 ranks / batch 2
    assert load_model(out / "model.tar.gz").classes == ["ball"]
