"""Helpers for the serving tests: a tiny real model artifact, real ``pigskin serve`` processes on
loopback ports, and their memory. (A module of its own: test files import it, and conftest modules
of different folders share one name.)"""

from __future__ import annotations

import io
import os
import socket
import struct
import subprocess
import sys
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np
import torch
from PIL import Image
from torch import nn

from pigskin.config import ModelConfig
from pigskin.models import build_model
from pigskin.models.artifact import save_artifact

CLASSES = ["football", "shadow"]
START_TIMEOUT = 180.0  # s: a cold start imports torch, slow on a busy shared machine


def tiny_model(name: str = "yolov3_darknet53", seed: int = 0, **overrides) -> tuple[nn.Module, ModelConfig]:
    """A small detector whose random weights still give a spread of scores.

    Straight from initialisation every cell has nearly the same score (the heads start at a 1 %
    prior), which would make answers depend on float ties; mildly random batch-norm statistics and
    random head weights give distinct scores and a few detections per image, as a trained model
    does. (Much wilder statistics blow activations up until float32 rounding, different in each
    runtime, flips which heatmap cells are peaks: a property of such weights, not of the export.)
    """
    settings = dict(name=name, pretrained=False, image_size=64, num_classes=len(CLASSES), width=0.1,
                    fpn_channels=16, proposals_test=30, score_threshold=0.05, max_detections=50)
    config = ModelConfig(**{**settings, **overrides})
    torch.manual_seed(seed)
    model = build_model(config).eval()
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.normal_(0.0, 0.2)
                m.running_var.uniform_(0.7, 1.4)
                m.weight.normal_(1.0, 0.2)
        # YOLOv3's three heads, the heatmap model's one output convolution
        finals = [head[-1] for head in getattr(model, "heads", [])]
        finals += [model.out] if hasattr(model, "out") else []
        for conv in finals:
            conv.weight.normal_(0.0, 0.5)
            conv.bias.zero_()
    return model, config


def save_tiny(path: Path, name: str = "yolov3_darknet53", seed: int = 0, **overrides) -> Path:
    model, config = tiny_model(name, seed, **overrides)
    return save_artifact(path, model, config, CLASSES, metrics={"map50": 0.5})


def noise(width: int = 160, height: int = 120, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)


def encode(image: np.ndarray, fmt: str = "PNG", **kw) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, fmt, **kw)
    return buffer.getvalue()


def decode(data: bytes) -> np.ndarray:
    return np.array(Image.open(io.BytesIO(data)).convert("RGB"))


def png_header_only(width: int, height: int) -> bytes:
    """A PNG that claims ``width x height`` (a decompression bomb's header) with one tiny IDAT."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = chunk(b"IDAT", zlib.compress(b"\0" * 64))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + idat + chunk(b"IEND", b"")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_kib(pid: int) -> int:
    """Resident memory of a process and its children (uvicorn workers), from /proc."""
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        status = Path(f"/proc/{p}/status").read_text()
        total += next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:"))
        for task in Path(f"/proc/{p}/task").iterdir():
            todo += [int(c) for c in (task / "children").read_text().split()]
    return total


@dataclass
class Server:
    process: subprocess.Popen
    url: str
    log: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")


def start_server(model: Path, log: Path, *args: str, port: int | None = None) -> Server:
    """Start ``pigskin serve`` as a subprocess (it returns at once; see :func:`wait_ready`)."""
    port = port or free_port()
    cmd = [sys.executable, "-m", "pigskin", "serve", "--model", str(model), "--host", "127.0.0.1",
           "--port", str(port), *args]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("SAGEMAKER_BIND_TO_PORT", None)
    with open(log, "wb") as out:  # a file, not a pipe: a full pipe would block the server's logging
        process = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env)
    return Server(process, f"http://127.0.0.1:{port}", log)


def wait_ready(server: Server, timeout: float = START_TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"pigskin serve exited with {server.process.returncode}:\n{server.log_text()}")
        try:
            if httpx.get(server.url + "/ping", timeout=2.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"pigskin serve not ready after {timeout} s:\n{server.log_text()}")


def stop_server(server: Server) -> None:
    if server.process.poll() is None:
        server.process.terminate()
        try:
            server.process.wait(30)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait(10)


@contextmanager
def serving(model: Path, log: Path, *args: str) -> Iterator[Server]:
    server = start_server(model, log, *args)
    try:
        wait_ready(server)
        yield server
    finally:
        stop_server(server)
