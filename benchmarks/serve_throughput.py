"""Serving throughput: requests/s and p50/p99 latency for a 1280x720 JPEG, PyTorch against ONNX
Runtime, 1 and 2 worker processes, in one run on one machine.

    python benchmarks/serve_throughput.py [--model model.tar.gz] [--arch fasterrcnn_mobilenet_v2]
        [--image-size 640] [--requests 32] [--clients 4] [--warmup 4] [--threads 0]

Each row starts a real ``pigskin serve`` process on a loopback port (``--backend torch|onnx``,
``--workers 1|2``, intra-op threads = usable cores / workers unless ``--threads``), warms it up, then
``--clients`` concurrent HTTP clients send ``--requests`` POSTs of the same JPEG to ``/invocations``.
Latency is measured at the client (round trip, JPEG decode and inference included). Without
``--model`` an untrained ``--arch`` model (ImageNet backbone when cached, heads from seed 0) is saved
first: speed does not depend on what the heads learnt. Its ONNX graph is exported once, checked, and
stored in the artifact so no server exports at start-up. (An untrained model's scores sit within a
hair of each other, so the printed check may show a different last box where two runtimes break a
near-tie at the ``max_detections`` cut differently; a trained model's do not.) The frame is a
synthetic broadcast still (:mod:`pigskin.synth`) when available.
With few requests p99 is close to the maximum; raise ``--requests`` on a quiet machine.
"""

from __future__ import annotations

import argparse
import io
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import numpy as np
from PIL import Image


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(model: Path, backend: str, workers: int, threads: int, log: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    cmd = [sys.executable, "-m", "pigskin", "serve", "--model", str(model), "--host", "127.0.0.1", "--port",
           str(port), "--backend", backend, "--workers", str(workers), "--threads", str(threads)]
    with open(log, "wb") as out:
        process = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline, healthy = time.monotonic() + 300, 0
    while healthy < 10:  # ten pings in a row on fresh connections: every worker has loaded
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise SystemExit(f"server did not start:\n{log.read_text()[-3000:]}")
        try:
            healthy = healthy + 1 if httpx.get(url + "/ping", timeout=2).status_code == 200 else 0
        except httpx.TransportError:
            healthy = 0
        time.sleep(0.1 if healthy else 0.3)
    return process, url


def load(url: str, body: bytes, requests: int, clients: int) -> tuple[float, list[float], int]:
    """Seconds for all requests, each request's latency, and the number of failures."""
    latencies: list[float] = []
    errors = 0
    left = [requests]
    lock = threading.Lock()

    def client() -> None:
        nonlocal errors
        with httpx.Client(timeout=120) as http:
            while True:
                with lock:
                    if left[0] <= 0:
                        return
                    left[0] -= 1
                t = time.perf_counter()
                try:
                    ok = http.post(url + "/invocations", content=body,
                                   headers={"Content-Type": "image/jpeg"}).status_code == 200
                except httpx.HTTPError:
                    ok = False
                with lock:
                    latencies.append(time.perf_counter() - t)
                    errors += not ok

    threads = [threading.Thread(target=client) for _ in range(clients)]
    start_time = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - start_time, latencies, errors


def frame_jpeg(width: int = 1280, height: int = 720) -> tuple[bytes, str]:
    from pigskin.synth.scene import sample_frames

    frame = sample_frames(1, width, height)[0]
    buffer = io.BytesIO()
    Image.fromarray(frame).save(buffer, "JPEG", quality=90)
    return buffer.getvalue(), f"{width}x{height} JPEG q90, {len(buffer.getvalue()) / 1e3:.0f} kB"


def prepare_model(args: argparse.Namespace, folder: Path) -> tuple[Path, str]:
    """A copy of the artifact with model.onnx inside (exported and checked here)."""
    from pigskin.models.artifact import load_model
    from pigskin.serve.export import add_to_artifact, check_onnx, export_onnx
    from pigskin.synth.scene import sample_frames

    model = folder / "model.tar.gz"
    if args.model:
        shutil.copy(args.model, model)
    else:
        import torch

        from pigskin.config import ModelConfig
        from pigskin.models import build_model
        from pigskin.models.artifact import save_artifact

        torch.manual_seed(0)  # the same heads every run; the backbone starts from ImageNet when cached
        config = ModelConfig(name=args.arch, pretrained=True, image_size=args.image_size)
        save_artifact(model, build_model(config), config, ["football"])
    predictor = load_model(model)
    data = export_onnx(predictor)
    check = check_onnx(predictor, data, sample_frames(1), threads=1)
    add_to_artifact(model, data)
    what = f"{predictor.name} image_size {predictor.config.image_size}"
    what += "" if args.model else " (untrained heads, seed 0)"
    return model, f"{what}; ONNX check: {check.summary()}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", help="model.tar.gz to serve (default: a fresh --arch model)")
    ap.add_argument("--arch", default="fasterrcnn_mobilenet_v2", help="model built when --model is not given")
    ap.add_argument("--image-size", type=int, default=640, help="long side the model resizes frames to")
    ap.add_argument("--requests", type=int, default=32, help="timed requests per row")
    ap.add_argument("--clients", type=int, default=4, help="concurrent clients")
    ap.add_argument("--warmup", type=int, default=4, help="untimed requests per row")
    ap.add_argument("--threads", type=int, default=0, help="intra-op threads per worker (0: cores / workers)")
    ap.add_argument("--workers", default="1,2", help="worker counts to compare")
    args = ap.parse_args()

    cores = len(os.sched_getaffinity(0))
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        model, model_line = prepare_model(args, tmp)
        body, frame_line = frame_jpeg()
        for backend in ("torch", "onnx"):
            for workers in (int(w) for w in args.workers.split(",")):
                threads = args.threads or max(1, cores // workers)
                process, url = start(model, backend, workers, threads, tmp / f"{backend}{workers}.log")
                try:
                    load(url, body, args.warmup, min(args.clients, args.warmup))
                    seconds, latencies, errors = load(url, body, args.requests, args.clients)
                finally:
                    process.terminate()
                    process.wait(60)
                ms = np.array(latencies) * 1000
                rows.append((backend, workers, threads, len(latencies) / seconds, np.percentile(ms, 50),
                             np.percentile(ms, 99), errors))

    print(f"machine: {platform.machine()} cpus={os.cpu_count()} usable={cores} "
          f"load average {os.getloadavg()[0]:.1f} python {platform.python_version()}")
    print(f"model: {model_line}")
    print(f"frame: {frame_line}; {args.requests} requests from {args.clients} clients per row "
          f"(+{args.warmup} warm-up)")
    head = (f"{'backend':<8} {'workers':>7} {'threads':>7} {'req/s':>8} {'p50 ms':>9} {'p99 ms':>9} "
            f"{'errors':>6} {'vs torch x1':>11}")
    print(head)
    print("-" * len(head))
    base = rows[0][3]
    for backend, workers, threads, rps, p50, p99, errors in rows:
        print(f"{backend:<8} {workers:>7} {threads:>7} {rps:>8.2f} {p50:>9.0f} {p99:>9.0f} {errors:>6} "
              f"{rps / base:>10.2f}x")


if __name__ == "__main__":
    main()
