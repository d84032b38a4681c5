"""Reading the objective from noisy training logs, the way SageMaker's metric regex does."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from tune_helpers import TOY

from pigskin.errors import PigskinError
from pigskin.tune.objective import MetricParser, build_command, parse_metrics

NOISY = (
    "Epoch 1/2\n"
    "\r  0%|          | 0/50 [00:00<?, ?it/s]\r 40%|####      | 20/50 [00:01<00:01, 19.2it/s, loss=0.71]"
    "\r100%|##########| 50/50 [00:02<00:00, 20.1it/s, loss=0.52]\n"
    "\x1b[1m\x1b[32mloss: 0.3 Validation: 0.41 lr: 0.01\x1b[0m\n"
    "Epoch 2/2\n"
    "\r 60%|######    | 30/50\rtrain Validation: 0.55 | holdout Validation: 0.57\n"
    "saved checkpoint (Validation: 0.57.)\n"
)


def test_progress_bars_ansi_and_several_metrics_per_line() -> None:
    assert parse_metrics(NOISY) == [0.41, 0.55, 0.57, 0.57]


def test_values_split_across_reads_are_not_half_parsed() -> None:
    p = MetricParser()
    got = []
    for i in range(0, len(NOISY), 7):  # 7-byte reads cut numbers and escapes in half
        got += p.feed(NOISY[i : i + 7])
    got += p.close()
    assert got == [0.41, 0.55, 0.57, 0.57] == p.values


def test_unterminated_last_line_counts_on_close() -> None:
    p = MetricParser()
    assert p.feed("Validation: 0.1\nValidation: 0.2") == [0.1]
    assert p.close() == [0.2]


def test_custom_regex_named_group_and_no_group_error() -> None:
    log = "step 1 val_map=0.25 val_loss=1.5\nstep 2 val_map=0.375 val_loss=1.25\n"
    assert parse_metrics(log, r"val_loss=(?P<value>[0-9.]+)") == [1.5, 1.25]
    assert parse_metrics(log, r"(step) \d+ val_map=([0-9.]+)") == []  # group 1 is "step": not a number
    with pytest.raises(PigskinError, match="capture group"):
        MetricParser(r"Validation: [0-9.]+")
    with pytest.raises(PigskinError, match="not a valid regular expression"):
        MetricParser(r"Validation: ([0-9.]+")


def test_parses_the_real_toy_trainer_output(tmp_path: Path) -> None:
    out = tmp_path / "0"
    out.mkdir()
    cmd = build_command([sys.executable, str(TOY)], {"lr": 0.05, "batch": 8, "epochs": 3}, out)
    assert cmd[-6:] == ["--batch", "8", "--epochs", "3", "--out", str(out)]
    res = subprocess.run(cmd, capture_output=True, check=True)  # bytes: keep the \r as written
    merged = (res.stderr + res.stdout).decode()  # the bars go to stderr, the metric to stdout
    values = parse_metrics(merged)
    printed = [float(line.split("Validation: ")[1].split()[0]) for line in res.stdout.decode().splitlines()]
    assert len(values) == 3 and values == printed and 0 < values[-1] <= 1
    assert "\r" in merged and "\x1b[" in merged  # it really was noisy


def test_hyperparameters_are_formatted_exactly() -> None:
    cmd = build_command(["train"], {"lr": 0.1 + 0.2, "aug": True, "net": "yolo"}, None, ["--data", "x"])
    assert cmd == ["train", "--lr", "0.30000000000000004", "--aug", "true", "--net", "yolo", "--data", "x"]
