"""The heatmap ball detector: targets, loss, decoding, multi-frame input, artifact, ONNX, windows."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch
from torchvision.ops.misc import FrozenBatchNorm2d

from pigskin.boxes import iou
from pigskin.config import ModelConfig
from pigskin.data.clips import stack_frames
from pigskin.data.toy import toy_dataset
from pigskin.detections import Detections
from pigskin.models import DESCRIPTIONS, MODELS, build_model
from pigskin.models.artifact import load_model, save_artifact
from pigskin.models.base import detections_to_target, pad_batch
from pigskin.models.heatmap import HeatmapNet
from pigskin.models.heatmap_targets import encode
from pigskin.models.predictor import Predictor, to_tensor
from pigskin.track.detectors import FrameHistory

NAMES = ["heatmap_mobilenet_v2", "heatmap_mobilenet_v2_late", "heatmap_mobilenet_v2_nomotion"]


def _model(name: str = "heatmap_mobilenet_v2", frames: int = 1, **kw) -> HeatmapNet:
    torch.manual_seed(0)
    return build_model(ModelConfig(name=name, frames=frames, pretrained=False, image_size=128, **kw))


def _target(boxes: list[list[float]], labels: list[int] | None = None) -> dict[str, torch.Tensor]:
    b = torch.tensor(boxes, dtype=torch.float32).reshape(-1, 4)
    return {"boxes": b, "labels": torch.tensor(labels or [0] * len(b), dtype=torch.int64)}


def _raw_from_targets(targets, num_classes: int, h: int, w: int, stride: int) -> dict[str, torch.Tensor]:
    """Raw maps a perfect network would output: logit of the Gaussian heatmap, offsets and log sizes."""
    t = encode(targets, num_classes, h, w, stride)
    heat = torch.logit(t.heatmap.clamp(1e-6, 1 - 1e-6))
    offset = torch.zeros(len(targets), 2, h, w)
    size = torch.zeros(len(targets), 2, h, w)
    offset[t.batch, :, t.cell_y, t.cell_x] = t.offset
    size[t.batch, :, t.cell_y, t.cell_x] = t.size
    return {"heatmap": heat, "offset": offset, "size": size}


def test_registered_with_descriptions():
    for name in NAMES:
        assert name in MODELS and name in DESCRIPTIONS


@pytest.mark.parametrize("name,frames", [(NAMES[0], 1), (NAMES[0], 3), (NAMES[1], 3), (NAMES[2], 3)])
def test_shapes_and_finite_loss_on_empty_frames(name, frames):
    model = _model(name, frames)
    assert model.frames == frames and model.size_divisible == 16
    images = torch.rand(2, 3 * frames, 64, 96)
    raw = model(images)
    assert raw["heatmap"].shape == (2, 1, 16, 24)
    assert raw["offset"].shape == raw["size"].shape == (2, 2, 16, 24)
    empty = [_target([]), _target([])]
    losses = model.loss(raw, empty)
    assert set(losses) == {"heatmap", "offset", "size"}
    total = sum(losses.values())
    assert torch.isfinite(total)
    total.backward()  # every head takes part, even without a ball
    assert model.out.weight.grad is not None
    with_ball = model.loss(model(images), [_target([[10, 12, 22, 21]]), _target([])])
    assert all(torch.isfinite(v) and v > 0 for v in with_ball.values())


def test_default_is_three_frames_and_a_still_repeats():
    model = build_model(ModelConfig(name="heatmap_mobilenet_v2", pretrained=False)).eval()
    assert model.frames == 3
    still = torch.rand(1, 3, 32, 48)
    with torch.no_grad():
        a = model(still)
        b = model(still.repeat(1, 3, 1, 1))
    for k in a:
        torch.testing.assert_close(a[k], b[k])
    with pytest.raises(ValueError, match="6 channels"):
        model(torch.rand(1, 6, 32, 48))


def test_eval_mode_folds_batch_norm_and_follows_weight_changes():
    model = build_model(ModelConfig(name="heatmap_mobilenet_v2", frames=3)).eval()  # frozen BN (ImageNet)
    model.trunk[1][1].running_mean.uniform_(-0.5, 0.5)  # a trained neck's statistics
    x = torch.rand(1, 9, 48, 64)
    with torch.no_grad():
        for _ in range(2):
            folded, plain = model(x), model.maps(x)
            for k in plain:
                torch.testing.assert_close(folded[k], plain[k], rtol=1e-4, atol=1e-4)
            model.out.bias[0] += 1.0  # an in-place edit: the folded twin must see it
    twin = model._folded()
    assert not any(isinstance(m, (torch.nn.BatchNorm2d, FrozenBatchNorm2d)) for m in twin.modules())
    assert set(model.state_dict()) == set(build_model(ModelConfig(name="heatmap_mobilenet_v2")).state_dict())


def test_early_fusion_starts_as_the_single_frame_network():
    """The widened stem holds the ImageNet filters for the current frame and zeros for the past: the
    fresh K = 3 network is the K = 1 one, whatever the past frames show, and its stem trains."""
    one = build_model(ModelConfig(name=NAMES[0], frames=1)).eval()
    three = build_model(ModelConfig(name=NAMES[0], frames=3)).eval()
    shared = {k: v for k, v in one.state_dict().items() if k != "body.body.0.0.weight"}
    three.load_state_dict(shared, strict=False)
    x = torch.rand(1, 3, 32, 48)
    past = torch.rand(1, 6, 32, 48)
    with torch.no_grad():
        a, b = one(x), three(torch.cat([past, x], 1))
    for k in a:
        torch.testing.assert_close(a[k], b[k], rtol=1e-4, atol=1e-5)
    stem = three.body.body[0][0]
    assert stem.weight.requires_grad and float(stem.weight.detach()[:, :6].abs().max()) == 0.0


def test_gaussian_target_peaks_at_the_centre_and_decodes_to_the_box():
    boxes = [[10.3, 20.7, 19.9, 29.2], [61.25, 5.5, 81.0, 21.75], [0.0, 50.0, 6.0, 56.4]]
    targets = [_target(boxes), _target([[100.6, 90.1, 107.3, 96.9]])]
    h, w, stride = 32, 32, 4
    t = encode(targets, 1, h, w, stride)
    for (x1, y1, x2, y2), cy, cx in zip(boxes, t.cell_y[:3], t.cell_x[:3], strict=True):
        assert (int(cx), int(cy)) == (int((x1 + x2) / 2 // stride), int((y1 + y2) / 2 // stride))
        assert float(t.heatmap[0, 0, cy, cx]) == 1.0
    assert int((t.heatmap == 1).sum()) == 4
    assert float(t.heatmap.max()) == 1.0 and float(t.heatmap.min()) == 0.0
    model = _model(max_detections=10, min_score=0.5)
    dets = model.decode(_raw_from_targets(targets, 1, h, w, stride), [(128, 128), (128, 128)])
    for gt, d in zip(targets, dets, strict=True):
        assert len(d) == len(gt["boxes"])
        order = np.argsort(d.xyxy[:, 0])
        want = gt["boxes"].numpy()[np.argsort(gt["boxes"].numpy()[:, 0])]
        np.testing.assert_allclose(d.xyxy[order], want, atol=0.5)
        np.testing.assert_allclose(d.confidence, 1.0, atol=1e-5)


def test_decode_drops_peaks_in_the_padding_and_clips_to_the_image():
    targets = [_target([[40, 40, 50, 50], [2, 2, 14, 12]])]
    raw = _raw_from_targets(targets, 1, 16, 16, 4)
    model = _model(min_score=0.5)
    (d,) = model.decode(raw, [(36, 36)])  # the image is 36 x 36 inside a 64 x 64 padded batch
    assert len(d) == 1
    np.testing.assert_allclose(d.xyxy[0], [2, 2, 14, 12], atol=0.5)
    (d,) = model.decode(raw, [(48, 47)])  # the first ball's box is clipped to the image
    assert len(d) == 2 and float(d.xyxy[:, 2].max()) == 47.0 and float(d.xyxy[:, 3].max()) == 48.0


def test_perfect_maps_give_a_near_zero_loss():
    targets = [_target([[10.3, 20.7, 19.9, 29.2]]), _target([])]
    raw = _raw_from_targets(targets, 1, 16, 16, 4)
    model = _model()
    perfect = model.loss(raw, targets)
    assert float(perfect["offset"]) < 1e-6 and float(perfect["size"]) < 1e-6
    assert float(perfect["heatmap"]) < 0.1  # not 0: CenterNet penalises the Gaussian shoulders a little
    worse = model.loss({**raw, "heatmap": torch.zeros_like(raw["heatmap"])}, targets)
    assert float(worse["heatmap"]) > 10 * float(perfect["heatmap"])


# -- a model that has learnt four tiny frames (trained once per module) ---------------------------------


@pytest.fixture(scope="module")
def fitted(tmp_path_factory) -> tuple[Predictor, list[np.ndarray], list]:
    root = tmp_path_factory.mktemp("toy")
    ds = toy_dataset(root, n=4, width=64, height=64, ball=(11.0, 15.0), seed=3)
    frames = [ds.load_image(s) for s in ds]
    images = torch.stack([to_tensor(f) for f in frames])
    targets = [detections_to_target(s.detections) for s in ds]
    torch.manual_seed(0)
    config = ModelConfig(name="heatmap_mobilenet_v2", frames=1, image_size=64, min_score=0.05)
    model = build_model(config)  # ImageNet backbone from torchvision's cache
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=1e-2)
    model.train()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # the same 25 steps, so the same weights, on a machine of any size
    try:
        for _ in range(25):
            loss = sum(model.loss(model(images), targets).values())
            opt.zero_grad()
            loss.backward()
            opt.step()
    finally:
        torch.set_num_threads(threads)
    return Predictor(model.eval(), config, ["ball"]), frames, [s.detections for s in ds]


def test_overfits_four_tiny_frames_and_finds_the_balls(fitted):
    predictor, frames, gts = fitted
    for d, gt in zip(predictor.predict(frames, score_threshold=0.3), gts, strict=True):
        assert len(d) >= 1
        top = d[np.argsort(-d.confidence)[:1]]
        assert np.linalg.norm(top.centers[0] - gt.centers[0]) < 2.0
        assert float(iou(top.xyxy, gt.xyxy)[0, 0]) > 0.5


def test_window_inference_keeps_coordinates(fitted):
    """The tracker's window search: a window of odd size (padded to 16 inside) is run at the *frame's*
    scale and its boxes come back in frame pixels. Frames twice the training size (image_size 64 halves
    them) check the scale; the window's offset checks the shift."""
    predictor, frames, gts = fitted
    detector = FrameHistory(predictor, score_threshold=0.3)
    for frame, gt in zip(frames, gts, strict=True):
        big = frame.repeat(2, axis=0).repeat(2, axis=1)  # 128 x 128, the ball twice as large
        cx, cy = gt.centers[0] * 2
        window = (int(cx) - 41, int(cy) - 37, int(cx) + 42, int(cy) + 34)  # 83 x 71, clipped at the edges
        whole = detector(big, None)
        part = detector(big, window)
        detector.reset()
        assert len(whole) and len(part)
        a, b = whole[np.argmax(whole.confidence)], part[np.argmax(part.confidence)]
        assert np.linalg.norm(a.centers[0] - gt.centers[0] * 2) < 4.0
        # a wrong offset or scale would be off by tens of px (the window starts 34-41 px before the
        # ball; at the wrong scale the centre halves); a 25-step model misses by a few at the window's edge
        assert np.linalg.norm(b.centers[0] - gt.centers[0] * 2) < 8.0


def test_artifact_round_trip_gives_identical_predictions(tmp_path: Path):
    config = ModelConfig(name=NAMES[0], frames=3, pretrained=False, image_size=80, min_score=0.0)
    torch.manual_seed(1)
    model = build_model(config).eval()
    with torch.no_grad():
        model.out.bias[0] = 0.0  # scores around 0.5, so there is something to compare
    path = save_artifact(tmp_path / "model.tar.gz", model, config, ["ball"])
    loaded = load_model(path)
    assert loaded.config.frames == 3 and loaded.module.frames == 3
    rng = np.random.default_rng(0)
    clips = [stack_frames([rng.integers(0, 255, (60, 80, 3), dtype=np.uint8) for _ in range(3)])
             for _ in range(2)]
    before = Predictor(model, config, ["ball"]).predict(clips, score_threshold=0.0)
    after = loaded.predict(clips, score_threshold=0.0)
    for a, b in zip(before, after, strict=True):
        assert len(a) > 0 and a.equals(b, atol=0.0)


def test_stacked_frames_go_through_the_predictor_resize(tmp_path: Path):
    """(H, W, 3K) inputs are resized frame by frame like RGB frames; boxes come back in frame pixels."""
    config = ModelConfig(name=NAMES[0], frames=3, pretrained=False, image_size=64, min_score=0.0)
    torch.manual_seed(2)
    model = build_model(config).eval()
    rng = np.random.default_rng(0)
    frames = [rng.integers(0, 255, (96, 128, 3), dtype=np.uint8) for _ in range(3)]
    (d,) = Predictor(model, config, ["ball"]).predict([stack_frames(frames)], score_threshold=0.0)
    assert len(d) and float(d.xyxy[:, 2].max()) <= 128 and float(d.xyxy[:, 3].max()) <= 96
    batch, sizes = pad_batch([torch.rand(9, 20, 30)], 16)
    assert batch.shape == (1, 9, 32, 32) and sizes == [(20, 30)]


def test_onnx_export_matches_pytorch(fitted):
    from pigskin.serve.export import check_onnx, export_onnx

    predictor, frames, _ = fitted
    graph = export_onnx(predictor, frame_size=(64, 64))
    odd = [np.ascontiguousarray(f[:50, :60]) for f in frames[:2]]  # other sizes: the graph is dynamic
    comparison = check_onnx(predictor, graph, frames + odd, score_threshold=0.05)
    assert comparison.detections >= len(frames)
    assert comparison.ok(box_atol=1e-2, score_atol=1e-4), comparison.summary()
    assert math.isfinite(comparison.max_box_diff)


def test_bf16_inference_finds_the_same_balls(fitted):
    """bfloat16 autocast (``precision="bf16"``) keeps the top ball within a pixel and its score close;
    an unknown precision is refused."""
    predictor, frames, _ = fitted
    half = Predictor(predictor.module, predictor.config, predictor.classes, precision="bf16")
    for a, b in zip(predictor.predict(frames, 0.3), half.predict(frames, 0.3), strict=True):
        assert len(a) and len(b)
        ta, tb = a[int(np.argmax(a.confidence))], b[int(np.argmax(b.confidence))]
        assert np.linalg.norm(ta.centers[0] - tb.centers[0]) < 1.0
        assert abs(float(ta.confidence[0]) - float(tb.confidence[0])) < 0.05
    with pytest.raises(ValueError, match="precision"):
        Predictor(predictor.module, predictor.config, predictor.classes, precision="fp8")


def test_frame_history_feeds_k_frames_and_a_second_search_keeps_them(tmp_path: Path):
    """The tracker's detector for a K = 3 model: frame t is seen with frames t-1 and t-2 (the first
    frames repeat the oldest), a second call on the same frame (a wider search) does not advance the
    history, and reset() forgets the video."""
    config = ModelConfig(name=NAMES[0], frames=3, pretrained=False, image_size=80, min_score=0.0)
    torch.manual_seed(3)
    model = build_model(config).eval()
    with torch.no_grad():
        model.body.body[0][0].weight.normal_(0, 0.2)  # past frames start at zero: make them count
        model.out.bias[0] = 0.0
    predictor = Predictor(model, config, ["ball"])
    rng = np.random.default_rng(1)
    f = [rng.integers(0, 255, (60, 80, 3), dtype=np.uint8) for _ in range(3)]
    history = FrameHistory(predictor, score_threshold=0.0)

    def expected(stack: list[np.ndarray]) -> Detections:
        return predictor.predict([stack_frames(stack)], score_threshold=0.0)[0]

    assert history(f[0]).equals(expected([f[0]] * 3), atol=1e-4)
    assert history(f[1]).equals(expected([f[0], f[0], f[1]]), atol=1e-4)
    now = history(f[2])
    assert now.equals(expected(f), atol=1e-4)
    assert not now.equals(expected([f[2]] * 3), atol=1e-4)  # the past frames matter
    assert history(f[2]).equals(now, atol=0.0)  # the same frame again: same past
    history.reset()
    assert history(f[2]).equals(expected([f[2]] * 3), atol=1e-4)
