"""Open an HTML report in headless Chromium, fail on console errors or network requests, screenshot it.

    python scripts/report_screenshot.py REPORT.html OUT.png [--width 1280] [--full-page]

Uses Debian's ``chromium`` (``apt-get install chromium``) through Playwright's Python API with
``executable_path`` (Playwright never downloads a browser here). Every console message of type
error or warning, every uncaught page error and every request other than ``file:`` / ``data:`` is
printed; any error or request makes the exit status 1, so the report provably opens offline.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-default-apps",
    "--disable-extensions",
]


def find_chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    sys.exit("no chromium found: install Debian's package with `apt-get install -y chromium`")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("report", type=Path)
    ap.add_argument("out", type=Path)
    ap.add_argument("--width", type=int, default=1280)
    ap.add_argument("--height", type=int, default=900)
    ap.add_argument("--full-page", action="store_true", help="capture the whole page, not the first screen")
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    problems: list[str] = []
    with tempfile.TemporaryDirectory() as profile, sync_playwright() as pw:
        browser = pw.chromium.launch_persistent_context(
            profile,
            executable_path=find_chromium(),
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": args.width, "height": args.height},
            offline=True,
        )
        page = browser.new_page()
        page.on(
            "console",
            lambda m: m.type in ("error", "warning") and problems.append(f"console {m.type}: {m.text}"),
        )
        page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
        page.on(
            "request",
            lambda r: (
                r.url.split(":", 1)[0] not in ("file", "data")
                and problems.append(f"network request: {r.url}")
            ),
        )
        page.on("requestfailed", lambda r: problems.append(f"request failed: {r.url} ({r.failure})"))
        page.goto(args.report.resolve().as_uri(), wait_until="load")
        page.wait_for_timeout(300)
        n_img = page.evaluate("document.images.length")
        broken = page.evaluate("[...document.images].filter(i => !(i.complete && i.naturalWidth > 0)).length")
        if broken:
            problems.append(f"{broken} of {n_img} images did not decode")
        args.out.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(args.out), full_page=args.full_page)
        title = page.title()
        browser.close()
    print(f"{args.report}: title {title!r}, {n_img} images, screenshot {args.out}")
    for p in problems:
        print(p)
    print("no console errors, no network requests" if not problems else f"{len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
