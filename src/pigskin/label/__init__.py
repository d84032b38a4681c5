"""The browser labeller behind ``pigskin label``: a local, offline stand-in for a Ground Truth job.

- :mod:`pigskin.label.manifest`: the job's frames, manifest lines, shard files;
- :mod:`pigskin.label.labels`: a frame's saved boxes and their Ground Truth form;
- :mod:`pigskin.label.store`: the saved labels and the atomically rewritten output manifest;
- :mod:`pigskin.label.proposals`: model, predictions-file and tracker proposals;
- :mod:`pigskin.label.review`: frames where labels and predictions disagree;
- :mod:`pigskin.label.job`: one session, tying those together;
- :mod:`pigskin.label.app`: the FastAPI app and the page in ``static/``.
"""

from pigskin.label.job import Job, LabelConfig

__all__ = ["Job", "LabelConfig"]
