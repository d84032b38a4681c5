"""pigskin's ball detector: a multi-frame, high-resolution centre heatmap (CenterNet x TrackNet).

Box detectors look at one frame through a stride-8+ grid; a 6-20 px ball is one or two cells there,
blurred and often half hidden. Ball trackers (TrackNetV2-V4, WASB) win with a dense heatmap computed
from several consecutive frames: the ball is the thing that moves like a ball. This family:

- **Input**: ``K`` consecutive frames (``ModelConfig.frames``, 0 = 3 here) stacked on the channel axis,
  oldest first, the frame to detect in last: ``(B, 3K, H, W)`` in [0, 1]. A plain ``(B, 3, H, W)``
  batch (a still image, or the single-frame engine paths such as ``pigskin evaluate --model``) is
  taken as a frame that did not move: it is repeated ``K`` times.
- **Fusion**: ``early``: the ``3K`` channels enter the first convolution, whose ImageNet weights go
  to the current frame and zeros to the past ones (so training starts from the K = 1 network);
  ``late``: the backbone runs once per frame and the features are concatenated. ``motion`` adds
  TrackNetV4-style motion maps, ``|frame_k - frame_k-1|`` (one channel per pair, first-layer weights
  starting at zero). ``heatmap_mobilenet_v2`` is early fusion with motion maps: docs/heatmap.md has
  the measurements behind that choice.
- **Backbone**: MobileNetV2 (ImageNet weights, offline), cut after its stride-16 stage: a 10 px ball
  needs no stride-32 context, and the cut saves a third of the parameters.
- **Neck**: a light U-Net/FPN path 16 -> 8 -> 4 (1x1 laterals, nearest upsampling, depthwise-separable
  smoothing), so every output cell is 4 px.
- **Heads** (one shared depthwise-separable trunk): a centre heatmap per class (sigmoid, Gaussian
  targets, CenterNet focal loss alpha 2 / beta 4), a sub-pixel offset (L1 at centres) and the box size
  (L1 of ``log(size / stride)`` at centres); see :mod:`pigskin.models.heatmap_targets`.
- **Decode**: 3x3 max-pool peak picking, top-k, ``min_score``: scored boxes, so AP compares with the
  box detectors, and their centres are the ball points TrackNet and WASB are scored on.

It honours :mod:`pigskin.models.base`, so the engine trains, validates, saves, serves, exports
(``onnx_graph``) and tunes it like the box detectors.
"""

from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils.fusion import fuse_conv_bn_weights
from torchvision.ops.misc import Conv2dNormActivation, FrozenBatchNorm2d

from pigskin.config import ConfigError, ModelConfig
from pigskin.detections import Detections
from pigskin.models.backbones import build_backbone, prior_bias
from pigskin.models.base import Normalize, Target, to_detections, zero_loss
from pigskin.models.heatmap_targets import decode_cells, encode, focal_loss

STRIDE = 4  # output cell in px
DEFAULT_FRAMES = 3
NECK_CHANNELS = 64
FUSIONS = ("early", "late")
SIZE_WEIGHT = 1.0  # relative weight of the log-size L1 (the offset's is 1, the heatmap's 1)


def _sep(c_in: int, c_out: int) -> nn.Sequential:
    """Depthwise 3x3 + pointwise 1x1, each with batch norm and ReLU: a 3x3 receptive field at ~1/8 the
    cost of a full 3x3 convolution, which matters at stride 4 on a 1280x720 frame (60k cells)."""
    return nn.Sequential(
        Conv2dNormActivation(c_in, c_in, 3, groups=c_in, activation_layer=nn.ReLU),
        Conv2dNormActivation(c_in, c_out, 1, activation_layer=nn.ReLU),
    )


def _lateral(c_in: int, c_out: int) -> nn.Sequential:
    return Conv2dNormActivation(c_in, c_out, 1, activation_layer=None)


def fold_batchnorm(module: nn.Module) -> nn.Module:
    """Fold every convolution -> batch norm pair inside a Sequential into one convolution, in place
    (inference only: batch norm then is a fixed affine map). At 1280x720 each batch norm is a full
    pass over activations of up to 90 MB; folding them roughly halves the CPU time of this network."""
    for seq in module.modules():
        if not isinstance(seq, nn.Sequential):
            continue
        for i in range(len(seq) - 1):
            conv, bn = seq[i], seq[i + 1]
            if isinstance(conv, nn.Conv2d) and isinstance(bn, (nn.BatchNorm2d, FrozenBatchNorm2d)):
                weight, bias = fuse_conv_bn_weights(conv.weight, conv.bias, bn.running_mean, bn.running_var,
                                                    bn.eps, bn.weight, bn.bias)
                fused = copy.deepcopy(conv)
                weight = weight.detach().contiguous(memory_format=torch.channels_last)
                fused.weight = nn.Parameter(weight, requires_grad=False)
                fused.bias = nn.Parameter(bias.detach(), False)
                seq[i], seq[i + 1] = fused, nn.Identity()
    return module


class HeatmapNet(nn.Module):
    """Multi-frame centre-heatmap ball detector; see the module docstring."""

    def __init__(self, config: ModelConfig, fusion: str = "early", motion: bool = False) -> None:
        super().__init__()
        if fusion not in FUSIONS:
            raise ConfigError(f"heatmap fusion: expected one of {FUSIONS}, got {fusion!r}")
        self.config = config
        self.frames = int(config.frames or DEFAULT_FRAMES)
        self.fusion = fusion
        self.motion = bool(motion) and self.frames > 1
        if self.motion and fusion != "early":
            raise ConfigError("heatmap: motion maps go with early fusion")
        self.stride = STRIDE
        self.size_divisible = 16
        self.fold = True  # eval mode runs a batch-norm-folded twin (see _folded)
        self._fold_cache: tuple[tuple, nn.Module] | None = None
        self.normalize = Normalize(config)
        self.body = build_backbone("mobilenet_v2", config.pretrained, (4, 8, 16))
        stem_in = 3 * self.frames + (self.frames - 1 if self.motion else 0) if fusion == "early" else 3
        if stem_in != 3:
            self._widen_stem(stem_in)
        per = self.frames if fusion == "late" else 1
        c4, c8, c16 = (c * per for c in self.body.channels)
        c = NECK_CHANNELS
        self.lat16, self.lat8, self.lat4 = _lateral(c16, c), _lateral(c8, c), _lateral(c4, c)
        self.smooth8, self.smooth4 = _sep(c, c), _sep(c, c)
        self.trunk = _sep(c, c)
        k = config.num_classes
        self.out = nn.Conv2d(c, k + 4, 1)  # heatmap logits (k), offset (2), log size (2)
        nn.init.normal_(self.out.weight, std=0.01)
        nn.init.zeros_(self.out.bias)
        with torch.no_grad():
            self.out.bias[:k].fill_(prior_bias(0.01))
        # channels-last runs this network's depthwise convolutions 1.5-3x faster on CPU (oneDNN);
        # loading weights copies into these tensors and keeps their layout
        self.to(memory_format=torch.channels_last)

    def _widen_stem(self, channels: int) -> None:
        """First convolution for ``channels`` inputs: the current (last) frame gets the ImageNet RGB
        filters, the past frames and motion maps start at zero, so the untrained K-frame network is
        exactly the K = 1 one and learns what motion adds. (Copying the filters to every frame / K, the
        other common choice, also keeps a still scene as ImageNet sees it, but smears a moving ball
        into K ghosts at 1/K contrast, and it trained slower here: docs/heatmap.md.) The stem trains
        even when the ImageNet stem is otherwise frozen: it is the only place frames meet."""
        stem = self.body.body[0]
        old: nn.Conv2d = stem[0]
        new = nn.Conv2d(channels, old.out_channels, old.kernel_size, old.stride, old.padding, bias=False)
        with torch.no_grad():
            new.weight.zero_()
            new.weight[:, 3 * (self.frames - 1) : 3 * self.frames] = old.weight
        stem[0] = new
        stem.requires_grad_(True)

    # -- network --------------------------------------------------------------------------------
    def stack(self, images: Tensor) -> Tensor:
        """``(B, 3, H, W)`` (a still) or ``(B, 3K, H, W)`` -> ``(B, K, 3, H, W)``, current frame last."""
        b, ch, h, w = images.shape
        if ch == 3 and self.frames > 1:
            return images[:, None].expand(b, self.frames, 3, h, w)
        if ch != 3 * self.frames:
            raise ValueError(f"heatmap model takes {self.frames} RGB frames (3 or {3 * self.frames} "
                             f"channels), got {ch} channels")
        return images.reshape(b, self.frames, 3, h, w)

    def forward(self, images: Tensor) -> dict[str, Tensor]:
        """``{"heatmap": (B, classes, H/4, W/4) logits, "offset": (B, 2, ..), "size": (B, 2, ..)}``."""
        if not self.training and self.fold:
            return self._folded().maps(images)
        return self.maps(images)

    def _folded(self) -> HeatmapNet:
        """A twin with batch norm folded into the convolutions, for eval mode; rebuilt whenever any
        weight changed (optimiser step, load_state_dict, in-place edit, device move): the key is each
        tensor's storage and version counter. Not a submodule, so never in the state dict."""
        key = tuple((t.data_ptr(), t._version) for t in (*self.parameters(), *self.buffers()))
        if self._fold_cache is None or self._fold_cache[0] != key:
            cache, self._fold_cache = self._fold_cache, None
            try:
                twin = copy.deepcopy(self)
            finally:
                self._fold_cache = cache
            twin.fold = False
            with torch.no_grad():
                self._fold_cache = (key, fold_batchnorm(twin).eval())
        return self._fold_cache[1]

    def maps(self, images: Tensor) -> dict[str, Tensor]:
        """The network itself (``forward`` without the eval-mode folding)."""
        frames = self.stack(images)
        b, k, _, h, w = frames.shape
        x = self.normalize(frames.reshape(b * k, 3, h, w))
        if self.fusion == "early":
            x = x.reshape(b, 3 * k, h, w)
            if self.motion:
                diff = (frames[:, 1:] - frames[:, :-1]).abs().mean(2)  # (B, K-1, H, W)
                x = torch.cat([x, diff], 1)
            f = self.body(x.contiguous(memory_format=torch.channels_last))
        else:
            f = self.body(x.contiguous(memory_format=torch.channels_last))
            f = {n: v.reshape(b, k * v.shape[1], v.shape[2], v.shape[3]) for n, v in f.items()}
        f4, f8, f16 = f["4"], f["8"], f["16"]
        p = self.lat16(f16)
        p = self.smooth8(self.lat8(f8) + F.interpolate(p, size=f8.shape[-2:], mode="nearest"))
        p = self.smooth4(self.lat4(f4) + F.interpolate(p, size=f4.shape[-2:], mode="nearest"))
        y = self.out(self.trunk(p))
        n = self.config.num_classes
        return {"heatmap": y[:, :n], "offset": y[:, n : n + 2], "size": y[:, n + 2 :]}

    # -- loss -----------------------------------------------------------------------------------
    def loss(self, raw: dict[str, Tensor], targets: list[Target]) -> dict[str, Tensor]:
        heat = raw["heatmap"]
        _, k, h, w = heat.shape
        t = encode(targets, k, h, w, self.stride)
        n = max(1, t.num_boxes)
        out = {"heatmap": focal_loss(heat, t.heatmap) / n}
        if t.num_boxes:
            off = raw["offset"][t.batch, :, t.cell_y, t.cell_x]  # (P, 2)
            size = raw["size"][t.batch, :, t.cell_y, t.cell_x]
            out["offset"] = F.l1_loss(off.float(), t.offset, reduction="sum") / n
            out["size"] = SIZE_WEIGHT * F.l1_loss(size.float(), t.size, reduction="sum") / n
        else:
            out["offset"] = zero_loss(raw["offset"])
            out["size"] = zero_loss(raw["size"])
        return out

    # -- decoding -------------------------------------------------------------------------------
    def decode_one(self, heat: Tensor, offset: Tensor, size: Tensor, height: Tensor, width: Tensor
                   ) -> tuple[Tensor, Tensor, Tensor]:
        """One image's raw maps -> ``boxes (N, 4)``, ``scores (N,)``, ``labels (N,)``.

        Written for the ONNX tracer too: no Python value depends on the frame size (cell coordinates
        come from cumulative sums, ``k`` from ``_topk_min``), so the exported graph is right for
        every size. Peaks whose centre lies in the bottom/right padding are dropped.
        """
        from torchvision.models.detection._utils import _topk_min

        cfg = self.config
        prob = heat.sigmoid()
        peaks = prob * (F.max_pool2d(prob[None], 3, 1, 1)[0] == prob).to(prob.dtype)
        ones = torch.ones_like(prob)
        cell_x, cell_y = ones.cumsum(2) - 1, ones.cumsum(1) - 1
        label = ones.cumsum(0) - 1
        flat = peaks.reshape(-1)
        score, index = flat.topk(_topk_min(flat, cfg.max_detections, 0))
        keep = score > cfg.min_score
        score, index = score[keep], index[keep]

        def at_peaks(maps: Tensor) -> Tensor:  # (2, h, w) -> (N, 2), each class seeing the same maps
            return torch.stack([maps[c].expand_as(prob).reshape(-1)[index] for c in range(2)], 1)

        off, sz = at_peaks(offset), at_peaks(size)
        boxes = decode_cells(cell_x.reshape(-1)[index], cell_y.reshape(-1)[index], off, sz, self.stride)
        h, w = height.to(boxes.dtype), width.to(boxes.dtype)
        centre_x, centre_y = (boxes[:, 0] + boxes[:, 2]) / 2, (boxes[:, 1] + boxes[:, 3]) / 2
        inside = (centre_x < w) & (centre_y < h)
        zero = torch.zeros_like(h)
        x = torch.minimum(torch.maximum(boxes[:, 0::2], zero), w)
        y = torch.minimum(torch.maximum(boxes[:, 1::2], zero), h)
        boxes = torch.stack([x[:, 0], y[:, 0], x[:, 1], y[:, 1]], 1)
        return boxes[inside], score[inside], label.reshape(-1)[index][inside].long()

    @torch.no_grad()
    def decode(self, raw: dict[str, Tensor], sizes: list[tuple[int, int]]) -> list[Detections]:
        out = []
        for i, (h, w) in enumerate(sizes):
            boxes, scores, labels = self.decode_one(
                raw["heatmap"][i].float(), raw["offset"][i].float(), raw["size"][i].float(),
                torch.tensor(h), torch.tensor(w),
            )
            out.append(to_detections(boxes, scores, labels))
        return out

    def onnx_graph(self) -> nn.Module:
        """The exportable ``(images (1, 3K, H, W), size (2,)) -> boxes, scores, labels`` graph
        (:mod:`pigskin.serve.export` traces it with K stacked frames; a still is repeated K times by
        the ONNX backend). The folded twin is built here, outside the tracer, so the graph holds the
        folded weights as constants."""
        with torch.no_grad():
            return _HeatmapGraph(self._folded() if self.fold else self)


class _HeatmapGraph(nn.Module):
    def __init__(self, model: HeatmapNet) -> None:
        super().__init__()
        self.model = model

    def forward(self, images: Tensor, size: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        raw = self.model(images)
        return self.model.decode_one(raw["heatmap"][0], raw["offset"][0], raw["size"][0], size[0], size[1])


def heatmap(config: ModelConfig, fusion: str = "early", motion: bool = False) -> HeatmapNet:
    return HeatmapNet(config, fusion, motion)
