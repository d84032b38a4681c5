"""Camera geometry and the ball's projected size: the pieces the label maths stands on."""

from __future__ import annotations

import numpy as np

from pigskin.synth.ball import LENGTH, render_ball
from pigskin.synth.camera import FIELD_WIDTH, focal_for_size, look_at


def _camera():
    pos = np.array([60.0, -55.0, 27.0])
    return look_at(pos, (45.0, 26.0, 0.0), 2600.0, 1280, 720, "sideline")


def test_ground_homography_matches_the_projection_and_inverts():
    cam = _camera()
    pts = np.array([[40.0, 10.0], [55.0, 30.0], [30.0, 45.0], [60.0, FIELD_WIDTH / 2]])
    uv, depth = cam.project(np.c_[pts, np.zeros(len(pts))])
    assert (depth > 0).all()
    h = cam.ground_homography @ np.c_[pts, np.ones(len(pts))].T
    assert np.allclose((h[:2] / h[2]).T, uv, atol=1e-6)
    assert np.allclose(cam.image_to_ground(uv), pts, atol=1e-6)
    sky = cam.image_to_ground(np.array([[640.0, -5000.0]]))  # far above the horizon
    assert np.isnan(sky).all()


def test_zoom_sets_the_ball_length():
    pos = np.array([60.0, -55.0, 27.0])
    ball = np.array([45.0, 26.0, 1.0])
    f = focal_for_size(pos, ball, 12.0, LENGTH)
    cam = look_at(pos, ball, f, 1280, 720, "sideline")
    side_on = np.cross(cam.R[2], [0.0, 0.0, 1.0])  # long axis across the line of sight
    patch = render_ball(cam, ball, side_on, [0, 0, 1.0], (0.0, 0.0), 0.0, [0, -1.0, 0])
    assert abs(patch.length_px - 12.0) < 0.2
    cols = np.nonzero(patch.alpha.max(axis=0) >= 0.5)[0]
    assert abs((cols.max() - cols.min() + 1) - 12.0) <= 1.5  # the pixels agree with the geometry
    end_on = cam.R[2]  # pointing at the camera: only the 6.7-inch circle shows
    patch = render_ball(cam, ball, end_on, [0, 0, 1.0], (0.0, 0.0), 0.0, [0, -1.0, 0])
    assert abs(patch.length_px - 12.0 * 6.7 / 11.0) < 0.2


def test_motion_blur_smears_along_the_image_velocity():
    cam = _camera()
    ball = np.array([45.0, 26.0, 3.0])
    axis = np.cross(cam.R[2], [0.0, 0.0, 1.0])
    sharp = render_ball(cam, ball, axis, [0, 0, 1.0], (600.0, 0.0), 0.0, [0, -1.0, 0])
    smeared = render_ball(cam, ball, axis, [0, 0, 1.0], (600.0, 0.0), 1 / 60, [0, -1.0, 0])
    assert smeared.blur_px == 10.0
    assert np.isclose(smeared.alpha.sum(), sharp.alpha.sum(), rtol=0.02)  # same ink, spread out

    def extent(p, axis_):
        idx = np.nonzero(p.alpha.max(axis=axis_) >= 0.25)[0]
        return idx.max() - idx.min() + 1

    # longer along x: by the smear less the faint quarter at each end that falls under the threshold
    lo, hi = extent(sharp, 0) + 0.5 * smeared.blur_px - 1, extent(sharp, 0) + smeared.blur_px + 1
    assert lo <= extent(smeared, 0) <= hi
    assert extent(smeared, 1) <= extent(sharp, 1)  # not taller (its thin top and bottom fade instead)
