"""Broadcast look: lighting, colour drift, sensor noise, defocus and the on-screen graphics.

Everything here is a whole-frame operation done the cheap way: one 768-entry lookup table for
exposure, white balance, contrast and gamma; noise from a per-size bank cut at a random offset
(generating 2.7 M normals per frame would cost more than the rest of the frame).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from pigskin.synth.config import SynthConfig
from pigskin.synth.field import font
from pigskin.synth.playbook import Game

NOISE_PAD = 64
PAINT = (238, 240, 236)  # the white of the field markings
PAINT_TAG = 7  # separates the paint stream from a clip's other streams


@dataclass(frozen=True)
class Look:
    """Appearance of one frame (or one clip): light, colour, optics and graphics."""

    sun: tuple[float, float, float]  # direction the light travels (z < 0)
    shadow: float  # how dark cast shadows are (0..1)
    stadium_shadow: tuple[float, float, float] | None  # ground line a*x + b*y + c > 0 is in shade
    gains: tuple[float, float, float]  # exposure x white balance
    contrast: float
    gamma: float
    noise: float
    noise_offset: tuple[int, int]
    defocus: float  # Gaussian radius in px, 0 = sharp
    graphics: bool
    bug_style: int
    jpeg_quality: int
    shutter_s: float
    ball_gain: float  # leather colour variation
    clutter: tuple[tuple[str, float, float], ...] = ()
    people: tuple[tuple[float, float, int], ...] = ()  # sideline people: x, y, outfit kind
    line_width: float = 0.11  # painted markings, yards
    paint: tuple[int, int, int] = PAINT
    extra: dict = field(default_factory=dict)


def sample_look(rng: np.random.Generator, cfg: SynthConfig, night: bool) -> Look:
    az = rng.uniform(0, 2 * math.pi)
    elev = math.radians(rng.uniform(18, 60) if not night else 80)
    sun = (math.cos(az) * math.cos(elev), math.sin(az) * math.cos(elev), -math.sin(elev))
    stadium_shadow = None
    if not night and rng.uniform() < cfg.shadow_p:
        ang = rng.uniform(-0.5, 0.5)  # shade line across the field, roughly along it
        a, b = math.sin(ang), math.cos(ang)
        y_cut = rng.uniform(5, 48)
        stadium_shadow = (a, b, -(a * 60 + b * y_cut))
        if rng.uniform() < 0.5:
            stadium_shadow = tuple(-v for v in stadium_shadow)  # type: ignore[assignment]
    expo = rng.uniform(0.85, 1.15)
    wb = rng.normal(0, 0.035, 3)
    gains = tuple(float(expo * (1 + w)) for w in wb)
    clutter = []
    n_items = rng.poisson(6 * cfg.clutter)
    kinds = ("towel", "bottle", "helmet", "cooler", "tee", "bag")
    for _ in range(n_items):
        side = rng.uniform() < 0.5
        clutter.append(
            (
                str(rng.choice(kinds)),
                float(rng.uniform(15, 105)),
                float(rng.uniform(54.5, 60.5) if side else rng.uniform(-7.5, -1.5)),
            )
        )
    people = []
    for _ in range(int(rng.poisson(16 * max(cfg.clutter, 0.3)))):
        far = rng.uniform() < 0.6
        people.append(
            (
                float(rng.uniform(22, 98)),
                float(rng.uniform(55.5, 62.5) if far else rng.uniform(-9, -2.5)),
                int(rng.choice([0, 0, 0, 1, 2])),
            )
        )
    return Look(
        sun=sun,
        shadow=float(rng.uniform(0.35, 0.6) if not night else 0.22),
        stadium_shadow=stadium_shadow,
        gains=gains,
        contrast=float(rng.uniform(*cfg.contrast)),
        gamma=float(rng.uniform(0.9, 1.1)),
        noise=float(rng.uniform(*cfg.noise)),
        noise_offset=(int(rng.integers(0, NOISE_PAD)), int(rng.integers(0, NOISE_PAD))),
        defocus=float(rng.uniform(0.6, 1.6) * cfg.scale) if rng.uniform() < cfg.defocus_p else 0.0,
        graphics=bool(rng.uniform() < cfg.graphics_p),
        bug_style=int(rng.integers(0, 2)),
        jpeg_quality=int(round(rng.uniform(*cfg.jpeg_quality))),
        shutter_s=float(rng.uniform(*cfg.shutter_s)),
        ball_gain=float(rng.uniform(0.75, 1.2)),
        clutter=tuple(clutter),
        people=tuple(people),
    )


def sample_paint(cfg: SynthConfig, index: int) -> tuple[float, tuple[int, int, int]]:
    """Line width and paint colour of clip ``index``: from their own stream, so that the default
    (fixed) widths and white leave every other random draw, and so every frame, as it was."""
    if cfg.line_width[0] == cfg.line_width[1] and cfg.line_tint[1] == 0.0:
        return float(cfg.line_width[0]), PAINT
    rng = np.random.default_rng(np.random.SeedSequence([int(cfg.seed), int(index), PAINT_TAG]))
    width = float(rng.uniform(*cfg.line_width))
    t = float(rng.uniform(*cfg.line_tint))
    tint = ((250, 232, 170), (180, 188, 196), (235, 235, 200))[int(rng.integers(0, 3))]
    paint = tuple(int(round(p * (1 - t) + q * t)) for p, q in zip(PAINT, tint, strict=True))
    return width, paint  # type: ignore[return-value]


def colour_lut(look: Look) -> list[int]:
    """Per-channel table: gain, then contrast about mid-grey, then gamma (scalar libm maths only,
    so the table is the same on every machine)."""
    gamma = [int(round(255 * math.pow(i / 255.0, 1.0 / look.gamma))) for i in range(256)]
    out = []
    for g in look.gains:
        for i in range(256):
            y = min(1.0, max(0.0, i / 255.0 * g))
            y = min(1.0, max(0.0, 0.5 + (y - 0.5) * look.contrast))
            out.append(gamma[int(round(y * 255))])
    return out


@functools.lru_cache(maxsize=4)
def noise_bank(width: int, height: int) -> np.ndarray:
    """Unit-variance noise (int8, x16) a little larger than the frame; the same on every machine."""
    rng = np.random.default_rng(np.random.SeedSequence([0x4015E, width, height]))
    n = rng.normal(0, 1, (height + NOISE_PAD, width + NOISE_PAD, 3)) * 0.35 + rng.normal(
        0, 1, (height + NOISE_PAD, width + NOISE_PAD, 1)
    )
    return np.clip(np.round(n * 16), -127, 127).astype(np.int8)


def camera_effects(img: Image.Image, look: Look) -> Image.Image:
    """Colour table, optional defocus, then sensor noise (integer maths: exact on every machine)."""
    img = img.point(colour_lut(look))
    if look.defocus > 0.05:
        img = img.filter(ImageFilter.BoxBlur(look.defocus))
    if look.noise > 0.05:
        w, h = img.size
        ox, oy = look.noise_offset
        n = noise_bank(w, h)[oy : oy + h, ox : ox + w].astype(np.int16)
        k = np.int16(max(1, round(look.noise * 4)))  # bank is 16 x N(0, 1); 16 * 4 = 64 = 1 << 6
        arr = np.asarray(img).astype(np.int16)
        arr += (n * k + 32) >> 6
        img = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))
    return img


def score_bug(img: Image.Image, game: Game, look: Look) -> tuple[int, int, int, int]:
    """Draw the score bug and down-and-distance; returns the box it covers (x0, y0, x1, y1)."""
    W, H = img.size
    h = max(10, int(0.05 * H))
    w = int(0.56 * W)
    x0 = (W - w) // 2 if look.bug_style == 0 else int(0.03 * W)
    y0 = H - h - int(0.045 * H)
    d = ImageDraw.Draw(img)
    d.rectangle([x0, y0, x0 + w, y0 + h], fill=(18, 20, 28))
    f = font(int(h * 0.62))
    cell = w / 6
    items = [
        (game.away.name[:3], game.away.jersey),
        (str(game.score[0]), (40, 42, 50)),
        (game.home.name[:3], game.home.jersey),
        (str(game.score[1]), (40, 42, 50)),
        (f"Q{game.quarter} {game.clock}", (18, 20, 28)),
        (f"{_ordinal(game.down)} & {game.distance}", (200, 160, 20)),
    ]
    for k, (txt, bg) in enumerate(items):
        cx0 = x0 + k * cell
        d.rectangle([cx0 + 1, y0 + 1, cx0 + cell - 1, y0 + h - 1], fill=bg)
        bb = f.getbbox(txt)
        d.text(
            (cx0 + cell / 2 - (bb[0] + bb[2]) / 2, y0 + h / 2 - (bb[1] + bb[3]) / 2),
            txt,
            font=f,
            fill=(245, 245, 245),
        )
    return x0, y0, x0 + w + 1, y0 + h + 1


def _ordinal(n: int) -> str:
    return {1: "1st", 2: "2nd", 3: "3rd"}.get(n, f"{n}th")


def jpeg_bytes(rgb: np.ndarray | Image.Image, quality: int) -> bytes:
    import io

    img = rgb if isinstance(rgb, Image.Image) else Image.fromarray(rgb)
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=int(quality), subsampling=2)
    return buf.getvalue()
