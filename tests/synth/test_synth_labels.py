"""The label box is measured from the renderer's own masks, and says exactly where ball pixels are."""

from __future__ import annotations

import math

import numpy as np
import pytest

from pigskin.synth import preset, render_frame, render_still, sample_still
from pigskin.synth.sprites import build_sprites

# small frames, no defocus (a blur would spread the ball beyond its mask by design)
CFG = preset("broadcast", width=320, height=180, defocus_p=0.0, seed=3)


def _tight_box(mask: np.ndarray, x0: int, y0: int) -> list[float]:
    rows, cols = np.nonzero(mask)
    return [x0 + cols.min(), y0 + rows.min(), x0 + cols.max() + 1, y0 + rows.max() + 1]


def _frames_with_ball(cfg, want: int, limit: int = 60):
    out = []
    for i in range(limit):
        state, cam, look = sample_still(cfg, i)
        frame = render_frame(state, cam, look, cfg)
        if len(frame.detections):
            out.append((i, state, cam, look, frame))
        if len(out) == want:
            break
    assert len(out) == want, "the default preset should show the ball in most stills"
    return out


def test_box_is_the_tight_box_of_visible_ball_pixels():
    for _, _, _, _, frame in _frames_with_ball(CFG, 6):
        patch, vis = frame.ball, frame.visible
        assert patch is not None and vis is not None
        on = vis >= CFG.alpha_threshold
        assert frame.detections.xyxy[0].tolist() == _tight_box(on, patch.x0, patch.y0)
        x1, y1, x2, y2 = frame.detections.xyxy[0]
        assert 0 <= x1 < x2 <= CFG.width and 0 <= y1 < y2 <= CFG.height
        # nothing the ball covers by the threshold lies outside the box
        ys, xs = np.mgrid[patch.y0 : patch.y0 + vis.shape[0], patch.x0 : patch.x0 + vis.shape[1]]
        outside = (xs < x1) | (xs >= x2) | (ys < y1) | (ys >= y2)
        assert not (on & outside).any()


def test_ball_changes_pixels_only_inside_its_box_or_its_faint_edge_or_shadow():
    """Render the same scene with and without the ball: every changed pixel is in the box, or is a
    pixel the ball covers by less than the threshold (antialiased edge, smear tail), or its shadow."""
    for _, state, cam, look, frame in _frames_with_ball(CFG, 5):
        bare = render_frame(state, cam, look, CFG, draw_ball=False)
        changed = np.abs(frame.rgb.astype(int) - bare.rgb.astype(int)).max(axis=2) > 0
        assert changed.any()
        x1, y1, x2, y2 = (int(v) for v in frame.detections.xyxy[0])
        allowed = np.zeros_like(changed)
        allowed[y1:y2, x1:x2] = True
        p = frame.ball
        faint = np.zeros_like(changed)
        ys, xs = np.nonzero(p.alpha > 0)
        ok = (ys + p.y0 >= 0) & (ys + p.y0 < CFG.height) & (xs + p.x0 >= 0) & (xs + p.x0 < CFG.width)
        faint[ys[ok] + p.y0, xs[ok] + p.x0] = True
        if frame.shadow_box is not None:
            sx1, sy1, sx2, sy2 = frame.shadow_box
            allowed[max(0, sy1) : max(0, sy2), max(0, sx1) : max(0, sx2)] = True
        assert not (changed & ~(allowed | faint)).any()
        # the faint pixels outside the box really are faint
        vis = frame.visible
        out_box = np.ones_like(vis, bool)
        out_box[max(0, y1 - p.y0) : max(0, y2 - p.y0), max(0, x1 - p.x0) : max(0, x2 - p.x0)] = False
        assert (vis[out_box] < CFG.alpha_threshold).all()


def _ray_point(cam, uv, depth_yards):
    """The world point at ``depth_yards`` along the camera ray through pixel ``uv``."""
    d_cam = np.array([(uv[0] - cam.width / 2) / cam.focal, (uv[1] - cam.height / 2) / cam.focal, 1.0])
    return cam.position + cam.R.T @ (d_cam * depth_yards)


def _player_in_view(state, cam, look):
    sprites = [
        s
        for s in build_sprites(state, cam, look)
        if s.kind == "player" and state.down[s.index] < 0.5 and s.image.height > 20
    ]
    assert sprites, "a test scene needs a standing player in view"
    return max(sprites, key=lambda s: s.image.height)


@pytest.mark.parametrize("behind", [True, False])
def test_a_ball_behind_a_player_has_no_box_and_one_in_front_has(behind):
    cfg = preset("broadcast", width=640, height=360, defocus_p=0.0, graphics_p=0.0, seed=11)
    state, cam, look = sample_still(cfg, 2)
    sp = _player_in_view(state, cam, look)
    i = sp.index
    torso = np.array([state.pos[i, 0], state.pos[i, 1], 0.62 * state.height[i]])
    uv, depth = cam.project(torso[None])
    ball = _ray_point(cam, uv[0], float(depth[0]) + (0.6 if behind else -0.6))
    state.ball.pos = ball
    # behind: carried on the far side; in front: a pass passing between him and the camera
    state.ball.mode, state.ball.carrier = ("held", i) if behind else ("air", -1)
    state.ball.axis = np.array([1.0, 0.0, 0.3]) / math.hypot(1.0, 0.3)
    frame = render_frame(state, cam, look, cfg)
    centre = frame.attrs["synth"]["ball_center"]
    assert abs(centre[0] - uv[0, 0]) < 1 and abs(centre[1] - uv[0, 1]) < 1  # the would-be position is kept
    if behind:
        assert len(frame.detections) == 0
        assert frame.attrs["synth"]["ball_visible"] < 0.05
    else:
        assert len(frame.detections) == 1
        assert frame.detections.attrs["visible"][0] > 0.95
        x1, y1, x2, y2 = frame.detections.xyxy[0]
        assert x1 <= uv[0, 0] <= x2 and y1 <= uv[0, 1] <= y2


def test_partly_hidden_ball_box_covers_only_the_visible_part():
    cfg = preset("broadcast", width=640, height=360, defocus_p=0.0, graphics_p=0.0, seed=11)
    state, cam, look = sample_still(cfg, 2)
    sp = _player_in_view(state, cam, look)
    i = sp.index
    torso = np.array([state.pos[i, 0], state.pos[i, 1], 0.62 * state.height[i]])
    uv, depth = cam.project(torso[None])
    # slide the ball sideways in the image until it straddles the player's outline
    alpha = np.asarray(sp.image.getchannel("A")) >= 128
    row = int(round(uv[0, 1])) - sp.y0
    edge = sp.x0 + int(np.nonzero(alpha[row])[0].max()) + 1  # first free pixel right of the torso
    state.ball.pos = _ray_point(cam, (edge, uv[0, 1]), float(depth[0]) + 0.6)
    state.ball.mode, state.ball.carrier = "air", -1
    state.ball.axis = np.array([1.0, 0.0, 0.0])
    frame = render_frame(state, cam, look, cfg)
    assert len(frame.detections) == 1
    vis = frame.detections.attrs["visible"][0]
    assert 0.2 <= vis <= 0.8
    assert math.isclose(frame.detections.attrs["occlusion"][0], round(1 - vis, 2), abs_tol=0.011)
    x1, _, x2, _ = frame.detections.xyxy[0]
    assert x1 >= edge - 1  # the hidden left half is not in the box
    assert x2 - x1 < frame.ball.length_px


def test_attributes_in_range_and_negatives_exist():
    seen_negative = seen_positive = 0
    cameras = set()
    for i in range(40):
        frame, _ = render_still(CFG, i)
        cameras.add(frame.attrs["camera"])
        d = frame.detections
        if not len(d):
            seen_negative += 1
            if frame.visible is not None:  # in view but too hidden, or too few pixels: a negative by the rule
                n_px = int((frame.visible >= CFG.alpha_threshold).sum())
                assert frame.attrs["synth"]["ball_visible"] < CFG.min_visible or n_px < CFG.min_pixels
            continue
        seen_positive += 1
        a = {k: v[0] for k, v in d.attrs.items()}
        assert 0.0 <= a["occlusion"] <= 1.0 - CFG.min_visible + 0.01
        assert CFG.min_visible - 0.01 <= a["visible"] <= 1.0
        assert abs(a["occlusion"] + a["visible"] - 1.0) <= 0.011
        assert 0.0 <= a["contrast"] <= 1.0
        assert a["blur"] >= 0.0
        assert a["camera"] in ("sideline", "endzone")
        assert isinstance(a["in_air"], bool)
        w, h = d.wh[0]
        assert w >= 1 and h >= 1 and w * h >= CFG.min_pixels
    assert seen_negative >= 2 and seen_positive >= 20
    assert cameras == {"sideline", "endzone"}


def test_players_are_a_second_class_on_request():
    cfg = CFG.replace(players=True)
    frame, _ = render_still(cfg, 1)
    players = frame.detections[frame.detections.class_id == 1]
    assert len(players) >= 5
    assert (players.xyxy[:, :2] >= 0).all() and (players.xyxy[:, 2] <= cfg.width).all()
    assert (players.xyxy[:, 3] <= cfg.height).all()
    assert len(frame.attrs["synth"]["player_index"]) == len(players)
    plain, _ = render_still(CFG, 1)
    assert np.array_equal(plain.rgb, frame.rgb)  # labelling players does not change the picture


def test_piles_hide_the_ball():
    """Pile-ups are where the ball disappears: a tackled carrier lies on it under other bodies."""
    hidden = piles = 0
    for i in range(40):
        state, cam, look = sample_still(CFG, i)
        if (
            state.phase_name == "pileup"
            and state.ball.mode == "held"
            and state.down[state.ball.carrier] > 0.5
        ):
            piles += 1
            frame = render_frame(state, cam, look, CFG)
            hidden += frame.attrs["synth"]["ball_visible"] < 0.5
    assert piles >= 3 and hidden >= piles // 2
