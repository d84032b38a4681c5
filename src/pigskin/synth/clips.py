"""Clips: one play simulated frame by frame, filmed by a camera that pans and zooms after the ball.

The camera is fixed in place (the sideline camera high near midfield, or the end-zone camera behind
the posts) and turns and zooms smoothly toward the ball with a lag, as an operator would. Light,
colour and optics are fixed for the clip except a slow exposure / white-balance drift and fresh
sensor noise every frame. Motion blur uses the ball's image motion between frames, which includes
the camera's own pan.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import replace

import numpy as np

from pigskin.synth.ball import LENGTH
from pigskin.synth.camera import endzone_position, focal_for_size, sideline_position
from pigskin.synth.config import SynthConfig
from pigskin.synth.effects import NOISE_PAD, Look, sample_look, sample_paint
from pigskin.synth.play import PlaySim
from pigskin.synth.playbook import sample_game, sample_script
from pigskin.synth.render import Frame, ball_image_velocity, render_frame
from pigskin.synth.scene import aim_camera, streams

CLIP_TAG = 1  # separates clip seeds from still seeds
SIM_DT = 1 / 20  # the simulation never steps coarser than this


def clip_frames(cfg: SynthConfig, index: int, seconds: float, fps: float) -> Iterator[tuple[Frame, Look]]:
    """Yield every frame of clip ``index`` with its look; deterministic in ``(cfg, index, seconds, fps)``."""
    if seconds <= 0 or fps <= 0:
        raise ValueError(f"seconds and fps must be positive, got {seconds} and {fps}")
    r_play, r_sim, r_cam, r_look = streams(cfg.seed, index, tag=CLIP_TAG)
    game = sample_game(r_play)
    script = sample_script(r_play)
    flags = 1 if r_play.uniform() < cfg.flag_p else 0
    sim = PlaySim(game, script, r_sim, flags=flags)
    kind = "endzone" if r_cam.uniform() < cfg.endzone_p else "sideline"
    if kind == "sideline":
        pos = sideline_position(r_cam)
    else:
        end = 0 if (script.d == 1) == (r_cam.uniform() < 0.75) else 1
        pos = endzone_position(r_cam, end)
    length = r_cam.uniform(*cfg.ball_px) * cfg.scale
    frame_off = (r_cam.uniform(-0.08, 0.08) * cfg.width, r_cam.uniform(-0.02, 0.12) * cfg.height)
    look = sample_look(r_look, cfg, game.night)
    line_width, paint = sample_paint(cfg, index)
    look = replace(look, line_width=line_width, paint=paint)
    drift_phase = r_look.uniform(0, 2 * math.pi, 3)
    drift_amp = r_look.uniform(0.0, 0.04)
    n = max(1, int(round(seconds * fps)))
    dt = 1.0 / fps
    sub = max(1, int(math.ceil(dt / SIM_DT)))
    follow = 1.0 - math.exp(-dt / 0.45)  # the operator's lag
    zoom_follow = 1.0 - math.exp(-dt / 1.2)
    aim = focal = None
    prev = None  # (camera, ball position) of the previous frame
    for k in range(n):
        state = sim.advance(k * dt, dt / sub)
        b = state.ball.pos
        want = np.array([b[0] + 0.25 * state.ball.vel[0], b[1] + 0.25 * state.ball.vel[1], 0.55 * b[2]])
        aim = want if aim is None else aim + (want - aim) * follow
        f_want = focal_for_size(pos, aim, length, LENGTH)
        focal = f_want if focal is None else focal + (f_want - focal) * zoom_follow
        cam = aim_camera(pos, aim, frame_off, focal, cfg, kind)
        if prev is None:
            vel = ball_image_velocity(cam, state)
        else:
            now, _ = cam.project(b[None])
            before, _ = prev[0].project(prev[1][None])
            vel = (float(now[0, 0] - before[0, 0]) * fps, float(now[0, 1] - before[0, 1]) * fps)
        t = k * dt
        drift = tuple(
            g * (1 + drift_amp * math.sin(2 * math.pi * t / 7.0 + ph))
            for g, ph in zip(look.gains, drift_phase, strict=True)
        )
        look_k = replace(
            look,
            gains=drift,
            noise_offset=(int(r_look.integers(0, NOISE_PAD)), int(r_look.integers(0, NOISE_PAD))),
        )
        frame = render_frame(state, cam, look_k, cfg, ball_velocity_px=vel)
        frame.attrs["synth"].update(index=int(index), seed=int(cfg.seed), frame=k)
        prev = (cam, b.copy())
        yield frame, look_k
