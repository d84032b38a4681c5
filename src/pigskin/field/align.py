"""Fit a homography to the markings of one frame, starting from a guess (the previous frame's).

The field model's points are projected into the frame and the homography is moved until they lie
on painted lines: first on the distance to the nearest marking pixel (a wide, robust basin: a
point hidden by a player costs a bounded amount), then on the softened line response, whose
maximum is a line's centre (sub-pixel, and indifferent to how wide the paint is). The unknowns are
eight entries of a correction ``I + D`` applied in normalised image coordinates, so a step means
the same at any frame size.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage
from scipy.optimize import least_squares

from pigskin.field.mask import LineImage
from pigskin.field.model import model_points

MAX_POINTS = 1200
TRUNCATE_PX = (24.0, 8.0)  # distances (working px) beyond which a point counts as simply unmatched
INLIER_PX = 1.5


def to_image(h_if: np.ndarray, xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pixels of field points ``xy`` under an image->field homography, and whether each lies in front
    of the camera (a point behind it has no pixel)."""
    return apply(np.linalg.inv(h_if), xy)


def apply(h: np.ndarray, pts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``h`` applied to points ``(N, 2)``: ``(N, 2)`` results and where the third coordinate is > 0."""
    pts = np.asarray(pts, np.float64).reshape(-1, 2)
    q = np.c_[pts, np.ones(len(pts))] @ np.asarray(h, np.float64).T
    w = q[:, 2]
    ok = w > 1e-9
    safe = np.where(ok, w, 1.0)
    return q[:, :2] / safe[:, None], ok


@dataclass(frozen=True)
class Fit:
    """The refined image->field homography and how well the markings support it."""

    homography: np.ndarray
    confidence: float  # share of in-view model points that lie on a marking
    yard_lines: int  # yard lines with most of their in-view points on a marking
    cross_points: int  # hash-mark and sideline points on a marking (they fix the y direction)
    points: int  # model points in view


class Aligner:
    """Refines homographies against :class:`LineImage` s (one aligner serves a whole video)."""

    def __init__(self, step: float = 0.5) -> None:
        self.xy, self.kind, self.line = model_points(step)

    def visible(self, h_fw: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
        """Indices of model points inside the working frame and not crowded toward the horizon."""
        H, W = shape
        uv, ok = apply(h_fw, self.xy)
        ux, okx = apply(h_fw, self.xy + [1.0, 0.0])
        uy, oky = apply(h_fw, self.xy + [0.0, 1.0])
        spread = np.minimum(np.linalg.norm(ux - uv, axis=1), np.linalg.norm(uy - uv, axis=1))
        inside = (uv[:, 0] > 2) & (uv[:, 0] < W - 3) & (uv[:, 1] > 2) & (uv[:, 1] < H - 3)
        idx = np.flatnonzero(ok & okx & oky & inside & (spread > 1.0))
        if len(idx) > MAX_POINTS:
            idx = idx[np.linspace(0, len(idx) - 1, MAX_POINTS).astype(int)]
        return idx

    def refine(self, h_if: np.ndarray, img: LineImage) -> Fit | None:
        """The homography near ``h_if`` that best lays the model on ``img``'s markings; None when
        too little of the field model is in view to say."""
        s = img.scale
        work = np.diag([1.0 / s, 1.0 / s, 1.0])
        h_fw = work @ np.linalg.inv(h_if)  # field -> working px
        H, W = img.shape
        norm = np.array([[2.0 / W, 0, -1.0], [0, 2.0 / H, -1.0], [0, 0, 1.0]])
        base = norm @ h_fw
        idx = self.visible(h_fw, img.shape)
        if len(idx) < 30:
            return None
        a = np.c_[self.xy[idx], np.ones(len(idx))] @ base.T  # model points in normalised image coords

        def pixels(p: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
            """Working px of the points under correction ``p``, in front of the camera, and d(px)/dp."""
            b0 = a[:, 0] + p[0] * a[:, 0] + p[1] * a[:, 1] + p[2] * a[:, 2]
            b1 = a[:, 1] + p[3] * a[:, 0] + p[4] * a[:, 1] + p[5] * a[:, 2]
            b2 = a[:, 2] + p[6] * a[:, 0] + p[7] * a[:, 1]
            ok = b2 > 1e-9
            b2 = np.where(ok, b2, 1.0)
            n0, n1 = b0 / b2, b1 / b2
            uv = np.c_[W / 2 * (n0 + 1), H / 2 * (n1 + 1)]
            jac = np.zeros((len(a), 2, 8))
            for j in range(3):
                jac[:, 0, j] = W / 2 * a[:, j] / b2
                jac[:, 1, 3 + j] = H / 2 * a[:, j] / b2
            for j, k in ((6, 0), (7, 1)):
                jac[:, 0, j] = -W / 2 * n0 * a[:, k] / b2
                jac[:, 1, j] = -H / 2 * n1 * a[:, k] / b2
            return uv, ok, jac

        def residuals(image: np.ndarray, grads: tuple[np.ndarray, np.ndarray], outside: float, sign: float):
            """Residual ``sign * image(px)`` per point and its Jacobian (through the image's gradient)."""

            def at(field: np.ndarray, uv: np.ndarray, cval: float) -> np.ndarray:
                return ndimage.map_coordinates(field, [uv[:, 1] - 0.5, uv[:, 0] - 0.5], order=1,
                                               mode="constant", cval=cval)

            def fun(p: np.ndarray) -> np.ndarray:
                uv, ok, _ = pixels(p)
                return sign * np.where(ok, at(image, uv, outside), outside)

            def jac(p: np.ndarray) -> np.ndarray:
                uv, ok, d = pixels(p)
                gy, gx = at(grads[0], uv, 0.0), at(grads[1], uv, 0.0)
                return sign * (ok * gx)[:, None] * d[:, 0] + sign * (ok * gy)[:, None] * d[:, 1]

            return fun, jac

        def sample(field: np.ndarray, p: np.ndarray, outside: float) -> np.ndarray:
            return residuals(field, (field, field), outside, 1.0)[0](p)

        def warp(p: np.ndarray) -> np.ndarray:
            d = np.array([[p[0], p[1], p[2]], [p[3], p[4], p[5]], [p[6], p[7], 0.0]])
            return np.linalg.inv(norm) @ (np.eye(3) + d) @ base

        p = np.zeros(8)
        for cap in TRUNCATE_PX:  # a wide basin first, then a tight one that ignores far clutter
            dist = np.minimum(img.distance, cap) / 2.0
            fun, jac = residuals(dist, tuple(np.gradient(dist)), cap / 2.0, 1.0)
            p = least_squares(fun, p, jac=jac, loss="soft_l1", f_scale=1.0, max_nfev=30, x_scale=0.01).x
        fun, jac = residuals(img.response, img.gradient, 0.0, -1.0)
        fine = least_squares(lambda q: 1.0 + fun(q), p, jac=jac, loss="soft_l1", f_scale=0.5, max_nfev=50,
                             x_scale=0.005)
        h_fw_new = warp(fine.x)
        yard = self.kind[idx] == 0
        on = sample(img.distance, fine.x, 1e3) <= INLIER_PX
        lines = 0
        for x in np.unique(self.line[idx][yard]):
            mine = yard & (self.line[idx] == x)
            lines += int(mine.sum() >= 5 and on[mine].mean() >= 0.4)
        cross = int((on & ~yard).sum())
        h_new = np.linalg.inv(np.linalg.inv(work) @ h_fw_new)
        return Fit(h_new / h_new[2, 2], float(on.mean()), lines, cross, len(idx))
