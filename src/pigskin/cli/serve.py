"""pigskin serve: an HTTP endpoint for a model.tar.gz (SageMaker's bring-your-own-container contract)."""

from __future__ import annotations

import argparse
import os
import re

SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmg]i?b?|b)?\s*$", re.IGNORECASE)
UNITS = {"": 1, "b": 1, "k": 1000, "m": 1000**2, "g": 1000**3, "ki": 1024, "mi": 1024**2, "gi": 1024**3}


def byte_size(text: str) -> int:
    """``6MB`` -> 6000000, ``6MiB`` -> 6291456, ``250000`` -> 250000."""
    match = SIZE.match(text)
    if not match:
        raise argparse.ArgumentTypeError(f"expected a size like 6MB, 512KiB or 250000, got {text!r}")
    unit = (match.group(2) or "").lower().rstrip("b")
    return int(float(match.group(1)) * UNITS[unit])


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("serve", help="serve a model over HTTP (/ping, /invocations, /v1/detect, /metrics)",
                       description=__doc__.splitlines()[0])
    p.add_argument("--model", default=os.environ.get("PIGSKIN_MODEL", "/opt/ml/model"),
                   help="model.tar.gz, or the folder it was unpacked into "
                        "(default: $PIGSKIN_MODEL, else /opt/ml/model)")
    p.add_argument("--host", default="0.0.0.0")
    p.add_argument("--port", type=int, default=8080, help="port (SageMaker's $SAGEMAKER_BIND_TO_PORT wins)")
    p.add_argument("--backend", choices=["torch", "onnx"], default="torch")
    p.add_argument("--onnx", default=None,
                   help="ONNX file for --backend onnx (default: the artifact's model.onnx, else export "
                        "at start-up)")
    p.add_argument("--workers", type=int, default=1, help="worker processes, each with its own model copy")
    p.add_argument("--threads", type=int, default=0, help="intra-op threads per worker (0: cores / workers)")
    p.add_argument("--inference-threads", type=int, default=1, help="requests a worker computes at once")
    p.add_argument("--max-payload", type=byte_size, default=6 * 1024 * 1024,
                   help="largest request body (default 6MiB, SageMaker real-time's limit); larger gets 413")
    p.add_argument("--max-pixels", type=int, default=40_000_000, help="decoded pixels per request")
    p.add_argument("--max-images", type=int, default=16, help="images per request")
    p.add_argument("--max-queue", type=int, default=64, help="requests waiting for the model before 503")
    p.add_argument("--timeout", type=float, default=60.0, help="seconds for inference per request (504)")
    p.add_argument("--body-timeout", type=float, default=30.0, help="seconds to receive a request body (408)")
    p.add_argument("--score-threshold", type=float, default=None,
                   help="default score threshold (unset: the model's)")
    p.add_argument("--max-detections", type=int, default=None, help="default detections per image")
    p.add_argument("--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"])
    p.add_argument("--access-log", action="store_true", help="log every request")
    p.set_defaults(func=_serve)


def _serve(args: argparse.Namespace) -> int:
    from pigskin.serve.app import run

    run(
        args.model, host=args.host, port=args.port, backend=args.backend, workers=args.workers,
        log_level=args.log_level, access_log=args.access_log, onnx=args.onnx, threads=args.threads,
        inference_threads=args.inference_threads, max_payload=args.max_payload, max_pixels=args.max_pixels,
        max_images=args.max_images, max_queue=args.max_queue, timeout=args.timeout,
        body_timeout=args.body_timeout, score_threshold=args.score_threshold,
        max_detections=args.max_detections,
    )
    return 0
