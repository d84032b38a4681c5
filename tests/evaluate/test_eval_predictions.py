"""Predictions files: pigskin JSON lines, COCO results, dataset formats; matching images and classes."""

from __future__ import annotations

import json

import numpy as np
import pytest

from pigskin.detections import Detections
from pigskin.errors import FormatError
from pigskin.evaluate.predictions import load_predictions, read_jsonl, write_predictions
from pigskin.evaluate.reference import to_coco_gt
from pigskin.formats import save
from pigskin.samples import Dataset


def scored(ds: Dataset) -> list[Detections]:
    """The GT as predictions with scores, clipped to the image (tiny_dataset has a box sticking out)."""
    return [
        s.detections.replace(
            xyxy=np.minimum(s.detections.xyxy, [s.width, s.height] * 2),
            confidence=np.linspace(0.9, 0.5, len(s.detections)),
            attrs={},
        )
        for s in ds
    ]


def test_jsonl_round_trip_maps_classes_by_name(tiny_dataset, tmp_path):
    preds = scored(tiny_dataset)
    swapped = [p.replace(class_id=1 - p.class_id) for p in preds]  # the model calls them (player, football)
    path = tmp_path / "p.jsonl"
    write_predictions(path, [s.image for s in tiny_dataset], swapped, ["player", "football"])
    classes, recs = read_jsonl(path)
    assert classes == ["player", "football"] and len(recs) == 4
    got = load_predictions(path, tiny_dataset)
    assert got.notes == []
    for mine, theirs in zip(got.per_image, preds, strict=True):
        assert mine.equals(theirs.replace(confidence=theirs.confidence.astype(np.float32)), atol=1e-4)


def test_images_match_by_file_name_and_unknown_ones_are_noted(tiny_dataset, tmp_path):
    path = tmp_path / "p.jsonl"
    box = Detections(np.array([[1, 1, 9, 7]], np.float32), [0], [0.8])
    write_predictions(path, ["/elsewhere/frame_000.jpg", "frame_002.png", "nope.jpg"], [box, box, box])
    got = load_predictions(path, tiny_dataset)
    assert [len(d) for d in got.per_image] == [1, 0, 1, 0]  # by name, then by stem; frame_003 has none
    assert "1 predicted images are not in the ground truth" in got.notes[0]
    write_predictions(path, ["nope.jpg"], [box])
    with pytest.raises(FormatError, match="none of its 1 images is in the ground truth"):
        load_predictions(path, tiny_dataset)


@pytest.mark.parametrize(
    "line, where",
    [
        ('{"image": "a.jpg", "boxes": [[1, 2, 3]]}', "line 2: boxes"),
        ('{"image": "a.jpg", "boxes": [[1, 2, 3, 4]], "scores": [0.5, 0.6]}', "line 2: scores"),
        ('{"image": "a.jpg", "boxes": [[5, 2, 3, 4]]}', "line 2"),
        ('{"boxes": []}', "line 2"),
        ("not json", "line 2"),
    ],
)
def test_bad_jsonl_names_file_and_line(tiny_dataset, tmp_path, line, where):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"image": "images/frame_000.jpg", "boxes": []}\n' + line + "\n")
    with pytest.raises(FormatError, match=f"bad.jsonl: {where}"):
        load_predictions(path, tiny_dataset)


def test_coco_results_map_ids_through_the_coco_ground_truth(tiny_dataset, tmp_path):
    gt = to_coco_gt(tiny_dataset)
    # make the ids unlike sample indices: images 101.., categories 7 (football) and 3 (player)
    ids = {1: 7, 2: 3}
    for im in gt["images"]:
        im["id"] += 100
    for a in gt["annotations"]:
        a["image_id"] += 100
        a["category_id"] = ids[a["category_id"]]
    for c in gt["categories"]:
        c["id"] = ids[c["id"]]
    (tmp_path / "gt.json").write_text(json.dumps(gt))
    results = [
        {"image_id": 103, "category_id": 3, "bbox": [30, 20, 32, 40], "score": 0.7},
        {"image_id": 101, "category_id": 7, "bbox": [10, 12, 12, 8], "score": 0.9},
    ]
    (tmp_path / "res.json").write_text(json.dumps(results))
    got = load_predictions(tmp_path / "res.json", tiny_dataset, gt_path=tmp_path / "gt.json")
    assert [len(d) for d in got.per_image] == [1, 0, 1, 0]
    assert got.per_image[0].class_id.tolist() == [0] and got.per_image[2].class_id.tolist() == [1]
    np.testing.assert_allclose(got.per_image[2].xyxy, [[30, 20, 62, 60]])
    with pytest.raises(FormatError, match="category ids"):
        load_predictions(tmp_path / "res.json", tiny_dataset)  # no GT file, no class ids: cannot map
    (tmp_path / "bad.json").write_text(json.dumps([{"image_id": 101, "category_id": 7, "bbox": [1, 2, 3]}]))
    with pytest.raises(FormatError, match="record 0: bbox"):
        load_predictions(tmp_path / "bad.json", tiny_dataset, gt_path=tmp_path / "gt.json")


def test_any_dataset_format_works_as_predictions(tiny_dataset, tmp_path):
    preds = scored(tiny_dataset)
    save(
        tiny_dataset.replace(
            samples=[s.replace(detections=p) for s, p in zip(tiny_dataset, preds, strict=True)]
        ),
        tmp_path / "pred_coco.json",
        "coco",
    )
    got = load_predictions(tmp_path / "pred_coco.json", tiny_dataset)
    for mine, theirs in zip(got.per_image, preds, strict=True):
        np.testing.assert_allclose(mine.xyxy, theirs.xyxy, atol=1e-4)
        np.testing.assert_allclose(mine.confidence, theirs.confidence, atol=1e-6)


def test_model_predictions_give_a_multi_frame_model_each_frame_with_its_past(tiny_dataset, tmp_path):
    """``--model`` with a K = 3 heatmap model: frame_002 is scored from frames 000-002 stacked, as the
    model was trained, not as a still repeated three times."""
    import torch

    from pigskin.config import ModelConfig
    from pigskin.data.clips import stack_frames
    from pigskin.evaluate.predictions import predict_dataset
    from pigskin.models import build_model
    from pigskin.models.artifact import load_model, save_artifact

    config = ModelConfig(name="heatmap_mobilenet_v2", frames=3, num_classes=2, pretrained=False,
                         image_size=64, min_score=0.0)
    torch.manual_seed(0)
    model = build_model(config).eval()
    with torch.no_grad():
        model.body.body[0][0].weight.normal_(0, 0.2)  # past frames start at zero: make them count
        model.out.bias[:2] = 0.0
    path = save_artifact(tmp_path / "model.tar.gz", model, config, tiny_dataset.classes)
    got = predict_dataset(path, tiny_dataset, batch_size=2, min_score=0.0).per_image
    predictor = load_model(path)
    images = [tiny_dataset.load_image(s) for s in tiny_dataset]
    stacked = predictor.predict([stack_frames(images[:3])], score_threshold=0.0)[0]
    still = predictor.predict([images[2]], score_threshold=0.0)[0]
    assert len(got) == len(tiny_dataset) and len(got[2])
    assert got[2].equals(stacked, atol=1e-4)
    assert not got[2].equals(still, atol=1e-4)
