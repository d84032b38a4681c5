"""The labeller's web app: FastAPI on uvicorn (the stack ``pigskin serve`` uses), static page in the package.

The page does all drawing; the server lists frames, serves images (cacheable JPEGs), proposes boxes
and saves every change at once (one request per change, the whole frame's state, so a retry is
harmless). Handlers are plain ``def``: FastAPI runs them in a thread pool, the store serialises writes.
"""

from __future__ import annotations

import mimetypes
import uuid
from pathlib import Path
from typing import Any

from pigskin.label.job import Job, LabelConfig

STATIC = Path(__file__).with_name("static")
IMAGE_CACHE = "private, max-age=86400"  # frames do not change while a job runs


def create_app(job: Job) -> Any:
    """The ASGI app for one job."""
    from fastapi import Body, FastAPI, HTTPException
    from fastapi.responses import FileResponse, HTMLResponse, JSONResponse
    from fastapi.staticfiles import StaticFiles

    app = FastAPI(title="pigskin label", docs_url=None, redoc_url=None, openapi_url=None)
    session = uuid.uuid4().hex  # a new id after a restart tells the page to re-read the job
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    def frame_or_404(i: int) -> None:
        if not 0 <= i < len(job.frames):
            raise HTTPException(404, f"no frame {i} (this job has {len(job.frames)})")

    @app.get("/", response_class=HTMLResponse)
    def index() -> HTMLResponse:
        html = (STATIC / "index.html").read_text(encoding="utf-8")
        return HTMLResponse(html, headers={"Cache-Control": "no-store"})

    @app.get("/api/health")
    def health() -> dict[str, Any]:
        return {"ok": True, "session": session, "version": job.store.version}

    @app.get("/api/job")
    def summary() -> JSONResponse:
        return JSONResponse({**job.summary(), "session": session}, headers={"Cache-Control": "no-store"})

    @app.get("/api/frames/{i}")
    def frame(i: int) -> JSONResponse:
        frame_or_404(i)
        return JSONResponse(job.frame(i), headers={"Cache-Control": "no-store"})

    @app.get("/api/frames/{i}/image")
    def image(i: int) -> FileResponse:
        frame_or_404(i)
        path = job.frames[i].path
        if not path.is_file():
            raise HTTPException(404, f"frame {i}: image file {path} not found")
        media = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return FileResponse(path, media_type=media, headers={"Cache-Control": IMAGE_CACHE})

    @app.put("/api/frames/{i}/label")
    def save(i: int, body: dict[str, Any] = Body(...)) -> dict[str, Any]:
        frame_or_404(i)
        try:
            return job.save(i, body)
        except ValueError as exc:
            raise HTTPException(422, str(exc)) from None

    return app


def serve(config: LabelConfig, host: str = "127.0.0.1", port: int = 8000) -> None:
    """Open the job, hold its output's lock, and serve until interrupted."""
    import uvicorn

    job = Job(config)
    job.store.lock()
    s = job.summary()
    shard = "" if config.shard is None else f" (shard {config.shard[0]}/{config.shard[1]})"
    mode = "review" if config.review is not None else "label"
    print(
        f"pigskin label: {mode} {len(job.order)} of {s['total_frames']} frames{shard}, "
        f"{s['labelled']} labelled; saving to {job.store.out}\n  open http://{host}:{port}/",
        flush=True,
    )
    try:
        uvicorn.run(create_app(job), host=host, port=port, log_level="warning", access_log=False)
    finally:
        job.close()
