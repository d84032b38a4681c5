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

import math
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw
from scipy import ndimage

from pigskin.detections import Detections
from pigskin.synth.ball import BallPatch, render_ball
from pigskin.synth.camera import FIELD_LENGTH, FIELD_WIDTH, Camera
from pigskin.synth.config import SynthConfig
from pigskin.synth.effects import Look, camera_effects, score_bug
from pigskin.synth.field import WHITE_JERSEY, build_stadium, render_background
from pigskin.synth.play import DL, OL, SceneState
from pigskin.synth.players import (
    DOWN,
    RUN,
    SKIN,
    STANCE,
    STAND,
    Outfit,
    Sprite,
    draw_block,
    draw_figure,
    draw_flag,
)

CLASSES = ["football", "player"]
PYLONS = [(x, y) for x in (0.0, 10.0, 110.0, 120.0) for y in (0.0, FIELD_WIDTH)]


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


def _outfit(state: SceneState, i: int) -> Outfit:
    g = state.game
    skin = SKIN[(i * 7 + g.stadium * 3 + int(state.number[i])) % len(SKIN)]
    if state.team[i] == 2:
        return Outfit(
            (238, 238, 238),
            (20, 20, 20),
            None,
            (238, 238, 238),
            (25, 25, 25),
            skin,
            stripes=True,
            cap=(20, 20, 20),
        )
    team = state.team[i]
    home_is = (g.offense_home and team == 0) or (not g.offense_home and team == 1)
    tm = g.home if home_is else g.away
    if g.white == team:
        return Outfit(WHITE_JERSEY, tm.jersey, tm.helmet, tm.pants, WHITE_JERSEY, skin)
    return Outfit(tm.jersey, tm.trim, tm.helmet, tm.pants, tm.trim, skin)


def _person_outfit(state: SceneState, kind: int, x: float, y: float) -> Outfit:
    g = state.game
    skin = SKIN[int(x * 13 + y * 7) % len(SKIN)]
    tm = g.home if y > FIELD_WIDTH / 2 else g.away
    if kind == 0:  # player on the bench area, helmet off half the time
        helmet = tm.helmet if int(x * 10) % 2 else None
        return Outfit(tm.jersey, tm.trim, helmet, tm.pants, tm.trim, skin)
    if kind == 1:  # coach / staff
        return Outfit(
            tm.jersey if int(x) % 2 else (35, 35, 40),
            tm.trim,
            None,
            (150, 135, 105),
            (40, 40, 40),
            skin,
            cap=tm.jersey,
        )
    return Outfit((40, 40, 44), (200, 200, 200), None, (40, 40, 44), (30, 30, 30), skin)  # crew


def _ground_poly(camera: Camera, pts) -> list[tuple[float, float]]:
    poly = camera.clip_polygon(np.array([(x, y, 0.0) for x, y in pts]))
    return [(float(u), float(v)) for u, v in poly]


def _ellipse_pts(cx: float, cy: float, rx: float, ry: float, n: int = 12) -> list[tuple[float, float]]:
    return [
        (cx + rx * math.cos(2 * math.pi * k / n), cy + ry * math.sin(2 * math.pi * k / n)) for k in range(n)
    ]


def _facing(camera: Camera, xy, dxy) -> int:
    a, _ = camera.project(np.array([[xy[0], xy[1], 1.0], [xy[0] + dxy[0], xy[1] + dxy[1], 1.0]]))
    return 1 if a[1, 0] >= a[0, 0] else -1


def _overlaps(a, b) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _on_screen(box, W: int, H: int) -> bool:
    return box[2] > 0 and box[3] > 0 and box[0] < W and box[1] < H


def _figure_sprite(
    camera: Camera,
    x: float,
    y: float,
    height: float,
    outfit: Outfit,
    pose: int,
    phase: float,
    facing: int,
    number: int | None,
    kind: str,
    index: int,
) -> Sprite | None:
    uv, depth = camera.project(np.array([[x, y, 0.0], [x, y, height]]))
    if depth.min() < 1.0:
        return None
    h_px = float(uv[0, 1] - uv[1, 1])
    fx, fy = float(uv[0, 0]), float(uv[0, 1])
    reach = 0.75 * h_px + 4  # a lying figure is 1.4 heights wide
    if (
        h_px < 1.5
        or fx + reach < 0
        or fx - reach > camera.width
        or fy - 1.1 * h_px > camera.height
        or fy + 4 < 0
    ):
        return None  # too small to draw, or off the picture: skip before drawing
    im, ax, ay = draw_figure(outfit, h_px, pose, phase, facing, number)
    x0, y0 = int(round(uv[0, 0] - ax)), int(round(uv[0, 1] - ay))
    sp = Sprite(im, x0, y0, float(depth[0]), kind, index)
    return sp if _on_screen(sp.box, camera.width, camera.height) else None


def _object_sprite(camera: Camera, x: float, y: float, kind: str, state: SceneState) -> Sprite | None:
    sizes = {
        "flag": (0.45, 0.1),
        "pylon": (0.12, 0.5),
        "towel": (0.45, 0.06),
        "bottle": (0.08, 0.28),
        "helmet": (0.32, 0.28),
        "cooler": (0.6, 0.7),
        "tee": (0.12, 0.1),
        "bag": (0.6, 0.3),
        "chain": (0.08, 2.6),
    }
    w_y, h_y = sizes[kind]
    uv, depth = camera.project(np.array([[x, y, 0.0], [x, y, h_y]]))
    if depth[0] < 1.0:
        return None
    ppy = camera.focal / depth[0]
    if kind == "flag":
        im, ax, ay = draw_flag(w_y * ppy)
    else:
        colour = {
            "pylon": (245, 110, 20),
            "towel": (235, 235, 235),
            "bottle": (230, 230, 230),
            "helmet": state.game.home.helmet,
            "cooler": (240, 120, 20),
            "tee": (240, 120, 30),
            "bag": (40, 40, 50),
            "chain": (240, 120, 20),
        }[kind]
        top = (30, 30, 30) if kind in ("bottle", "chain") else None
        im, ax, ay = draw_block(w_y * ppy, max(1.0, float(uv[0, 1] - uv[1, 1])), colour, top)
    x0, y0 = int(round(uv[0, 0] - ax)), int(round(uv[0, 1] - ay))
    sp = Sprite(im, x0, y0, float(depth[0]), "clutter", name=kind)
    return sp if _on_screen(sp.box, camera.width, camera.height) else None


def _pose(state: SceneState, i: int) -> int:
    if state.down[i] > 0.5:
        return DOWN
    if state.stance and state.role[i] in (OL, DL) and state.team[i] < 2:
        return STANCE
    sp = math.hypot(float(state.vel[i, 0]), float(state.vel[i, 1]))
    return RUN if sp > 0.7 else STAND


def build_sprites(state: SceneState, camera: Camera, look: Look) -> list[Sprite]:
    """Every person and object standing on the turf that the camera sees, unsorted."""
    sprites: list[Sprite] = []
    d = state.script.d
    for i in range(len(state.pos)):
        x, y = float(state.pos[i, 0]), float(state.pos[i, 1])
        v = state.vel[i]
        if math.hypot(float(v[0]), float(v[1])) > 0.4:
            face = _facing(camera, (x, y), v)
        else:
            sgn = d if state.team[i] == 0 else -d
            face = _facing(camera, (x, y), (sgn, 0.0))
        kind = "official" if state.team[i] == 2 else "player"
        sp = _figure_sprite(
            camera,
            x,
            y,
            float(state.height[i]),
            _outfit(state, i),
            _pose(state, i),
            float(state.phase[i]),
            face,
            int(state.number[i]),
            kind,
            i,
        )
        if sp is not None:
            sprites.append(sp)
    for x, y, k in look.people:
        out = _person_outfit(state, k, x, y)
        sp = _figure_sprite(
            camera,
            x,
            y,
            1.95,
            out,
            STAND,
            0.0,
            1 if int(x * 3) % 2 else -1,
            None if out.helmet is None else int(x) % 99,
            "person",
            -1,
        )
        if sp is not None:
            sprites.append(sp)
    items = [("pylon", x, y) for x, y in PYLONS] + [("flag", x, y) for x, y in state.flags]
    items += [(k, x, y) for k, x, y in look.clutter]
    items += [("chain", state.script.los, FIELD_WIDTH + 2.0), ("chain", state.first_down, FIELD_WIDTH + 2.0)]
    for k, x, y in items:
        sp = _object_sprite(camera, x, y, k, state)
        if sp is not None:
            sprites.append(sp)
    for x_end in (0.0, FIELD_LENGTH):
        sp = _goalpost_sprite(camera, x_end)
        if sp is not None:
            sprites.append(sp)
    return sprites


def _carrier_arm(
    state: SceneState, camera: Camera, patch: BallPatch | None, ball_depth: float
) -> Sprite | None:
    """The forearm and hand wrapped over a carried ball on the camera's side of the runner.

    The arm belongs to the scene, not the ball (it is drawn with or without the ball), and hides
    part of it: this is where partly occluded boxes come from in open play.
    """
    b = state.ball
    c = b.carrier
    if patch is None or b.mode != "held" or c < 0 or state.down[c] > 0.5:
        return None
    foot_depth = float(camera.to_camera([state.pos[c, 0], state.pos[c, 1], 0.0])[0, 2])
    if ball_depth >= foot_depth:
        return None  # carried on the far side: the body hides it already
    v = state.vel[c]
    if math.hypot(float(v[0]), float(v[1])) > 0.4:
        face = _facing(camera, state.pos[c], v)
    else:
        face = _facing(camera, state.pos[c], (state.script.d if state.team[c] == 0 else -state.script.d, 0.0))
    L = max(2.0, patch.length_px)
    cx, cy = patch.center
    # each runner holds it his own way, and the arm moves a little with his stride
    wobble = ((c * 37 + state.game.stadium * 11) % 7) / 7.0 - 0.5 + 0.25 * math.sin(float(state.phase[c]))
    ss = 2
    pad = int(math.ceil(1.2 * L)) + 2
    im = Image.new("RGBA", (2 * pad * ss, 2 * pad * ss), (0, 0, 0, 0))
    d = ImageDraw.Draw(im)

    def P(dx: float, dy: float) -> tuple[float, float]:
        return ((pad + dx) * ss, (pad + dy) * ss)

    outfit = _outfit(state, c)
    width = max(1, int(round((0.3 + 0.12 * ((c * 13 + state.game.stadium) % 5) / 4) * L * ss)))
    start, end = P(-face * 1.0 * L, -(0.75 + 0.2 * wobble) * L), P(face * (0.12 + 0.2 * wobble) * L, 0.12 * L)
    d.line([start, end], fill=outfit.jersey + (255,), width=width)
    r = 0.2 * L * ss
    d.ellipse([end[0] - r, end[1] - r, end[0] + r, end[1] + r], fill=outfit.skin + (255,))
    return Sprite(im.reduce(ss), int(round(cx)) - pad, int(round(cy)) - pad, ball_depth - 1e-3, "arm", c)


def _goalpost_sprite(camera: Camera, x: float) -> Sprite | None:
    """The yellow goalposts on an end line: post, crossbar 10 ft up, uprights 18.5 ft apart."""
    c, half = FIELD_WIDTH / 2, 3.08
    segs = [
        ((x, c, 0.0), (x, c, 3.33)),
        ((x, c - half, 3.33), (x, c + half, 3.33)),
        ((x, c - half, 3.33), (x, c - half, 13.33)),
        ((x, c + half, 3.33), (x, c + half, 13.33)),
    ]
    pts = np.array([p for seg in segs for p in seg])
    uv, depth = camera.project(pts)
    if depth.min() < 1.0:
        return None
    ss = 2
    pad = 4
    x0, y0 = int(math.floor(uv[:, 0].min())) - pad, int(math.floor(uv[:, 1].min())) - pad
    x1, y1 = int(math.ceil(uv[:, 0].max())) + pad, int(math.ceil(uv[:, 1].max())) + pad
    if not _on_screen((x0, y0, x1, y1), camera.width, camera.height):
        return None
    # keep the drawing inside the frame plus a margin (posts near the camera can be huge)
    cx0, cy0 = max(x0, -pad), max(y0, -pad)
    cx1, cy1 = min(x1, camera.width + pad), min(y1, camera.height + pad)
    im = Image.new("RGBA", ((cx1 - cx0) * ss, (cy1 - cy0) * ss), (0, 0, 0, 0))
    d = ImageDraw.Draw(im)
    for k in range(4):
        (ua, va), (ub, vb) = uv[2 * k], uv[2 * k + 1]
        width = 0.16 * camera.focal / float(min(depth[2 * k], depth[2 * k + 1])) * ss
        d.line(
            [((ua - cx0) * ss, (va - cy0) * ss), ((ub - cx0) * ss, (vb - cy0) * ss)],
            fill=(238, 200, 40, 255),
            width=max(1, int(round(width))),
        )
    return Sprite(im.reduce(ss), cx0, cy0, float(depth[0]), "clutter", name="goalpost")


def _shadow_mask(state: SceneState, camera: Camera, look: Look, sprites: list[Sprite]) -> Image.Image:
    """Cast shadows of people and the contact blobs under them, as an 8-bit darkness mask."""
    W, H = camera.width, camera.height
    mask = Image.new("L", (W, H), 0)
    d = ImageDraw.Draw(mask)
    sx, sy, sz = look.sun
    k = 1.0 / max(0.25, -sz)  # ground shadow length per unit height
    for sp in sprites:
        if sp.kind == "clutter":
            continue
        if sp.index >= 0:
            x, y, h = (
                float(state.pos[sp.index, 0]),
                float(state.pos[sp.index, 1]),
                float(state.height[sp.index]),
            )
            if state.down[sp.index] > 0.5:
                h = 0.35
        else:
            continue
        L = min(3.0 * h, h * k)
        tx, ty = x + sx * L, y + sy * L
        nx, ny = -sy, sx
        n = math.hypot(nx, ny) or 1.0
        nx, ny = nx / n * 0.32, ny / n * 0.32
        poly = _ground_poly(
            camera,
            [
                (x + nx, y + ny),
                (tx + nx * 0.7, ty + ny * 0.7),
                (tx - nx * 0.7, ty - ny * 0.7),
                (x - nx, y - ny),
            ],
        )
        if len(poly) >= 3:
            d.polygon(poly, fill=int(255 * look.shadow))
        blob = _ground_poly(
            camera,
            [
                (x + 0.5 * math.cos(a), y + 0.4 * math.sin(a))
                for a in np.linspace(0, 2 * math.pi, 10, endpoint=False)
            ],
        )
        if len(blob) >= 3:
            d.polygon(blob, fill=int(255 * min(0.8, look.shadow + 0.25)))
    for sp in sprites:  # people off the field: just a contact blob
        if sp.kind == "person":
            h = sp.image.height
            cx, cy = sp.x0 + sp.image.width / 2, sp.y0 + h
            d.ellipse(
                [cx - 0.25 * h, cy - 0.05 * h, cx + 0.25 * h, cy + 0.04 * h], fill=int(200 * look.shadow)
            )
    return mask


def _ball_shadow(
    state: SceneState, camera: Camera, look: Look, mask: Image.Image
) -> tuple[int, int, int, int] | None:
    """The ball's shadow on the turf when it is off the ground and not in someone's hands."""
    b = state.ball
    if b.mode not in ("air", "loose") or float(b.pos[2]) < 0.2:
        return None
    sx, sy, sz = look.sun
    t = float(b.pos[2]) / max(0.2, -sz)
    gx, gy = float(b.pos[0]) + sx * t, float(b.pos[1]) + sy * t
    r = 0.13 * (1 + 0.02 * float(b.pos[2]))
    poly = _ground_poly(
        camera,
        [
            (gx + r * 1.3 * math.cos(a), gy + r * math.sin(a))
            for a in np.linspace(0, 2 * math.pi, 12, endpoint=False)
        ],
    )
    if len(poly) < 3:
        return None
    fade = max(0.25, 1.0 - float(b.pos[2]) / 25.0)
    ImageDraw.Draw(mask).polygon(poly, fill=int(255 * look.shadow * fade))
    xs, ys = [p[0] for p in poly], [p[1] for p in poly]
    box = (
        int(math.floor(min(xs))) - 1,
        int(math.floor(min(ys))) - 1,
        int(math.ceil(max(xs))) + 1,
        int(math.ceil(max(ys))) + 1,
    )
    return box if _on_screen(box, camera.width, camera.height) else None


def _apply_darkness(canvas: Image.Image, mask: Image.Image, factor: float = 0.0) -> Image.Image:
    """Darken ``canvas`` where ``mask`` is set: mask 255 multiplies by ``factor`` (0 = black)."""
    box = mask.getbbox()
    if box is None:
        return canvas
    region = canvas.crop(box)
    dark = region.point([int(v * factor + 0.5) for v in range(256)] * 3)
    canvas.paste(Image.composite(dark, region, mask.crop(box)), box[:2])
    return canvas


def _ground_lines(canvas: Image.Image, state: SceneState, camera: Camera) -> None:
    d = ImageDraw.Draw(canvas)
    for x, colour in ((state.script.los, (40, 100, 235)), (state.first_down, (250, 222, 40))):
        poly = _ground_poly(
            camera, [(x - 0.14, 0.0), (x + 0.14, 0.0), (x + 0.14, FIELD_WIDTH), (x - 0.14, FIELD_WIDTH)]
        )
        if len(poly) >= 3:
            d.polygon(poly, fill=colour)


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
    stadium = build_stadium(state.game.stadium, texture_scale(cfg))
    canvas = render_background(stadium, camera, state.game.night)
    if look.graphics:
        _ground_lines(canvas, state, camera)
    sprites = build_sprites(state, camera, look)
    shadow = _shadow_mask(state, camera, look, sprites)
    shadow_box = _ball_shadow(state, camera, look, shadow) if draw_ball else None
    canvas = _apply_darkness(canvas, shadow)
    # Ball patch and depth.
    vel = ball_velocity_px if ball_velocity_px is not None else ball_image_velocity(camera, state)
    light = camera.R @ -np.asarray(look.sun)
    patch = render_ball(
        camera, state.ball.pos, state.ball.axis, state.ball.lace, vel, look.shutter_s, light, look.ball_gain
    )
    ball_depth = float(camera.to_camera(state.ball.pos)[0, 2])
    occ = np.zeros_like(patch.alpha) if patch is not None else None
    arm = _carrier_arm(state, camera, patch, ball_depth)
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
        if ball_drawn and patch is not None and occ is not None and _overlaps(sp.box, patch.box):
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
        canvas = _apply_darkness(canvas, _stadium_shadow_mask(camera, look), 0.62)
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


def _stadium_shadow_mask(camera: Camera, look: Look) -> Image.Image:
    a, b, c = look.stadium_shadow  # type: ignore[misc]
    # Polygon of the shaded half of a large ground rectangle: clip the rectangle by the line.
    rect = [
        (-40.0, -40.0),
        (FIELD_LENGTH + 40, -40.0),
        (FIELD_LENGTH + 40, FIELD_WIDTH + 40),
        (-40.0, FIELD_WIDTH + 40),
    ]
    out = []
    for k in range(4):
        p, q = rect[k], rect[(k + 1) % 4]
        fp, fq = a * p[0] + b * p[1] + c, a * q[0] + b * q[1] + c
        if fp > 0:
            out.append(p)
        if (fp > 0) != (fq > 0):
            s = fp / (fp - fq)
            out.append((p[0] + s * (q[0] - p[0]), p[1] + s * (q[1] - p[1])))
    mask = Image.new("L", (camera.width, camera.height), 0)
    poly = _ground_poly(camera, out) if len(out) >= 3 else []
    if len(poly) >= 3:
        ImageDraw.Draw(mask).polygon(poly, fill=255)
    return mask


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
