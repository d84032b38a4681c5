"""People on and around the field, drawn as small composited shapes (sprites).

A figure is a handful of polygons in a 100-unit-tall body frame (helmet, pads, jersey with number,
pants, socks, arms), posed for running, the three-point stance or lying in a pile, drawn at twice
the size and box-filtered down so edges are antialiased. The sprite's alpha is what hides the ball.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from PIL import Image, ImageDraw

from pigskin.synth.field import font

RGB = tuple[int, int, int]
SKIN = ((224, 180, 150), (190, 140, 105), (150, 100, 70), (105, 70, 48), (80, 55, 40))

# poses
RUN, STANCE, DOWN, STAND = 0, 1, 2, 3


@dataclass(frozen=True)
class Outfit:
    jersey: RGB
    trim: RGB
    helmet: RGB | None  # None: bare head or cap
    pants: RGB
    socks: RGB
    skin: RGB
    stripes: bool = False  # officials
    cap: RGB | None = None


@dataclass
class Sprite:
    """An RGBA image and the pixel at which its foot point sits in the frame."""

    image: Image.Image
    x0: int
    y0: int
    depth: float
    kind: str  # 'player', 'official', 'person', 'clutter'
    index: int = -1
    name: str = ""  # what a clutter sprite is ('flag', 'pylon', ...)

    @property
    def box(self) -> tuple[int, int, int, int]:
        return self.x0, self.y0, self.x0 + self.image.width, self.y0 + self.image.height


def _limb(d: ImageDraw.ImageDraw, pts, width: float, fill) -> None:
    d.line(pts, fill=fill, width=max(1, int(round(width))), joint="curve")
    r = width / 2
    for x, y in (pts[0], pts[-1]):
        d.ellipse([x - r, y - r, x + r, y + r], fill=fill)


def draw_figure(
    outfit: Outfit, height_px: float, pose: int, phase: float, facing: int, number: int | None
) -> tuple[Image.Image, float, float]:
    """RGBA figure and the (x, y) of its foot point inside the image.

    ``height_px`` is the standing height in pixels; ``facing`` is +1 (right) or -1 (left).
    """
    ss = 2 if height_px >= 40 else 1  # supersample the larger figures only
    u = height_px * ss / 100.0
    wide = pose == DOWN
    w = int(math.ceil((140 if wide else 80) * u)) + 4
    h = int(math.ceil((40 if wide else 108) * u)) + 4
    cx, base = w / 2, h - 2 - (4 * u if wide else 2 * u)
    im = Image.new("RGBA", (w, h), (0, 0, 0, 0))
    d = ImageDraw.Draw(im)

    def P(x: float, y: float) -> tuple[float, float]:
        return cx + facing * x * u, base - y * u

    jersey, trim = outfit.jersey + (255,), outfit.trim + (255,)
    pants, socks = outfit.pants + (255,), outfit.socks + (255,)
    skin, shoe = outfit.skin + (255,), (25, 25, 28, 255)
    dark = tuple(int(c * 0.72) for c in outfit.jersey) + (255,)
    if pose == DOWN:
        # Lying on the turf: legs, body, helmet in a row.
        _limb(d, [P(-48, 4), P(-26, 7)], 9 * u, socks)
        _limb(d, [P(-30, 7), P(-12, 9)], 12 * u, pants)
        d.polygon([P(-14, 2), P(16, 3), P(18, 19), P(-14, 16)], fill=jersey)
        _limb(d, [P(10, 16), P(24, 6)], 7 * u, dark)
        hx, hy = P(27, 11)
        r = 8.5 * u
        d.ellipse([hx - r, hy - r, hx + r, hy + r], fill=(outfit.helmet or outfit.skin) + (255,))
        return (im.reduce(ss) if ss > 1 else im), cx / ss, base / ss
    if pose == STANCE:
        hip, sh, head = (-10, 38), (14, 44), (23, 50)
        _limb(d, [P(*hip), P(-1, 20), P(-10, 2)], 10 * u, pants)
        _limb(d, [P(-1, 20), P(-10, 2)], 7 * u, socks)
        _limb(d, [P(*hip), P(-12, 20), P(-20, 2)], 10 * u, pants)
        _limb(d, [P(-12, 20), P(-20, 2)], 7 * u, socks)
        d.polygon([P(-16, 32), P(-6, 46), P(18, 52), P(18, 36)], fill=jersey)
        _limb(d, [P(*sh), P(17, 20), P(18, 2)], 7 * u, jersey)
        hx, hy = P(*head)
        r = 8.5 * u
        d.ellipse([hx - r, hy - r, hx + r, hy + r], fill=(outfit.helmet or outfit.skin) + (255,))
        d.line(
            [P(head[0] + 5, head[1] - 2), P(head[0] + 8, head[1] - 6)],
            fill=(150, 150, 150, 255),
            width=max(1, int(2 * u)),
        )
        return (im.reduce(ss) if ss > 1 else im), cx / ss, base / ss
    # Upright: standing or running with a stride set by ``phase``.
    stride = 0.0 if pose == STAND else 1.0
    hip_y = 48.0 - 3 * stride
    for k in (0, 1):
        a = math.radians(32) * stride * math.sin(phase + k * math.pi)
        bend = math.radians(55) * stride * max(0.0, math.sin(phase + k * math.pi + 1.2))
        knee = (24 * math.sin(a), hip_y - 24 * math.cos(a))
        foot = (knee[0] + 24 * math.sin(a - bend), knee[1] - 24 * math.cos(a - bend))
        shade = pants if k == 0 else tuple(int(c * 0.85) for c in outfit.pants) + (255,)
        _limb(d, [P(0, hip_y), P(*knee)], 11 * u, shade)
        _limb(d, [P(*knee), P(*foot)], 7 * u, socks)
        fx, fy = P(foot[0] + 3, foot[1])
        d.ellipse([fx - 5 * u, fy - 2.5 * u, fx + 5 * u, fy + 2.5 * u], fill=shoe)
    # Back arm, torso, front arm.
    swing = 22 * stride * math.sin(phase)
    _limb(d, [P(-10, 77), P(-12 - swing * 0.5, 62), P(-9 - swing, 52)], 7 * u, dark)
    d.polygon([P(-11, hip_y), P(11, hip_y), P(15, 80), P(-15, 80)], fill=jersey)
    sx0, sy0 = P(-17, 83)
    sx1, sy1 = P(17, 74)
    d.ellipse([min(sx0, sx1), sy0, max(sx0, sx1), sy1], fill=jersey)
    if outfit.stripes:
        for k in range(-3, 4):
            x = k * 4.3
            d.line([P(x, hip_y + 1), P(x * 1.2, 81)], fill=(20, 20, 20, 255), width=max(1, int(1.6 * u)))
    elif number is not None and height_px >= 30:
        f = font(int(17 * u))
        txt = str(number)
        tx, ty = P(0, 65)
        bb = f.getbbox(txt)
        d.text((tx - (bb[0] + bb[2]) / 2, ty - (bb[1] + bb[3]) / 2), txt, font=f, fill=trim)
    _limb(d, [P(11, 77), P(13 + swing * 0.5, 62), P(10 + swing, 51)], 7 * u, jersey)
    hx, hy = P(10 + swing, 50)
    d.ellipse([hx - 3.5 * u, hy - 3.5 * u, hx + 3.5 * u, hy + 3.5 * u], fill=skin)
    # Head: helmet with a stripe and facemask, or a bare head / cap.
    hx, hy = P(2, 89)
    if outfit.helmet is not None:
        d.ellipse([hx - 8.5 * u, hy - 9.5 * u, hx + 8.5 * u, hy + 9 * u], fill=outfit.helmet + (255,))
        d.line([P(-6, 97), P(4, 98.5)], fill=trim, width=max(1, int(2 * u)))
        d.line([P(8, 91), P(11, 82)], fill=(170, 170, 170, 255), width=max(1, int(2.2 * u)))
    else:
        d.ellipse([hx - 7 * u, hy - 8.5 * u, hx + 7 * u, hy + 8 * u], fill=skin)
        if outfit.cap is not None:
            d.chord([hx - 7.5 * u, hy - 9 * u, hx + 7.5 * u, hy + 3 * u], 180, 360, fill=outfit.cap + (255,))
    return (im.reduce(ss) if ss > 1 else im), cx / ss, base / ss


def draw_flag(length_px: float) -> tuple[Image.Image, float, float]:
    """A yellow penalty flag lying crumpled on the turf, as seen at a low angle."""
    ss = 2
    L = max(2.0, length_px) * ss
    w, h = int(L * 1.6) + 4, int(L * 0.8) + 4
    im = Image.new("RGBA", (w, h), (0, 0, 0, 0))
    d = ImageDraw.Draw(im)
    cx, cy = w / 2, h - 2 - L * 0.25
    d.polygon(
        [
            (cx - 0.7 * L, cy),
            (cx - 0.3 * L, cy - 0.45 * L),
            (cx + 0.45 * L, cy - 0.35 * L),
            (cx + 0.7 * L, cy + 0.1 * L),
            (cx + 0.1 * L, cy + 0.22 * L),
        ],
        fill=(238, 208, 25, 255),
    )
    d.polygon(
        [
            (cx - 0.2 * L, cy - 0.1 * L),
            (cx + 0.4 * L, cy - 0.2 * L),
            (cx + 0.5 * L, cy + 0.1 * L),
            (cx - 0.1 * L, cy + 0.15 * L),
        ],
        fill=(205, 172, 15, 255),
    )
    return im.reduce(ss), cx / ss, (cy + 0.22 * L) / ss


def draw_block(
    width_px: float, height_px: float, colour: RGB, top: RGB | None = None
) -> tuple[Image.Image, float, float]:
    """A small upright object (pylon, cooler, down marker, towel) as a shaded box."""
    ss = 2
    w, h = max(2, int(width_px * ss)) + 2, max(2, int(height_px * ss)) + 2
    im = Image.new("RGBA", (w, h), (0, 0, 0, 0))
    d = ImageDraw.Draw(im)
    d.rectangle([1, 1, w - 2, h - 2], fill=colour + (255,))
    d.rectangle([w // 2, 1, w - 2, h - 2], fill=tuple(int(c * 0.8) for c in colour) + (255,))
    if top is not None:
        d.rectangle([1, 1, w - 2, max(2, h // 4)], fill=top + (255,))
    return im.reduce(ss), w / 2 / ss, (h - 1) / ss
