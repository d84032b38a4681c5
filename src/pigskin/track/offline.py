"""Offline clean-up of a finished track: RTS smoothing and filling of short gaps.

Online, a coasting prediction only knows the past; once the whole video has been seen, the
position during an occlusion can use where the ball came out too. Runs of detections separated by
at most ``max_gap`` frames form one segment, smoothed as a whole by the Rauch-Tung-Striebel
smoother; every frame inside a segment gets a position (gaps become ``predicted``). Longer gaps
stay as they were: guessing across them would invent a trajectory.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from pigskin.track.kalman import initial_covariance, motion_model, rts_smooth
from pigskin.track.tracker import TrackerConfig


def smooth(
    rows: list[dict[str, Any]], config: TrackerConfig | None = None, max_gap: int = 15
) -> list[dict[str, Any]]:
    """Return new rows (same schema as ``tracks.csv``) with smoothed centres and short gaps filled.

    ``rows`` must be one per frame, in frame order (as :func:`pigskin.track.pipeline.track_video`
    writes them). Box sizes inside a gap are interpolated between the detections around it.
    """
    c = config or TrackerConfig()
    out = [dict(r) for r in rows]
    frames = np.array([int(r["frame"]) for r in rows], np.int64)
    if len(frames) > 1 and np.any(np.diff(frames) != 1):
        raise ValueError("smooth: rows must cover consecutive frames in order")
    det = np.array([r["state"] == "detected" for r in rows], bool)
    idx = np.flatnonzero(det)
    if idx.size == 0:
        return out
    model = motion_model(c.order, c.process_noise, c.measurement_noise)
    P0 = initial_covariance(model, c.init_velocity_std, c.init_acceleration_std)
    boost = P0.copy()
    boost[0, 0] = 0.0
    breaks = np.flatnonzero(np.diff(idx) > max_gap + 1)
    for seg in np.split(idx, breaks + 1):
        a, b = int(seg[0]), int(seg[-1]) + 1
        z = np.full((b - a, 2), np.nan)
        wh = np.full((b - a, 2), np.nan)
        for i in seg:
            r = rows[i]
            z[i - a] = (r["cx"], r["cy"])
            wh[i - a] = (r["x2"] - r["x1"], r["y2"] - r["y1"])
        # Same rules as online: a small (half-hidden) box counts for less, a jump resets the motion.
        known = np.isfinite(wh[:, 0])
        deficit = np.clip(np.median(wh[known], axis=0) - wh, 0, None).max(axis=1) / 2
        r = c.measurement_noise**2 + np.nan_to_num(deficit) ** 2
        xs, _ = rts_smooth(model, z, P0, r, c.maneuver_sigmas, boost)
        t = np.arange(b - a)
        size = np.stack([np.interp(t, t[known], wh[known, k]) for k in range(2)], axis=1)
        for k in range(b - a):
            r = out[a + k]
            cx, cy = xs[k, 0]
            hw, hh = size[k] / 2
            r.update(
                x1=round(float(cx - hw), 2), y1=round(float(cy - hh), 2),
                x2=round(float(cx + hw), 2), y2=round(float(cy + hh), 2),
                cx=round(float(cx), 2), cy=round(float(cy), 2),
            )
            if r["state"] != "detected":
                r["state"], r["score"] = "predicted", None
    return out
