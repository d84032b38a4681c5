"""Field registration from pixels: an exact homography is recovered from drawn markings, a frame
with no markings is "not registered" (not a wrong answer), hidden yard numbers do not matter once
the previous frame is registered, and the clip truth carries the exact homography."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest

from pigskin.errors import FormatError
from pigskin.field import NOT_REGISTERED, REGISTERED, FieldTracker, read_start, register_frames
from pigskin.field.align import apply, to_image

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from field_helpers import (  # noqa: E402
    H,
    W,
    draw_markings,
    exact_camera_homography,
    field_error,
    nudged,
    synth_frames,
)


@pytest.mark.parametrize("target_x,width_yd", [(45.0, 0.11), (12.0, 0.11), (12.0, 0.2)])
def test_exact_homography_is_recovered_from_drawn_lines_within_a_tenth_of_a_yard(target_x, width_yd):
    truth = exact_camera_homography(target_x)
    frame = draw_markings(truth, width_yd)
    reg = FieldTracker(nudged(truth, dx=0.8, dy=0.4, zoom=1.015)).update(frame, 0)
    assert reg.state == REGISTERED and reg.yard_lines >= 4
    err = field_error(reg.homography, truth, (0, 0, W, H))
    # over the whole visible field: 90% of it within 0.1 yd, and nowhere (the far corners) beyond 0.25
    p90 = np.percentile(err, 90)
    assert len(err) > 100 and np.median(err) <= 0.07 and p90 <= 0.1 and err.max() <= 0.25, (p90, err.max())


@pytest.mark.parametrize("index", [0, 1])  # an end-zone and a sideline clip
def test_rendered_broadcast_frame_registers_from_a_nudged_start(index):
    (rgb, truth, attrs), _ = synth_frames(index)
    reg = FieldTracker(nudged(truth, dx=0.3, dy=0.15, zoom=1.005)).update(rgb, 0)  # a frame's motion
    assert reg.registered and reg.confidence >= 0.45
    err = field_error(reg.homography, truth, (W // 4, H // 4, 3 * W // 4, 3 * H // 4))  # where the ball is
    assert np.median(err) <= 0.5, (attrs["camera"], np.median(err))


def test_close_up_without_lines_is_not_registered():
    rng = np.random.default_rng(3)
    turf = (np.array([70, 122, 58]) + rng.normal(0, 4, (H, W, 3))).clip(0, 255).astype(np.uint8)
    turf[:, ::40] = np.clip(turf[:, ::40].astype(int) + 6, 0, 255)  # mowing stripes, not paint
    player = turf.copy()
    player[100:300, 250:330] = (150, 20, 30)  # a jersey filling the picture
    player[140:200, 270:310] = (240, 240, 240)  # its white number
    tracker = FieldTracker(exact_camera_homography())
    for k, frame in enumerate((turf, player)):
        reg = tracker.update(frame, k)
        assert reg.state == NOT_REGISTERED and reg.homography is None


def test_frame_with_hidden_yard_numbers_registers_after_a_registered_frame():
    (rgb0, h0, _), (rgb1, h1, _) = synth_frames(1)
    tracker = FieldTracker(nudged(h0))
    assert tracker.update(rgb0, 0).registered
    hidden = rgb1.copy()
    turf = np.median(rgb1[H // 2 :].reshape(-1, 3), axis=0).astype(np.uint8)
    for x in range(10, 100, 10):  # paint turf over every number (centred 8 yd from each sideline)
        for y in (8.0, 160 / 3 - 8.0):
            uv, ok = to_image(h1, np.array([(x - 2.2, y - 1.3), (x + 2.2, y + 1.3)]))
            if ok.all():
                (u0, v0), (u1, v1) = np.sort(uv, axis=0).astype(int)
                hidden[max(v0, 0):max(v1, 0), max(u0, 0):max(u1, 0)] = turf
    assert (hidden != rgb1).any()
    reg = tracker.update(hidden, 1)
    assert reg.registered
    assert np.median(field_error(reg.homography, h1, (W // 4, H // 4, 3 * W // 4, 3 * H // 4))) <= 0.5


def test_register_frames_returns_a_homography_per_frame():
    frames = [f for f, _, _ in synth_frames(1)]
    regs = list(register_frames(frames, nudged(synth_frames(1)[0][1])))
    assert [r.frame for r in regs] == [0, 1] and all(r.homography.shape == (3, 3) for r in regs)
    doc = regs[0].to_dict()
    assert doc["state"] == REGISTERED and np.array(doc["homography"]).shape == (3, 3)


def test_clip_truth_holds_the_exact_homography_and_the_ball_on_the_field():
    _, truth, attrs = synth_frames(0)[0]
    s = attrs["synth"]
    # the ball's own image point maps to its field spot, up to its height seen obliquely
    xy = apply(truth, np.array([s["ball_center"]]))[0][0]
    assert np.linalg.norm(xy - s["ball_field"]) < 1.0 + 3 * s["ball_height"]
    assert s["ball_field"][0] == pytest.approx(s["ball_xyz"][0] - 10.0, abs=1e-3)
    assert s["ball_height"] == pytest.approx(s["ball_xyz"][2], abs=1e-3)


def test_read_start_takes_json_or_truth_and_names_a_bad_file(tmp_path):
    h = exact_camera_homography()
    (tmp_path / "h.json").write_text(json.dumps({"homography": h.tolist()}))
    (tmp_path / "c.truth.jsonl").write_text(json.dumps({"frame": 0, "field_h": h.tolist()}) + "\n")
    assert np.allclose(read_start(tmp_path / "h.json"), h)
    assert np.allclose(read_start(tmp_path / "c.truth.jsonl"), h)
    (tmp_path / "bad.json").write_text(json.dumps({"homography": [[1, 2], [3, 4]]}))
    with pytest.raises(FormatError, match="bad.json"):
        read_start(tmp_path / "bad.json")
    with pytest.raises(ValueError, match="invertible"):
        FieldTracker(np.zeros((3, 3)))
