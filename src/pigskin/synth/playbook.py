"""What one play is, before and while it runs: the game around it, the script of its random choices
(timings, routes, who gets the ball), where everyone lines up, and the state the renderer sees at
one instant. :mod:`pigskin.synth.play` moves everyone through it. Units: yards, seconds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from pigskin.synth.ball import B as BALL_RADIUS
from pigskin.synth.camera import FIELD_WIDTH
from pigskin.synth.field import HASH_Y, N_STADIUMS, TEAMS, Team

GRAVITY = 10.73  # yd/s^2
# roles
OL, QB, RB, WR, TE, DL, LB, CB, S, OFF, PUNTER = range(11)
N_OFFICIALS = 5


@dataclass(frozen=True)
class Game:
    """Who is playing where, and what the score bug says."""

    stadium: int
    night: bool
    home: Team
    away: Team
    offense_home: bool
    white: int  # which team (0 = offense, 1 = defense, -1 = neither) wears white jerseys
    score: tuple[int, int]
    quarter: int
    clock: str
    down: int
    distance: int


@dataclass
class PlayScript:
    kind: str  # 'run', 'pass', 'punt'
    d: int  # +1: offense moves toward x = 120
    los: float
    ball_y: float
    shotgun: bool
    t_snap: float
    t_handoff: float = math.inf  # run: QB -> RB
    t_throw: float = math.inf  # pass / punt: ball leaves the hand or foot
    flight: float = 0.0
    target: int = -1  # receiver / returner index
    catch_xy: tuple[float, float] = (0.0, 0.0)
    complete: bool = True
    sack: bool = False
    t_tackle: float = math.inf
    fumble: bool = False
    t_recover: float = math.inf
    pile_n: int = 4
    t_getup: float = math.inf
    duration: float = 8.0
    carry_side: float = 1.0  # which side of the body the ball is carried on
    routes: dict[int, tuple[float, float, float]] = field(default_factory=dict)  # stem, angle, speed
    air: list[tuple[float, float]] = field(default_factory=list)  # times the ball is free in the air


@dataclass
class BallState:
    pos: np.ndarray
    vel: np.ndarray
    axis: np.ndarray
    lace: np.ndarray
    mode: str  # 'ground' (before the snap), 'held', 'air', 'loose'
    carrier: int = -1

    @property
    def in_air(self) -> bool:
        return self.mode in ("air", "loose") and float(self.pos[2]) > BALL_RADIUS + 0.05


@dataclass
class SceneState:
    """Everything the renderer needs for one instant."""

    t: float
    game: Game
    script: PlayScript
    pos: np.ndarray  # (N, 2)
    vel: np.ndarray  # (N, 2)
    team: np.ndarray  # (N,) 0 offense, 1 defense, 2 official
    role: np.ndarray
    number: np.ndarray
    height: np.ndarray  # standing height, yards
    down: np.ndarray  # 0 standing .. 1 lying
    phase: np.ndarray  # stride phase (radians)
    stance: bool  # before the snap: linemen crouched
    ball: BallState
    flags: list[tuple[float, float]] = field(default_factory=list)
    first_down: float = 0.0

    @property
    def phase_name(self) -> str:
        s = self.script
        if self.t < s.t_snap:
            return "lineup"
        if self.t >= s.t_tackle or self.t >= s.t_recover:
            return "pileup" if self.t < s.t_getup else "dead"
        if self.ball.mode in ("air", "loose"):
            return "air" if self.ball.mode == "air" else "loose"
        return "carry"


def sample_game(rng: np.random.Generator) -> Game:
    stadium = int(rng.integers(0, N_STADIUMS))
    home = TEAMS[stadium % len(TEAMS)]
    away = TEAMS[(stadium + 1 + int(rng.integers(0, len(TEAMS) - 1))) % len(TEAMS)]
    offense_home = bool(rng.uniform() < 0.5)
    white = int(rng.choice([-1, 0, 1], p=[0.25, 0.375, 0.375]))
    minutes, seconds = int(rng.integers(0, 15)), int(rng.integers(0, 60))
    night = bool(rng.uniform() < 0.35)
    return Game(
        stadium,
        night,
        home,
        away,
        offense_home,
        white,
        (int(rng.integers(0, 35)), int(rng.integers(0, 35))),
        int(rng.integers(1, 5)),
        f"{minutes}:{seconds:02d}",
        int(rng.integers(1, 5)),
        int(rng.choice([1, 2, 3, 5, 7, 10, 10, 10, 12, 15])),
    )


def sample_script(rng: np.random.Generator) -> PlayScript:
    kind = str(rng.choice(["run", "pass", "punt"], p=[0.45, 0.45, 0.10]))
    d = 1 if rng.uniform() < 0.5 else -1
    los = float(rng.uniform(22, 98))
    if kind == "punt":  # punting from between one's own 15 and 45
        own = float(rng.uniform(15, 45))
        los = 10 + own if d == 1 else 110 - own
    ball_y = float(
        rng.choice([HASH_Y[1], FIELD_WIDTH / 2, HASH_Y[0]], p=[0.35, 0.3, 0.35]) + rng.uniform(-1, 1)
    )
    s = PlayScript(
        kind, d, los, ball_y, shotgun=bool(rng.uniform() < 0.55), t_snap=float(rng.uniform(0.8, 2.2))
    )
    s.carry_side = 1.0 if rng.uniform() < 0.5 else -1.0
    s.pile_n = int(rng.integers(2, 8))
    if kind == "run":
        s.t_handoff = s.t_snap + (0.55 if s.shotgun else 0.75) + float(rng.uniform(0, 0.3))
        s.t_tackle = s.t_handoff + float(rng.uniform(1.2, 3.5))
        s.target = 6  # the running back
    elif kind == "pass":
        s.sack = rng.uniform() < 0.08
        if s.sack:
            s.t_tackle = s.t_snap + float(rng.uniform(2.0, 3.2))
        else:
            s.t_throw = s.t_snap + float(rng.uniform(1.8, 3.0))
            s.flight = float(rng.uniform(0.6, 1.8))
            s.target = int(rng.choice([8, 9, 10, 7]))  # WRs and the TE
            s.complete = rng.uniform() < 0.68
    else:
        s.shotgun = True
        s.t_throw = s.t_snap + 0.75 + float(rng.uniform(0.9, 1.2))  # the kick
        s.flight = float(rng.uniform(3.6, 4.6))
        dist = float(rng.uniform(36, 50))
        s.target = 20  # the deep safety returns it
        x = float(np.clip(los + d * dist, 3, 117))
        s.catch_xy = (x, float(np.clip(ball_y + rng.uniform(-8, 8), 6, FIELD_WIDTH - 6)))
        s.t_tackle = s.t_throw + s.flight + float(rng.uniform(0.8, 2.5))
    for i in (7, 8, 9, 10):  # TE, WR1, WR2, slot
        s.routes[i] = (
            float(rng.uniform(5, 16)),
            float(rng.choice([-70, -45, 0, 0, 45, 70, 110])),
            float(rng.uniform(7.0, 8.6)),
        )
    if kind in ("run", "pass") and not s.sack and rng.uniform() < 0.1:
        s.fumble = True
    s.duration = 0.0  # set by PlaySim once all events are known
    return s


def formation(s: PlayScript, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Start positions (N, 2), roles, numbers for 22 players and 5 officials."""
    back = lambda dx: s.los - s.d * dx  # noqa: E731 - offense side
    ahead = lambda dx: s.los + s.d * dx  # noqa: E731 - defense side
    y0 = s.ball_y
    side = 1.0 if y0 < FIELD_WIDTH / 2 else -1.0  # strong side toward the wide field
    wide = float(rng.uniform(11, 18))
    qb_dx = 5.0 if s.shotgun else 1.2
    rows: list[tuple[float, float, int]] = [
        (back(0.75), y0, OL),
        (back(0.8), y0 - 1.3, OL),
        (back(0.8), y0 + 1.3, OL),
        (back(0.9), y0 - 2.6, OL),
        (back(0.9), y0 + 2.6, OL),
        (back(qb_dx), y0, QB),
        (back(7.0 if not s.shotgun else 5.2), y0 + (0 if not s.shotgun else -1.6 * side), RB),
        (back(1.0), y0 + 3.9 * side, TE),
        (back(1.0), y0 - wide, WR),
        (back(1.0), y0 + wide, WR),
        (back(1.4), y0 + 7.0 * side, WR),
        # defense
        (ahead(1.0), y0 - 1.0, DL),
        (ahead(1.0), y0 + 1.0, DL),
        (ahead(1.0), y0 - 3.4, DL),
        (ahead(1.0), y0 + 3.4, DL),
        (ahead(4.5), y0, LB),
        (ahead(4.5), y0 - 4.5, LB),
        (ahead(4.5), y0 + 4.5, LB),
        (ahead(6.5), y0 - wide, CB),
        (ahead(6.5), y0 + wide, CB),
        (ahead(13.0), y0 - 8.0, S),
        (ahead(12.0), y0 + 8.0, S),
        # officials: referee, umpire, head linesman, line judge, back judge
        (back(12.0), y0 + 3.5, OFF),
        (back(7.0), y0 - 2.0, OFF),
        (s.los, -1.2, OFF),
        (s.los, FIELD_WIDTH + 1.2, OFF),
        (ahead(22.0), y0, OFF),
    ]
    if s.kind == "punt":
        rows[5] = (back(6.0), y0 + 1.0, QB)  # up-back
        rows[6] = (back(14.0), y0, PUNTER)
        rows[20] = (s.catch_xy[0] + s.d * 3.0, s.catch_xy[1], S)  # returner deep
    pos = np.array([(x, y) for x, y, _ in rows], np.float64)
    pos[:, 1] = np.clip(pos[:, 1], -1.5, FIELD_WIDTH + 1.5)
    pos[:22] += rng.normal(0, 0.15, (22, 2))
    roles = np.array([r for _, _, r in rows], np.int64)
    ranges = {
        OL: (50, 80),
        QB: (1, 20),
        RB: (20, 50),
        WR: (10, 20),
        TE: (80, 90),
        DL: (90, 100),
        LB: (40, 60),
        CB: (20, 40),
        S: (20, 50),
        PUNTER: (1, 20),
        OFF: (1, 130),
    }
    numbers = np.array([int(rng.integers(*ranges[r])) for r in roles], np.int64)
    return pos, roles, numbers
