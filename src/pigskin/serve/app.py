"""The HTTP endpoint: SageMaker's bring-your-own-container contract plus a small native API.

Routes: ``GET /ping`` (200, empty body, once the model is loaded; 503 while loading),
``POST /invocations`` and ``POST /v1/detect`` (one image or a batch; see :mod:`pigskin.serve.inputs`
and :mod:`pigskin.serve.schema`), ``GET /v1/model`` and ``GET /metrics`` (Prometheus).

How it stays up under bad or slow clients:

- The body is read as a stream with a byte limit (413 as soon as it is passed, before the rest is
  read) and a time limit (408), so a huge or stalled upload costs neither memory nor a worker.
- Decoding runs in a few threads and inference in a fixed pool (``inference_threads``, default 1: the
  backend already uses every core it is given); the event loop only does I/O, so pings and other
  clients are answered while a request computes. A request waits for the pool at most ``timeout``
  seconds (504; SageMaker's own limit is 60 s), and at most ``max_queue`` requests wait (503 beyond).
- The model loads in a background thread after the socket is open (SageMaker wants connections
  accepted within 250 ms and ``/ping`` healthy within 4 minutes).

Concurrent requests are not batched together: frames of different sizes would be padded to a common
size, which changes the network's output near the padded border, so an answer would depend on which
other requests happened to arrive with it. Throughput comes from worker processes instead.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import logging
import os
import threading
import time
from dataclasses import asdict, dataclass, fields
from typing import Any

import anyio
import numpy as np
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from pigskin.errors import PigskinError
from pigskin.serve.backends import BACKENDS, ServedModel, default_threads, load_served_model
from pigskin.serve.inputs import CONTENT_TYPES, decode_body, media_type, require_supported
from pigskin.serve.metrics import Metrics, server_metrics
from pigskin.serve.schema import (
    CUSTOM_ATTRIBUTES,
    JSON,
    JSON_LINES,
    Options,
    RequestError,
    error_body,
    json_lines,
    parse_custom_attributes,
    parse_options,
    prediction_to_dict,
    response_body,
)

CONFIG_ENV = "PIGSKIN_SERVE_CONFIG"  # carries the config to each worker process's app factory
DETECT_ROUTES = ("/invocations", "/v1/detect")
ROUTES = ("/ping", *DETECT_ROUTES, "/v1/model", "/metrics")
log = logging.getLogger("uvicorn.error")  # configured by uvicorn, so our lines land with its own


@dataclass(frozen=True)
class ServeConfig:
    """Everything one worker process needs; ``pigskin serve`` flags map onto these fields."""

    model: str
    backend: str = "torch"
    onnx: str | None = None  # ONNX file for the onnx backend (default: the artifact's, or export at start)
    workers: int = 1
    threads: int = 0  # intra-op threads per worker; 0: the usable cores divided among the workers
    inference_threads: int = 1  # requests one worker computes at once
    max_payload: int = 6 * 1024 * 1024  # bytes of request body (SageMaker real-time: 6 MB)
    max_pixels: int = 40_000_000  # decoded pixels per request (a 4K frame is 8.3 M)
    max_images: int = 16  # images per request
    max_queue: int = 64  # requests waiting for inference before 503
    timeout: float = 60.0  # seconds a request may wait for and spend in inference (504)
    body_timeout: float = 30.0  # seconds to receive a body (408)
    score_threshold: float | None = None  # default per request (None: the model's)
    max_detections: int | None = None  # default per request (None: the model's)

    def __post_init__(self) -> None:
        if self.backend not in BACKENDS:
            raise PigskinError(f"backend: expected one of {', '.join(BACKENDS)}, got {self.backend!r}")
        for name in ("workers", "inference_threads", "max_payload", "max_pixels", "max_images", "max_queue"):
            if getattr(self, name) < 1:
                raise PigskinError(f"{name}: expected >= 1, got {getattr(self, name)}")
        if self.timeout <= 0 or self.body_timeout <= 0:
            raise PigskinError("timeout and body_timeout must be > 0 seconds")
        try:
            Options(self.score_threshold, self.max_detections)
        except RequestError as exc:
            raise PigskinError(exc.message) from None

    @property
    def intra_threads(self) -> int:
        return self.threads if self.threads > 0 else default_threads(self.workers)


class Server:
    """One worker's state: the model (once loaded), the inference pool, the metrics."""

    def __init__(self, config: ServeConfig) -> None:
        self.config = config
        self.model: ServedModel | None = None
        self.error: str | None = None
        self.metrics: Metrics = server_metrics()
        self.pool = concurrent.futures.ThreadPoolExecutor(config.inference_threads, "infer")
        self.decoders = anyio.CapacityLimiter(max(2, config.inference_threads * 2))
        self.waiting = 0

    # -- model --------------------------------------------------------------------------------------
    def load(self) -> None:
        """Load and warm up the model (runs in a background thread)."""
        from pigskin.runtime import tune_allocator

        tune_allocator()
        start = time.perf_counter()
        try:
            model = load_served_model(self.config.model, self.config.backend, self.config.intra_threads,
                                      self.config.onnx)
            model.backend.predict([np.zeros((64, 64, 3), np.uint8)], 1.0)  # first call allocates; do it now
        except Exception as exc:  # reported by /ping and the log; the process stays up to say so
            self.error = f"{type(exc).__name__}: {exc}"
            log.error("pigskin serve: cannot load %s: %s", self.config.model, self.error)
            return
        model.load_seconds = time.perf_counter() - start
        self.metrics.set("pigskin_model_load_seconds", model.load_seconds)
        self.metrics.set("pigskin_up", 1, (("pid", str(os.getpid())),))
        self.model = model
        log.info("pigskin serve: %s %s (%s backend, %d threads) ready in %.1f s", model.name, model.version,
                 model.backend.kind, self.config.intra_threads, model.load_seconds)

    def require_model(self) -> ServedModel:
        if self.model is None:
            if self.error:
                raise RequestError(500, f"the model failed to load: {self.error}")
            raise RequestError(503, "the model is still loading; retry shortly")
        return self.model

    # -- detection ----------------------------------------------------------------------------------
    async def read_body(self, request: Request) -> bytes:
        limit = self.config.max_payload
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            raise RequestError(413, f"body of {declared} bytes is over the limit of {limit} bytes "
                                    "(--max-payload)")
        chunks: list[bytes] = []
        size = 0

        async def receive() -> None:
            nonlocal size
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    raise RequestError(413, f"body is over the limit of {limit} bytes (--max-payload)")
                chunks.append(chunk)

        try:
            await asyncio.wait_for(receive(), self.config.body_timeout)
        except TimeoutError:
            raise RequestError(408, f"the body did not arrive within {self.config.body_timeout:g} s"
                               ) from None
        return b"".join(chunks)

    def options(self, request: Request, body_options: Options, model: ServedModel) -> tuple[float, int]:
        """Defaults < custom-attributes header < JSON body < query string."""
        opts = Options(self.config.score_threshold, self.config.max_detections)
        opts = opts.merged(parse_custom_attributes(request.headers.get(CUSTOM_ATTRIBUTES)))
        opts = opts.merged(body_options).merged(parse_options(request.query_params.items(), "query"))
        threshold = model.score_threshold if opts.score_threshold is None else opts.score_threshold
        limit = model.max_detections if opts.max_detections is None else opts.max_detections
        return threshold, limit

    async def infer(self, model: ServedModel, images: list[np.ndarray], threshold: float) -> list[Any]:
        if self.waiting >= self.config.max_queue:
            raise RequestError(503, f"busy: {self.waiting} requests are waiting for the model; retry shortly")
        self.waiting += 1
        self.metrics.set("pigskin_inflight_requests", self.waiting)
        start = time.perf_counter()
        future = self.pool.submit(model.backend.predict, images, threshold)
        try:
            return await asyncio.wait_for(asyncio.wrap_future(future), self.config.timeout)
        except TimeoutError:
            future.cancel()  # drops it if still queued; a running predict finishes in its thread
            raise RequestError(504, f"inference did not finish within {self.config.timeout:g} s") from None
        finally:
            self.waiting -= 1
            self.metrics.set("pigskin_inflight_requests", self.waiting)
            self.metrics.observe("pigskin_inference_duration_seconds", time.perf_counter() - start)

    async def detect(self, request: Request) -> Response:
        start = time.perf_counter()
        model = self.require_model()
        lines = accepts_json_lines(request.headers.get("accept"))
        content_type = request.headers.get("content-type")
        require_supported(content_type)  # before reading a body we could not use
        body = await self.read_body(request)
        decoded = await anyio.to_thread.run_sync(decode_body, body, content_type, self.config.max_pixels,
                                                 limiter=self.decoders)
        images = decoded.images
        if len(images) > self.config.max_images:
            raise RequestError(413, f"{len(images)} images in one request; the limit is "
                                    f"{self.config.max_images} (--max-images)")
        threshold, limit = self.options(request, decoded.options, model)
        results = await self.infer(model, images, threshold)
        self.metrics.inc("pigskin_images_total", amount=len(images))
        predictions = []
        for dets, image in zip(results, images, strict=True):
            if len(dets) > limit:
                dets = dets[np.argsort(-dets.confidence, kind="stable")[:limit]]
            predictions.append(prediction_to_dict(dets, model.classes, image.shape[1], image.shape[0]))
        latency = (time.perf_counter() - start) * 1000
        if lines:
            return Response(json_lines(predictions, model.describe(), latency), media_type=JSON_LINES[0])
        return JSONResponse(response_body(predictions, model.describe(), latency))


def accepts_json_lines(accept: str | None) -> bool:
    """True for JSON lines, False for JSON; 406 for an Accept header that allows neither."""
    if not accept:
        return False
    for part in accept.split(","):
        kind = media_type(part)
        if kind in JSON_LINES:
            return True
        if kind in (JSON, "*/*", "application/*", "text/json"):
            return False
    raise RequestError(406, f"Accept {accept!r}: this server answers {JSON} or {JSON_LINES[0]}")


class _Metered:
    """ASGI middleware: count every HTTP request by route and status, and time it."""

    def __init__(self, app: Any, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        route = scope["path"] if scope["path"] in ROUTES else "other"
        status = 500
        start = time.perf_counter()

        async def send_status(message: dict) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            self.metrics.inc("pigskin_requests_total", (("route", route), ("status", str(status))))
            elapsed = time.perf_counter() - start
            self.metrics.observe("pigskin_request_duration_seconds", elapsed, (("route", route),))


def create_app(config: ServeConfig) -> FastAPI:
    """The ASGI app of one worker; it starts loading the model when the server starts."""
    server = Server(config)

    async def lifespan(app: FastAPI):  # noqa: ANN202 - FastAPI's lifespan protocol
        threading.Thread(target=server.load, name="load-model", daemon=True).start()
        yield
        server.pool.shutdown(wait=False, cancel_futures=True)

    app = FastAPI(title="pigskin", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    app.state.server = server

    @app.exception_handler(RequestError)
    async def request_error(request: Request, exc: RequestError) -> JSONResponse:
        return JSONResponse(error_body(exc.status, exc.message), status_code=exc.status)

    @app.exception_handler(Exception)
    async def internal_error(request: Request, exc: Exception) -> JSONResponse:
        log.exception("pigskin serve: %s %s failed", request.method, request.url.path)
        return JSONResponse(error_body(500, f"internal error: {type(exc).__name__}: {exc}"), status_code=500)

    @app.get("/ping")
    async def ping() -> Response:
        if server.model is not None:
            return Response(status_code=200)
        if server.error:
            return JSONResponse(error_body(500, f"the model failed to load: {server.error}"), status_code=500)
        return JSONResponse(error_body(503, "loading the model"), status_code=503)

    for route in DETECT_ROUTES:
        app.add_api_route(route, server.detect, methods=["POST"], response_class=Response)

    @app.get("/v1/model")
    async def model_info() -> JSONResponse:
        model = server.require_model()
        limits = {n: getattr(config, n) for n in ("max_payload", "max_pixels", "max_images", "timeout")}
        return JSONResponse({**model.info(), "limits": limits, "content_types": list(CONTENT_TYPES)})

    @app.get("/metrics")
    async def metrics() -> PlainTextResponse:
        return PlainTextResponse(server.metrics.render(), media_type="text/plain; version=0.0.4")

    app.add_middleware(_Metered, metrics=server.metrics)
    return app


def app_from_env() -> FastAPI:
    """App factory for worker processes (``uvicorn --factory``), configured by ``$PIGSKIN_SERVE_CONFIG``."""
    raw = os.environ.get(CONFIG_ENV)
    if not raw:
        raise PigskinError(f"${CONFIG_ENV} is not set: start the server with `pigskin serve`")
    known = {f.name for f in fields(ServeConfig)}
    return create_app(ServeConfig(**{k: v for k, v in json.loads(raw).items() if k in known}))


def bind_port(port: int) -> int:
    """SageMaker's ``$SAGEMAKER_BIND_TO_PORT`` wins over the port asked for (multi-container endpoints)."""
    value = os.environ.get("SAGEMAKER_BIND_TO_PORT", "").strip()
    if not value:
        return int(port)
    if not value.isdigit() or not 0 < int(value) < 65536:
        raise PigskinError(f"$SAGEMAKER_BIND_TO_PORT: expected a port number, got {value!r}")
    return int(value)


def check_model_path(path: str) -> None:
    """Fail fast on a path that cannot be a model, without importing torch (that happens in the
    background after the socket is open); deeper problems surface in the log and ``/ping``."""
    import tarfile

    names = ("pigskin-model.json", "model.tar.gz")  # artifact.MANIFEST, ARTIFACT_NAME (it imports torch)
    if os.path.isdir(path):
        if not any(os.path.isfile(os.path.join(path, n)) for n in names):
            raise PigskinError(f"{path}: neither {names[0]} (an unpacked model.tar.gz) nor {names[1]} here")
        return
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{path}: no such model artifact")
    try:
        with tarfile.open(path) as tar:
            held = {name.lstrip("./") for name in tar.getnames()}
    except (tarfile.TarError, OSError, EOFError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise PigskinError(f"{path}: not a readable model.tar.gz: {first}") from None
    if not held & set(names):
        raise PigskinError(f"{path}: not a pigskin model artifact: no {names[0]} inside")


def run(
    model_path: str | os.PathLike[str],
    host: str = "0.0.0.0",
    port: int = 8080,
    backend: str = "torch",
    workers: int = 1,
    log_level: str = "info",
    access_log: bool = False,
    **options: Any,
) -> None:
    """Serve ``model_path`` (a ``model.tar.gz`` or the folder it was unpacked into) until stopped.

    ``$SAGEMAKER_BIND_TO_PORT``, when set, overrides ``port`` (SageMaker's multi-container endpoints).
    ``options`` are :class:`ServeConfig` fields (``threads``, ``max_payload``, ``timeout``...).
    """
    import uvicorn

    config = ServeConfig(model=str(model_path), backend=backend, workers=workers, **options)
    check_model_path(config.model)  # a wrong path fails here, not in every worker
    if config.onnx and not os.path.isfile(config.onnx):
        raise FileNotFoundError(f"{config.onnx}: no such ONNX file")
    port = bind_port(port)
    common = {"host": host, "port": port, "log_level": log_level, "access_log": access_log,
              "timeout_graceful_shutdown": 25, "server_header": False}  # SageMaker kills 30 s after SIGTERM
    if workers == 1:
        uvicorn.run(create_app(config), **common)
    else:
        os.environ[CONFIG_ENV] = json.dumps(asdict(config))
        uvicorn.run("pigskin.serve.app:app_from_env", factory=True, workers=workers, **common)
