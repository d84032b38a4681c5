"""pigskin: find and track the football in American-football broadcast video."""

from pigskin.detections import Detections
from pigskin.samples import Dataset, Sample

__version__ = "0.1.0"
__all__ = ["Detections", "Sample", "Dataset", "__version__"]
