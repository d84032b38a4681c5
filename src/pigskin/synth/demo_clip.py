"""Small demo clips with exact truth: a brown ball flying in arcs over striped turf, players that
hide it for a few frames, and optionally a still brown look-alike near its path.

Much simpler than the broadcast renderer beside it (no perspective, no blur), but fast to draw and
exact about where the ball is and whether it can be seen, which is what tracker tests, the
``pigskin track`` docs and the throughput benchmark need. The truth rows match the synthetic clips' layout:
``{"frame", "cx", "cy", "visible"}`` (see docs/track.md).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from pigskin.video import VideoWriter

BALL_RGB = (125, 72, 38)
PLAYER_RGB = ((235, 235, 240), (225, 185, 40), (20, 40, 120))  # white, gold, navy


@dataclass(frozen=True)
class DemoConfig:
    width: int = 640
    height: int = 360
    frames: int = 90
    fps: float = 30.0
    seed: int = 0
    ball_px: tuple[float, float] = (14.0, 9.0)  # long and short axis at 640 px wide; scales with width
    occlusions: int = 2  # number of times a player runs in front of the ball
    occlusion_frames: tuple[int, int] = (6, 12)
    lookalike: bool = False  # a still brown object the ball flies close to
    noise: float = 3.0  # pixel noise std (8-bit levels)


def trajectory(cfg: DemoConfig) -> np.ndarray:
    """Ball centres ``(frames, 2)``: parabolic arcs (gravity down the image) joined end to end."""
    rng = np.random.default_rng(cfg.seed)
    s = cfg.width / 640
    margin = 40 * s
    out = np.zeros((cfg.frames, 2))
    p = np.array([rng.uniform(margin, cfg.width / 3), rng.uniform(cfg.height / 2, cfg.height - margin)])
    t = 0
    g = 0.35 * s
    while t < cfg.frames:
        n = int(rng.integers(20, 45))
        end = np.array([rng.uniform(margin, cfg.width - margin),
                        rng.uniform(cfg.height / 3, cfg.height - margin)])
        vx = (end[0] - p[0]) / n
        vy = (end[1] - p[1] - 0.5 * g * n * n) / n
        k = np.arange(1, n + 1)
        arc = np.stack([p[0] + vx * k, p[1] + vy * k + 0.5 * g * k * k], axis=1)
        arc[:, 1] = np.clip(arc[:, 1], margin / 2, cfg.height - margin / 2)
        take = min(n, cfg.frames - t)
        out[t : t + take] = arc[:take]
        p = arc[take - 1]
        t += take
    return out


def _background(cfg: DemoConfig, rng: np.random.Generator) -> np.ndarray:
    h, w = cfg.height, cfg.width
    base = np.empty((h, w, 3), np.float32)
    base[:] = (52, 120, 50)
    stripe = ((np.arange(w) // max(1, w // 10)) % 2).astype(np.float32)[None, :, None]
    base += stripe * np.array([6, 12, 6], np.float32)
    for x in np.linspace(w * 0.05, w * 0.95, 6).astype(int):  # yard lines
        base[:, max(0, x - 1) : x + 2] = (225, 230, 225)
    base += rng.normal(0, 6, (h, w, 1)).astype(np.float32)  # turf texture
    return np.clip(base, 0, 255)


def _ellipse_mask(h: int, w: int, c: np.ndarray, a: float, b: float, angle: float) -> tuple[Any, np.ndarray]:
    r = int(np.ceil(max(a, b))) + 1
    x0, y0 = int(c[0]) - r, int(c[1]) - r
    ys, xs = np.mgrid[y0 : y0 + 2 * r + 1, x0 : x0 + 2 * r + 1]
    dx, dy = xs - c[0], ys - c[1]
    ca, sa = np.cos(angle), np.sin(angle)
    u, v = dx * ca + dy * sa, -dx * sa + dy * ca
    inside = (u / a) ** 2 + (v / b) ** 2 <= 1.0
    ok = (ys >= 0) & (ys < h) & (xs >= 0) & (xs < w) & inside
    return (ys[ok], xs[ok]), ok


def _paint_ellipse(img: np.ndarray, c: np.ndarray, a: float, b: float, angle: float, rgb) -> np.ndarray:
    """Paint the ellipse and return the (y, x) pixels it covered."""
    idx, _ = _ellipse_mask(img.shape[0], img.shape[1], c, a, b, angle)
    img[idx] = rgb
    return np.stack(idx, axis=1)


def demo_frames(cfg: DemoConfig) -> Iterator[tuple[np.ndarray, dict[str, Any]]]:
    """Yield ``(rgb uint8 frame, truth row)`` for each frame, drawing one frame at a time."""
    rng = np.random.default_rng(cfg.seed + 1)
    s = cfg.width / 640
    bg = _background(cfg, rng)
    path = trajectory(cfg)
    a, b = cfg.ball_px[0] * s / 2, cfg.ball_px[1] * s / 2
    pw, ph = 22 * s, 48 * s
    # Occluders: a player crosses the ball's path, centred on it for a few frames.
    pool = np.arange(min(10, cfg.frames - 1), max(cfg.frames - 20, 11))
    starts = rng.choice(pool, size=min(cfg.occlusions, len(pool)), replace=False)
    occ = [(int(t0), int(rng.integers(*cfg.occlusion_frames))) for t0 in np.sort(starts)]
    wanderers = rng.uniform([0, 0], [cfg.width, cfg.height], (4, 2))
    wvel = rng.normal(0, 1.5 * s, (4, 2))
    look = None
    if cfg.lookalike:
        k = int(rng.integers(cfg.frames // 4, max(cfg.frames // 2, cfg.frames // 4 + 1)))
        look = path[k] + np.array([0.0, 2.2 * a + 6 * s])
    for t in range(cfg.frames):
        img = bg.copy()
        if look is not None:
            _paint_ellipse(img, look, a * 1.1, b * 1.1, 0.0, BALL_RGB)
        c = path[t]
        vel = path[min(t + 1, cfg.frames - 1)] - path[max(t - 1, 0)]
        angle = float(np.arctan2(vel[1], vel[0]))
        ball = _paint_ellipse(img, c, a, b, angle, BALL_RGB)
        covered = np.zeros(len(ball), bool)
        players = [wanderers[i] + wvel[i] * t for i in range(len(wanderers))]
        players = [np.mod(p, [cfg.width, cfg.height]) for p in players]
        for t0, n in occ:
            if t0 <= t < t0 + n:  # the player runs across, covering the ball while t0 <= t < t0 + n
                frac = (t - t0 + 0.5) / n - 0.5
                players.append(c + np.array([frac * pw * 0.6, -ph * 0.25]))
        for i, p in enumerate(players):
            x0, y0 = int(p[0] - pw / 2), int(p[1] - ph / 2)
            x1, y1 = int(p[0] + pw / 2), int(p[1] + ph / 2)
            img[max(0, y0) : max(0, y1), max(0, x0) : max(0, x1)] = PLAYER_RGB[i % len(PLAYER_RGB)]
            if len(ball):
                covered |= (ball[:, 0] >= y0) & (ball[:, 0] < y1) & (ball[:, 1] >= x0) & (ball[:, 1] < x1)
        if cfg.noise:
            img += rng.normal(0, cfg.noise, (cfg.height, cfg.width, 1)).astype(np.float32)
        visible_frac = 0.0 if not len(ball) else 1.0 - covered.mean()
        truth = {
            "frame": t,
            "time_s": round(t / cfg.fps, 4),
            "cx": round(float(c[0]), 2),
            "cy": round(float(c[1]), 2),
            "visible": bool(visible_frac >= 0.5),
            "visible_fraction": round(float(visible_frac), 3),
        }
        yield np.clip(img, 0, 255).astype(np.uint8), truth


def write_demo_clip(path: str | os.PathLike[str], cfg: DemoConfig) -> list[dict[str, Any]]:
    """Write the clip as an mp4 (or a folder of PNGs when ``path`` has no suffix); return its truth."""
    path = Path(path)
    truth = []
    if path.suffix:  # two encoder threads on any machine: the same bytes everywhere (tests rely on them)
        with VideoWriter(path, cfg.width, cfg.height, cfg.fps, crf=18, threads=2) as writer:
            for img, row in demo_frames(cfg):
                writer.write(img)
                truth.append(row)
    else:
        from PIL import Image

        path.mkdir(parents=True, exist_ok=True)
        for img, row in demo_frames(cfg):
            Image.fromarray(img).save(path / f"frame_{row['frame']:05d}.png")
            truth.append(row)
    return truth
