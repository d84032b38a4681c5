"""Evaluation: COCO / VOC box metrics, TrackNet-style point metrics, and sensitivity analysis.

- :func:`pigskin.evaluate.metrics.evaluate`: AP (equal to pycocotools'), AP by size, VOC AP, PR, P/R/F1.
- :func:`pigskin.evaluate.slices.analyze`: per-slice AP / recall with bootstrap intervals, error causes.
- :mod:`pigskin.evaluate.predictions`: predictions files (read any, write pigskin JSON lines).
"""
