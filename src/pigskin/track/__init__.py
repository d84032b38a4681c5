"""Ball tracking in video: Kalman tracker, the track pipeline, scene cuts.

- ``tracker``: :class:`BallTracker` (one ball, gating by prediction, coasting, re-acquisition);
- ``kalman`` / ``offline``: the filter, the RTS smoother and offline gap filling;
- ``pipeline``: ``track_video(source, detector, out_dir)`` with window search and stage timing;
- ``rows`` / ``draw`` / ``metrics`` / ``scenes``: outputs, overlays, scores, play splitting;
- ``simple``: a training-free blob detector (for the demo clips of :mod:`pigskin.synth.demo_clip`).

Video in and out is :mod:`pigskin.video`, below every stage; nothing here needs the renderer.
"""
