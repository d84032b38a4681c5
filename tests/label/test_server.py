"""The labeller's HTTP API on a real uvicorn server on loopback (``pigskin label`` in a subprocess)."""

from __future__ import annotations

import threading
from pathlib import Path

from label_helpers import ball_box, read_manifest


def drawn(k: int) -> dict:
    return {
        "boxes": [
            {
                "xyxy": ball_box(k),
                "class_id": 0,
                "source": "drawn",
                "confidence": 1.0,
                "attrs": {"occlusion": "none"},
            }
        ],
        "no_ball": False,
    }


def test_api_serves_frames_and_round_trips_labels(frames_dir: Path, start_server):
    srv = start_server(frames_dir)
    job = srv.get("/api/job").json()
    assert [f["name"] for f in job["frames"]] == [f"play_{k:06d}.jpg" for k in range(5)]
    assert job["start"] == 0 and job["classes"] == ["football"]
    img = srv.get("/api/frames/2/image")
    assert img.status_code == 200 and img.headers["content-type"] == "image/jpeg"
    assert "max-age" in img.headers["cache-control"]
    assert img.content == (frames_dir / "play_000002.jpg").read_bytes()
    page = srv.get("/")
    assert page.status_code == 200 and "/static/label.js" in page.text
    assert srv.get("/static/label.js").status_code == 200 and srv.get("/static/label.css").status_code == 200
    assert "http://" not in page.text.replace("http://www.w3.org", "")  # nothing from outside: works offline

    saved = srv.put("/api/frames/0/label", drawn(0)).json()
    assert saved["labelled"] == 1 and saved["label"]["boxes"][0]["xyxy"] == ball_box(0)
    frame = srv.get("/api/frames/0").json()
    assert frame["label"]["boxes"][0]["source"] == "drawn" and (frame["width"], frame["height"]) == (
        1920,
        1080,
    )
    assert srv.get("/api/frames/1").json()["proposals"][0]["origin"] == "tracker"

    bad = srv.put("/api/frames/0/label", {"boxes": [{"xyxy": [5, 5, 1, 1]}]})
    assert bad.status_code == 422 and "x1 < x2" in bad.json()["detail"]
    assert srv.get("/api/frames/99").status_code == 404
    assert srv.get("/api/job").json()["start"] == 1


def test_kill_between_saves_loses_no_saved_label(frames_dir: Path, start_server):
    srv = start_server(frames_dir)
    assert srv.put("/api/frames/0/label", drawn(0)).status_code == 200
    srv.kill()  # SIGKILL right after the first save

    lines = read_manifest(frames_dir / "output.manifest")  # complete JSON lines, with that label
    assert len(lines) == 1 and lines[0]["bounding-box"]["annotations"][0]["left"] == ball_box(0)[0]
    assert not list(frames_dir.glob(".output.manifest.*.tmp"))

    again = start_server(frames_dir, port=srv.port)  # the lock died with the process
    assert again.get("/api/job").json()["start"] == 1
    assert again.get("/api/frames/0").json()["label"]["boxes"][0]["xyxy"] == ball_box(0)
    assert again.put("/api/frames/1/label", drawn(1)).status_code == 200
    assert len(read_manifest(frames_dir / "output.manifest")) == 2


def test_kill_during_a_burst_of_saves_leaves_a_whole_manifest(tmp_path: Path, start_server):
    from label_helpers import write_frames

    write_frames(tmp_path / "many", 40, prefix="f", size=(640, 360))
    srv = start_server(tmp_path / "many")
    acked: list[int] = []
    stop = threading.Event()

    def hammer() -> None:
        import httpx

        for k in range(40):
            if stop.is_set():
                return
            try:
                body = {"boxes": [{"xyxy": [10, 10, 30 + k, 30], "source": "drawn"}]}
                if srv.put(f"/api/frames/{k}/label", body).status_code == 200:
                    acked.append(k)
            except httpx.HTTPError:
                return

    t = threading.Thread(target=hammer)
    t.start()
    while len(acked) < 8:
        t.join(0.005)
    srv.kill()
    stop.set()
    t.join(10)
    lines = read_manifest(tmp_path / "many" / "output.manifest")  # parses completely: no torn write
    saved = {line["source-ref"] for line in lines}
    assert {f"f{k:06d}.jpg" for k in acked} <= saved  # every acknowledged save is on disk
    assert len(saved) < 40  # and the kill really happened mid-burst
