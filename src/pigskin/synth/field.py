"""The static stadium: turf texture with markings, stands with a crowd, and their warp into a camera.

A stadium is built once per worker (cached) as flat textures in plane coordinates; each frame warps
them through the camera's plane homographies with PIL's C perspective transform, which is what keeps
a 1280x720 background at a few tens of milliseconds.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from pigskin.synth.camera import FIELD_LENGTH, FIELD_WIDTH, Camera

APRON = 14.0  # yards of turf around the field inside the walls
HASH_Y = (FIELD_WIDTH - 23.58, 23.58)  # NFL hash marks: 70 ft 9 in from each sideline
N_STADIUMS = 8
STANDS_SLOPE = math.radians(32)
WALL_HEIGHT = 1.4


@dataclass(frozen=True)
class Team:
    name: str
    jersey: tuple[int, int, int]
    trim: tuple[int, int, int]  # numbers, stripes
    helmet: tuple[int, int, int]
    pants: tuple[int, int, int]


TEAMS = (
    Team("COMETS", (18, 40, 110), (235, 235, 235), (18, 40, 110), (200, 200, 205)),
    Team("MARSHALS", (150, 20, 30), (240, 240, 240), (180, 160, 90), (230, 230, 230)),
    Team("STALLIONS", (20, 90, 50), (245, 245, 245), (20, 90, 50), (235, 235, 235)),
    Team("BARONS", (70, 30, 110), (235, 190, 40), (70, 30, 110), (235, 190, 40)),
    Team("RAPTORS", (230, 90, 20), (20, 20, 25), (25, 25, 30), (240, 240, 240)),
    Team("MINERS", (30, 30, 35), (230, 180, 30), (230, 180, 30), (30, 30, 35)),
    Team("HORNETS", (0, 110, 130), (250, 250, 250), (0, 110, 130), (245, 245, 245)),
    Team("PILOTS", (110, 20, 35), (220, 180, 90), (220, 180, 90), (110, 20, 35)),
    Team("RANGERS", (60, 110, 180), (250, 250, 250), (200, 200, 210), (60, 110, 180)),
    Team("KNIGHTS", (170, 150, 100), (30, 30, 30), (30, 30, 30), (170, 150, 100)),
)
WHITE_JERSEY = (238, 238, 236)


@functools.lru_cache(maxsize=16)
def font(size: int) -> ImageFont.FreeTypeFont:
    """Pillow's embedded font: the same glyphs on every machine (no system fonts)."""
    return ImageFont.load_default(size=max(4, int(size)))


@dataclass(frozen=True)
class Surface:
    """A textured rectangle ``origin + a*u + b*v`` (a in [0, size[0]], b in [0, size[1]])."""

    origin: tuple[float, float, float]
    u: tuple[float, float, float]
    v: tuple[float, float, float]
    size: tuple[float, float]
    texture: Image.Image  # row 0 is b = size[1]; ``scale`` texture px per yard
    scale: float

    def corners(self) -> np.ndarray:
        o, u, v = (np.asarray(t, float) for t in (self.origin, self.u, self.v))
        a, b = self.size
        return np.array([o, o + a * u, o + a * u + b * v, o + b * v])


@dataclass(frozen=True)
class Stadium:
    index: int
    home: Team
    turf: tuple[int, int, int]
    ground: Surface
    walls: dict[str, Surface]  # 'far', 'near', 'left', 'right'
    outer: tuple[int, int, int]


SKY = {False: ((120, 160, 210), (190, 205, 225)), True: ((8, 10, 22), (30, 34, 50))}  # day / night


# --- turf --------------------------------------------------------------------------------------------------
def _smooth_noise(rng: np.random.Generator, shape: tuple[int, int], cells: tuple[int, int]) -> np.ndarray:
    """Low-frequency noise in [-1, 1]: a coarse random grid upscaled bicubically."""
    small = rng.uniform(0, 255, (cells[1], cells[0])).astype(np.uint8)
    big = Image.fromarray(small).resize((shape[1], shape[0]), Image.BICUBIC)
    return np.asarray(big, np.float32) / 127.5 - 1.0


def _ground_texture(
    rng: np.random.Generator, home: Team, turf, s: float, line_width: float, paint: tuple[int, int, int]
) -> Image.Image:
    x0, y1 = -APRON, FIELD_WIDTH + APRON
    w, h = int((FIELD_LENGTH + 2 * APRON) * s), int((FIELD_WIDTH + 2 * APRON) * s)

    def px(x: float, y: float) -> tuple[float, float]:
        return (x - x0) * s, (y1 - y) * s

    cols = (np.arange(w) + 0.5) / s + x0
    rows = y1 - (np.arange(h) + 0.5) / s
    stripe = np.where(((cols - 10) // 5).astype(int) % 2 == 0, 1.0, -1.0).astype(np.float32) * rng.uniform(
        5, 13
    )
    lum = _smooth_noise(rng, (h, w), (max(2, w // 40), max(2, h // 40))) * np.float32(rng.uniform(4, 9))
    lum += _smooth_noise(rng, (h, w), (max(2, w // 6), max(2, h // 6))) * np.float32(4)
    lum += rng.standard_normal((h, w), dtype=np.float32) * np.float32(5)
    # Worn, lighter turf between the hashes where the play happens (1-D profiles with libm's exp).
    wy = np.array([math.exp(-(((r - FIELD_WIDTH / 2) / 9.0) ** 2)) for r in rows], np.float32)
    wx = np.array([math.exp(-(((c - 60) / 40.0) ** 2)) for c in cols], np.float32)
    wear = wy[:, None] * wx[None, :] * np.float32(rng.uniform(3, 12))
    img = np.empty((h, w, 3), np.float32)
    for ch, (tint_s, tint_w) in enumerate(((0.7, 1.2), (1.0, 0.6), (0.6, 0.4))):
        img[..., ch] = (
            turf[ch]
            + lum * np.float32(0.9 + 0.05 * ch)
            + stripe[None, :] * np.float32(tint_s)
            + wear * np.float32(tint_w)
        )
    tex = Image.fromarray(np.clip(img, 0, 255).astype(np.uint8))
    d = ImageDraw.Draw(tex)
    lw = max(1.0, line_width * s)  # 4-inch lines by default

    def rect(xa, ya, xb, yb, fill):
        (pa, pb), (qa, qb) = px(xa, ya), px(xb, yb)
        xa, ya_, xb, yb_ = min(pa, qa), min(pb, qb), max(pa, qa), max(pb, qb)
        d.rectangle([xa, ya_, max(xa, xb - 1), max(ya_, yb_ - 1)], fill=fill)  # at least one pixel

    # End zones in the home colour, lettered with the home name.
    ez = tuple(int(0.75 * c + 0.25 * t) for c, t in zip(home.jersey, turf, strict=True))
    for xa in (0.0, 110.0):
        rect(xa, 0, xa + 10, FIELD_WIDTH, ez)
        _end_zone_letters(tex, home.name, xa, s, px, home.trim, flip=xa > 60)
    # Sideline and end-line borders (6 ft wide), yard lines every 5, goal lines, short lines every 1.
    rect(-2, -2, FIELD_LENGTH + 2, 0, paint)
    rect(-2, FIELD_WIDTH, FIELD_LENGTH + 2, FIELD_WIDTH + 2, paint)
    rect(-2, -2, 0, FIELD_WIDTH + 2, paint)
    rect(FIELD_LENGTH, -2, FIELD_LENGTH + 2, FIELD_WIDTH + 2, paint)
    for yard in range(10, 111):
        x = float(yard)
        if yard % 5 == 0:
            width = 2 * lw / s if yard in (10, 110) else lw / s
            rect(x - width / 2, 0, x + width / 2, FIELD_WIDTH, paint)
        else:
            for ya, yb in (
                (0.2, 0.87),
                (FIELD_WIDTH - 0.87, FIELD_WIDTH - 0.2),
                (HASH_Y[1] - 0.67, HASH_Y[1]),
                (HASH_Y[0], HASH_Y[0] + 0.67),
            ):
                rect(x - lw / s / 2, ya, x + lw / s / 2, yb, paint)
    # Two-point conversion marks.
    for x in (12.0, 108.0):
        rect(x - 0.35, FIELD_WIDTH / 2 - lw / s / 2, x + 0.35, FIELD_WIDTH / 2 + lw / s / 2, paint)
    # Yard numbers with arrows: tops 9 yards from each sideline, bottoms toward the sideline.
    big = font(int(2.0 * s * 1.35))
    for k in range(1, 10):
        x = 10.0 + 10 * k
        label = str(10 * min(k, 10 - k))
        for near in (True, False):
            _yard_number(tex, label, x, near, s, px, big, paint, arrow=k != 5)
    # Midfield logo.
    _logo(tex, home, s, px)
    # Coaching boxes / team areas: a yellow-ish border line along both sidelines between the 30s.
    for yb in (-APRON + 4.5, FIELD_WIDTH + APRON - 4.5):
        rect(35, yb - 0.06, 85, yb + 0.06, (230, 230, 220))
    return tex


def _end_zone_letters(tex: Image.Image, name: str, xa: float, s: float, px, colour, flip: bool) -> None:
    size = int(4.2 * s)
    f = font(size)
    box = f.getbbox(name)
    im = Image.new("L", (box[2] - box[0] + 4, box[3] - box[1] + 4), 0)
    ImageDraw.Draw(im).text((2 - box[0], 2 - box[1]), name, font=f, fill=255)
    target_len = (FIELD_WIDTH - 8) * s
    im = im.resize((int(target_len), int(im.height * min(1.6, target_len / im.width))), Image.BILINEAR)
    im = im.rotate(-90 if flip else 90, expand=True)
    cx, cy = px(xa + 5, FIELD_WIDTH / 2)
    tex.paste(colour, (int(cx - im.width / 2), int(cy - im.height / 2)), im)


def _yard_number(tex, label, x, near, s, px, f, paint, arrow: bool) -> None:
    box = f.getbbox(label)
    im = Image.new("L", (box[2] - box[0] + 4, box[3] - box[1] + 4), 0)
    ImageDraw.Draw(im).text((2 - box[0], 2 - box[1]), label, font=f, fill=255)
    im = im.resize((int(im.width * 1.1), int(2.0 * s)), Image.BILINEAR)
    y_mid = 8.0 if near else FIELD_WIDTH - 8.0
    if not near:
        im = im.rotate(180)
    cx, cy = px(x, y_mid)
    tex.paste(paint, (int(cx - im.width / 2), int(cy - im.height / 2)), im)
    if arrow:
        side = -1 if x < 60 else 1  # arrow on the goal-line side of the number
        ax = x + side * (im.width / s / 2 + 0.6)
        tip = ax + side * 0.55
        ya, yb = (y_mid + 0.45, y_mid + 0.05) if near else (y_mid - 0.45, y_mid - 0.05)
        pts = [
            px(tip, (ya + yb) / 2),
            px(ax - side * 0.1, ya + 0.35 * (1 if near else -1)),
            px(ax - side * 0.1, yb - 0.35 * (1 if near else -1)),
        ]
        ImageDraw.Draw(tex).polygon(pts, fill=paint)


def _logo(tex: Image.Image, home: Team, s: float, px) -> None:
    d = ImageDraw.Draw(tex)
    cx, cy = px(60, FIELD_WIDTH / 2)
    r = 4.2 * s
    d.ellipse(
        [cx - r, cy - r * 0.8, cx + r, cy + r * 0.8],
        fill=home.jersey,
        outline=home.trim,
        width=max(1, int(s * 0.3)),
    )
    f = font(int(3.2 * s))
    letter = home.name[0]
    box = f.getbbox(letter)
    d.text((cx - (box[0] + box[2]) / 2, cy - (box[1] + box[3]) / 2), letter, font=f, fill=home.trim)


# --- stands ------------------------------------------------------------------------------------------------
def _stands_texture(
    rng: np.random.Generator,
    length: float,
    depth: float,
    s: float,
    home: Team,
    seat: tuple[int, int, int],
    fill: float,
) -> Image.Image:
    """A crowd on a raked bowl: rows of seats, people in team colours, an advertising wall at the bottom.

    People are drawn once on a 24-yard tile; the tile repeats along the stand with every row of seats
    shifted by its own random amount, so no repeat lines up (and the build stays fast).
    """
    w, h = int(length * s), int(depth * s)
    tile_len = 24.0
    tw = int(tile_len * s)
    tile = Image.new("RGB", (tw, h), seat)
    d = ImageDraw.Draw(tile)
    row_pitch = 0.95
    wall_rows = int(WALL_HEIGHT / row_pitch) + 1
    palette = np.array(
        [
            home.jersey,
            home.trim,
            home.jersey,
            (40, 40, 45),
            (200, 200, 200),
            (150, 40, 40),
            (40, 60, 120),
            (220, 220, 220),
            (90, 90, 90),
            home.jersey,
        ],
        np.float32,
    )
    skin = np.array([(225, 180, 150), (190, 140, 100), (140, 95, 65), (95, 65, 45)], np.float32)
    n_rows = int(depth / row_pitch)
    bands = []
    for r in range(wall_rows, n_rows):
        b = r * row_pitch
        y_row = h - b * s
        bands.append((int(y_row - row_pitch * s), int(y_row)))
        d.rectangle([0, y_row - 0.12 * s, tw, y_row], fill=tuple(int(c * 0.6) for c in seat))
        if r % 14 == 13:  # a concourse band with a facade
            d.rectangle([0, y_row - row_pitch * s, tw, y_row], fill=(60, 62, 70))
            continue
        n = int(tile_len * 2.4 * fill)
        xs = rng.uniform(0, tile_len, n) * s
        lift = rng.uniform(-0.08, 0.25, n) * s  # some sit, some stand
        cols = palette[rng.integers(0, len(palette), n)] * rng.uniform(0.55, 1.05, (n, 1))
        heads = skin[rng.integers(0, len(skin), n)]
        bw, bh, hr = 0.46 * s, 0.55 * s, 0.13 * s
        for x, up, c, hc in zip(xs, lift, cols.astype(int), heads.astype(int), strict=True):
            bottom = y_row - 0.1 * s
            top = bottom - bh - up
            d.rounded_rectangle([x - bw / 2, top, x + bw / 2, bottom], radius=bw / 3, fill=tuple(c))
            d.ellipse([x - hr, top - 1.7 * hr, x + hr, top + 0.3 * hr], fill=tuple(hc))
    arr = np.tile(np.asarray(tile), (1, w // tw + 2, 1))
    out = np.empty((h, w, 3), np.uint8)
    out[:] = arr[:, :w]
    for y0, y1 in bands:
        shift = int(rng.integers(0, tw))
        out[max(0, y0) : max(0, y1)] = arr[max(0, y0) : max(0, y1), shift : shift + w]
    tex = Image.fromarray(out)
    d = ImageDraw.Draw(tex)
    # Advertising wall: coloured panels with short words.
    x = 0.0
    f = font(int(0.8 * s))
    words = ("PIGSKIN", "GRIDIRON", "SPORTS", "TICKETS", "ENERGY", "BANK", "AUTO", "COLA")
    while x < length:
        pw = rng.uniform(8, 16)
        colour = tuple(int(v) for v in rng.integers(20, 235, 3))
        d.rectangle([x * s, h - WALL_HEIGHT * s, (x + pw) * s, h], fill=colour)
        word = words[int(rng.integers(0, len(words)))]
        light = sum(colour) < 380
        d.text(
            (x * s + 0.6 * s, h - WALL_HEIGHT * s + 0.2 * s),
            word,
            font=f,
            fill=(245, 245, 245) if light else (20, 20, 20),
        )
        x += pw
    return tex.filter(ImageFilter.GaussianBlur(0.7))  # long lenses leave the crowd soft


@functools.lru_cache(maxsize=N_STADIUMS)
def build_stadium(
    index: int, scale: float, line_width: float = 0.11, paint: tuple[int, int, int] = (238, 240, 236)
) -> Stadium:
    """Stadium ``index`` (0..N_STADIUMS-1) with textures at ``scale`` px per yard, its markings
    ``line_width`` yards wide in ``paint``; cached per process."""
    rng = np.random.default_rng(np.random.SeedSequence([0x5EED, index]))
    home = TEAMS[index % len(TEAMS)]
    turf = (int(rng.uniform(62, 88)), int(rng.uniform(108, 132)), int(rng.uniform(52, 72)))
    # Drawn at ``scale``, stored at twice that (bicubic): nearest-neighbour warping from the finer copy
    # looks like bilinear warping from the drawn one, at a quarter of the cost per frame.
    turf_tex = _ground_texture(rng, home, turf, scale, line_width, paint)
    turf_tex = turf_tex.resize((turf_tex.width * 2, turf_tex.height * 2), Image.BICUBIC)
    ground = Surface(
        (-APRON, -APRON, 0.0),
        (1, 0, 0),
        (0, 1, 0),
        (FIELD_LENGTH + 2 * APRON, FIELD_WIDTH + 2 * APRON),
        turf_tex,
        2 * scale,
    )
    seat = tuple(int(v) for v in rng.choice([(70, 70, 80), (120, 30, 35), (30, 60, 120), (80, 90, 80)]))
    fill = rng.uniform(0.7, 1.0)
    depth = 60.0
    cs, sn = math.cos(STANDS_SLOPE), math.sin(STANDS_SLOPE)
    st_scale = max(3.0, scale * 0.75)
    x0, x1 = -APRON - 30, FIELD_LENGTH + APRON + 30
    y0, y1 = -APRON, FIELD_WIDTH + APRON
    length_x, length_y = x1 - x0, y1 - y0 + 60

    crowd = _stands_texture(rng, max(length_x, length_y), depth, st_scale, home, seat, fill)

    def stands(origin, u, v, length):  # one crowd texture for all four sides (each uses its length)
        return Surface(origin, u, v, (length, depth), crowd, st_scale)

    # Vertical ad wall then a raked bowl: modelled as one plane from the field edge, tilted back.
    walls = {
        "far": stands((x0, y1, 0.0), (1, 0, 0), (0, cs, sn), length_x),
        "near": stands((x1, y0, 0.0), (-1, 0, 0), (0, -cs, sn), length_x),
        "left": stands((-APRON, y1 + 30, 0.0), (0, -1, 0), (-cs, 0, sn), length_y),
        "right": stands((FIELD_LENGTH + APRON, y0 - 30, 0.0), (0, 1, 0), (cs, 0, sn), length_y),
    }
    return Stadium(index, home, turf, ground, walls, (70, 72, 70))


# --- warping ----------------------------------------------------------------------------------------------
def warp_surface(canvas: Image.Image, surf: Surface, camera: Camera) -> np.ndarray | None:
    """Paint ``surf`` onto ``canvas`` as the camera sees it; returns its image polygon (or None)."""
    poly = camera.clip_polygon(surf.corners())
    if len(poly) < 3:
        return None
    W, H = camera.width, camera.height
    x0, y0 = max(0, int(math.floor(poly[:, 0].min()))), max(0, int(math.floor(poly[:, 1].min())))
    x1, y1 = min(W, int(math.ceil(poly[:, 0].max()))), min(H, int(math.ceil(poly[:, 1].max())))
    if x1 <= x0 or y1 <= y0:
        return None
    hp = camera.plane_homography(surf.origin, surf.u, surf.v)
    s = surf.scale
    to_tex = np.array([[s, 0, 0], [0, -s, surf.size[1] * s], [0, 0, 1.0]])
    shift = np.array([[1, 0, x0 + 0.5], [0, 1, y0 + 0.5], [0, 0, 1.0]])  # PIL samples pixel centres
    m = to_tex @ np.linalg.inv(hp) @ shift
    m = m / m[2, 2]
    out = surf.texture.transform(
        (x1 - x0, y1 - y0),
        Image.PERSPECTIVE,
        tuple(m.reshape(-1)[:8]),
        Image.NEAREST,  # textures are stored fine enough (and soft enough) for nearest sampling
    )
    mask = Image.new("L", (x1 - x0, y1 - y0), 0)
    ImageDraw.Draw(mask).polygon([(float(u - x0), float(v - y0)) for u, v in poly], fill=255)
    canvas.paste(out, (x0, y0), mask)
    return poly


def render_background(stadium: Stadium, camera: Camera, night: bool = False) -> Image.Image:
    """Sky, stands (those in front of the camera) and turf for one camera pose."""
    W, H = camera.width, camera.height
    top, bottom = np.array(SKY[night][0], np.float32), np.array(SKY[night][1], np.float32)
    ramp = np.linspace(0, 1, H, dtype=np.float32)[:, None]
    sky = (top * (1 - ramp) + bottom * ramp).astype(np.uint8)
    canvas = Image.fromarray(sky[:, None, :]).resize((W, H), Image.NEAREST)
    cam = camera.position
    # The lower surrounds (concourse, track) under everything: a flat colour is enough.
    outer = camera.clip_polygon(np.array([[-300.0, -300, 0], [420, -300, 0], [420, 360, 0], [-300, 360, 0]]))
    if len(outer) >= 3:
        ImageDraw.Draw(canvas).polygon([(float(u), float(v)) for u, v in outer], fill=stadium.outer)
    behind = {
        "far": cam[1] > FIELD_WIDTH + APRON,
        "near": cam[1] < -APRON,
        "left": cam[0] < -APRON,
        "right": cam[0] > FIELD_LENGTH + APRON,
    }
    walls = [w for k, w in stadium.walls.items() if not behind[k]]
    walls.sort(key=lambda w: -float(np.linalg.norm(w.corners().mean(0)[:2] - cam[:2])))
    for wall in walls:
        warp_surface(canvas, wall, camera)
    warp_surface(canvas, stadium.ground, camera)
    return canvas
