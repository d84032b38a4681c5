"""The wire format and input decoding, without a server: options, Detections <-> JSON, bad bytes."""

from __future__ import annotations

import base64
import io
import json

import numpy as np
import pytest
from serve_helpers import encode, noise, png_header_only

from pigskin.cli import main
from pigskin.detections import Detections
from pigskin.errors import PigskinError
from pigskin.serve.app import bind_port
from pigskin.serve.export import compare_detections
from pigskin.serve.inputs import decode_body, decode_image
from pigskin.serve.metrics import BUCKETS, server_metrics
from pigskin.serve.schema import (
    Options,
    RequestError,
    json_lines,
    parse_custom_attributes,
    parse_options,
    prediction_to_dict,
    predictions_from_body,
    response_body,
)


def test_options_from_header_query_and_precedence():
    header = parse_custom_attributes("score_threshold=0.3, max_detections=10,trace=abc")
    assert header == Options(0.3, 10)  # SageMaker may add other attributes: ignored
    query = parse_options([("max_detections", "2"), ("other", "x")], "query")
    assert header.merged(query) == Options(0.3, 2)
    assert Options(0.5, None).merged(Options()) == Options(0.5, None)
    assert parse_custom_attributes(None) == Options()


@pytest.mark.parametrize(
    "pairs, field",
    [([("score_threshold", "abc")], "score_threshold"), ([("score_threshold", "1.5")], "score_threshold"),
     ([("max_detections", "2.5")], "max_detections"), ([("max_detections", "-1")], "max_detections"),
     ([("score_threshold", "nan")], "score_threshold"), ([("max_detections", True)], "max_detections")],
)
def test_bad_options_are_400_naming_the_field(pairs, field):
    with pytest.raises(RequestError) as info:
        parse_options(pairs, "query")
    assert info.value.status == 400 and field in info.value.message


def test_prediction_round_trip_keeps_float32_exactly():
    rng = np.random.default_rng(1)
    xy = rng.uniform(0, 600, (5, 2)).astype(np.float32)
    dets = Detections(np.hstack([xy, xy + rng.uniform(1, 30, (5, 2)).astype(np.float32)]),
                      np.array([0, 1, 0, 1, 5]), rng.uniform(0, 1, 5).astype(np.float32))
    body = response_body([prediction_to_dict(dets, ["football", "shadow"], 640, 360)], {"name": "m"}, 1.0)
    (back,) = predictions_from_body(json.dumps(body), "application/json")
    assert back.detections.equals(dets, atol=0.0)
    assert (back.width, back.height) == (640, 360)
    assert back.class_names == ["football", "shadow", "football", "shadow", "5"]  # unknown id: its number
    text = json_lines([prediction_to_dict(dets, ["football"], 640, 360)] * 2, {"name": "m"}, 2.0)
    lines = [json.loads(line) for line in text.splitlines()]
    assert [line["index"] for line in lines] == [0, 1] and lines[1]["model"] == {"name": "m"}
    assert predictions_from_body(text, "application/jsonlines")[1].detections.equals(dets, atol=0.0)


def test_decode_every_content_type_gives_the_pixels():
    a, b = noise(32, 24, 1), noise(16, 20, 2)
    png = encode(a)
    b64 = base64.b64encode(png).decode()
    npy = io.BytesIO()
    np.save(npy, np.stack([a, a]))
    cases = {
        ("image/png", png): [a],
        ("application/x-image", png): [a],
        ("image/jpeg; charset=binary", png): [a],  # the bytes decide the codec, the type the route
        ("application/json", json.dumps(b64).encode()): [a],
        ("application/json", json.dumps([b64, base64.b64encode(encode(b)).decode()]).encode()): [a, b],
        ("application/json", json.dumps({"image": "data:image/png;base64," + b64}).encode()): [a],
        ("application/x-npy", npy.getvalue()): [a, a],
    }
    for (kind, body), expected in cases.items():
        got = decode_body(body, kind, 10**6).images
        assert len(got) == len(expected)
        assert all(np.array_equal(g, e) for g, e in zip(got, expected, strict=True))
    body = json.dumps({"images": [b64], "max_detections": 3}).encode()
    assert decode_body(body, "application/json", 10**6).options == Options(None, 3)


def npy_bytes(arr: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, arr)
    return buffer.getvalue()


@pytest.mark.parametrize(
    "kind, body, status, words",
    [
        ("image/jpeg", b"", 400, "empty"),
        ("image/jpeg", encode(noise(), "JPEG")[:600], 400, "truncated"),
        ("image/png", encode(noise())[:-40], 400, "truncated"),
        ("image/png", b"definitely not an image" * 10, 400, "not an image"),
        ("text/plain", b"hello", 415, "not supported"),
        (None, b"hello", 415, "not supported"),
        ("application/json", b"{not json", 400, "not valid JSON"),
        ("application/json", b'{"image": "@@@not base64@@@"}', 400, "base64"),
        ("application/json", b'{"image": 42}', 400, "base64 string"),
        ("application/json", b'{"pictures": []}', 400, "expected"),
        ("application/json", b"[]", 400, "no images"),
        ("application/json", json.dumps(base64.b64encode(b"junk").decode()).encode(), 400, "not an image"),
        ("application/x-npy", b"\x93NUMPY garbage", 400, ".npy"),
        ("application/x-npy", npy_bytes(np.zeros((4, 4, 3), np.float32)), 400, "uint8"),
        ("application/x-npy", npy_bytes(np.zeros((4, 4), np.uint8)), 400, "shape"),
        ("application/x-npy", npy_bytes(np.array([{"a": 1}], dtype=object)), 400, ".npy"),  # pickles refused
        ("image/png", png_header_only(50_000, 50_000), 413, "pixels"),
    ],
)
def test_bad_bodies_are_refused_with_a_reason(kind, body, status, words):
    with pytest.raises(RequestError) as info:
        decode_body(body, kind, max_pixels=4_000_000)
    assert info.value.status == status and words in info.value.message


def test_pixel_limit_counts_the_whole_request():
    b64 = base64.b64encode(encode(noise(100, 100))).decode()
    decode_body(json.dumps([b64, b64]).encode(), "application/json", 20_000)
    with pytest.raises(RequestError) as info:
        decode_body(json.dumps([b64, b64, b64]).encode(), "application/json", 20_000)
    assert info.value.status == 413 and "body[2]" in info.value.message
    assert decode_image(encode(noise(100, 100)), 10_000).shape == (100, 100, 3)


def test_metrics_exposition_is_cumulative_and_consistent():
    m = server_metrics()
    for seconds in (0.001, 0.02, 0.02, 100.0):
        m.observe("pigskin_inference_duration_seconds", seconds)
    m.inc("pigskin_requests_total", (("route", "/ping"), ("status", "200")), 3)
    text = m.render()
    assert 'pigskin_requests_total{route="/ping",status="200"} 3' in text
    buckets = [float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line.startswith("pigskin_inference_duration_seconds_bucket")]
    assert len(buckets) == len(BUCKETS) + 1 and buckets == sorted(buckets)
    assert buckets[0] == 1 and buckets[BUCKETS.index(0.025)] == 3 and buckets[-1] == 4
    assert "pigskin_inference_duration_seconds_count 4" in text
    assert "pigskin_inference_duration_seconds_sum 100.041000" in text


def test_comparison_pairs_tied_scores_whatever_their_order():
    a = Detections(np.array([[0, 0, 10, 10], [50, 50, 60, 60], [5, 5, 9, 9]], np.float32), [0, 0, 1],
                   np.array([0.5, 0.5, 0.4], np.float32))
    moved = a.xyxy[[1, 0, 2]] + np.float32(1e-5)
    same = compare_detections([a], [Detections(moved, [0, 0, 1], np.array([0.5, 0.5, 0.4000001]))])
    assert same.ok(1e-4, 1e-4) and same.max_box_diff > 0
    shifted = compare_detections([a], [Detections(a.xyxy + 2, a.class_id, a.confidence)])
    assert not shifted.ok(1e-4, 1e-4) and shifted.max_box_diff == 2
    relabelled = compare_detections([a], [Detections(a.xyxy, [0, 1, 1], a.confidence)])
    assert relabelled.class_mismatches == 1 and not relabelled.ok(1.0, 1.0)
    assert compare_detections([a], [a[:2]]).count_mismatches == ["frame 0: 3 vs 2"]


def test_sagemaker_bind_to_port_overrides_the_port(monkeypatch):
    monkeypatch.delenv("SAGEMAKER_BIND_TO_PORT", raising=False)
    assert bind_port(8080) == 8080
    monkeypatch.setenv("SAGEMAKER_BIND_TO_PORT", "9090")
    assert bind_port(8080) == 9090
    monkeypatch.setenv("SAGEMAKER_BIND_TO_PORT", "http")
    with pytest.raises(PigskinError, match="SAGEMAKER_BIND_TO_PORT"):
        bind_port(8080)


def test_serve_refuses_a_path_that_is_no_model_before_listening(tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("not a model")
    cases = [(tmp_path / "missing.tar.gz", "no such model"),
             (tmp_path / "notes.txt", "not a readable model.tar.gz"),
             (tmp_path, "neither pigskin-model.json")]
    for bad, words in cases:
        assert main(["serve", "--model", str(bad), "--port", "1"]) == 2
        assert words in capsys.readouterr().err
