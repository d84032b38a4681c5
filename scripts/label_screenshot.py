"""Make docs/label_screenshot.png: the labeller on a synthetic broadcast frame, a box, a proposal, the loupe.

    python scripts/label_screenshot.py docs/label_screenshot.png

Renders three 1080p stills with ``pigskin.synth``, labels two of them through the Python API, serves
them with ``pigskin label --model PREDICTIONS`` on a free loopback port and photographs the page in
Debian's Chromium (``/usr/bin/chromium``, driven by Playwright; nothing is downloaded). Fails when the
page raises an error or asks for anything outside this server.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from PIL import Image

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
STILLS = {"kickoff.jpg": 1, "pass.jpg": 5, "punt.jpg": 6}  # synth still index per frame
FALSE_POSITIVE = [503, 631, 528, 656]  # a helmet the "model" takes for a ball


def prediction_line(name: str, boxes: list[tuple[list[float], float]]) -> dict:
    anns = [
        {"class_id": 0, "left": b[0], "top": b[1], "width": b[2] - b[0], "height": b[3] - b[1]}
        for b, _ in boxes
    ]
    return {
        "source-ref": f"frames/{name}",
        "pred": {"image_size": [{"width": 1920, "height": 1080, "depth": 3}], "annotations": anns},
        "pred-metadata": {
            "objects": [{"confidence": s} for _, s in boxes],
            "class-map": {"0": "football"},
            "human-annotated": "no",
            "type": "groundtruth/object-detection",
        },
    }


def main(out: Path) -> int:
    from playwright.sync_api import sync_playwright

    from pigskin.label.job import Job, LabelConfig
    from pigskin.synth import preset, render_still

    work = Path(tempfile.mkdtemp(prefix="label-shot-"))
    (work / "frames").mkdir()
    cfg = preset("broadcast", width=1920, height=1080)
    balls = {}
    for name, index in STILLS.items():
        frame, _ = render_still(cfg, index=index)
        Image.fromarray(frame.rgb).save(work / "frames" / name, quality=92)
        balls[name] = [round(float(v)) for v in frame.detections.xyxy[0]]
    kick, ball = balls["kickoff.jpg"], balls["pass.jpg"]
    model_ball = [ball[0] + 1, ball[1] + 1, ball[2] - 1, ball[3] - 1]  # the model's box, a little off
    lines = [
        prediction_line("pass.jpg", [(model_ball, 0.91), (FALSE_POSITIVE, 0.41)]),
        prediction_line("kickoff.jpg", [(kick, 0.88)]),
    ]
    pred = work / "pred.manifest"
    pred.write_text("".join(json.dumps(x) + "\n" for x in lines))
    job = Job(LabelConfig(work / "frames", model=pred))
    job.save(0, {"boxes": [{"xyxy": kick, "source": "accepted", "confidence": 0.88}]})
    job.save(1, {"boxes": [{"xyxy": ball, "source": "corrected", "attrs": {"occlusion": "none"}}]})
    job.close()

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pigskin",
            "label",
            str(work / "frames"),
            "--model",
            str(pred),
            "--port",
            str(port),
        ]
    )
    problems: list[str] = []
    try:
        for _ in range(300):
            try:
                if httpx.get(f"{url}/api/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            page = browser.new_page(viewport={"width": 1600, "height": 900})
            page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
            page.on("request", lambda r: None if r.url.startswith((url, "data:")) else problems.append(r.url))
            page.goto(url)
            page.wait_for_function("window.pigskinLabel && window.pigskinLabel.state().img")
            page.evaluate("window.pigskinLabel.go(1)")
            page.wait_for_function("window.pigskinLabel.state().frame.index === 1")
            v = page.evaluate("window.pigskinLabel.state().view")
            r = page.locator("#overlay-layer").bounding_box()

            def at(x: float, y: float) -> tuple[float, float]:
                return r["x"] + v["ox"] + x * v["scale"], r["y"] + v["oy"] + y * v["scale"]

            cx, cy = (ball[0] + ball[2]) / 2, (ball[1] + ball[3]) / 2
            page.mouse.click(*at(cx, cy))  # select the box
            page.keyboard.press("]")
            page.keyboard.press("]")  # loupe 6x
            page.mouse.move(*at(cx - 2, cy + 2))
            page.wait_for_timeout(300)
            out.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(out))
            browser.close()
    finally:
        server.terminate()
        server.wait(10)
    Image.open(out).convert("RGB").save(out, optimize=True)
    for p in problems:
        print(p, file=sys.stderr)
    print(f"wrote {out}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/label_screenshot.png")))
