"""One frame: stadium, drawn-on lines, shadows, people and ball in depth order, camera, graphics.

The ball is composited from its own alpha patch; everything drawn after it (nearer people, the
score bug) is accumulated into an occluder patch over the same pixels. The label comes from those
two patches, never from the final image:

- ``visible = ball_alpha * (1 - occluder) * in_frame``; ``visible fraction = sum(visible) / sum(ball_alpha)``
  (parts outside the frame count as hidden), ``occlusion = 1 - visible fraction``.
- A pixel is *ball* when ``visible >= alpha_threshold`` (0.25: the ball gives at least a quarter of
  its colour). The box is the tight box of ball pixels, so a partly hidden ball's box covers only
  its visible part, including the motion smear.
- A ball with a visible fraction below ``min_visible`` or fewer than ``min_pixels`` ball pixels gets
  no box: the frame is a negative, and its would-be position is still in ``Sample.attrs``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image
from scipy import ndimage

from pigskin.detections import Detections
from pigskin.synth.ball import BallPatch, render_ball
from pigskin.synth.camera import Camera
from pigskin.synth.config import SynthConfig
from pigskin.synth.effects import Look, camera_effects, score_bug
from pigskin.synth.field import build_stadium, render_background
from pigskin.synth.ground import apply_darkness, ball_shadow, ground_lines, shadow_mask, stadium_shadow_mask
from pigskin.synth.playbook import SceneState
from pigskin.synth.players import Sprite
from pigskin.synth.sprites import build_sprites, carrier_arm, overlaps

CLASSES = ["football", "player"]
GOAL_LINE = 10.0  # world x of the left goal line: field x = world x - 10


@dataclass
class Frame:
    """A rendered frame (before JPEG) with its labels and the masks they came from."""

    rgb: np.ndarray  # (H, W, 3) uint8
    detections: Detections
    attrs: dict
    ball: BallPatch | None  # the unoccluded ball (alpha over its patch)
    visible: np.ndarray | None  # visible alpha over the same patch
    shadow_box: tuple[int, int, int, int] | None  # where the ball's shadow fell (or None)


def texture_scale(cfg: SynthConfig) -> float:
    return float(min(16, max(6, round(16 * cfg.scale))))  # stored at 2x: 32 px/yd, ~45 MB a stadium


def ball_image_velocity(camera: Camera, state: SceneState) -> tuple[float, float]:
    """Pixels per second of the ball across a fixed camera (the smear direction for stills)."""
    b = state.ball
    dt = 1 / 240
    uv, _ = camera.project(np.stack([b.pos - b.vel * dt, b.pos + b.vel * dt]))
    return float(uv[1, 0] - uv[0, 0]) / (2 * dt), float(uv[1, 1] - uv[0, 1]) / (2 * dt)


def _composite_ball(canvas: Image.Image, patch: BallPatch) -> None:
    W, H = canvas.size
    x0, y0, x1, y1 = patch.box
    cx0, cy0, cx1, cy1 = max(0, x0), max(0, y0), min(W, x1), min(H, y1)
    if cx1 <= cx0 or cy1 <= cy0:
        return
    region = np.asarray(canvas.crop((cx0, cy0, cx1, cy1)), np.float32)
    a = patch.alpha[cy0 - y0 : cy1 - y0, cx0 - x0 : cx1 - x0, None]
    c = patch.rgb[cy0 - y0 : cy1 - y0, cx0 - x0 : cx1 - x0]
    out = region * (1 - a) + c
    canvas.paste(Image.fromarray(np.clip(out + 0.5, 0, 255).astype(np.uint8)), (cx0, cy0))


def _occlude(occ: np.ndarray, patch: BallPatch, sprite_alpha: np.ndarray, sx0: int, sy0: int) -> None:
    """occ <- 1 - (1 - occ)(1 - a) over the overlap of a sprite's alpha with the ball patch."""
    px0, py0, px1, py1 = patch.box
    h, w = sprite_alpha.shape
    ox0, oy0 = max(px0, sx0), max(py0, sy0)
    ox1, oy1 = min(px1, sx0 + w), min(py1, sy0 + h)
    if ox1 <= ox0 or oy1 <= oy0:
        return
    a = sprite_alpha[oy0 - sy0 : oy1 - sy0, ox0 - sx0 : ox1 - sx0]
    o = occ[oy0 - py0 : oy1 - py0, ox0 - px0 : ox1 - px0]
    o[...] = 1 - (1 - o) * (1 - a)


def render_frame(
    state: SceneState,
    camera: Camera,
    look: Look,
    cfg: SynthConfig,
    *,
    draw_ball: bool = True,
    ball_velocity_px: tuple[float, float] | None = None,
) -> Frame:
    """Render one frame and measure its labels from the renderer's own masks."""
    W, H = camera.width, camera.height
    stadium = build_stadium(state.game.stadium, texture_scale(cfg), look.line_width, look.paint)
    canvas = render_background(stadium, camera, state.game.night)
    if look.graphics:
        ground_lines(canvas, state, camera)
    sprites = build_sprites(state, camera, look)
    shadow = shadow_mask(state, camera, look, sprites)
    shadow_box = ball_shadow(state, camera, look, shadow) if draw_ball else None
    canvas = apply_darkness(canvas, shadow)
    # Ball patch and depth.
    vel = ball_velocity_px if ball_velocity_px is not None else ball_image_velocity(camera, state)
    light = camera.R @ -np.asarray(look.sun)
    patch = render_ball(
        camera, state.ball.pos, state.ball.axis, state.ball.lace, vel, look.shutter_s, light, look.ball_gain
    )
    ball_depth = float(camera.to_camera(state.ball.pos)[0, 2])
    occ = np.zeros_like(patch.alpha) if patch is not None else None
    arm = carrier_arm(state, camera, patch, ball_depth)
    if arm is not None:
        sprites.append(arm)
    sprites.sort(key=lambda s: -s.depth)
    ball_drawn = patch is None or not draw_ball
    player_boxes = []
    lookalikes: list[dict] = []
    for sp in sprites:
        if not ball_drawn and sp.depth < ball_depth:
            _composite_ball(canvas, patch)
            ball_drawn = True
        canvas.paste(sp.image, (sp.x0, sp.y0), sp.image)
        if ball_drawn and patch is not None and occ is not None and overlaps(sp.box, patch.box):
            _occlude(occ, patch, np.asarray(sp.image.getchannel("A"), np.float32) / 255.0, sp.x0, sp.y0)
        if sp.kind == "player":
            player_boxes.append((sp.index, _alpha_box(sp, W, H)))
        elif sp.kind == "clutter" and sp.name not in ("goalpost", "chain"):
            box = _alpha_box(sp, W, H)
            if box is not None:
                lookalikes.append({"xyxy": [float(v) for v in box], "kind": sp.name})
    if not ball_drawn:
        _composite_ball(canvas, patch)
    if look.stadium_shadow is not None:
        canvas = apply_darkness(canvas, stadium_shadow_mask(camera, look), 0.62)
    canvas = camera_effects(canvas, look)
    if look.graphics:
        bug = score_bug(canvas, state.game, look)
        if patch is not None and occ is not None:
            _occlude(occ, patch, np.ones((bug[3] - bug[1], bug[2] - bug[0]), np.float32), bug[0], bug[1])
    rgb = np.asarray(canvas)
    dets, attrs, visible = _labels(state, camera, look, cfg, patch, occ, rgb, draw_ball)
    attrs["lookalikes"] = lookalikes
    if cfg.players:
        pb = [b for _, b in player_boxes if b is not None]
        attrs["synth"]["player_index"] = [i for i, b in player_boxes if b is not None]
        if pb:
            extra = Detections(
                np.array(pb, np.float32),
                np.ones(len(pb), np.int64),
                attrs={k: np.full(len(pb), None, dtype=object) for k in dets.attrs},
            )
            extra.attrs["camera"] = np.array([camera.kind] * len(pb), dtype=object)
            dets = Detections.concat([dets, extra])
    return Frame(rgb, dets, attrs, patch, visible, shadow_box)


def _alpha_box(sp: Sprite, W: int, H: int) -> tuple[float, float, float, float] | None:
    """A sprite's full-extent box: pixels with alpha >= 0.5, clipped to the frame.

    Player boxes are not trimmed where other people hide them (unlike the ball's).
    """
    a = np.asarray(sp.image.getchannel("A"))
    ys, xs = np.nonzero(a >= 128)
    if len(xs) == 0:
        return None
    x0, y0 = max(0, sp.x0 + int(xs.min())), max(0, sp.y0 + int(ys.min()))
    x1, y1 = min(W, sp.x0 + int(xs.max()) + 1), min(H, sp.y0 + int(ys.max()) + 1)
    return (float(x0), float(y0), float(x1), float(y1)) if x1 > x0 and y1 > y0 else None


def _labels(
    state: SceneState,
    camera: Camera,
    look: Look,
    cfg: SynthConfig,
    patch: BallPatch | None,
    occ: np.ndarray | None,
    rgb: np.ndarray,
    draw_ball: bool,
):
    W, H = camera.width, camera.height
    uv, depth = camera.project(state.ball.pos[None])
    truth = {
        "t": round(state.t, 3),
        "ball_xyz": [round(float(v), 3) for v in state.ball.pos],
        "ball_center": [round(float(uv[0, 0]), 2), round(float(uv[0, 1]), 2)],
        "ball_length": 0.0,
        "ball_visible": 0.0,
        **field_truth(camera, state.ball.pos),
    }
    # flat scalars are slices for `pigskin analyze`; the exact state sits under "synth"
    attrs = {
        "camera": camera.kind,
        "preset": cfg.preset,
        "play": state.script.kind,
        "phase": state.phase_name,
        "ball_state": state.ball.mode,
        "in_air": bool(state.ball.in_air),
        "synth": truth,
    }
    if patch is None or occ is None or not draw_ball:
        return Detections.empty(), attrs, None
    x0, y0, x1, y1 = patch.box
    ys, xs = np.mgrid[y0:y1, x0:x1]
    in_frame = (xs >= 0) & (xs < W) & (ys >= 0) & (ys < H)
    visible = patch.alpha * (1 - occ) * in_frame
    total = float(patch.alpha.sum())
    frac = float(visible.sum()) / total if total > 0 else 0.0
    on = visible >= cfg.alpha_threshold
    truth["ball_length"] = round(patch.length_px, 2)
    truth["ball_visible"] = round(frac, 4)
    if frac < cfg.min_visible or int(on.sum()) < cfg.min_pixels:
        return Detections.empty(), attrs, visible
    rows, cols = np.nonzero(on)
    box = [x0 + int(cols.min()), y0 + int(rows.min()), x0 + int(cols.max()) + 1, y0 + int(rows.max()) + 1]
    contrast = measure_contrast(rgb, patch, visible)
    det = Detections(
        np.array([box], np.float32),
        np.zeros(1, np.int64),
        attrs={
            "occlusion": np.array([round(1 - frac, 2)], dtype=object),
            "visible": np.array([round(frac, 2)], dtype=object),
            "camera": np.array([camera.kind], dtype=object),
            "contrast": np.array([round(contrast, 2)], dtype=object),
            "blur": np.array([round(patch.blur_px, 2)], dtype=object),
            "in_air": np.array([bool(state.ball.in_air)], dtype=object),
        },
    )
    return det, attrs, visible


def field_truth(camera: Camera, ball_xyz: np.ndarray) -> dict:
    """The exact image-to-field homography (pixels -> yards from the left goal line and the near
    sideline) and the ball's field position and height, for field registration's truth."""
    shift = np.array([[1.0, 0, -GOAL_LINE], [0, 1, 0], [0, 0, 1]])
    to_field = shift @ np.linalg.inv(camera.ground_homography)
    to_field /= to_field[2, 2]
    return {
        "field_h": [[float(f"{v:.9g}") for v in r] for r in to_field],
        "ball_field": [round(float(ball_xyz[0]) - GOAL_LINE, 3), round(float(ball_xyz[1]), 3)],
        "ball_height": round(float(ball_xyz[2]), 3),
    }


def luma(rgb: np.ndarray) -> np.ndarray:
    return rgb[..., 0] * 0.299 + rgb[..., 1] * 0.587 + rgb[..., 2] * 0.114


def measure_contrast(rgb: np.ndarray, patch: BallPatch, visible: np.ndarray) -> float:
    """|mean luma of the visible ball - mean luma of a ring of pixels around it| / 255.

    Ball pixels are those the ball covers by at least half (weighted by coverage); the ring is the
    pixels within ``max(2, length/2)`` px of them that the ball does not touch at all.
    """
    H, W = rgb.shape[:2]
    x0, y0, x1, y1 = patch.box
    core = visible >= 0.5
    if not core.any():
        core = visible >= 0.25
    m = int(max(2, round(patch.length_px / 2)))
    pad = m + 1
    big = np.pad(core, pad)
    grown = ndimage.binary_dilation(big, iterations=m)
    untouched = np.pad(patch.alpha <= 0.0, pad, constant_values=True)
    ring = grown & untouched
    gy, gx = np.nonzero(ring)
    gy, gx = gy + y0 - pad, gx + x0 - pad
    ok = (gx >= 0) & (gx < W) & (gy >= 0) & (gy < H)
    if not ok.any():
        return 0.0
    ring_l = float(luma(rgb[gy[ok], gx[ok]].astype(np.float64)).mean())
    cy, cx = np.nonzero(core)
    w = visible[cy, cx].astype(np.float64)
    cy, cx = cy + y0, cx + x0
    ok = (cx >= 0) & (cx < W) & (cy >= 0) & (cy < H)
    if not ok.any():
        return 0.0
    ball_l = float((luma(rgb[cy[ok], cx[ok]].astype(np.float64)) * w[ok]).sum() / w[ok].sum())
    return abs(ball_l - ring_l) / 255.0
