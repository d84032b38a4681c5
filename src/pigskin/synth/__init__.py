"""Procedural NFL-style broadcast frames and clips with exact ball labels: the embedded dataset.

Quick use::

    from pigskin.synth import preset, generate_images, render_still
    ds = generate_images(preset("broadcast", width=640, height=360), n=100)   # in memory
    generate_images(preset("hard"), n=2000, out="synth_hard")                   # JPEGs + manifest
    frame, look = render_still(preset(), index=7)                               # pixels + labels

See docs/synth.md for the label rules and what each knob does.
"""

from pigskin.synth.config import PRESETS, SynthConfig, preset
from pigskin.synth.generate import InMemoryDataset, generate_clips, generate_images
from pigskin.synth.render import CLASSES, Frame, render_frame
from pigskin.synth.scene import render_still, sample_still

__all__ = [
    "CLASSES",
    "PRESETS",
    "Frame",
    "InMemoryDataset",
    "SynthConfig",
    "generate_clips",
    "generate_images",
    "preset",
    "render_frame",
    "render_still",
    "sample_still",
]
