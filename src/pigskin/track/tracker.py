"""Track one ball through a video from per-frame detections.

Why not an IoU tracker (SORT, ByteTrack): a 10 px ball moving 30 px a frame never overlaps its
previous box, so IoU association fails exactly when the ball matters. Here, as in WASB's online
tracker, candidates are *gated by distance* to the predicted centre and then chosen by score and
distance together; unlike WASB the prediction comes from a Kalman filter, so the track can coast
through short occlusions (rows marked ``predicted``) and the gate widens while it does.

Two rules keep a still look-alike (a yellow flag, a helmet, a shoe) from stealing the track:

- a *static map* remembers spots where a detection has stayed put for ``static_frames``; while the
  track moves faster than ``moving_speed`` such spots are not valid candidates (motion consistency);
- when the track itself sits on such a spot, or coasts, and a *moving* candidate keeps appearing
  outside the gate, the track switches to it (so starting on the flag does not mean staying on it,
  and a ball that changed course behind a player is picked up before the coasting runs out).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from pigskin.detections import Detections
from pigskin.track.kalman import KalmanFilter, initial_covariance, motion_model

STATES = ("detected", "predicted", "lost")
Box = tuple[float, float, float, float]
ROW_FIELDS = ("frame", "time_s", "x1", "y1", "x2", "y2", "cx", "cy", "score", "state")


@dataclass(frozen=True)
class TrackerConfig:
    """Knobs of :class:`BallTracker`; distances in px, speeds in px/frame, times in frames."""

    motion: str = "acceleration"  # "acceleration" or "velocity" (see pigskin.track.kalman)
    process_noise: float = 0.1  # std of jerk (acceleration model) or acceleration (velocity model)
    measurement_noise: float = 1.5  # detector's centre error
    init_velocity_std: float = 15.0  # prior on a new track's speed when only one sighting is known
    init_acceleration_std: float = 1.0
    gate_px: float = 30.0  # smallest gate radius around the predicted centre
    gate_sigmas: float = 4.0  # ... or this many innovation stds, whichever is larger
    gate_growth_px: float = 6.0  # extra radius per frame of coasting
    max_gate_px: float = 200.0
    max_coast: int = 60  # frames of "predicted" before the track is "lost"
    # A ball hidden for more than a couple of frames is almost always held (carried, in a pile, dead)
    # and, with the camera following the play, nearly still in the picture; only a fast ball is in
    # flight behind an occluder. So after coast_free frames a slow prediction slows to a stop.
    coast_free: int = 2  # coasted frames that follow the motion model as it is ...
    coast_damping: float = 0.6  # ... then velocity is multiplied by this per frame (1: never slow down)
    flight_speed: float = 6.0  # ... unless the ball moves faster than this (px/frame): then it flies on
    min_score: float = 0.2  # detections below this are ignored
    acquire_score: float = 0.4  # a new track needs this score ...
    acquire_hits: int = 2  # ... in this many consecutive frames, consistently placed
    acquire_radius_px: float = 80.0  # how far a candidate may move between those frames
    distance_weight: float = 0.5  # cost = w * distance/gate + (1 - w) * (1 - score)
    static_frames: int = 10  # a detection within static_radius_px this long is a still object
    static_radius_px: float = 3.0
    moving_speed: float = 3.0  # a track faster than this cannot jump onto a still object
    switch_hits: int = 3  # sightings of a moving candidate that end a coasting or resting track
    maneuver_sigmas: float = 4.0  # a detection this many stds off the prediction resets the motion prior
    size_smoothing: float = 0.3  # weight of the newest box size in the running size estimate
    edge_margin_px: float = 20.0  # a prediction this far outside the image ends the track

    def __post_init__(self) -> None:
        if self.motion not in ("acceleration", "velocity"):
            raise ValueError(f"motion must be 'acceleration' or 'velocity', got {self.motion!r}")
        if not 0.0 <= self.distance_weight <= 1.0:
            raise ValueError(f"distance_weight must be in [0, 1], got {self.distance_weight}")
        if self.acquire_hits < 1 or self.max_coast < 0 or self.static_frames < 2:
            raise ValueError("acquire_hits >= 1, max_coast >= 0 and static_frames >= 2 are required")
        if min(self.gate_px, self.max_gate_px, self.measurement_noise, self.process_noise) <= 0:
            raise ValueError("gate_px, max_gate_px, measurement_noise and process_noise must be positive")

    @property
    def order(self) -> int:
        return 2 if self.motion == "acceleration" else 1

    def at_threshold(self, threshold: float) -> TrackerConfig:
        """The score settings moved to a detector's operating point: ``min_score`` becomes its
        threshold and ``acquire_score`` sits the same share of the way from there to 1 as the defaults
        (0.2 -> 0.4). Scores are not comparable across models (a heatmap peak of a 10 px ball rarely
        passes 0.5); the threshold a release calibrates on validation says what this model's are."""
        t = float(threshold)
        share = (self.acquire_score - self.min_score) / max(1e-9, 1.0 - self.min_score)
        return replace(self, min_score=t, acquire_score=t + share * (1.0 - t))


@dataclass(frozen=True)
class TrackState:
    """The track after one frame. ``xyxy``/``center`` are None only when ``state == "lost"``."""

    frame: int
    state: str
    xyxy: np.ndarray | None = None
    score: float | None = None
    velocity: np.ndarray | None = None  # px/frame
    coast: int = 0  # frames since the last detection

    @property
    def center(self) -> np.ndarray | None:
        return None if self.xyxy is None else (self.xyxy[:2] + self.xyxy[2:]) / 2

    def row(self, time_s: float) -> dict[str, Any]:
        """One ``tracks.csv`` row; ``None`` where a value is absent (lost, or no score)."""
        row: dict[str, Any] = {"frame": self.frame, "time_s": round(float(time_s), 4)}
        box = [None] * 4 if self.xyxy is None else [round(float(v), 2) for v in self.xyxy]
        c = self.center
        row.update(zip(("x1", "y1", "x2", "y2"), box, strict=True))
        row["cx"] = None if c is None else round(float(c[0]), 2)
        row["cy"] = None if c is None else round(float(c[1]), 2)
        row["score"] = None if self.score is None else round(float(self.score), 4)
        row["state"] = self.state
        return row


@dataclass
class _Sighting:
    """A candidate seen in consecutive frames while no track holds it (acquisition / switching)."""

    center: np.ndarray
    xyxy: np.ndarray
    score: float
    frame: int
    first: np.ndarray
    hits: int = 1
    velocity: np.ndarray = field(default_factory=lambda: np.zeros(2))
    still: bool = False  # sits on a spot of the static map

    @property
    def speed(self) -> float:
        return float(np.linalg.norm(self.center - self.first)) / max(self.hits - 1, 1)


class _StaticMap:
    """Spots where detections stay put: seen at least twice, ``frames`` or more frames apart, never
    farther than ``radius`` from where first seen. Only a frame whose search covered a spot can
    count against it (a window search sees part of the picture); a spot searched ``forget`` times in
    a row without a detection on it is dropped."""

    def __init__(self, radius: float, frames: int, forget: int = 3) -> None:
        self.radius, self.frames, self.forget = radius, frames, forget
        self.anchor = np.zeros((0, 2))
        self.first = np.zeros(0, np.int64)
        self.hits = np.zeros(0, np.int64)
        self.missed = np.zeros(0, np.int64)

    def update(self, centers: np.ndarray, frame: int, searched: list[Box] | None) -> np.ndarray:
        """Record this frame's centres (``searched``: the windows looked at, None for the whole frame);
        return which of them sit on a still spot."""
        n_old = len(self.anchor)
        seen = np.zeros(n_old, bool)
        spot = np.zeros(len(centers), np.int64)
        for i, c in enumerate(centers):
            d = np.linalg.norm(self.anchor - c, axis=1) if len(self.anchor) else np.zeros(0)
            j = int(np.argmin(d)) if d.size else -1
            if j < 0 or d[j] > self.radius:
                self.anchor = np.vstack([self.anchor, c[None]])
                self.first = np.append(self.first, frame)
                self.hits = np.append(self.hits, 0)
                self.missed = np.append(self.missed, 0)
                j = len(self.anchor) - 1
            if j >= n_old or not seen[j]:
                self.hits[j] += 1
                self.missed[j] = 0
                if j < n_old:
                    seen[j] = True
            spot[i] = j
        static = (self.hits[spot] >= 2) & (frame - self.first[spot] >= self.frames - 1)
        looked = np.ones(n_old, bool)
        if searched is not None:
            a = self.anchor[:n_old]
            looked[:] = False
            for x1, y1, x2, y2 in searched:
                looked |= (a[:, 0] >= x1) & (a[:, 0] < x2) & (a[:, 1] >= y1) & (a[:, 1] < y2)
        self.missed[:n_old] += looked & ~seen
        keep = self.missed <= self.forget
        self.anchor, self.first, self.hits, self.missed = (
            self.anchor[keep], self.first[keep], self.hits[keep], self.missed[keep])
        return static


class BallTracker:
    """Single-ball tracker: feed it each frame's detections in order, get a :class:`TrackState`.

    ``image_size`` (width, height) lets it end a track whose prediction leaves the picture.
    """

    def __init__(self, config: TrackerConfig | None = None, image_size: tuple[int, int] | None = None):
        self.config = config or TrackerConfig()
        self.image_size = image_size
        c = self.config
        self._model = motion_model(c.order, c.process_noise, c.measurement_noise)
        self.reset()

    def reset(self) -> None:
        """Forget everything (start of a new play or video)."""
        c = self.config
        self._kf: KalmanFilter | None = None
        self._coast = 0
        self._size = np.zeros(2)
        self._on_static = False
        self._sightings: list[_Sighting] = []
        self._static = _StaticMap(c.static_radius_px, c.static_frames)
        self.last: TrackState | None = None

    # -- what the pipeline asks before detecting -----------------------------------------------
    @property
    def active(self) -> bool:
        return self._kf is not None

    def predicted(self) -> tuple[np.ndarray, float, np.ndarray] | None:
        """Next frame's predicted centre, gate radius and box size; None without a track."""
        if self._kf is None:
            return None
        center, _ = self._kf.peek()
        return center, self._gate(self._coast + 1), self._size.copy()

    def candidates_ahead(self) -> list[tuple[np.ndarray, float]]:
        """Where the candidates not (yet) tracked should be next frame, best score first: each
        sighting of the last frame's extrapolated centre and the radius it may move in. A window
        search looks there too, so a new ball seen once in a whole-frame search can be confirmed."""
        if self.last is None:
            return []
        r = self.config.acquire_radius_px
        seen = [s for s in self._sightings if s.frame == self.last.frame]
        return [(s.center + s.velocity, r) for s in sorted(seen, key=lambda s: -s.score)]

    # -- the step ---------------------------------------------------------------------------
    def update(self, detections: Detections | None, frame_index: int,
               searched: list[Box] | None = None) -> TrackState:
        """Advance one frame. ``searched`` lists the windows the detector looked at (None: the whole
        frame, []: nowhere); ``detections=None`` means nothing was found (same as empty)."""
        c = self.config
        boxes, scores = _candidates(detections, c.min_score)
        centers = (boxes[:, :2] + boxes[:, 2:]) / 2
        static = self._static.update(centers, frame_index, searched)
        state: TrackState | None = None
        if self._kf is not None:
            state = self._follow(frame_index, boxes, centers, scores, static)
            if self._kf is not None and (self._on_static or self._coast > 0):
                state = self._challenge(frame_index, boxes, centers, scores, static) or state
        if self._kf is None:
            state = self._acquire(frame_index, boxes, centers, scores, static)
        self.last = state
        return state

    def _gate(self, coast: int) -> float:
        c = self.config
        _, std = self._kf.peek() if self._kf is not None else (None, 0.0)
        base = max(c.gate_px, c.gate_sigmas * std)
        return float(min(c.max_gate_px, base + c.gate_growth_px * max(coast - 1, 0)))

    def _follow(self, frame, boxes, centers, scores, static) -> TrackState | None:
        c = self.config
        gate = self._gate(self._coast + 1)
        moving = float(np.linalg.norm(self._kf.velocity)) > c.moving_speed
        self._kf.predict()
        pred = self._kf.position
        dist = np.linalg.norm(centers - pred, axis=1)
        ok = dist <= gate
        if moving:
            ok &= ~static
        if ok.any():
            cost = c.distance_weight * dist / gate + (1 - c.distance_weight) * (1 - np.minimum(scores, 1))
            i = int(np.flatnonzero(ok)[np.argmin(cost[ok])])
            # A ball half behind a player gives a small box whose centre is off by up to the hidden
            # part: trust such a measurement less, and do not let it shrink the size estimate.
            wh = boxes[i, 2:] - boxes[i, :2]
            deficit = float(np.clip(self._size - wh, 0, None).max()) / 2
            r = c.measurement_noise**2 + deficit**2
            if dist[i] > c.maneuver_sigmas * np.sqrt(self._kf.P[0, 0] + r):
                # Far from the prediction: a kick, a catch, a bounce. Forget what the motion was so
                # the filter takes the new course now instead of averaging it with the old one.
                boost = initial_covariance(self._model, c.init_velocity_std, c.init_acceleration_std)
                boost[0, 0] = 0.0
                self._kf.P += boost
            self._kf.update(centers[i], r)
            if deficit <= 0.25 * float(self._size.max()):
                self._size = (1 - c.size_smoothing) * self._size + c.size_smoothing * wh
            self._coast = 0
            self._on_static = bool(static[i])
            return self._state(frame, "detected", float(scores[i]))
        self._coast += 1
        speed = float(np.linalg.norm(self._kf.velocity))
        if self._coast > c.coast_free and c.coast_damping < 1.0 and speed < c.flight_speed:
            self._kf.damp(c.coast_damping)
        if self._coast > c.max_coast or self._outside(pred):
            self._lose()
            return None
        return self._state(frame, "predicted", None)

    def _challenge(self, frame, boxes, centers, scores, static) -> TrackState | None:
        """Restart on a candidate that keeps moving outside the gate while the track coasts or rests
        on a still object. It must be seen ``switch_hits`` times and move, so neither a detector
        blip nor a still look-alike (seen for the first time in a full-frame search) can take over."""
        c = self.config
        away = np.linalg.norm(centers - self._kf.position, axis=1) > self._gate(1)
        pick = away & ~static & (scores >= c.acquire_score)
        self._sight(frame, boxes[pick], centers[pick], scores[pick], static[pick])
        movers = [s for s in self._sightings if s.hits >= c.switch_hits and s.speed >= c.moving_speed]
        if not movers:
            return None
        return self._start(frame, max(movers, key=lambda s: (s.score, s.hits)))

    def _acquire(self, frame, boxes, centers, scores, static) -> TrackState:
        c = self.config
        pick = scores >= c.acquire_score
        self._sight(frame, boxes[pick], centers[pick], scores[pick], static[pick])
        # A known still object must be seen for static_frames more before it is believed to be the
        # ball (it may be, at rest), which gives a ball coming back into view time to win.
        ready = [s for s in self._sightings if s.hits >= (c.static_frames if s.still else c.acquire_hits)]
        if not ready:
            return TrackState(frame, "lost")
        # Prefer something that moves, then the best score: a still look-alike is the last resort.
        best = max(ready, key=lambda s: (s.speed >= c.moving_speed, s.score, s.hits))
        return self._start(frame, best)

    def _sight(self, frame, boxes, centers, scores, static) -> None:
        """Extend sightings with this frame's candidates (nearest to each sighting's extrapolation)."""
        c = self.config
        old = [s for s in self._sightings if s.frame == frame - 1]
        new: list[_Sighting] = []
        used: set[int] = set()
        for k in np.argsort(-scores, kind="stable"):
            k = int(k)
            best, best_d = None, c.acquire_radius_px
            for j, s in enumerate(old):
                d = float(np.linalg.norm(centers[k] - (s.center + s.velocity)))
                if j not in used and d <= best_d:
                    best, best_d = j, d
            if best is None:
                new.append(_Sighting(centers[k], boxes[k], float(scores[k]), frame, centers[k].copy(),
                                     still=bool(static[k])))
                continue
            used.add(best)
            s = old[best]
            step = centers[k] - s.center
            new.append(_Sighting(centers[k], boxes[k], float(scores[k]), frame, s.first, s.hits + 1, step,
                                 bool(static[k])))
        self._sightings = new

    def _start(self, frame: int, s: _Sighting) -> TrackState:
        c = self.config
        known = s.hits >= 2
        vel_std = max(2 * c.measurement_noise, 2.0) if known else c.init_velocity_std
        P0 = initial_covariance(self._model, vel_std, c.init_acceleration_std)
        self._kf = KalmanFilter(self._model)
        self._kf.init(s.center, P0, s.velocity if known else None)
        self._size = s.xyxy[2:] - s.xyxy[:2]
        self._coast = 0
        self._sightings = []
        self._on_static = False
        return self._state(frame, "detected", s.score)

    def _lose(self) -> None:
        self._kf = None
        self._coast = 0
        self._on_static = False

    def _outside(self, p: np.ndarray) -> bool:
        if self.image_size is None:
            return False
        w, h = self.image_size
        m = self.config.edge_margin_px
        return bool(p[0] < -m or p[1] < -m or p[0] > w + m or p[1] > h + m)

    def _state(self, frame: int, state: str, score: float | None) -> TrackState:
        p = self._kf.position
        half = np.maximum(self._size, 1.0) / 2
        xyxy = np.concatenate([p - half, p + half])
        return TrackState(frame, state, xyxy, score, self._kf.velocity, self._coast)


def _candidates(detections: Detections | None, min_score: float) -> tuple[np.ndarray, np.ndarray]:
    if detections is None or len(detections) == 0:
        return np.zeros((0, 4)), np.zeros(0)
    conf = detections.confidence
    scores = np.ones(len(detections)) if conf is None else conf.astype(np.float64)
    keep = scores >= min_score
    return detections.xyxy[keep].astype(np.float64), scores[keep]
