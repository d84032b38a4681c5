"""``pigskin serve`` as a real process on a loopback port: the SageMaker routes, every content type,
bad input (each followed by a correct answer), a slow client, 20 concurrent clients, the client."""

from __future__ import annotations

import base64
import io
import json
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import numpy as np
import pytest
from serve_helpers import decode, encode, noise, png_header_only, rss_kib, serving

from pigskin.client import Client, ServeError
from pigskin.serve.export import compare_detections
from pigskin.serve.schema import predictions_from_body

MAX_PAYLOAD = 200 * 1024  # small, so the 413 tests send little
MEMORY_GROWTH_LIMIT_KIB = 300 * 1024  # the server may grow at most 300 MB over 1000 requests
ATOL = 1e-4  # boxes (px) and scores against a direct predict()


@pytest.fixture(scope="module")
def server(artifact, tmp_path_factory):
    log = tmp_path_factory.mktemp("serve") / "server.log"
    with serving(artifact, log, "--threads", "1", "--max-payload", "200KiB", "--body-timeout", "3",
                 "--max-pixels", "4000000", "--max-images", "4") as srv:
        yield srv


def post(server, body: bytes, content_type: str | None, route: str = "/invocations", **kw) -> httpx.Response:
    headers = {"Content-Type": content_type} if content_type else {}
    headers.update(kw.pop("headers", {}))
    return httpx.post(server.url + route, content=body, headers=headers, timeout=60, **kw)


def assert_answers(response: httpx.Response, predictor, images: list[np.ndarray], threshold=None) -> list:
    assert response.status_code == 200, response.text
    got = predictions_from_body(response.content, response.headers["content-type"])
    expected = predictor.predict(images, score_threshold=threshold)
    assert [(p.width, p.height) for p in got] == [(im.shape[1], im.shape[0]) for im in images]
    diff = compare_detections(expected, [p.detections for p in got])
    assert diff.ok(ATOL, ATOL), diff.summary()
    names = [predictor.classes[c] for d in expected for c in d.class_id]
    assert [n for p in got for n in p.class_names] == names
    return got


def npy(arr: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, arr)
    return buffer.getvalue()


def test_ping_is_an_empty_200(server):
    response = httpx.get(server.url + "/ping")
    assert response.status_code == 200 and response.content == b""


def test_every_content_type_answers_as_predict(server, predictor):
    a, b = noise(160, 120, 1), noise(120, 160, 2)
    png, jpeg = encode(a), encode(a, "JPEG", quality=90)
    b64 = [base64.b64encode(x).decode() for x in (png, encode(b))]
    cases = [
        (jpeg, "image/jpeg", [decode(jpeg)]),
        (png, "image/png", [a]),
        (jpeg, "application/x-image", [decode(jpeg)]),
        (json.dumps({"image": b64[0]}).encode(), "application/json", [a]),
        (json.dumps(b64).encode(), "application/json", [a, b]),
        (npy(a), "application/x-npy", [a]),
        (npy(np.stack([a, a[::-1].copy()])), "application/x-npy", [a, a[::-1]]),
    ]
    total = 0
    for body, kind, images in cases:
        for route in ("/invocations", "/v1/detect"):
            got = assert_answers(post(server, body, kind, route), predictor, images)
            total += sum(len(p.detections) for p in got)
    assert total > 0  # the comparison compared boxes, not only empty answers


def test_tiny_and_extreme_frames_are_answered(server, predictor):
    for w, h in ((1, 1), (1, 300), (300, 1), (2000, 3)):
        image = noise(w, h, w + h)
        assert_answers(post(server, encode(image), "image/png"), predictor, [image])


def test_response_carries_model_and_latency_and_json_lines(server, predictor, artifact):
    a = noise(160, 120, 3)
    body = post(server, encode(a), "image/png").json()
    assert body["model"]["name"] == predictor.name and body["model"]["backend"] == "torch"
    assert len(body["model"]["version"]) == 16 and body["latency_ms"] > 0
    lines_wanted = {"Accept": "application/jsonlines"}
    response = post(server, npy(np.stack([a, a])), "application/x-npy", headers=lines_wanted)
    assert response.headers["content-type"].startswith("application/jsonlines")
    lines = [json.loads(line) for line in response.text.splitlines()]
    assert [line["index"] for line in lines] == [0, 1] and lines[0]["model"] == body["model"]
    assert_answers(response, predictor, [a, a])
    assert post(server, encode(a), "image/png", headers={"Accept": "text/csv"}).status_code == 406


def test_options_by_query_and_sagemaker_header(server, predictor):
    a = noise(160, 120, 4)
    full = predictor.predict([a], score_threshold=0.0)[0]
    assert len(full) > 3
    assert_answers(post(server, encode(a), "image/png", params={"score_threshold": "0"}), predictor, [a], 0.0)
    header = {"X-Amzn-SageMaker-Custom-Attributes": "score_threshold=0,max_detections=3"}
    response = post(server, encode(a), "image/png", headers=header)
    (got,) = predictions_from_body(response.content, "application/json")
    top = full[np.argsort(-full.confidence, kind="stable")[:3]]
    assert compare_detections([top], [got.detections]).ok(ATOL, ATOL)
    # the query string wins over the header
    response = post(server, encode(a), "image/png", headers=header, params={"max_detections": "1"})
    assert len(response.json()["predictions"][0]["detections"]) == 1
    bad = post(server, encode(a), "image/png", params={"score_threshold": "high"})
    assert bad.status_code == 400 and "score_threshold" in bad.json()["error"]


def test_model_metadata_route(server, predictor):
    info = httpx.get(server.url + "/v1/model").json()
    assert info["name"] == predictor.name and info["classes"] == predictor.classes
    assert info["defaults"] == {"score_threshold": 0.05, "max_detections": 50}
    assert info["limits"]["max_payload"] == MAX_PAYLOAD and info["metrics"] == {"map50": 0.5}
    assert "image/jpeg" in info["content_types"]


def test_metrics_count_requests_by_route_and_status(server):
    def count(text: str, route: str, status: int) -> float:
        key = f'pigskin_requests_total{{route="{route}",status="{status}"}} '
        return next((float(line[len(key):]) for line in text.splitlines() if line.startswith(key)), 0.0)

    before = httpx.get(server.url + "/metrics").text
    post(server, encode(noise(40, 30)), "image/png")
    post(server, b"nope", "text/plain")
    after = httpx.get(server.url + "/metrics")
    assert after.headers["content-type"].startswith("text/plain")
    assert count(after.text, "/invocations", 200) == count(before, "/invocations", 200) + 1
    assert count(after.text, "/invocations", 415) == count(before, "/invocations", 415) + 1
    assert "pigskin_up{pid=" in after.text and "pigskin_model_load_seconds" in after.text
    assert "pigskin_inference_duration_seconds_count" in after.text


def chunked(data: bytes, size: int = 16384):
    for i in range(0, len(data), size):
        yield data[i : i + size]


BAD = {
    "over the limit (Content-Length)": (lambda: (b"\0" * (MAX_PAYLOAD + 50_000), "image/jpeg"), 413),
    "over the limit (chunked)": (lambda: (chunked(b"\0" * (MAX_PAYLOAD + 50_000)), "image/jpeg"), 413),
    "empty body": (lambda: (b"", "image/jpeg"), 400),
    "truncated JPEG": (lambda: (encode(noise(), "JPEG")[:700], "image/jpeg"), 400),
    "text/plain": (lambda: (b"a football", "text/plain"), 415),
    "no content type": (lambda: (encode(noise()), None), 415),
    "garbage bytes": (lambda: (bytes(range(256)) * 20, "image/png"), 400),
    "bad JSON": (lambda: (b'{"image": ', "application/json"), 400),
    "bad base64": (lambda: (b'{"image": "%%%"}', "application/json"), 400),
    "bad npy": (lambda: (b"\x93NUMPY\x01\x00garbage", "application/x-npy"), 400),
    "float npy": (lambda: (npy(np.zeros((8, 8, 3))), "application/x-npy"), 400),
    "decompression bomb": (lambda: (png_header_only(40_000, 40_000), "image/png"), 413),
    "too many images": (lambda: (npy(np.zeros((5, 8, 8, 3), np.uint8)), "application/x-npy"), 413),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_input_gets_a_json_error_and_the_server_still_answers(server, predictor, case):
    make, status = BAD[case]
    body, kind = make()
    response = post(server, body, kind)
    assert response.status_code == status
    assert response.json()["status"] == status and response.json()["error"]
    a = noise(160, 120, 5)
    assert_answers(post(server, encode(a), "image/png"), predictor, [a])


def test_a_slow_client_blocks_nobody_and_times_out(server, predictor):
    body = encode(noise(160, 120, 6))
    with socket.create_connection(("127.0.0.1", int(server.url.rsplit(":", 1)[1]))) as slow:
        head = (f"POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\n"
                f"Content-Length: {len(body)}\r\n\r\n").encode()
        slow.sendall(head + body[:100])  # ...and never the rest
        started = time.monotonic()
        assert httpx.get(server.url + "/ping", timeout=5).status_code == 200
        a = noise(160, 120, 7)
        assert_answers(post(server, encode(a), "image/png"), predictor, [a])
        slow.settimeout(60)
        answer = slow.recv(4096)
    assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
    assert time.monotonic() - started >= 2.0  # --body-timeout 3: the server waited, then gave up


def same_in_order(a, b) -> bool:
    if len(a) != len(b) or not np.array_equal(a.class_id, b.class_id):
        return False
    boxes, scores = np.abs(a.xyxy - b.xyxy), np.abs(a.confidence - b.confidence)
    return bool(np.all(boxes <= ATOL) and np.all(scores <= ATOL))


def test_twenty_clients_fifty_requests_each(server, predictor):
    images = [noise(160, 120, 100 + i) for i in range(10)]
    bodies = [encode(im) for im in images]
    expected = predictor.predict(images)
    for body in bodies:  # warm-up, so the memory baseline includes what the first requests allocate
        assert post(server, body, "image/png").status_code == 200
    before = rss_kib(server.pid)
    problems: list[str] = []
    lock = threading.Lock()

    png = {"Content-Type": "image/png"}

    def client(k: int) -> int:
        done = 0
        with httpx.Client(timeout=120) as http:
            for j in range(50):
                i = (k + j) % len(images)
                try:
                    r = http.post(server.url + "/invocations", content=bodies[i], headers=png)
                except httpx.HTTPError as exc:
                    with lock:
                        problems.append(f"client {k} request {j}: {exc!r}")
                    continue
                if r.status_code != 200:
                    with lock:
                        problems.append(f"client {k} request {j}: HTTP {r.status_code} {r.text[:200]}")
                    continue
                (got,) = predictions_from_body(r.content, r.headers["content-type"])
                if not same_in_order(expected[i], got.detections):  # the cheap check first
                    diff = compare_detections([expected[i]], [got.detections])
                    if not diff.ok(ATOL, ATOL):
                        with lock:
                            problems.append(f"client {k} request {j}: {diff.summary()}")
                done += 1
        return done

    deadline = time.monotonic() + 300  # a bound, not a speed claim: a hung server fails here
    with ThreadPoolExecutor(20) as pool:
        futures = [pool.submit(client, k) for k in range(20)]
        done = sum(f.result(timeout=max(1.0, deadline - time.monotonic())) for f in futures)
    growth = rss_kib(server.pid) - before
    assert not problems, problems[:5]
    assert done == 1000
    assert growth < MEMORY_GROWTH_LIMIT_KIB, f"server memory grew {growth / 1024:.0f} MB"


def test_client_detects_and_refuses_without_retrying(server, predictor):
    a, b = noise(160, 120, 8), noise(96, 64, 9)
    with Client(server.url, retries=2, backoff=0.05) as client:
        client.wait_ready(timeout=10)
        got = client.detect(a, score_threshold=0.0)
        assert compare_detections(predictor.predict([a], 0.0), [got.detections]).ok(ATOL, ATOL)
        batch = client.detect_batch([a, b])  # two sizes: a JSON list of PNGs
        assert compare_detections(predictor.predict([a, b]), [p.detections for p in batch]).ok(ATOL, ATOL)
        assert client.model_info()["name"] == predictor.name
        with pytest.raises(ServeError) as info:
            client.detect(b"not an image at all", content_type="image/png")
        assert info.value.status == 400 and "not an image" in str(info.value)
        assert client.retried == 0  # a refusal is final


def test_client_gives_a_clear_error_when_nothing_listens():
    with socket.socket() as s:  # a port that was free a moment ago and has no listener
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with Client(f"http://127.0.0.1:{port}", retries=2, backoff=0.05) as client:
        with pytest.raises(ServeError) as info:
            client.detect(noise(32, 32))
        assert "after 3 attempts" in str(info.value) and "ConnectError" in str(info.value)
        assert client.retried == 2 and not client.ping()
