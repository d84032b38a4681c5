"""Renderer settings: one frozen dataclass, three presets.

Every knob is a range or a probability so that a preset describes a *distribution* of frames; the
frame's own random stream picks a value inside it. Sizes in pixels refer to a 1280-px-wide frame and
scale with ``width``, so a preset means the same thing at 320x180 and at 1920x1080.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any

Range = tuple[float, float]


@dataclass(frozen=True)
class SynthConfig:
    """What the synthetic broadcast looks like, and how hard it is to find the ball in it."""

    width: int = 1280
    height: int = 720
    seed: int = 0
    preset: str = "broadcast"
    # --- difficulty knobs -------------------------------------------------------------------------
    ball_px: Range = (7.0, 18.0)  # long-axis ball length (px at 1280 wide) that the zoom aims for
    occlusion: float = 0.6  # share of stills taken while the ball is carried or under a pile
    shutter_s: Range = (1 / 250, 1 / 60)  # exposure time: motion blur = image speed x shutter
    contrast: Range = (0.8, 1.1)  # global contrast factor (1 = as rendered); lower is harder
    clutter: float = 1.0  # look-alikes (flags, pylons, shoes, towels) and crowd density, 0..2
    noise: Range = (1.0, 5.0)  # sensor noise sigma in 8-bit levels
    jpeg_quality: Range = (60.0, 92.0)
    defocus_p: float = 0.15  # share of frames with a slight defocus
    flag_p: float = 0.15  # share of frames with a yellow penalty flag on the turf
    endzone_p: float = 0.3  # share of frames (or clips) from the end-zone camera
    out_of_view_p: float = 0.05  # share of stills where the camera looks away from the ball
    graphics_p: float = 0.8  # share of frames with the score bug and the drawn-on lines
    shadow_p: float = 0.4  # share of day games with a stadium shadow across the field
    # painted markings (per clip): width in yards (4 in = 0.11) and how far the paint leans from white
    # toward a random cream / grey tint (0 = white); the field-registration benchmark randomises both
    line_width: Range = (0.11, 0.11)
    line_tint: Range = (0.0, 0.0)
    # --- labels -----------------------------------------------------------------------------------
    players: bool = False  # also label the 22 players as class ``player``
    min_visible: float = 0.2  # a ball with a smaller visible fraction gets no box (a negative)
    min_pixels: int = 4  # ... and so does one with fewer visible pixels than this
    alpha_threshold: float = 0.25  # a pixel is ball when the ball gives >= this share of its colour

    def __post_init__(self) -> None:
        if self.width < 64 or self.height < 36:
            raise ValueError(f"width x height must be at least 64x36, got {self.width}x{self.height}")
        for f in fields(self):
            v = getattr(self, f.name)
            if isinstance(v, tuple) and (len(v) != 2 or v[0] > v[1]):
                raise ValueError(f"{f.name}: expected (low, high) with low <= high, got {v}")
        probs = (
            "occlusion",
            "defocus_p",
            "flag_p",
            "endzone_p",
            "out_of_view_p",
            "graphics_p",
            "shadow_p",
            "min_visible",
            "alpha_threshold",
        )
        for name in probs:
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {getattr(self, name)}")
        if self.line_width[0] <= 0.0 or not 0.0 <= self.line_tint[0] <= self.line_tint[1] <= 1.0:
            raise ValueError(f"line_width must be > 0 and line_tint in [0, 1], got {self.line_width}, "
                             f"{self.line_tint}")
        if self.ball_px[0] <= 1.0:
            raise ValueError(f"ball_px must be above 1 px, got {self.ball_px}")

    @property
    def scale(self) -> float:
        """Pixel sizes in this config are for 1280 wide; multiply by this for the real frame."""
        return self.width / 1280.0

    def replace(self, **changes: Any) -> "SynthConfig":
        return replace(self, **changes)


PRESETS: dict[str, dict[str, Any]] = {
    "easy": dict(
        ball_px=(14.0, 26.0),
        occlusion=0.3,
        shutter_s=(1 / 1000, 1 / 250),
        contrast=(1.0, 1.15),
        clutter=0.3,
        noise=(0.5, 2.0),
        jpeg_quality=(85.0, 95.0),
        defocus_p=0.0,
        flag_p=0.05,
        out_of_view_p=0.03,
        shadow_p=0.2,
    ),
    "broadcast": {},
    "hard": dict(
        ball_px=(5.0, 12.0),
        occlusion=0.8,
        shutter_s=(1 / 120, 1 / 30),
        contrast=(0.6, 0.95),
        clutter=2.0,
        noise=(3.0, 9.0),
        jpeg_quality=(35.0, 70.0),
        defocus_p=0.35,
        flag_p=0.35,
        out_of_view_p=0.08,
        shadow_p=0.6,
    ),
}


def preset(name: str = "broadcast", **overrides: Any) -> SynthConfig:
    """The named preset with some fields changed, e.g. ``preset("hard", width=640, height=360)``."""
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; expected one of {', '.join(PRESETS)}")
    return SynthConfig(preset=name, **{**PRESETS[name], **overrides})
