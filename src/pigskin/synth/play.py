"""A small play simulator: formation, snap, run / pass / punt, tackle and pile-up, sometimes a fumble.

:class:`PlaySim` steps 22 players, 5 officials and the ball through one play's script
(:mod:`pigskin.synth.playbook`: the random choices, the line-up, the state types) with simple
steering, so that stills (any time in a play) and clips (every frame) come from the same motion.
Units: yards, seconds.
"""

from __future__ import annotations

import math

import numpy as np

from pigskin.synth.ball import B as BALL_RADIUS
from pigskin.synth.camera import FIELD_LENGTH, FIELD_WIDTH
from pigskin.synth.playbook import (
    CB,
    DL,
    GRAVITY,
    LB,
    N_OFFICIALS,
    OL,
    BallState,
    Game,
    PlayScript,
    S,
    SceneState,
    formation,
)


def _rotate(v: np.ndarray, k: np.ndarray, angle: float) -> np.ndarray:
    """Rodrigues' rotation of ``v`` about unit axis ``k``."""
    c, s = math.cos(angle), math.sin(angle)
    return v * c + np.cross(k, v) * s + k * float(k @ v) * (1 - c)


class PlaySim:
    """Steps one play; ``advance(t)`` moves it to time ``t`` and returns the :class:`SceneState`."""

    def __init__(self, game: Game, script: PlayScript, rng: np.random.Generator, flags: int = 0) -> None:
        self.game, self.s, self.rng = game, script, rng
        self.pos, self.role, self.number = formation(script, rng)
        n = len(self.pos)
        self.home_pos = self.pos.copy()
        self.vel = np.zeros((n, 2))
        self.team = np.array([0] * 11 + [1] * 11 + [2] * N_OFFICIALS, np.int64)
        self.height = np.r_[rng.uniform(1.98, 2.2, 22), rng.uniform(1.9, 2.02, N_OFFICIALS)]
        self.down = np.zeros(n)
        self.phase = rng.uniform(0, 2 * math.pi, n)
        self.speed_cap = np.where(np.isin(self.role, (OL, DL)), 5.5, 8.0) * rng.uniform(0.9, 1.05, n)
        self.t = 0.0
        self.pile: np.ndarray = np.zeros(0, np.int64)
        self.tackler = -1
        s = script
        self.ball = BallState(
            np.array([s.los, s.ball_y, BALL_RADIUS]),
            np.zeros(3),
            np.array([float(s.d), 0.0, 0.0]),
            np.array([0.0, 0.0, 1.0]),
            "ground",
            0,
        )
        self.flight_from = np.zeros(3)
        self.flight_v0 = np.zeros(3)
        self.flight_t0 = 0.0
        self.flight_T = 0.0
        self.flight_spin = "spiral"
        self.flight_kind = "snap"
        self.blend_from: np.ndarray | None = None
        self.blend_t0 = 0.0
        self.blend_T = 0.2
        self.loose_spin = np.array([0.0, 0.0, 1.0])
        self.loose_rate = 0.0
        self.events_done: set[str] = set()
        self.flags = [
            (
                float(np.clip(s.los + s.d * rng.uniform(-12, 12), 1, 119)),
                float(rng.uniform(3, FIELD_WIDTH - 3)),
            )
            for _ in range(flags)
        ]
        self.first_down = float(np.clip(s.los + s.d * game.distance, 10, 110))
        s.duration = self._finish_script()

    # -- helpers -------------------------------------------------------------------------------
    def _finish_script(self) -> float:
        """Fix the remaining event times and the intervals when the ball is free; returns the length."""
        s = self.s
        if s.kind == "pass" and not s.sack and not s.complete:
            end = s.t_throw + s.flight + 0.8
        elif s.kind == "pass" and not s.sack:
            end = s.t_throw + s.flight + float(self.rng.uniform(0.6, 2.5))
            s.t_tackle = end
        else:
            end = s.t_tackle
        if s.fumble:
            s.t_recover = end + float(self.rng.uniform(0.8, 1.6))
            end = s.t_recover
        s.t_getup = end + float(self.rng.uniform(1.5, 2.5))
        s.air = []
        if s.shotgun:
            s.air.append((s.t_snap, s.t_snap + (0.75 if s.kind == "punt" else 0.42)))
        if s.kind == "pass" and not s.sack:
            s.air.append((s.t_throw, s.t_throw + s.flight + (0.0 if s.complete else 0.6)))
        if s.kind == "punt":
            s.air.append((s.t_throw, s.t_throw + s.flight))
        if s.fumble:
            s.air.append((s.t_tackle, s.t_recover))
        return s.t_getup + 1.0

    def carrier_hold(self, i: int) -> np.ndarray:
        """Where a player's hands hold the ball: at the hip, on ``carry_side``, lower when down."""
        v = self.vel[i]
        sp = math.hypot(float(v[0]), float(v[1]))
        head = v / sp if sp > 0.3 else np.array([float(self.s.d if self.team[i] == 0 else -self.s.d), 0.0])
        side = np.array([-head[1], head[0]]) * self.s.carry_side
        xy = self.pos[i] + side * 0.26 + head * 0.12
        z = 1.05 * (1 - self.down[i]) + (BALL_RADIUS + 0.12) * self.down[i]
        return np.array([xy[0], xy[1], z])

    def _hold_orientation(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        v = self.vel[i]
        sp = math.hypot(float(v[0]), float(v[1]))
        head = v / sp if sp > 0.3 else np.array([float(self.s.d if self.team[i] == 0 else -self.s.d), 0.0])
        axis = np.array([head[0] * 0.85, head[1] * 0.85, 0.5])
        axis /= np.linalg.norm(axis)
        side = np.array([-head[1], head[0], 0.0]) * self.s.carry_side
        lace = side - axis * float(side @ axis)
        return axis, lace / np.linalg.norm(lace)

    def _launch(self, p0: np.ndarray, p1: np.ndarray, T: float, spin: str, kind: str) -> None:
        """Throw the ball from ``p0`` to arrive at ``p1`` after ``T`` s (``kind``: snap, pass or punt)."""
        self.flight_from, self.flight_t0, self.flight_T, self.flight_spin = p0.copy(), self.t, T, spin
        self.flight_kind = kind
        self.flight_v0 = (p1 - p0) / T + np.array([0, 0, 0.5 * GRAVITY * T])
        self.ball.mode, self.ball.carrier = "air", -1

    def _give(self, i: int, blend: float = 0.18) -> None:
        self.blend_from, self.blend_t0, self.blend_T = self.ball.pos.copy(), self.t, blend
        self.ball.mode, self.ball.carrier = "held", i

    def _nearest(self, xy: np.ndarray, mask: np.ndarray) -> int:
        d = ((self.pos - xy) ** 2).sum(1)
        d[~mask] = np.inf
        return int(np.argmin(d))

    @property
    def carrier(self) -> int:
        return self.ball.carrier if self.ball.mode == "held" else -1

    # -- stepping --------------------------------------------------------------------------------
    def advance(self, t: float, dt: float = 1 / 20) -> SceneState:
        steps = max(0, int(round((t - self.t) / dt)))
        for _ in range(steps):
            self._step(dt)
        return self.state()

    def state(self) -> SceneState:
        b = self.ball
        ball = BallState(b.pos.copy(), b.vel.copy(), b.axis.copy(), b.lace.copy(), b.mode, b.carrier)
        return SceneState(
            self.t,
            self.game,
            self.s,
            self.pos.copy(),
            self.vel.copy(),
            self.team,
            self.role,
            self.number,
            self.height,
            self.down.copy(),
            self.phase.copy(),
            self.t < self.s.t_snap,
            ball,
            list(self.flags),
            self.first_down,
        )

    def _events(self) -> None:
        s, t, b = self.s, self.t, self.ball
        qb = 6 if s.kind == "punt" else 5
        if t >= s.t_snap and "snap" not in self.events_done:
            self.events_done.add("snap")
            if s.shotgun:
                T = 0.75 if s.kind == "punt" else 0.42
                self._launch(b.pos, self.carrier_hold(qb), T, "spiral", "snap")
            else:
                self._give(5, 0.2)
        if b.mode == "air" and t >= self.flight_t0 + self.flight_T:
            if self.flight_kind == "snap":
                self._give(qb, 0.1)
            elif self.flight_kind == "pass" and not s.complete:
                b.mode = "loose"
                b.vel = self.flight_v0 - np.array([0, 0, GRAVITY * self.flight_T])
                self._tumble()
            else:
                self._give(s.target, 0.15)
        if t >= s.t_handoff and "handoff" not in self.events_done:
            self.events_done.add("handoff")
            self._give(s.target, 0.25)
        if t >= s.t_throw and "throw" not in self.events_done and b.mode == "held":
            self.events_done.add("throw")
            p0 = b.pos.copy()
            if s.kind == "punt":
                T = s.flight
                p1 = np.array([s.catch_xy[0], s.catch_xy[1], 1.3])
                p0[2] = 0.7
                self._launch(p0, p1, T, "tumble", "punt")
            else:
                r, T = s.target, s.flight
                for _ in range(3):  # lead the receiver; about 22 yd/s over the ground, like a real pass
                    tgt = np.clip(self.pos[r] + self.vel[r] * T, [1, -0.5], [119, FIELD_WIDTH + 0.5])
                    T = float(np.clip(np.linalg.norm(tgt - p0[:2]) / 22.0 + 0.25, 0.5, 2.8))
                tgt = np.clip(self.pos[r] + self.vel[r] * T, [1, -0.5], [119, FIELD_WIDTH + 0.5])
                shift = T - s.flight
                s.flight, s.t_tackle, s.t_recover, s.t_getup = (
                    T,
                    s.t_tackle + shift,
                    s.t_recover + shift,
                    s.t_getup + shift,
                )
                s.air = [(a, b + shift) if a == s.t_throw else (a, b) for a, b in s.air]
                s.duration += shift
                s.catch_xy = (float(tgt[0]), float(tgt[1]))
                self._launch(p0, np.array([tgt[0], tgt[1], 1.35]), T, "spiral", "pass")
        if s.fumble and t >= s.t_tackle - 0.05 and "fumble" not in self.events_done and b.mode == "held":
            self.events_done.add("fumble")
            runner_v = self.vel[b.carrier]
            b.mode, b.carrier = "loose", -1
            rnd = self.rng
            b.vel = np.array(
                [
                    runner_v[0] * 0.4 + rnd.uniform(-4, 4),
                    runner_v[1] * 0.4 + rnd.uniform(-4, 4),
                    rnd.uniform(1.5, 4.0),
                ]
            )
            self._tumble()
        if t >= s.t_tackle and "tackle" not in self.events_done:
            self.events_done.add("tackle")
            c = self._victim()
            opp = (self.team != self.team[c]) & (self.team < 2)
            self.tackler = self._nearest(self.pos[c], opp)
            self._start_pile(c)
        if s.fumble and t >= s.t_recover and "recover" not in self.events_done:
            self.events_done.add("recover")
            i = self._nearest(b.pos[:2], self.team < 2)
            self.pos[i] = b.pos[:2] - (self.carrier_hold(i)[:2] - self.pos[i])
            self.down[i] = 1.0
            self._give(i, 0.05)
            self._start_pile(i, extra=True)

    def _victim(self) -> int:
        if self.carrier >= 0:
            return self.carrier
        # the ball is loose or in the air: the intended carrier still gets hit
        return self.s.target if self.s.target >= 0 else 5

    def _start_pile(self, c: int, extra: bool = False) -> None:
        d = np.sqrt(((self.pos - self.pos[c]) ** 2).sum(1))
        d[self.team == 2] = np.inf
        d[c] = np.inf
        order = np.argsort(d, kind="stable")
        n = self.s.pile_n + (2 if extra else 0)
        pile = [int(i) for i in order[:n] if d[i] < 9.0]
        self.pile = np.array(sorted(set(pile) | {c}), np.int64)
        self.pile_center = self.pos[c].copy()
        self.pile_offsets = {int(i): self.rng.uniform(-0.9, 0.9, 2) for i in self.pile}
        self.pile_offsets[c] = np.zeros(2)

    def _tumble(self) -> None:
        k = self.rng.normal(size=3)
        self.loose_spin = k / np.linalg.norm(k)
        self.loose_rate = float(self.rng.uniform(8, 20))

    def _targets(self) -> tuple[np.ndarray, np.ndarray]:
        """Where each player is heading and how fast he may go there."""
        s, t = self.s, self.t
        d = float(s.d)
        tgt = self.pos.copy()
        spd = np.full(len(self.pos), 0.0)
        if t < s.t_snap:
            return self.home_pos.copy(), np.full(len(self.pos), 2.0)
        ts = t - s.t_snap
        c = self.carrier
        ball_xy = self.ball.pos[:2]
        off, de = np.arange(11), np.arange(11, 22)
        # Offense line: short set, engage.
        ol = off[self.role[off] == OL]
        tgt[ol] = self.home_pos[ol] + np.array([d * (1.4 if s.kind == "run" else -1.2), 0.0])
        spd[ol] = 2.5
        # QB / punter.
        qb = 6 if s.kind == "punt" else 5
        if s.kind == "pass":
            tgt[qb] = self.home_pos[qb] + [-d * (4.5 if not s.shotgun else 2.0), 0]
            spd[qb] = 4.5
        elif s.kind == "run":
            mesh = self.home_pos[qb] + [-d * 1.0, 0.0]
            tgt[qb] = mesh if t < s.t_handoff else mesh + [-d * 2.0, 3.0]
            spd[qb] = 3.5
        else:
            tgt[qb] = self.home_pos[qb] + [d * 1.0, 0]
            spd[qb] = 2.0
        # Running back: to the mesh point, then through a hole.
        if s.kind == "run":
            rb = 6
            if t < s.t_handoff:  # arrive beside the QB at the handoff
                tgt[rb] = self.pos[5] + [d * 0.2, 0.55]
                rem = max(0.1, s.t_handoff - t)
                spd[rb] = float(np.clip(np.linalg.norm(tgt[rb] - self.pos[rb]) / rem, 1.0, 8.0))
        elif s.kind == "pass":
            tgt[6] = self.pos[5] + [d * 1.5, 1.5]
            spd[6] = 3.0
        # Receivers: routes.
        for i, (stem, ang, sp) in s.routes.items():
            if s.kind == "punt":
                tgt[i] = np.array([s.catch_xy[0], self.home_pos[i][1]])
                spd[i] = sp
                continue
            if s.kind == "run":
                tgt[i] = self.home_pos[i] + [d * min(6.0, ts * 4.0), 0]
                spd[i] = 4.0
                continue
            run = ts * sp
            start = self.home_pos[i]
            side = 1.0 if start[1] < FIELD_WIDTH / 2 else -1.0
            if run + 1.5 < stem:
                p = start + [d * (run + 1.5), 0]
            else:
                extra = run + 1.5 - stem
                a = math.radians(ang)
                p = start + [d * stem + d * math.cos(a) * extra, side * math.sin(a) * extra]
            tgt[i], spd[i] = p, sp
        # Defense before the ball is carried: rush, cover, read.
        dl = de[self.role[de] == DL]
        focus = self.pos[c] if c >= 0 else ball_xy
        tgt[dl] = focus
        spd[dl] = 4.2
        gap = self.pos[dl][:, None, :] - self.pos[ol][None, :, :]
        engaged = (gap * gap).sum(-1).min(1) < 1.6**2  # a blocker in his face slows him down
        spd[dl] = np.where(engaged, 1.2, 4.2)
        lb = de[self.role[de] == LB]
        tgt[lb] = self.home_pos[lb] + [d * (4.0 if s.kind == "pass" else -1.0), 0]
        spd[lb] = 4.5
        cb = de[self.role[de] == CB]
        for j, wr in zip(cb, (8, 9), strict=True):
            tgt[j] = self.pos[wr] + [d * 1.5, 0]
            spd[j] = 7.6
        sf = de[self.role[de] == S]
        tgt[sf] = self.home_pos[sf] + [d * min(8.0, ts * 3), 0]
        spd[sf] = 4.0
        if self.ball.mode == "air" and "throw" in self.events_done:
            cx = np.array(s.catch_xy)
            near = de[np.argsort(((self.pos[de] - cx) ** 2).sum(1))[:3]]
            tgt[near], spd[near] = cx, 7.8
            rem = max(0.05, self.flight_t0 + self.flight_T - t)
            r = s.target
            tgt[r] = cx
            spd[r] = float(np.clip(np.linalg.norm(cx - self.pos[r]) / rem, 1.0, 9.0))
        # Once a runner has the ball: he runs downfield, defenders pursue, blockers escort.
        # the runner: the RB after the handoff, a receiver after the catch, the returner, a sacked QB
        runner = c
        if s.kind == "run" and t < s.t_handoff or s.kind in ("pass", "punt") and t < s.t_throw and not s.sack:
            runner = -1
        if s.sack and t < s.t_tackle - 1.0:
            runner = -1
        if runner >= 0:
            rd = d if self.team[runner] == 0 else -d
            foes = np.where((self.team != self.team[runner]) & (self.team < 2))[0]
            nf = foes[np.argmin(((self.pos[foes] - self.pos[runner]) ** 2).sum(1))]
            dodge = -np.sign(self.pos[nf][1] - self.pos[runner][1]) * 3.0
            tgt[runner] = self.pos[runner] + [rd * 8.0, dodge]
            spd[runner] = 7.2
            lead = self.pos[runner] + self.vel[runner] * 0.45
            tgt[foes] = lead
            spd[foes] = np.maximum(spd[foes], 6.6)
            mates = np.where((self.team == self.team[runner]) & (np.arange(len(self.pos)) != runner))[0]
            tgt[mates] = (
                self.pos[runner] + [rd * 2.0, 0] + (self.home_pos[mates] - self.home_pos[runner]) * 0.25
            )
            spd[mates] = np.minimum(np.maximum(spd[mates], 4.5), 6.0)
        if self.tackler >= 0 and t < s.t_getup:
            cpos = self.pos[self._victim()]
            tgt[self.tackler], spd[self.tackler] = cpos, 7.0
        # Officials trail the ball.
        offs = np.where(self.team == 2)[0]
        bx, by = float(ball_xy[0]), float(ball_xy[1])
        tgt[offs[0]] = [bx - d * 10, by + 4]
        tgt[offs[1]] = [bx - d * 6, by - 3]
        tgt[offs[2]] = [bx, -1.2]
        tgt[offs[3]] = [bx, FIELD_WIDTH + 1.2]
        tgt[offs[4]] = [bx + d * 12, by]
        spd[offs] = 4.0
        # After the whistle everyone eases off; the pile forms around the tackle.
        if t >= s.t_tackle or (s.kind == "pass" and not s.complete and t > s.t_throw + s.flight + 0.3):
            if len(self.pile):
                centre = self.pos[self._victim()] if t < s.t_tackle + 0.6 else self.pile_center
                for i in self.pile:
                    tgt[i] = centre + self.pile_offsets[int(i)]
                    spd[i] = 4.0
            others = np.setdiff1d(np.arange(len(self.pos)), self.pile)
            others = others[self.team[others] < 2]
            tgt[others] = self.pos[others] + (ball_xy - self.pos[others]) * 0.05
            spd[others] = 1.2
        return tgt, spd

    def _step(self, dt: float) -> None:
        s = self.s
        self.t += dt
        self._events()
        tgt, spd = self._targets()
        want = tgt - self.pos
        dist = np.sqrt((want * want).sum(1, keepdims=True))
        desired = want / np.maximum(dist, 1e-9) * np.minimum(spd[:, None], dist / 0.35)
        desired *= 1 - self.down[:, None]
        k = min(1.0, dt * 5.0)
        self.vel += (desired - self.vel) * k
        sp = np.sqrt((self.vel * self.vel).sum(1))
        cap = np.minimum(self.speed_cap, 9.5)
        self.vel *= np.minimum(1.0, cap / np.maximum(sp, 1e-9))[:, None]
        self.pos += self.vel * dt
        self.pos[:, 0] = np.clip(self.pos[:, 0], -6, FIELD_LENGTH + 6)
        self.pos[:, 1] = np.clip(self.pos[:, 1], -5, FIELD_WIDTH + 5)
        self.phase += sp * dt * 2.6
        # going down and getting up
        down_t = np.zeros(len(self.pos))
        if self.t >= s.t_tackle and self.t < s.t_getup:
            v = self._victim()
            down_t[v] = 1.0
            if self.tackler >= 0:
                down_t[self.tackler] = 1.0
            for i in self.pile:
                if np.linalg.norm(self.pos[i] - self.pos[v]) < 1.6:
                    down_t[i] = 1.0
        if s.fumble and s.t_recover <= self.t < s.t_getup and self.carrier >= 0:
            down_t[self.carrier] = 1.0
        self.down += np.clip(down_t - self.down, -dt * 1.2, dt * 3.5)
        self._move_ball(dt)

    def _move_ball(self, dt: float) -> None:
        b, t = self.ball, self.t
        old = b.pos.copy()
        if b.mode == "held":
            hold = self.carrier_hold(b.carrier)
            # QB raises the ball before a throw
            if self.s.kind == "pass" and b.carrier == 5 and self.s.t_throw - 0.35 <= t < self.s.t_throw:
                hold[2] += (t - (self.s.t_throw - 0.35)) / 0.35 * 0.9
            if self.blend_from is not None and t < self.blend_t0 + self.blend_T:
                w = (t - self.blend_t0) / self.blend_T
                hold = self.blend_from * (1 - w) + hold * w
            b.pos = hold
            b.axis, b.lace = self._hold_orientation(b.carrier)
        elif b.mode == "air":
            tau = min(t - self.flight_t0, self.flight_T)
            b.pos = self.flight_from + self.flight_v0 * tau + np.array([0, 0, -0.5 * GRAVITY * tau * tau])
            v = self.flight_v0 + np.array([0, 0, -GRAVITY * tau])
            if self.flight_spin == "spiral":
                b.axis = v / np.linalg.norm(v)
                perp = np.cross(b.axis, [0.0, 0.0, 1.0])
                perp = perp / max(1e-9, float(np.linalg.norm(perp)))
                up = np.cross(perp, b.axis)
                a = 2 * math.pi * 9.0 * tau
                b.lace = up * math.cos(a) + perp * math.sin(a)
            else:
                h = np.array([v[0], v[1], 0.0])
                h /= max(1e-9, float(np.linalg.norm(h)))
                a = 2 * math.pi * 1.4 * tau
                b.axis = h * math.cos(a) + np.array([0, 0, 1.0]) * math.sin(a)
                b.lace = -h * math.sin(a) + np.array([0, 0, 1.0]) * math.cos(a)
        elif b.mode == "loose":
            b.vel = b.vel + np.array([0, 0, -GRAVITY * dt])
            p = b.pos + b.vel * dt
            if p[2] < BALL_RADIUS:
                p[2] = BALL_RADIUS
                if b.vel[2] < -0.8:
                    b.vel = np.array([b.vel[0] * 0.6, b.vel[1] * 0.6, -b.vel[2] * 0.45])
                    self.loose_rate *= 0.7
                else:
                    b.vel = np.array(
                        [b.vel[0] * (1 - min(1.0, 2.5 * dt)), b.vel[1] * (1 - min(1.0, 2.5 * dt)), 0.0]
                    )
                    self.loose_rate *= 1 - min(1.0, 3 * dt)
            b.pos = p
            ang = self.loose_rate * dt
            b.axis = _rotate(b.axis, self.loose_spin, ang)
            b.lace = _rotate(b.lace, self.loose_spin, ang)
            if b.pos[2] <= BALL_RADIUS + 1e-6 and self.loose_rate < 1.0:  # settle lying on its side
                b.axis = np.array([b.axis[0], b.axis[1], 0.0])
                b.axis /= max(1e-9, float(np.linalg.norm(b.axis)))
        else:  # on the ground, waiting for the snap
            pass
        b.vel = (b.pos - old) / dt if b.mode != "loose" else b.vel
