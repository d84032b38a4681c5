"""The labeller in headless Chromium (Debian's, driven by Playwright): mouse, keys, reload, offline.

The server is the real ``pigskin label`` on loopback; every check ends on the manifest on disk.
"""

from __future__ import annotations

import statistics
from pathlib import Path

import pytest
from label_helpers import ball_box, read_manifest, write_frames, write_predictions

STATE = "window.pigskinLabel.state()"


def open_page(page, srv) -> None:
    page.goto(srv.url)
    page.wait_for_function(f"window.pigskinLabel && {STATE}.frame && {STATE}.img")


def wait_saved(page) -> None:
    page.wait_for_function("window.pigskinLabel.pendingChanges() === 0", timeout=10000)


def wait_frame(page, pos: int) -> None:
    page.wait_for_function(
        f"{STATE}.pos === {pos} && {STATE}.frame.index === {STATE}.job.frames[{pos}].index"
    )


def screen(page, x: float, y: float) -> tuple[float, float]:
    """Image pixel -> page coordinates of the overlay canvas."""
    v = page.evaluate(f"{STATE}.view")
    r = page.locator("#overlay-layer").bounding_box()
    return r["x"] + v["ox"] + x * v["scale"], r["y"] + v["oy"] + y * v["scale"]


def drag(page, a: tuple[float, float], b: tuple[float, float]) -> None:
    page.mouse.move(*screen(page, *a))
    page.mouse.down()
    mid = ((a[0] + b[0]) / 2, (a[1] + b[1]) / 2)
    page.mouse.move(*screen(page, *mid))
    page.mouse.move(*screen(page, *b))
    page.mouse.up()


def boxes(page) -> list[dict]:
    return page.evaluate(f"({STATE}.states.get({STATE}.frame.index) || {{boxes: []}}).boxes")


def test_label_frames_with_mouse_and_keys_then_reload(tmp_path: Path, start_server, page):
    paths = write_frames(tmp_path / "frames", 5)
    pred = write_predictions(tmp_path / "pred.manifest", paths, {1: [([v + 1 for v in ball_box(1)], 0.87)]})
    srv = start_server(tmp_path / "frames", "--model", pred)
    open_page(page, srv)
    assert page.evaluate(f"{STATE}.pos") == 0

    # frame 0: draw the ball with the mouse, then set its occlusion with a key
    b0 = ball_box(0)
    drag(page, (b0[0], b0[1]), (b0[2], b0[3]))
    (b,) = boxes(page)
    assert b["source"] == "drawn" and b["xyxy"] == pytest.approx(b0, abs=1.5)
    page.keyboard.press("o")
    assert boxes(page)[0]["attrs"] == {"occlusion": "partial"}

    # frame 1: the model's box is a proposal; Enter accepts it
    page.keyboard.press("ArrowRight")
    wait_frame(page, 1)
    origins = page.evaluate(f"{STATE}.frame.proposals.map(p => p.origin)")
    assert origins[0] == "model"
    page.keyboard.press("Enter")
    (b,) = boxes(page)
    assert b["source"] == "accepted" and b["confidence"] == pytest.approx(0.87)

    # frame 2: no ball visible
    page.keyboard.press("d")
    wait_frame(page, 2)
    page.keyboard.press("n")
    assert page.locator("#frame-state").inner_text() == "no ball visible"

    # frame 3: a stray box undone, then the tracker's proposal accepted and dragged onto the ball
    page.keyboard.press("ArrowRight")
    wait_frame(page, 3)
    # flip back through the neighbours (to find a hidden ball), then return; no edits while flipped
    page.keyboard.press("q")
    page.keyboard.press("q")
    peek = page.locator("#peek")
    peek.wait_for(state="visible")
    assert peek.inner_text().startswith("flipped -2: play_000001.jpg")
    page.keyboard.press("n")
    assert boxes(page) == [] and page.locator("#frame-state").inner_text() == "unlabelled"
    page.keyboard.press("Escape")
    peek.wait_for(state="hidden")
    # the loupe follows the cursor and zooms 2-8x
    page.mouse.move(*screen(page, 700, 400))
    assert page.locator("#loupe").is_visible()
    for _ in range(6):
        page.keyboard.press("]")
    assert page.evaluate(f"{STATE}.zoom") == 8
    drag(page, (100, 100), (160, 140))
    assert len(boxes(page)) == 1
    page.keyboard.press("z")
    assert boxes(page) == []
    page.wait_for_function(f"{STATE}.frame.proposals.some(p => p.origin === 'tracker')")
    page.keyboard.press("Enter")
    (b,) = boxes(page)
    assert b["source"] == "accepted"
    cx, cy = (b["xyxy"][0] + b["xyxy"][2]) / 2, (b["xyxy"][1] + b["xyxy"][3]) / 2
    tx, ty = (ball_box(3)[0] + ball_box(3)[2]) / 2, (ball_box(3)[1] + ball_box(3)[3]) / 2
    drag(page, (cx, cy), (tx, ty))
    (b,) = boxes(page)
    assert b["source"] == "corrected"
    assert (b["xyxy"][0] + b["xyxy"][2]) / 2 == pytest.approx(tx, abs=2)
    wait_saved(page)
    assert page.locator("#save-status").inner_text() == "saved"

    # reload: the page opens at the first unlabelled frame and shows what was saved
    page.reload()
    page.wait_for_function(f"window.pigskinLabel && {STATE}.frame && {STATE}.img")
    assert page.evaluate(f"{STATE}.pos") == 4
    assert page.locator("#progress-text").inner_text() == "4 / 5 labelled"
    page.evaluate("window.pigskinLabel.go(0)")
    wait_frame(page, 0)
    assert boxes(page)[0]["attrs"] == {"occlusion": "partial"}
    assert page.errors == []

    lines = {x["source-ref"]: x for x in read_manifest(tmp_path / "frames" / "output.manifest")}
    assert sorted(lines) == [f"play_{k:06d}.jpg" for k in range(4)]

    def only_box(k):
        line = lines[f"play_{k:06d}.jpg"]
        (ann,) = line["bounding-box"]["annotations"]
        return ann, line["bounding-box-metadata"]

    ann, meta = only_box(0)
    assert ann["label-category-attributes"] == {"occlusion": "partial", "source": "drawn"}
    assert ann["left"] == pytest.approx(b0[0], abs=1.5) and ann["width"] == pytest.approx(12, abs=2)
    assert meta["human-annotated"] == "yes"
    ann, meta = only_box(1)
    assert ann["label-category-attributes"]["source"] == "accepted"
    assert meta["human-annotated"] == "no" and meta["objects"] == [{"confidence": 0.87}]
    assert lines["play_000002.jpg"]["bounding-box"]["annotations"] == []
    ann, meta = only_box(3)
    assert ann["label-category-attributes"]["source"] == "corrected" and meta["human-annotated"] == "yes"


def test_next_1080p_frame_shows_in_under_100_ms(tmp_path: Path, start_server, page):
    write_frames(tmp_path / "frames", 6)
    srv = start_server(tmp_path / "frames")
    open_page(page, srv)
    keys = ["ArrowRight"] * 5 + ["ArrowLeft"] * 4
    for k, key in enumerate(keys):
        # a labeller looks at each frame before moving on; the prefetch runs meanwhile
        page.wait_for_timeout(300)
        page.keyboard.press(key)
        page.wait_for_function(f"{STATE}.switchTimes.length === {k + 2}")  # 1 = the first load
    times = page.evaluate(f"{STATE}.switchTimes.slice(1)")
    assert len(times) == len(keys)
    median = statistics.median(times)
    print(f"frame switch ms (keypress to on screen): {[round(t, 1) for t in times]}, median {median:.1f}")
    assert statistics.median(times) < 100
    assert page.evaluate(f"{STATE}.pos") == 1


def test_killed_server_shows_offline_and_flushes_when_back(tmp_path: Path, start_server, page):
    write_frames(tmp_path / "frames", 4)
    out = tmp_path / "frames" / "output.manifest"
    srv = start_server(tmp_path / "frames")
    open_page(page, srv)
    b0 = ball_box(0)
    drag(page, (b0[0], b0[1]), (b0[2], b0[3]))
    wait_saved(page)
    page.wait_for_timeout(300)  # the next frames' images and data are prefetched
    srv.kill()

    page.keyboard.press("ArrowRight")
    wait_frame(page, 1)
    b1 = ball_box(1)
    drag(page, (b1[0], b1[1]), (b1[2], b1[3]))
    banner = page.locator("#offline")
    banner.wait_for(state="visible", timeout=5000)
    assert banner.inner_text().startswith("offline — 1 change not saved")
    assert page.locator("#save-status").inner_text() == "offline"
    assert [x["source-ref"] for x in read_manifest(out)] == [
        "play_000000.jpg"
    ]  # whole, and the first label kept

    start_server(tmp_path / "frames", port=srv.port)
    banner.wait_for(state="hidden", timeout=10000)
    wait_saved(page)
    assert [x["source-ref"] for x in read_manifest(out)] == ["play_000000.jpg", "play_000001.jpg"]
    assert page.errors == []


def test_review_mode_walks_only_the_disagreements(tmp_path: Path, start_server, page):
    from pigskin.label.job import Job, LabelConfig

    paths = write_frames(tmp_path / "frames", 3)
    job = Job(LabelConfig(tmp_path / "frames"))
    for k in range(3):
        job.save(k, {"boxes": [{"xyxy": ball_box(k), "source": "drawn"}]})
    job.close()
    moved = [v + 40 for v in ball_box(1)]  # the model disagrees on frame 1 only
    pred = write_predictions(
        tmp_path / "pred.manifest",
        paths,
        {0: [(ball_box(0), 0.9)], 1: [(moved, 0.9)], 2: [(ball_box(2), 0.8)]},
    )
    srv = start_server(tmp_path / "frames", "--review", pred)
    open_page(page, srv)
    assert page.locator("#mode").inner_text() == "review"
    assert page.evaluate(f"{STATE}.job.frames.map(f => f.name)") == ["play_000001.jpg"]
    assert page.locator("#note").inner_text() == "review: 1 miss, 1 false positive"
    page.keyboard.press("Enter")  # the model was right after all: take its box too
    wait_saved(page)
    lines = read_manifest(tmp_path / "frames" / "output.manifest")
    assert len(lines) == 3 and len(lines[1]["bounding-box"]["annotations"]) == 2
    assert page.errors == []
