"""``--model model.tar.gz``: a real (untrained, tiny) detector artifact proposes boxes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from label_helpers import write_frames
from PIL import Image

from pigskin.errors import PigskinError
from pigskin.label.job import Job, LabelConfig
from pigskin.label.proposals import proposals_json


@pytest.mark.slow
def test_model_artifact_proposals_match_its_predictions(tmp_path: Path):
    from pigskin.config import ModelConfig
    from pigskin.models import build_model
    from pigskin.models.artifact import load_model, save_artifact

    paths = write_frames(tmp_path / "frames", 3, size=(640, 360))
    cfg = ModelConfig(
        name="ssdlite_mobilenet_v2", num_classes=1, pretrained=False, image_size=640, min_score=0.0
    )
    artifact = save_artifact(tmp_path / "model.tar.gz", build_model(cfg), cfg, ["football"])

    job = Job(LabelConfig(tmp_path / "frames", model=artifact, score_threshold=0.0, track=False))
    got = job.frame(0)["proposals"]
    expected = load_model(artifact).predict([np.asarray(Image.open(paths[0]).convert("RGB"))], 0.0)[0]
    assert got == proposals_json(expected, "model")
    assert all(p["origin"] == "model" and p["class_id"] == 0 for p in got)
    assert set(job.proposer._futures) >= {0, 1, 2}  # the next frames were queued while this one was shown
    job.close()

    with pytest.raises(PigskinError, match=r"none of its classes \['football'\] is a class of this job"):
        Job(LabelConfig(tmp_path / "frames", model=artifact, classes=["player"]))
