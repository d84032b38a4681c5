"""The browser labeller behind ``pigskin label``: a local, offline stand-in for a Ground Truth job.

- :mod:`pigskin.label.store`: frames, saved labels, the atomically rewritten output manifest, shards;
- :mod:`pigskin.label.proposals`: model, predictions-file and tracker proposals;
- :mod:`pigskin.label.review`: frames where labels and predictions disagree;
- :mod:`pigskin.label.job`: one session, tying those together;
- :mod:`pigskin.label.app`: the FastAPI app and the page in ``static/``.
"""

from pigskin.label.job import Job, LabelConfig

__all__ = ["Job", "LabelConfig"]
