"""Field registration: each frame's homography from image pixels to field yards, found from the
painted yard lines, hash marks and sidelines, and the ball's position on the field (docs/field.md).

Quick use::

    from pigskin.field import FieldTracker, read_start
    tracker = FieldTracker(read_start("start.json"))
    reg = tracker.update(rgb_frame, 0)        # reg.state, reg.homography (image px -> field yd)
"""

from pigskin.field.model import nearest_hash, nearest_yard_line
from pigskin.field.register import (
    NOT_REGISTERED,
    REGISTERED,
    FieldConfig,
    FieldTracker,
    Registration,
    read_start,
    register_frames,
)
from pigskin.field.spot import FIELD_COLUMNS, BallOnField, SpotConfig, write_spots

__all__ = [
    "FIELD_COLUMNS",
    "NOT_REGISTERED",
    "REGISTERED",
    "BallOnField",
    "FieldConfig",
    "FieldTracker",
    "Registration",
    "SpotConfig",
    "nearest_hash",
    "nearest_yard_line",
    "read_start",
    "register_frames",
    "write_spots",
]
