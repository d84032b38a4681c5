"""The football as pixels: a prolate spheroid (11 x 6.7 in) seen at its 3-D orientation.

The ball is rendered analytically into its own small patch: supersampled coverage (alpha) and
shaded leather colour with white laces, smeared over the exposure along its image velocity. The
alpha patch is the ground truth from which the label box and the visible fraction are measured,
so labels never depend on guessing where the renderer put the ball.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from pigskin.synth.camera import Camera

LENGTH = 11.0 / 36.0  # yards, tip to tip
DIAMETER = 6.7 / 36.0  # yards, at the widest
A, B = LENGTH / 2, DIAMETER / 2
LEATHER = np.array([122.0, 64.0, 34.0], np.float32)
LACE = np.array([236.0, 232.0, 222.0], np.float32)


@dataclass
class BallPatch:
    """Premultiplied colour and alpha of the ball over the pixel box ``[x0, x0+w) x [y0, y0+h)``."""

    x0: int
    y0: int
    rgb: np.ndarray  # (h, w, 3) float32, premultiplied by alpha
    alpha: np.ndarray  # (h, w) float32 in [0, 1]
    center: tuple[float, float]  # projected centre (px)
    length_px: float  # projected tip-to-tip length without blur
    blur_px: float  # length of the motion smear

    @property
    def box(self) -> tuple[int, int, int, int]:
        h, w = self.alpha.shape
        return self.x0, self.y0, self.x0 + w, self.y0 + h


def _unit(v) -> np.ndarray:
    v = np.asarray(v, np.float64)
    n = float(np.sqrt(v @ v))
    return v / n if n > 1e-12 else np.array([1.0, 0.0, 0.0])


def render_ball(
    camera: Camera,
    center,
    axis,
    lace_dir,
    velocity_px: tuple[float, float],
    shutter_frac: float,
    light_cam,
    colour_gain: float = 1.0,
) -> BallPatch | None:
    """Rasterise the ball; ``velocity_px * shutter_frac`` is the smear vector in pixels.

    ``axis`` is the long axis (world), ``lace_dir`` the unit normal pointing at the laces,
    ``light_cam`` the direction *towards* the light in camera coordinates. Returns None when the
    ball is behind the camera.
    """
    c_cam = camera.to_camera(center)[0]
    if c_cam[2] <= 0.5:
        return None
    scale = camera.focal / c_cam[2]
    uv, _ = camera.project(np.asarray(center, float)[None])
    cu, cv = float(uv[0, 0]), float(uv[0, 1])
    d_cam = camera.R @ _unit(axis)
    view = c_cam / math.sqrt(float(c_cam @ c_cam))
    cos_t = float(d_cam @ view)
    sin2 = max(0.0, 1.0 - cos_t * cos_t)
    major = scale * math.sqrt(B * B + (A * A - B * B) * sin2)  # semi-axes in px (weak perspective)
    minor = scale * B
    e1 = d_cam[:2] - cos_t * view[:2]
    n1 = math.hypot(float(e1[0]), float(e1[1]))
    e1 = e1 / n1 if n1 > 1e-9 else np.array([1.0, 0.0])
    e2 = np.array([-e1[1], e1[0]])
    bx, by = float(velocity_px[0]) * shutter_frac, float(velocity_px[1]) * shutter_frac
    blur = math.hypot(bx, by)
    pad = major + 0.5 * blur + 2.0
    x0, y0 = int(math.floor(cu - pad)), int(math.floor(cv - pad))
    x1, y1 = int(math.ceil(cu + pad)), int(math.ceil(cv + pad))
    w, h = x1 - x0, y1 - y0
    ss = 4 if major < 12 else 2
    k = 1 if blur < 0.5 else min(24, int(math.ceil(blur * 1.5)) + 1)
    # Sample positions: ss x ss per pixel, relative to the ball centre.
    offs = (np.arange(ss, dtype=np.float64) + 0.5) / ss
    xs = (np.arange(w, dtype=np.float64)[:, None] + offs[None, :]).reshape(-1) + x0 - cu
    ys = (np.arange(h, dtype=np.float64)[:, None] + offs[None, :]).reshape(-1) + y0 - cv
    gx, gy = np.meshgrid(xs, ys)
    # Lace segment: from the surface point facing ``lace_dir``, along the axis over the middle 60%.
    l_cam = camera.R @ _unit(lace_dir)
    lace_vis = max(0.0, -float(l_cam @ view))
    lp = np.array([l_cam[0], l_cam[1]]) * scale * B
    la = d_cam[:2] * scale * A * 0.32
    lace_w = max(0.45, 0.16 * minor)
    light = _unit(light_cam)
    acc_a = np.zeros_like(gx)
    acc_c = np.zeros(gx.shape + (3,))
    ts = [0.0] if k == 1 else list(np.linspace(-0.5, 0.5, k))
    for t in ts:
        qx, qy = gx - t * bx, gy - t * by
        p = (qx * e1[0] + qy * e1[1]) / major
        q = (qx * e2[0] + qy * e2[1]) / minor
        r2 = p * p + q * q
        inside = r2 <= 1.0
        # Sphere-like normal of the outline for shading (towards the camera is -z).
        nz = -np.sqrt(np.clip(1.0 - r2, 0.0, 1.0))
        nx, ny = p * e1[0] + q * e2[0], p * e1[1] + q * e2[1]
        lam = np.clip(nx * light[0] + ny * light[1] + nz * light[2], 0.0, 1.0)
        spec = lam * lam
        spec = spec * spec
        spec = spec * spec
        shade = 0.42 + 0.62 * lam
        col = LEATHER[None, None, :] * colour_gain * shade[..., None] + 70.0 * spec[..., None]
        if lace_vis > 0.05:
            # distance from each sample to the lace segment
            dx, dy = qx - lp[0], qy - lp[1]
            seg2 = float(la @ la) + 1e-9
            s = np.clip((dx * la[0] + dy * la[1]) / seg2, -1.0, 1.0)
            ex, ey = dx - s * la[0], dy - s * la[1]
            dist = np.sqrt(ex * ex + ey * ey)
            on = (dist <= lace_w) & inside
            mix = (on * min(1.0, lace_vis * 1.6))[..., None]
            col = col * (1 - mix) + LACE[None, None, :] * colour_gain * (0.55 + 0.5 * lam[..., None]) * mix
        acc_a += inside
        acc_c += col * inside[..., None]
    # Box-filter the supersamples into pixels.
    n = ss * ss * len(ts)
    alpha = acc_a.reshape(h, ss, w, ss).sum(axis=(1, 3)) / n
    rgb = acc_c.reshape(h, ss, w, ss, 3).sum(axis=(1, 3)) / n
    return BallPatch(x0, y0, rgb.astype(np.float32), alpha.astype(np.float32), (cu, cv), 2 * major, blur)
