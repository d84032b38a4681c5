"""Fixtures for the labeller tests (helpers live in ``label_helpers``)."""

from __future__ import annotations

from pathlib import Path

import pytest
from label_helpers import CHROMIUM_ARGS, Server, ensure_chromium, write_frames


@pytest.fixture
def frames_dir(tmp_path: Path) -> Path:
    write_frames(tmp_path / "frames", 5)
    return tmp_path / "frames"


@pytest.fixture
def start_server(tmp_path: Path):
    servers: list[Server] = []

    def start(*args: str, port: int | None = None) -> Server:
        s = Server([str(a) for a in args], tmp_path, port).start()
        servers.append(s)
        return s

    yield start
    for s in servers:
        s.stop()


@pytest.fixture(scope="session")
def browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail(
            "Playwright for Python is missing: pip install playwright (never `playwright install`: "
            "the tests drive Debian's chromium)"
        )
    path = ensure_chromium()
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=path, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    ctx = browser.new_context(viewport={"width": 1600, "height": 900})
    pg = ctx.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.errors = errors
    yield pg
    ctx.close()
