"""The people and things of one frame as sprites: players and officials in their team's outfits and
poses, people off the field, pylons, flags, goalposts, and the arm that holds the ball."""

from __future__ import annotations

import math

import numpy as np
from PIL import Image, ImageDraw

from pigskin.synth.ball import BallPatch
from pigskin.synth.camera import FIELD_LENGTH, FIELD_WIDTH, Camera
from pigskin.synth.effects import Look
from pigskin.synth.field import WHITE_JERSEY
from pigskin.synth.playbook import DL, OL, SceneState
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

PYLONS = [(x, y) for x in (0.0, 10.0, 110.0, 120.0) for y in (0.0, FIELD_WIDTH)]


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


def _ellipse_pts(cx: float, cy: float, rx: float, ry: float, n: int = 12) -> list[tuple[float, float]]:
    return [
        (cx + rx * math.cos(2 * math.pi * k / n), cy + ry * math.sin(2 * math.pi * k / n)) for k in range(n)
    ]


def _facing(camera: Camera, xy, dxy) -> int:
    a, _ = camera.project(np.array([[xy[0], xy[1], 1.0], [xy[0] + dxy[0], xy[1] + dxy[1], 1.0]]))
    return 1 if a[1, 0] >= a[0, 0] else -1


def overlaps(a, b) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def on_screen(box, W: int, H: int) -> bool:
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
    return sp if on_screen(sp.box, camera.width, camera.height) else None


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
    return sp if on_screen(sp.box, camera.width, camera.height) else None


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


def carrier_arm(
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
    if not on_screen((x0, y0, x1, y1), camera.width, camera.height):
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
