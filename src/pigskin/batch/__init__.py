"""Batch tracking: a season of game videos on Ray, resumable, one table out (docs/batch.md).

- ``run``: :func:`run_batch` with a :class:`BatchConfig`: local Ray instance, a cluster, or in-process;
- ``worker``: :class:`TrackWorker`, one loaded detector tracking video after video;
- ``season``: ``season.csv`` rows, read from each video's output folder (``timing.json``);
- ``videos``: video lists and manifests, output folder names.

Ray is imported only when a batch starts, so this package imports without it.
"""

from pigskin.batch.run import BatchConfig, BatchResult, run_batch
from pigskin.batch.videos import Video, from_paths, read_list, read_manifest

__all__ = ["BatchConfig", "BatchResult", "Video", "from_paths", "read_list", "read_manifest", "run_batch"]
