"""Ball tracking in video: Kalman tracker, streaming video IO, the track pipeline, scene cuts.

- ``tracker``: :class:`BallTracker` (one ball, gating by prediction, coasting, re-acquisition);
- ``kalman`` / ``offline``: the filter, the RTS smoother and offline gap filling;
- ``video``: PyAV reader (files and image folders) and H.264 writer;
- ``pipeline``: ``track_video(source, detector, out_dir)`` with window search and stage timing;
- ``rows`` / ``draw`` / ``metrics`` / ``scenes``: outputs, overlays, scores, play splitting;
- ``simple`` / ``demo``: a training-free blob detector and small clips with exact truth.
"""
