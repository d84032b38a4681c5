"""Kalman filter and RTS smoother in image coordinates, and the offline track clean-up."""

from __future__ import annotations

import numpy as np
import pytest

from pigskin.track.kalman import KalmanFilter, initial_covariance, motion_model, rts_smooth
from pigskin.track.offline import smooth
from pigskin.track.tracker import TrackerConfig


@pytest.mark.parametrize("order", [1, 2])
def test_filter_locks_onto_noise_free_motion_of_its_order(order):
    t = np.arange(40, dtype=float)
    acc = 0.5 if order == 2 else 0.0
    truth = np.stack([10 + 4 * t + acc * t**2 / 2, 50 - 2 * t], axis=1)
    model = motion_model(order, process_noise=0.01, measurement_noise=0.5)
    kf = KalmanFilter(model)
    kf.init(truth[0], initial_covariance(model, 10.0))
    for z in truth[1:]:
        kf.predict()
        kf.update(z)
    assert np.allclose(kf.position, truth[-1], atol=0.3)
    nxt, std = kf.peek()
    expected = truth[-1] + (truth[-1] - truth[-2]) + (acc, 0.0)
    assert np.allclose(nxt, expected, atol=0.5)
    assert 0.4 < std < 2.0
    assert np.allclose(kf.position, truth[-1], atol=0.3)  # peek changed nothing


def test_motion_model_rejects_other_orders():
    with pytest.raises(ValueError, match="order"):
        motion_model(3, 1.0, 1.0)


def test_rts_smoother_beats_the_filter_and_bridges_gaps():
    rng = np.random.default_rng(0)
    t = np.arange(60, dtype=float)
    truth = np.stack([100 + 10 * t, 400 - 20 * t + 0.5 * t**2], axis=1)
    z = truth + rng.normal(0, 2.0, truth.shape)
    z[25:35] = np.nan
    model = motion_model(2, 0.1, 2.0)
    xs, std = rts_smooth(model, z, initial_covariance(model, 20.0))
    err = np.linalg.norm(xs[:, 0] - truth, axis=1)
    raw = np.linalg.norm(z - truth, axis=1)
    assert np.nanmean(err[5:25]) < np.nanmean(raw[5:25])
    assert err[25:35].max() < 5.0
    assert std[30] > std[10]  # less sure in the middle of the gap


def test_rts_smoother_needs_a_first_measurement():
    model = motion_model(1, 1.0, 1.0)
    with pytest.raises(ValueError, match="first row"):
        rts_smooth(model, np.array([[np.nan, np.nan], [1.0, 1.0]]), np.eye(2))


def _rows(truth, hidden, lost=()):
    rows = []
    for i, (x, y) in enumerate(truth):
        if i in lost:
            rows.append(dict(frame=i, time_s=i / 30, x1=None, y1=None, x2=None, y2=None, cx=None, cy=None,
                             score=None, state="lost"))
            continue
        state = "predicted" if i in hidden else "detected"
        px, py = (x + 30, y) if i in hidden else (x, y)  # a poor online guess during the gap
        rows.append(dict(frame=i, time_s=i / 30, x1=px - 5, y1=py - 4, x2=px + 5, y2=py + 4, cx=px, cy=py,
                         score=None if i in hidden else 0.9, state=state))
    return rows


def test_smooth_fills_short_gaps_and_keeps_long_ones():
    t = np.arange(80, dtype=float)
    truth = np.stack([100 + 6 * t, 300 - 10 * t + 0.25 * t**2], axis=1)
    short = set(range(20, 28))
    long_gap = set(range(45, 75))
    out = smooth(_rows(truth, short, lost=long_gap), TrackerConfig(), max_gap=15)
    assert len(out) == 80 and [r["frame"] for r in out] == list(range(80))
    for i in short:
        r = out[i]
        assert r["state"] == "predicted" and r["score"] is None
        assert np.hypot(r["cx"] - truth[i, 0], r["cy"] - truth[i, 1]) < 3.0  # the online guess was 30 px off
        assert r["x2"] - r["x1"] == pytest.approx(10.0)
    assert all(out[i]["state"] == "lost" and out[i]["cx"] is None for i in long_gap)
    assert out[10]["state"] == "detected" and out[10]["score"] == 0.9


def test_smooth_refuses_rows_out_of_order():
    rows = _rows(np.zeros((3, 2)), set())
    with pytest.raises(ValueError, match="consecutive"):
        smooth([rows[0], rows[2], rows[1]])


def test_smooth_keeps_a_bounce_sharp():
    """A bounce (vertical speed reversed at frame 30) next to a gap: the smoother restarts the motion
    at the jump instead of bending the frames around it, as the online tracker does."""
    t = np.arange(60, dtype=float)
    y = np.where(t < 30, 100 + 12 * t, 100 + 12 * 29 - 12 * (t - 29))
    truth = np.stack([200 + 8 * t, y], axis=1)
    gap = set(range(20, 28))
    rows = _rows(truth, gap)
    err = {}
    for name, cfg in (("restart", TrackerConfig()), ("no restart", TrackerConfig(maneuver_sigmas=1e9))):
        out = smooth(rows, cfg)
        err[name] = max(np.hypot(out[i]["cx"] - truth[i, 0], out[i]["cy"] - truth[i, 1]) for i in gap)
    assert err["restart"] < 8.0
    assert err["no restart"] > 2 * err["restart"]
