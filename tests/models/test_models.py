"""Every model honours the contract (forward / loss / decode), learns, and survives empty frames."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

from pigskin.boxes import iou
from pigskin.config import ConfigError, ModelConfig
from pigskin.data.toy import toy_dataset
from pigskin.detections import Detections
from pigskin.models import MODELS, build_model
from pigskin.models.backbones import MissingWeightsWarning, build_backbone
from pigskin.models.base import detections_to_target, pad_batch
from pigskin.models.predictor import detect, to_tensor

SIZE = 64
# the box detectors of this suite (the heatmap family has its own tests)
BOX_MODELS = [
    "fasterrcnn_mobilenet_v2",
    "fasterrcnn_mobilenet_v3",
    "fasterrcnn_resnet50",
    "fasterrcnn_resnet101",
    "ssdlite_mobilenet_v2",
    "yolov3_darknet53",
    "yolov3_mobilenet_v2",
]


def tiny(name: str, **kw) -> ModelConfig:
    """A small, fast variant of ``name`` for 64 px images."""
    return ModelConfig(
        name=name, image_size=SIZE, width=0.25, fpn_channels=32, proposals_train=32, proposals_test=50, **kw
    )


def build(name: str, **kw) -> torch.nn.Module:
    torch.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # no ImageNet weights for some backbones; small SSD input
        return build_model(tiny(name, **kw))


@pytest.fixture(scope="module")
def four(tmp_path_factory):
    """Four 64 px toy frames, one ball each (10-14 px), as a batch and targets."""
    ds = toy_dataset(tmp_path_factory.mktemp("four"), n=4, width=SIZE, height=SIZE, ball=(10, 14), seed=3)
    images = [ds.load_image(s) for s in ds]
    batch = torch.stack([to_tensor(im) for im in images])
    targets = [detections_to_target(s.detections) for s in ds]
    return ds, images, batch, targets


def test_the_table_holds_plain_names_and_rejects_unknown_ones():
    assert set(BOX_MODELS) <= set(MODELS)
    assert all(n.replace("_", "").isalnum() and n.islower() for n in MODELS)
    with pytest.raises(ConfigError, match="unknown model 'retinanet'"):
        build_model(ModelConfig(name="retinanet"))


@pytest.mark.parametrize("name", BOX_MODELS)
def test_contract_and_empty_frames(name, four):
    _, _, batch, targets = four
    model = build(name)
    empty = {"boxes": torch.zeros(0, 4), "labels": torch.zeros(0, dtype=torch.int64)}
    model.train()
    # a batch mixing a ball and an empty frame, then a batch of empty frames only
    for tgts in ([targets[0], empty], [empty, empty]):
        losses = model.loss(model(batch[:2]), tgts)
        assert losses and all(torch.isfinite(v) and v.ndim == 0 for v in losses.values()), losses
        total = sum(losses.values())
        total.backward()
        grads = [p.grad for p in model.parameters() if p.requires_grad and p.grad is not None]
        assert grads and all(torch.isfinite(g).all() for g in grads)
        model.zero_grad()
    # eval mode: the same raw output still gives a loss (validation loss), and the mode is left alone
    model.eval()
    with torch.no_grad():
        raw = model(batch[:2])
        val_losses = model.loss(raw, [targets[0], empty])
        dets = model.decode(raw, [(SIZE, SIZE), (40, 50)])
    assert not model.training and not any(m.training for m in model.modules())
    assert all(torch.isfinite(v) for v in val_losses.values())
    assert len(dets) == 2 and all(isinstance(d, Detections) and d.confidence is not None for d in dets)
    h, w = 40, 50
    assert (dets[1].xyxy[:, [0, 2]] <= w + 1e-3).all() and (dets[1].xyxy[:, [1, 3]] <= h + 1e-3).all()


def _overfit(name: str, four, steps: int, lr: float) -> tuple[list[float], torch.nn.Module]:
    _, _, batch, targets = four
    model = build(name)
    model.train()
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=lr)
    history = []
    for _ in range(steps):
        loss = sum(model.loss(model(batch), targets).values())
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 10.0)
        opt.step()
        history.append(float(loss.detach()))
    return history, model.eval()


# (steps, lr) that over-fit reliably (checked over several initialisations): one model per head family
# and backbone kind
OVERFIT = {
    "yolov3_darknet53": (40, 2e-3),
    "yolov3_mobilenet_v2": (60, 1e-3),
    "ssdlite_mobilenet_v2": (80, 2e-3),
    "fasterrcnn_mobilenet_v2": (70, 1e-3),
}


@pytest.mark.slow
@pytest.mark.parametrize("name", list(OVERFIT))
def test_overfits_four_images_and_then_finds_the_balls(name, four):
    ds, images, _, _ = four
    steps, lr = OVERFIT[name]
    history, model = _overfit(name, four, steps, lr)
    assert min(history[-5:]) < 0.4 * history[0], history
    found = 0
    for dets, sample in zip(detect(model, images, SIZE), ds, strict=True):
        if len(dets):
            top = dets[int(np.argmax(dets.confidence))]
            found += float(iou(top.xyxy, sample.detections.xyxy).max()) > 0.5
    assert found >= 3, f"{name}: top box matched {found} of 4 balls"


@pytest.mark.slow
@pytest.mark.parametrize("name", ["fasterrcnn_mobilenet_v3", "fasterrcnn_resnet50", "fasterrcnn_resnet101"])
def test_the_other_faster_rcnn_backbones_learn(name, four):
    """Same heads as fasterrcnn_mobilenet_v2 (over-fitted above); these backbones start from scratch here
    and a ResNet step costs 5-10 times more, so: the loss (same sampling seed before and after) must
    fall by more than a third in six steps."""
    _, _, batch, targets = four
    model = build(name).train()

    def loss() -> float:
        with torch.no_grad(), torch.random.fork_rng():
            torch.manual_seed(1)  # the RPN and ROI heads sample anchors and proposals at random
            return float(sum(model.loss(model(batch), targets).values()))

    before = loss()
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=3e-4)
    for _ in range(6):
        opt.zero_grad()
        sum(model.loss(model(batch), targets).values()).backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 10.0)
        opt.step()
    assert loss() < 0.65 * before


def test_missing_imagenet_weights_warn_and_train_from_scratch(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))  # an empty cache
    with pytest.warns(MissingWeightsWarning, match="resnet50.*not in torchvision's cache"):
        taps = build_backbone("resnet50", pretrained=True, strides=(8,))
    # from scratch: trainable batch norm, nothing frozen
    assert any(isinstance(m, torch.nn.BatchNorm2d) for m in taps.modules())
    assert all(p.requires_grad for p in taps.parameters())


def test_imagenet_weights_come_from_the_local_cache():
    import torchvision

    with warnings.catch_warnings():
        warnings.simplefilter("error", MissingWeightsWarning)
        taps = build_backbone("mobilenet_v2", pretrained=True, strides=(8, 16))
    reference = torchvision.models.mobilenet_v2(weights="IMAGENET1K_V1").features
    assert torch.equal(taps.body[0][0].weight, reference[0][0].weight)
    assert not taps.body[0][0].weight.requires_grad  # the stem stays frozen
    feats = taps(torch.zeros(1, 3, 64, 64))
    assert [tuple(f.shape[-2:]) for f in feats.values()] == [(8, 8), (4, 4)]


def test_ssd_warns_that_a_small_input_loses_the_ball():
    with pytest.warns(UserWarning, match="use --image-size 640 or more"):
        build_model(ModelConfig(name="ssdlite_mobilenet_v2", image_size=320, pretrained=False))


def test_faster_rcnn_needs_one_anchor_size_per_level():
    with pytest.raises(ConfigError, match="5 pyramid levels"):
        build_model(ModelConfig(name="fasterrcnn_mobilenet_v2", anchor_sizes=(8, 16, 32), pretrained=False))


def test_pad_batch_pads_to_the_stride_and_keeps_sizes():
    batch, sizes = pad_batch([torch.ones(3, 40, 50), torch.ones(3, 70, 20)], 32)
    assert batch.shape == (2, 3, 96, 64) and sizes == [(40, 50), (70, 20)]
    assert batch[0, :, 40:].sum() == 0 and batch[1, :, :70, :20].min() == 1
