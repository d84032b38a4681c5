"""Helpers for the labeller tests: 1080p frames with a small brown ball, a real server on loopback, Chromium.

Browser tests drive Debian's Chromium (``/usr/bin/chromium``) with Playwright for Python; nothing
downloads a browser. :func:`ensure_chromium` installs the Debian package when it is missing and the
tests run as root (as in CI); when it cannot, the browser tests FAIL with the reason, never skip.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import numpy as np
import pytest
from PIL import Image, ImageDraw

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
W, H = 1920, 1080
BALL_RX, BALL_RY = 6, 4  # a 12 x 8 px ball, as small as in a wide broadcast shot


def ball_center(k: int) -> tuple[float, float]:
    """Where the ball is in frame k: a throw moving right and up, 40 px a frame."""
    return 600.0 + 40 * k, 520.0 - 12 * k


def ball_box(k: int) -> list[float]:
    cx, cy = ball_center(k)
    return [cx - BALL_RX, cy - BALL_RY, cx + BALL_RX, cy + BALL_RY]


def write_frames(
    folder: Path, n: int = 5, prefix: str = "play_", size: tuple[int, int] = (W, H)
) -> list[Path]:
    """n JPEGs (1920x1080 by default) of turf with yard lines and a brown ellipse for the ball."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    w, h = size
    noise = rng.integers(-12, 12, (h, w, 1), dtype=np.int16)
    turf = np.clip(np.array([46, 112, 52], np.int16) + noise, 0, 255).astype(np.uint8)
    paths = []
    for k in range(n):
        im = Image.fromarray(turf.copy())
        d = ImageDraw.Draw(im)
        for x in range(120 + 30 * k, w, 240):
            d.line([(x, 0), (x - 60, h)], fill=(225, 232, 225), width=5)
        cx, cy = ball_center(k)
        d.ellipse([cx - BALL_RX, cy - BALL_RY, cx + BALL_RX, cy + BALL_RY], fill=(120, 66, 30))
        p = folder / f"{prefix}{k:06d}.jpg"
        im.save(p, quality=88)
        paths.append(p)
    return paths


def write_predictions(
    path: Path, frames: list[Path], boxes: dict[int, list[tuple[list[float], float]]]
) -> Path:
    """A Ground Truth manifest of model predictions (with confidences) for some frames."""
    lines = []
    for k, items in boxes.items():
        anns = [
            {"class_id": 0, "left": b[0], "top": b[1], "width": b[2] - b[0], "height": b[3] - b[1]}
            for b, _ in items
        ]
        lines.append(
            {
                "source-ref": str(frames[k]),
                "pred": {"image_size": [{"width": W, "height": H, "depth": 3}], "annotations": anns},
                "pred-metadata": {
                    "objects": [{"confidence": s} for _, s in items],
                    "class-map": {"0": "football"},
                    "type": "groundtruth/object-detection",
                    "human-annotated": "no",
                },
            }
        )
    path.write_text("".join(json.dumps(x) + "\n" for x in lines))
    return path


def read_manifest(path: Path) -> list[dict]:
    """Every line must be complete JSON: a torn write fails here."""
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """``pigskin label ...`` in a subprocess on a free loopback port, killable with SIGKILL."""

    def __init__(self, args: list[str], cwd: Path, port: int | None = None) -> None:
        self.args, self.cwd = args, cwd
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 30.0) -> "Server":
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        cmd = [sys.executable, "-m", "pigskin", "label", *self.args, "--port", str(self.port)]
        self.log = open(self.cwd / f"server-{self.port}.log", "a")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(cmd, cwd=self.cwd, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited {self.proc.returncode}: {self.read_log()}")
            try:
                if httpx.get(f"{self.url}/api/health", timeout=1.0).status_code == 200:
                    return self
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError(f"server did not start in {timeout} s: {self.read_log()}")

    def read_log(self) -> str:
        self.log.flush()
        return (self.cwd / f"server-{self.port}.log").read_text()

    def kill(self) -> None:
        """SIGKILL: no shutdown handlers, no flushing; what is on disk is what a crash leaves."""
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()
        if getattr(self, "log", None):
            self.log.close()

    def get(self, path: str) -> httpx.Response:
        return httpx.get(self.url + path, timeout=10.0)

    def put(self, path: str, body: dict) -> httpx.Response:
        return httpx.put(self.url + path, json=body, timeout=10.0)


# -- the browser ---------------------------------------------------------------------------------
def ensure_chromium() -> str:
    """Path of Debian's Chromium, installing the package first when it is missing.

    Fails (never skips) with what to do when it cannot be had: a browser test that silently does not
    run would hide a broken labeller.
    """
    if os.path.exists(CHROMIUM):
        return CHROMIUM
    if shutil.which("apt-get") and os.geteuid() == 0:
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        for cmd in (["apt-get", "update", "-q"], ["apt-get", "install", "-y", "-q", "chromium"]):
            r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900)
            if r.returncode != 0:
                pytest.fail(
                    f"`{' '.join(cmd)}` failed ({r.returncode}); the browser tests need Debian's "
                    f"chromium at {CHROMIUM}:\n{r.stderr[-2000:]}"
                )
        if os.path.exists(CHROMIUM):
            return CHROMIUM
    pytest.fail(
        f"Debian's chromium is not at {CHROMIUM} and could not be installed here "
        "(run `apt-get install -y chromium` as root); the labeller's browser tests need it"
    )
