"""Multi-frame data: predecessor lookup, stacked training crops, hard negatives, the engine end to end."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from pigskin.config import AugmentConfig, ModelConfig, TrainConfig
from pigskin.data.clips import frame_key, frame_stacks, lookalike_boxes, predict_dataset, stack_frames
from pigskin.data.torch_dataset import CropDataset, PlanItem
from pigskin.data.toy import toy_clip
from pigskin.detections import Detections
from pigskin.samples import Dataset, Sample

AUGMENT = AugmentConfig(flip=0.5, color_jitter=0.3, motion_blur=0.5, jpeg=0.5, zoom_min=0.8, zoom_max=1.2)


def _sample(name: str, video: str | None = None, k: int | None = None, attrs: dict | None = None) -> Sample:
    return Sample(name, 32, 32, video_id=video, frame_index=k, attrs=attrs or {})


def test_stacks_follow_video_and_frame_index():
    samples = [_sample(f"a{k}.jpg", "clipA", k) for k in (5, 3, 4, 7)] + [_sample("b.jpg", "clipB", 4)]
    ds = Dataset(["ball"], samples)
    stacks = frame_stacks(ds, 3)
    assert stacks[0] == (1, 2, 0)  # frame 5 <- 4 <- 3, oldest first
    assert stacks[2] == (1, 1, 2)  # frame 4: frame 2 is missing, the oldest found repeats
    assert stacks[1] == (1, 1, 1)  # the first frame of the clip
    assert stacks[3] == (3, 3, 3)  # frame 7: frame 6 is missing (a gap stops the chain)
    assert stacks[4] == (4, 4, 4)  # another clip never lends frames
    assert frame_stacks(ds, 1) == [(i,) for i in range(5)]
    assert frame_stacks(ds, 2, step=2)[0] == (1, 0)  # every other frame (60 fps footage)


def test_stacks_from_numbered_file_names():
    names = ["run/frame_9_jpg.rf.aa.jpg", "run/frame_10_jpg.rf.bb.jpg", "run/frame_11_jpg.rf.cc.jpg",
             "other/frame_10_jpg.rf.dd.jpg", "still.jpg"]
    ds = Dataset(["ball"], [_sample(n) for n in names])
    assert frame_key(ds[0]) is not None and frame_key(ds[4]) is None
    stacks = frame_stacks(ds, 3)
    assert stacks[2] == (0, 1, 2)
    assert stacks[3] == (3, 3, 3)  # same number, other folder: not the same sequence
    assert stacks[4] == (4, 4, 4)
    clip = [_sample("clip_1.jpg", "clip", 1), _sample("clip_2.jpg", "clip", 2)]
    mixed = Dataset(["ball"], [*ds.samples[:3], *clip])
    assert frame_stacks(mixed, 3)[:3] == [(0, 0, 0), (1, 1, 1), (2, 2, 2)]  # stills beside clips stand alone
    assert frame_stacks(mixed, 3)[4] == (3, 3, 4)


def test_stack_frames_checks_sizes():
    a, b = np.zeros((4, 5, 3), np.uint8), np.ones((4, 5, 3), np.uint8)
    assert stack_frames([a]) is a
    s = stack_frames([a, b])
    assert s.shape == (4, 5, 6) and s[..., 3:].min() == 1
    with pytest.raises(ValueError, match="differ in size"):
        stack_frames([a, np.zeros((4, 6, 3), np.uint8)])


def test_multi_frame_crop_is_the_single_frame_crop_plus_its_predecessors(tmp_path: Path):
    ds = toy_clip(tmp_path, n=4, width=96, height=80, velocity=(7.0, 3.0))
    plan = [PlanItem(3, False, 11), PlanItem(0, False, 12), PlanItem(2, True, 13)]
    one = CropDataset(ds, plan, 48, 96, AUGMENT)
    three = CropDataset(ds, plan, 48, 96, AUGMENT, frames=3)
    for i in range(len(plan)):
        img1, t1 = one[i]
        img3, t3 = three[i]
        assert img1.shape == (3, 48, 48) and img3.shape == (9, 48, 48)
        # the current frame is last, cut and augmented exactly as the single-frame path does
        torch.testing.assert_close(img3[6:], img1)
        torch.testing.assert_close(t3["boxes"], t1["boxes"])
    moving, _ = three[0]  # frame 3 with 1 and 2 before it: the ball moved, the background did not
    assert not torch.equal(moving[0:3], moving[6:9])
    first, _ = three[1]  # frame 0 has no past: it repeats
    torch.testing.assert_close(first[0:3], first[6:9])


def test_hard_negatives_are_cut_around_lookalikes(tmp_path: Path):
    """A negative crop centred on a recorded look-alike (a magenta flag here) instead of at random."""
    w = h = 200
    arr = np.full((h, w, 3), 60, np.uint8)
    arr[150:160, 20:30] = (255, 0, 255)
    Image.fromarray(arr).save(tmp_path / "f.png")
    ball = Detections(np.array([[170, 10, 180, 20]], np.float32), np.zeros(1, np.int64))
    attrs = {"lookalikes": [{"xyxy": [20, 150, 30, 160], "kind": "flag"}, {"xyxy": "bad"}, {"kind": "x"}]}
    ds = Dataset(["ball"], [Sample("f.png", w, h, ball, attrs=attrs)], root=tmp_path)
    assert len(lookalike_boxes(ds[0])) == 1 and len(lookalike_boxes(_sample("x.jpg"))) == 0
    plan = [PlanItem(0, True, seed) for seed in range(8)]
    plain = AugmentConfig(flip=0.5, color_jitter=0, motion_blur=0, jpeg=0, zoom_min=1, zoom_max=1)
    hard = CropDataset(ds, plan, 48, 200, plain, hard_negatives=1.0)
    random = CropDataset(ds, plan, 48, 200, plain, hard_negatives=0.0)

    def magenta(img: torch.Tensor) -> bool:
        return bool(((img[0] > 0.9) & (img[1] < 0.1) & (img[2] > 0.9)).any())

    assert all(magenta(hard[i][0]) and len(hard[i][1]["boxes"]) == 0 for i in range(len(plan)))
    assert sum(magenta(random[i][0]) for i in range(len(plan))) < len(plan)
    assert all(len(random[i][1]["boxes"]) == 0 for i in range(len(plan)))


def test_engine_trains_validates_and_saves_a_three_frame_model(tmp_path: Path):
    """``train`` builds stacked crops from the clip and validates on stacked frames; the artifact keeps K."""
    from pigskin.models.artifact import load_model
    from pigskin.train import train

    train_ds = toy_clip(tmp_path / "train", n=4, width=64, height=64, seed=1)
    val_ds = toy_clip(tmp_path / "val", n=3, width=64, height=64, seed=2, video="other")
    config = TrainConfig(
        out=str(tmp_path / "run"),
        model=ModelConfig(name="heatmap_mobilenet_v2", frames=3, image_size=64, min_score=0.0),
        augment=AUGMENT, crop_size=48, epochs=1, batch=2, warmup_steps=1, progress=False,
    )
    path = train(config, train_ds, val_ds)
    history = (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()
    assert len(history) == 1 and '"ap50"' in history[0]
    predictor = load_model(path)
    assert predictor.module.frames == 3 and predictor.config.frames == 3
    preds = predict_dataset(lambda ims: predictor.predict(ims, score_threshold=0.0), val_ds, frames=3)
    assert len(preds) == len(val_ds) and all(len(p) > 0 for p in preds)
