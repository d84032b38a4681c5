"""The ball on the field and the spot of a play, from registrations and image points, and the
broadcast names of yard lines and hashes."""

from __future__ import annotations

import csv

import numpy as np

from pigskin.field import NOT_REGISTERED, REGISTERED, BallOnField, Registration, write_spots
from pigskin.field.model import nearest_hash, nearest_yard_line

SCALE = np.diag([0.1, 0.1, 1.0])  # image px -> field yd: 10 px a yard, no perspective


def reg(frame: int, ok: bool = True) -> Registration:
    return Registration(frame, REGISTERED if ok else NOT_REGISTERED, SCALE if ok else None, 0.9, 5)


def test_a_ball_that_races_is_in_the_air_and_the_spot_is_where_it_rests(tmp_path):
    ball = BallOnField(fps=30)
    states = []
    path = [(100 + 10 * k, 236) for k in range(10)]  # 1 yd a frame = 30 yd/s: a pass in flight
    path += [(200 + 2 * k, 236) for k in range(10)]  # a runner at 6 yd/s
    path += [(220, 236)] * 12  # down at the 22, y 23.6: on the near hash
    for k, uv in enumerate(path):
        states.append(ball.locate(reg(k), np.array(uv, float)))
    assert {s["field_state"] for s in states[1:10]} == {"air"} and states[5]["field_x"] is None
    assert states[15]["field_state"] == "ground" and states[15]["field_x"] == 21.0
    assert ball.resting() is not None
    assert ball.locate(reg(40, ok=False), np.array([1.0, 1.0]))["field_state"] == NOT_REGISTERED
    assert ball.locate(reg(41), None)["field_state"] == "no ball"
    spot = ball.end_play()
    assert spot["play"] == 0 and spot["frame"] == 20
    assert (spot["field_x"], spot["field_y"]) == (22.0, 23.6)
    assert spot["yard_line"] == "L20" and spot["hash"] == "near hash" and spot["confidence"] > 0.5
    assert ball.end_play()["frame"] is None  # a play whose ball never rests has no spot
    write_spots(tmp_path / "spots.csv", ball.spots)
    rows = list(csv.DictReader((tmp_path / "spots.csv").open()))
    assert list(rows[0]) == ["play", "frame", "field_x", "field_y", "yard_line", "hash", "confidence"]
    assert rows[0]["yard_line"] == "L20" and rows[1]["field_x"] == ""


def test_yard_line_and_hash_names():
    assert [nearest_yard_line(x) for x in (-3, 1.2, 33, 50.4, 77.6, 99, 104)] == [
        "L EZ", "L G", "L35", "50", "R20", "R G", "R EZ"]
    assert [nearest_hash(y) for y in (2, 23.4, 26.7, 29.9, 50, 60)] == [
        "near side", "near hash", "between hashes", "far hash", "far side", "out of bounds"]
