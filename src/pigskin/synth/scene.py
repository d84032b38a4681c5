"""Random stills: a play, a moment in it, a camera pose and a look, all from frame ``index``'s own seed.

Frame ``i`` draws from ``SeedSequence([seed, i])`` split into independent streams (play, motion,
camera, look), so it is the same whichever worker renders it, and changing how one part samples
does not reshuffle the others.
"""

from __future__ import annotations

import math

import numpy as np

from pigskin.synth.ball import LENGTH
from pigskin.synth.camera import (
    FIELD_LENGTH,
    FIELD_WIDTH,
    Camera,
    endzone_position,
    focal_for_size,
    look_at,
    sideline_position,
)
from pigskin.synth.config import SynthConfig, preset
from pigskin.synth.effects import Look, sample_look
from pigskin.synth.play import PlaySim
from pigskin.synth.playbook import PlayScript, SceneState, sample_game, sample_script
from pigskin.synth.render import Frame, render_frame

STILL_DT = 1 / 10  # stills only need where things are, not smooth motion


def streams(seed: int, index: int, n: int = 4, tag: int = 0) -> list[np.random.Generator]:
    """``n`` independent generators for item ``index`` (``tag`` separates stills from clips)."""
    return [np.random.default_rng(s) for s in np.random.SeedSequence([int(seed), int(index), tag]).spawn(n)]


def sample_time(rng: np.random.Generator, script: PlayScript, occlusion: float) -> float:
    """A moment of the play: in flight with probability ``1 - occlusion``, else anywhere."""
    air = [(a, b) for a, b in script.air if b - a > STILL_DT]
    if air and rng.uniform() >= occlusion:
        lengths = np.array([b - a for a, b in air])
        a, b = air[int(rng.choice(len(air), p=lengths / lengths.sum()))]
        t = rng.uniform(a, b)
    else:
        t = rng.uniform(0.3, script.duration)
    return round(t / STILL_DT) * STILL_DT


def aim_camera(
    position,
    target,
    offset_px: tuple[float, float],
    focal: float,
    cfg: SynthConfig,
    kind: str,
    roll: float = 0.0,
) -> Camera:
    """A camera at ``position`` that sees ``target`` at ``offset_px`` from the image centre."""
    pos, f = np.asarray(position, float), float(focal)
    d0 = np.asarray(target, float) - pos
    d0 /= np.linalg.norm(d0)
    right = np.cross(d0, [0, 0, 1.0])
    right /= np.linalg.norm(right)
    down = np.cross(d0, right)
    fwd = d0 - right * (offset_px[0] / f) - down * (offset_px[1] / f)
    return look_at(pos, pos + fwd, f, cfg.width, cfg.height, kind, roll)


def still_camera(rng: np.random.Generator, cfg: SynthConfig, state: SceneState) -> Camera:
    kind = "endzone" if rng.uniform() < cfg.endzone_p else "sideline"
    if kind == "sideline":
        pos = sideline_position(rng)
    else:
        behind_offense = rng.uniform() < 0.75
        end = 0 if (state.script.d == 1) == behind_offense else 1
        pos = endzone_position(rng, end)
    ball = state.ball.pos.copy()
    aim = ball.copy()
    if rng.uniform() < cfg.out_of_view_p:  # look at something else: a negative frame
        aim[0] = float(np.clip(aim[0] + rng.choice([-1, 1]) * rng.uniform(22, 40), 0, FIELD_LENGTH))
        aim[1] = float(np.clip(aim[1] + rng.uniform(-10, 10), 0, FIELD_WIDTH))
        aim[2] = 0.0
    lo, hi = cfg.ball_px
    if ball[2] > 5.0:  # punts and long passes: the operator zooms out (lower half of the size range)
        hi = (lo + hi) / 2
    length = rng.uniform(lo, hi) * cfg.scale
    # zoom is set for the ball's distance, then the camera turns so the ball sits off-centre
    f = focal_for_size(pos, ball, length, LENGTH)
    off = (rng.uniform(-0.32, 0.32) * cfg.width, rng.uniform(-0.22, 0.26) * cfg.height)
    if ball[2] > 2.5:  # a high ball: the operator keeps the field in the lower part of the picture
        off = (off[0], rng.uniform(-0.38, -0.12) * cfg.height)
    return aim_camera(pos, aim, off, f, cfg, kind, roll=math.radians(rng.uniform(-0.6, 0.6)))


def sample_still(cfg: SynthConfig, index: int) -> tuple[SceneState, Camera, Look]:
    """The scene, camera and look of still ``index`` (no pixels yet)."""
    r_play, r_sim, r_cam, r_look = streams(cfg.seed, index)
    game = sample_game(r_play)
    script = sample_script(r_play)
    flags = 1 if r_play.uniform() < cfg.flag_p else 0
    sim = PlaySim(game, script, r_sim, flags=flags)
    t = sample_time(r_play, script, cfg.occlusion)
    state = sim.advance(t, STILL_DT)
    camera = still_camera(r_cam, cfg, state)
    look = sample_look(r_look, cfg, game.night)
    return state, camera, look


def render_still(cfg: SynthConfig, index: int, draw_ball: bool = True) -> tuple[Frame, Look]:
    """Render still ``index``; deterministic in ``(cfg, index)``."""
    state, camera, look = sample_still(cfg, index)
    frame = render_frame(state, camera, look, cfg, draw_ball=draw_ball)
    frame.attrs["synth"].update(index=int(index), seed=int(cfg.seed), jpeg_quality=look.jpeg_quality)
    return frame, look


def sample_frames(n: int, width: int = 1280, height: int = 720, seed: int = 0) -> list[np.ndarray]:
    """``n`` broadcast stills as plain RGB arrays: frames to check an ONNX export on, or to load a
    server with (``pigskin export``, ``benchmarks/serve_throughput.py``)."""
    config = preset("broadcast", width=width, height=height, seed=seed)
    return [render_still(config, i)[0].rgb for i in range(n)]
