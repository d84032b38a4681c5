"""A Kalman filter for one point in image coordinates, plus the offline RTS smoother.

Time is counted in frames (dt = 1), so velocities are px/frame and noise levels do not depend on
the frame rate. Both axes share one motion model and are always measured together, so they share
one covariance matrix: the state is a ``(d, 2)`` array (one column per axis) and ``P`` is ``(d, d)``.
That halves the maths and keeps every step a couple of small matrix products.

Two models, picked by ``order``:

- ``order=1`` constant velocity, state ``[p, v]``, process noise = white acceleration;
- ``order=2`` constant acceleration, state ``[p, v, a]``, process noise = white jerk.

A thrown or kicked ball under a slowly moving broadcast camera follows close to a parabola in the
image, which a constant-velocity model can only follow with a large process noise (and then it
coasts badly through occlusions); ``tests/track/test_tracker.py`` measures both.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class MotionModel:
    """``x' = F x + w`` with ``cov(w) = Q``; measurement ``z = H x + v`` with ``var(v) = r`` per axis."""

    F: np.ndarray
    Q: np.ndarray
    H: np.ndarray
    r: float

    @property
    def dim(self) -> int:
        return self.F.shape[0]


def motion_model(order: int, process_noise: float, measurement_noise: float) -> MotionModel:
    """Discrete white-noise model of ``order`` 1 (velocity) or 2 (acceleration), dt = 1 frame.

    ``process_noise`` is the std of the unmodelled derivative per frame (px/frame^2 for order 1,
    px/frame^3 for order 2); ``measurement_noise`` is the detector's centre error in px.
    """
    if order == 1:
        F = np.array([[1.0, 1.0], [0.0, 1.0]])
        g = np.array([0.5, 1.0])
    elif order == 2:
        F = np.array([[1.0, 1.0, 0.5], [0.0, 1.0, 1.0], [0.0, 0.0, 1.0]])
        g = np.array([1 / 6, 0.5, 1.0])
    else:
        raise ValueError(f"order must be 1 (constant velocity) or 2 (constant acceleration), got {order}")
    Q = np.outer(g, g) * float(process_noise) ** 2
    H = np.zeros((1, F.shape[0]))
    H[0, 0] = 1.0
    return MotionModel(F, Q, H, float(measurement_noise) ** 2)


def initial_covariance(model: MotionModel, velocity_std: float, acceleration_std: float = 1.0) -> np.ndarray:
    """Prior covariance at track start: position known to the detector's error, motion barely known."""
    stds = [np.sqrt(model.r), velocity_std, acceleration_std][: model.dim]
    return np.diag(np.square(stds))


class KalmanFilter:
    """Linear Kalman filter over a 2-D point; see the module docstring for the state layout."""

    def __init__(self, model: MotionModel) -> None:
        self.model = model
        self.x = np.zeros((model.dim, 2))
        self.P = np.eye(model.dim)

    def init(self, position: np.ndarray, P0: np.ndarray, velocity: np.ndarray | None = None) -> None:
        self.x = np.zeros((self.model.dim, 2))
        self.x[0] = position
        if velocity is not None:
            self.x[1] = velocity
        self.P = np.array(P0, dtype=np.float64)

    def predict(self) -> None:
        m = self.model
        self.x = m.F @ self.x
        self.P = m.F @ self.P @ m.F.T + m.Q

    def update(self, z: np.ndarray, r: float | None = None) -> None:
        """Correct with a measured position; ``r`` overrides the model's measurement variance."""
        m = self.model
        S = float((m.H @ self.P @ m.H.T)[0, 0]) + (m.r if r is None else r)
        K = (self.P @ m.H.T) / S  # (d, 1)
        self.x = self.x + K @ (np.asarray(z, np.float64).reshape(1, 2) - m.H @ self.x)
        self.P = (np.eye(m.dim) - K @ m.H) @ self.P
        self.P = (self.P + self.P.T) / 2

    def damp(self, factor: float) -> None:
        """Shrink velocity by ``factor`` and acceleration by ``factor**2`` (state and covariance):
        a prediction that slows down to a stop instead of flying on."""
        D = np.diag(float(factor) ** np.arange(self.model.dim))
        self.x = D @ self.x
        self.P = D @ self.P @ D

    def peek(self) -> tuple[np.ndarray, float]:
        """Next frame's predicted position and its innovation std in px, without changing the filter."""
        m = self.model
        x = m.F @ self.x
        P = m.F @ self.P @ m.F.T + m.Q
        return x[0].copy(), float(np.sqrt(P[0, 0] + m.r))

    @property
    def position(self) -> np.ndarray:
        return self.x[0].copy()

    @property
    def velocity(self) -> np.ndarray:
        return self.x[1].copy()

    @property
    def position_std(self) -> float:
        return float(np.sqrt(self.P[0, 0]))


def rts_smooth(
    model: MotionModel,
    z: np.ndarray,
    P0: np.ndarray,
    r: np.ndarray | None = None,
    maneuver_sigmas: float | None = None,
    boost: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Rauch-Tung-Striebel smoothing of a whole sequence of measurements.

    ``z`` is ``(T, 2)`` with NaN rows where nothing was measured; the first row must be measured.
    ``r`` optionally gives each row's measurement variance. A measurement more than
    ``maneuver_sigmas`` innovation stds from the prediction adds ``boost`` to the predicted
    covariance first (a kick or a bounce: extra process noise at that step, so the smoothed track
    turns there instead of bending the frames around it). Returns smoothed states ``(T, d, 2)`` and
    position stds ``(T,)``. Offline only: every estimate also uses the measurements after it.
    """
    z = np.asarray(z, np.float64)
    T = len(z)
    if T == 0:
        return np.zeros((0, model.dim, 2)), np.zeros(0)
    if not np.isfinite(z[0]).all():
        raise ValueError("rts_smooth: the first row must be a measurement")
    r = np.full(T, model.r) if r is None else np.asarray(r, np.float64)
    kf = KalmanFilter(model)
    kf.init(z[0], P0)
    xf = np.zeros((T, model.dim, 2))
    Pf = np.zeros((T, model.dim, model.dim))
    xp = np.zeros_like(xf)
    Pp = np.zeros_like(Pf)
    xf[0], Pf[0], xp[0], Pp[0] = kf.x, kf.P, kf.x, kf.P
    for t in range(1, T):
        kf.predict()
        measured = np.isfinite(z[t]).all()
        if measured and maneuver_sigmas is not None and boost is not None:
            miss = float(np.linalg.norm(z[t] - kf.x[0]))
            if miss > maneuver_sigmas * np.sqrt(kf.P[0, 0] + r[t]):
                kf.P = kf.P + boost
        xp[t], Pp[t] = kf.x, kf.P
        if measured:
            kf.update(z[t], r[t])
        xf[t], Pf[t] = kf.x, kf.P
    xs, Ps = xf.copy(), Pf.copy()
    F = model.F
    for t in range(T - 2, -1, -1):
        C = Pf[t] @ F.T @ np.linalg.inv(Pp[t + 1])
        xs[t] = xf[t] + C @ (xs[t + 1] - xp[t + 1])
        Ps[t] = Pf[t] + C @ (Ps[t + 1] - Pp[t + 1]) @ C.T
    return xs, np.sqrt(np.maximum(Ps[:, 0, 0], 0.0))
