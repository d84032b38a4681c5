"""Pinhole broadcast cameras over a field measured in yards.

World frame: ``x`` runs along the field (0 = back of the left end zone, goal lines at 10 and 110,
120 = back of the right end zone), ``y`` across it (0 = near sideline, 53.33 = far sideline) and
``z`` up. A camera is intrinsics (one focal length, centred principal point) plus a rotation and a
position; planes (turf, stands) map to pixels through homographies, and points with height (ball,
players) through the full projection.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

FIELD_LENGTH = 120.0
FIELD_WIDTH = 160.0 / 3.0  # 53.33 yards
NEAR_CLIP = 0.5  # yards in front of the lens


@dataclass(frozen=True)
class Camera:
    """``R`` turns world directions into camera axes (x right, y down, z forward)."""

    R: np.ndarray
    position: np.ndarray
    focal: float
    width: int
    height: int
    kind: str = "sideline"

    @property
    def K(self) -> np.ndarray:
        return np.array([[self.focal, 0, self.width / 2], [0, self.focal, self.height / 2], [0, 0, 1.0]])

    def to_camera(self, pts: np.ndarray) -> np.ndarray:
        return (np.asarray(pts, np.float64).reshape(-1, 3) - self.position) @ self.R.T

    def project(self, pts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Pixels ``(N, 2)`` and depths ``(N,)`` (distance along the optical axis) of world points."""
        pc = self.to_camera(pts)
        depth = pc[:, 2]
        safe = np.where(depth > 1e-6, depth, 1e-6)
        uv = np.stack(
            [self.focal * pc[:, 0] / safe + self.width / 2, self.focal * pc[:, 1] / safe + self.height / 2],
            axis=1,
        )
        return uv, depth

    def plane_homography(self, origin, u_axis, v_axis) -> np.ndarray:
        """3x3 map from plane coordinates ``(a, b, 1)`` of ``origin + a*u + b*v`` to pixels."""
        cols = np.stack(
            [
                self.R @ np.asarray(u_axis, float),
                self.R @ np.asarray(v_axis, float),
                self.R @ (np.asarray(origin, float) - self.position),
            ],
            axis=1,
        )
        return self.K @ cols

    @property
    def ground_homography(self) -> np.ndarray:
        return self.plane_homography((0, 0, 0), (1, 0, 0), (0, 1, 0))

    def image_to_ground(self, uv: np.ndarray) -> np.ndarray:
        """Field ``(x, y)`` seen at pixels ``uv``; NaN above the horizon."""
        uv = np.asarray(uv, np.float64).reshape(-1, 2)
        h = np.linalg.inv(self.ground_homography) @ np.c_[uv, np.ones(len(uv))].T
        xy = (h[:2] / h[2]).T
        # A ray that points up never meets the ground (the camera is above it).
        rays = np.c_[(uv - [self.width / 2, self.height / 2]) / self.focal, np.ones(len(uv))] @ self.R
        ok = rays[:, 2] < 0
        xy[~ok] = np.nan
        return xy

    def clip_polygon(self, pts: np.ndarray) -> np.ndarray:
        """Project a planar 3-D polygon after cutting off what lies behind the near plane."""
        pc = self.to_camera(pts)
        out = []
        n = len(pc)
        for i in range(n):
            a, b = pc[i], pc[(i + 1) % n]
            ina, inb = a[2] >= NEAR_CLIP, b[2] >= NEAR_CLIP
            if ina:
                out.append(a)
            if ina != inb:
                s = (NEAR_CLIP - a[2]) / (b[2] - a[2])
                out.append(a + s * (b - a))
        if len(out) < 3:
            return np.zeros((0, 2))
        q = np.array(out)
        return np.stack(
            [
                self.focal * q[:, 0] / q[:, 2] + self.width / 2,
                self.focal * q[:, 1] / q[:, 2] + self.height / 2,
            ],
            axis=1,
        )


def look_at(position, target, focal: float, width: int, height: int, kind: str, roll: float = 0.0) -> Camera:
    """A level camera at ``position`` aimed at ``target`` (with an optional small roll in radians)."""
    pos = np.asarray(position, np.float64)
    fwd = np.asarray(target, np.float64) - pos
    fwd /= np.linalg.norm(fwd)
    right = np.cross(fwd, [0.0, 0.0, 1.0])
    right /= np.linalg.norm(right)
    down = np.cross(fwd, right)
    if roll:
        c, s = math.cos(roll), math.sin(roll)
        right, down = c * right + s * down, -s * right + c * down
    return Camera(np.stack([right, down, fwd]), pos, float(focal), int(width), int(height), kind)


def focal_for_size(position, target, length_px: float, object_yards: float) -> float:
    """Focal length (px) at which an object of ``object_yards`` at ``target`` is ``length_px`` long."""
    dist = float(np.linalg.norm(np.asarray(target, float) - np.asarray(position, float)))
    return length_px * dist / object_yards


def sideline_position(rng: np.random.Generator) -> np.ndarray:
    """The main broadcast camera: high in the stands near midfield, 20-30 m up, 40-70 m back."""
    return np.array([60.0 + rng.uniform(-8, 8), -rng.uniform(44.0, 76.0), rng.uniform(22.0, 33.0)])


def endzone_position(rng: np.random.Generator, end: int) -> np.ndarray:
    """Behind the posts at one end (``end`` = 0 left, 1 right), elevated, looking down the field."""
    back = rng.uniform(12.0, 28.0)
    x = -back if end == 0 else FIELD_LENGTH + back
    return np.array([x, FIELD_WIDTH / 2 + rng.uniform(-3, 3), rng.uniform(14.0, 26.0)])
