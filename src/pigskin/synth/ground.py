"""What lies on the turf under the people: the line of scrimmage and first-down line, cast shadows and
contact blobs, the ball's shadow, and the stadium's shadow over part of the field."""

from __future__ import annotations

import math

import numpy as np
from PIL import Image, ImageDraw

from pigskin.synth.camera import FIELD_LENGTH, FIELD_WIDTH, Camera
from pigskin.synth.effects import Look
from pigskin.synth.playbook import SceneState
from pigskin.synth.players import Sprite
from pigskin.synth.sprites import on_screen


def ground_poly(camera: Camera, pts) -> list[tuple[float, float]]:
    poly = camera.clip_polygon(np.array([(x, y, 0.0) for x, y in pts]))
    return [(float(u), float(v)) for u, v in poly]


def ground_lines(canvas: Image.Image, state: SceneState, camera: Camera) -> None:
    d = ImageDraw.Draw(canvas)
    for x, colour in ((state.script.los, (40, 100, 235)), (state.first_down, (250, 222, 40))):
        poly = ground_poly(
            camera, [(x - 0.14, 0.0), (x + 0.14, 0.0), (x + 0.14, FIELD_WIDTH), (x - 0.14, FIELD_WIDTH)]
        )
        if len(poly) >= 3:
            d.polygon(poly, fill=colour)


def shadow_mask(state: SceneState, camera: Camera, look: Look, sprites: list[Sprite]) -> Image.Image:
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
        poly = ground_poly(
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
        blob = ground_poly(
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


def ball_shadow(
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
    poly = ground_poly(
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
    return box if on_screen(box, camera.width, camera.height) else None


def apply_darkness(canvas: Image.Image, mask: Image.Image, factor: float = 0.0) -> Image.Image:
    """Darken ``canvas`` where ``mask`` is set: mask 255 multiplies by ``factor`` (0 = black)."""
    box = mask.getbbox()
    if box is None:
        return canvas
    region = canvas.crop(box)
    dark = region.point([int(v * factor + 0.5) for v in range(256)] * 3)
    canvas.paste(Image.composite(dark, region, mask.crop(box)), box[:2])
    return canvas


def stadium_shadow_mask(camera: Camera, look: Look) -> Image.Image:
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
    poly = ground_poly(camera, out) if len(out) >= 3 else []
    if len(poly) >= 3:
        ImageDraw.Draw(mask).polygon(poly, fill=255)
    return mask
