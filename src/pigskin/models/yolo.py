"""YOLOv3, compact: three-scale heads over Darknet-53 or MobileNetV2, its loss and its decoding.

Layout as in the paper (Redmon & Farhadi 2018): a five-convolution block per scale, an upsampled
route from the coarser scale, and per anchor ``(tx, ty, tw, th, objectness, classes...)``; centres are
``(sigmoid(t) + cell) * stride``, sizes ``anchor * exp(t)``, and every box is assigned to the one anchor
(of all nine) whose shape fits it best. One change for a small ball: objectness uses the focal loss
normalised by the number of balls (RetinaNet) instead of a plain sum of squared errors, so the tens of
thousands of empty cells in a 1280 px frame do not drown the few that hold a ball.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torchvision.ops import batched_nms, box_iou, sigmoid_focal_loss

from pigskin.config import ModelConfig
from pigskin.detections import Detections
from pigskin.models.backbones import build_backbone, conv_bn, prior_bias
from pigskin.models.base import Normalize, Target, level_shapes, to_detections, zero_loss

STRIDES = (8, 16, 32)
IGNORE_IOU = 0.5  # a prediction overlapping a ball this much is neither pushed up nor down
OBJECT_PRIOR = 0.01  # a fresh head's objectness everywhere (RetinaNet's prior, against the empty cells)


def class_prior(num_classes: int) -> float:
    """A fresh head's class probability *given a ball*: uniform, ``1 / (K + 1)`` (0.5 for one class).
    The class term is trained at positive cells only, so RetinaNet's 0.01 prior is no help here; it
    made a fresh score ``0.01 x 0.01``, 100 times under ``min_score``, and a classifier loss of 4.6 per
    ball that outweighed everything else in the first steps."""
    return 1.0 / (num_classes + 1)


def yolo_anchors(config: ModelConfig) -> Tensor:
    """(3 levels, A, 2) anchor widths/heights in px: ``config.anchors`` (fitted to the data by
    :mod:`pigskin.models.small_objects`) when set, else level ``i`` gets ``anchor_sizes[i]`` at each
    aspect ratio (h/w), as torchvision's AnchorGenerator shapes them."""
    if config.anchors:
        return torch.stack([level_shapes(config.anchors, level) for level in range(len(STRIDES))])
    sizes = list(config.anchor_sizes[:3])
    while len(sizes) < 3:
        sizes.append(sizes[-1] * 2)
    out = []
    for s in sizes:
        out.append([(s / math.sqrt(r), s * math.sqrt(r)) for r in config.aspect_ratios])
    return torch.tensor(out, dtype=torch.float32)


def _five(c_in: int, c: int) -> nn.Sequential:
    return nn.Sequential(
        conv_bn(c_in, c, 1),
        conv_bn(c, 2 * c, 3),
        conv_bn(2 * c, c, 1),
        conv_bn(c, 2 * c, 3),
        conv_bn(2 * c, c, 1),
    )


class YOLOv3(nn.Module):
    def __init__(self, config: ModelConfig, backbone: str, neck: float = 1.0) -> None:
        super().__init__()
        self.config = config
        self.size_divisible = 32
        self.normalize = Normalize(config)
        self.body = build_backbone(backbone, config.pretrained, STRIDES, width=config.width)
        c8, c16, c32 = self.body.channels

        def n(c: int) -> int:
            return max(8, int(round(c * config.width * neck / 8)) * 8)

        self.register_buffer("anchors", yolo_anchors(config), persistent=False)
        self.num_anchors = self.anchors.shape[1]
        out = self.num_anchors * (5 + config.num_classes)
        self.block32, self.route32 = _five(c32, n(512)), conv_bn(n(512), n(256), 1)
        self.block16, self.route16 = _five(c16 + n(256), n(256)), conv_bn(n(256), n(128), 1)
        self.block8 = _five(c8 + n(128), n(128))
        self.heads = nn.ModuleList(
            nn.Sequential(conv_bn(c, 2 * c, 3), nn.Conv2d(2 * c, out, 1)) for c in (n(128), n(256), n(512))
        )
        for head in self.heads:
            final = head[-1]
            nn.init.normal_(final.weight, std=0.01)
            bias = final.bias.detach().view(self.num_anchors, -1)
            bias.zero_()
            bias[:, 4].fill_(prior_bias(OBJECT_PRIOR))
            bias[:, 5:].fill_(prior_bias(class_prior(config.num_classes)))

    def forward(self, images: Tensor) -> list[Tensor]:
        """Per stride (8, 16, 32): ``(B, A, H, W, 5 + classes)`` raw logits."""
        f = self.body(self.normalize(images))
        f8, f16, f32 = f["8"], f["16"], f["32"]
        y32 = self.block32(f32)
        y16 = self.block16(torch.cat([F.interpolate(self.route32(y32), size=f16.shape[-2:]), f16], 1))
        y8 = self.block8(torch.cat([F.interpolate(self.route16(y16), size=f8.shape[-2:]), f8], 1))
        outs = []
        for y, head in zip((y8, y16, y32), self.heads, strict=True):
            p = head(y)
            b, _, h, w = p.shape
            outs.append(p.view(b, self.num_anchors, -1, h, w).permute(0, 1, 3, 4, 2).contiguous())
        return outs

    # -- geometry -------------------------------------------------------------------------------
    def _boxes(self, p: Tensor, level: int) -> Tensor:
        """Decoded ``(B, A, H, W, 4)`` xyxy px boxes of one level."""
        _, _, h, w, _ = p.shape
        gy, gx = torch.meshgrid(
            torch.arange(h, device=p.device, dtype=p.dtype),
            torch.arange(w, device=p.device, dtype=p.dtype),
            indexing="ij",
        )
        stride = STRIDES[level]
        cx = (p[..., 0].sigmoid() + gx) * stride
        cy = (p[..., 1].sigmoid() + gy) * stride
        anchors = self.anchors[level].to(p.dtype).view(1, -1, 1, 1, 2)
        wh = torch.exp(p[..., 2:4].clamp(max=8.0)) * anchors
        return torch.stack(
            [cx - wh[..., 0] / 2, cy - wh[..., 1] / 2, cx + wh[..., 0] / 2, cy + wh[..., 1] / 2], -1
        )

    # -- loss -----------------------------------------------------------------------------------
    def loss(self, raw: list[Tensor], targets: list[Target]) -> dict[str, Tensor]:
        all_anchors = self.anchors.view(-1, 2)  # (3A, 2)
        k = self.config.num_classes
        num_pos = sum(int(t["boxes"].shape[0]) for t in targets)
        xy_loss, wh_loss, cls_loss = zero_loss(raw[0]), zero_loss(raw[0]), zero_loss(raw[0])
        obj_loss = zero_loss(raw[0])
        batch_h, batch_w = raw[0].shape[2] * STRIDES[0], raw[0].shape[3] * STRIDES[0]
        # assign each box to its best-shaped anchor (of all levels)
        assigned: list[list[tuple[int, int, int, int, int]]] = [[] for _ in STRIDES]  # (b, a, gy, gx, t)
        for b, t in enumerate(targets):
            boxes = t["boxes"].float()
            if not boxes.numel():
                continue
            wh = (boxes[:, 2:] - boxes[:, :2]).clamp(min=1e-3)
            inter = torch.min(wh[:, None], all_anchors[None]).prod(-1)
            shape_iou = inter / (wh.prod(-1)[:, None] + all_anchors.prod(-1)[None] - inter)
            best = shape_iou.argmax(1)
            for i in range(boxes.shape[0]):
                level, a = divmod(int(best[i]), self.num_anchors)
                cx, cy = float(boxes[i, 0] + boxes[i, 2]) / 2, float(boxes[i, 1] + boxes[i, 3]) / 2
                _, _, h, w, _ = raw[level].shape
                gx = min(max(int(cx // STRIDES[level]), 0), w - 1)
                gy = min(max(int(cy // STRIDES[level]), 0), h - 1)
                assigned[level].append((b, a, gy, gx, i))
        pos_terms = max(1, num_pos)
        for level, p in enumerate(raw):
            stride = STRIDES[level]
            obj_t = torch.zeros(p.shape[:4], device=p.device, dtype=p.dtype)
            keep = torch.ones(p.shape[:4], device=p.device, dtype=torch.bool)
            with torch.no_grad():
                boxes_pred = self._boxes(p.detach(), level)
                for b, t in enumerate(targets):
                    if t["boxes"].numel():
                        best_iou = box_iou(boxes_pred[b].reshape(-1, 4), t["boxes"].float()).amax(1)
                        keep[b] &= (best_iou <= IGNORE_IOU).view(keep.shape[1:])
            if assigned[level]:
                idx = torch.tensor(assigned[level], device=p.device)
                b, a, gy, gx, i = idx.unbind(1)
                pairs = list(zip(b.tolist(), i.tolist(), strict=True))
                gt = torch.stack([targets[bb]["boxes"][ii].float() for bb, ii in pairs])
                labels = torch.stack([targets[bb]["labels"][ii] for bb, ii in pairs])
                obj_t[b, a, gy, gx] = 1.0
                keep[b, a, gy, gx] = True
                pp = p[b, a, gy, gx]  # (P, 5 + K)
                cxcy = (gt[:, :2] + gt[:, 2:]) / 2
                wh = (gt[:, 2:] - gt[:, :2]).clamp(min=1e-3)
                t_xy = (cxcy / stride - torch.stack([gx, gy], 1).to(p.dtype)).clamp(0, 1)
                t_wh = torch.log(wh / self.anchors[level][a])
                # small boxes weigh more (YOLOv3's 2 - w*h), relative to the batch image
                weight = 2.0 - (wh[:, 0] * wh[:, 1]) / float(batch_h * batch_w)
                # cross-entropy less the target's own entropy (a KL divergence): the same gradient, but 0
                # when the centre is exact, so the logged term shows progress (plain BCE floors at ~2.2)
                bce = F.binary_cross_entropy_with_logits(pp[:, :2], t_xy, reduction="none")
                entropy = F.binary_cross_entropy(t_xy, t_xy, reduction="none")
                xy_loss = xy_loss + (((bce - entropy).sum(1)) * weight).sum() / pos_terms
                wh_loss = wh_loss + (((pp[:, 2:4] - t_wh) ** 2).sum(1) * weight).sum() / pos_terms
                cls_t = F.one_hot(labels.long(), k).to(p.dtype)
                cls_loss = (
                    cls_loss
                    + F.binary_cross_entropy_with_logits(pp[:, 5:], cls_t, reduction="sum") / pos_terms
                )
            obj_loss = (
                obj_loss + sigmoid_focal_loss(p[..., 4][keep], obj_t[keep], reduction="sum") / pos_terms
            )
        return {"xy": xy_loss, "wh": wh_loss, "objectness": obj_loss, "classifier": cls_loss}

    # -- decoding -------------------------------------------------------------------------------
    @torch.no_grad()
    def decode(self, raw: list[Tensor], sizes: list[tuple[int, int]]) -> list[Detections]:
        cfg = self.config
        k = cfg.num_classes
        per_level = []
        for level, p in enumerate(raw):
            boxes = self._boxes(p, level).reshape(p.shape[0], -1, 4)
            scores = (p[..., 4:5].sigmoid() * p[..., 5:].sigmoid()).reshape(p.shape[0], -1, k)
            per_level.append((boxes, scores))
        boxes = torch.cat([b for b, _ in per_level], 1)
        scores = torch.cat([s for _, s in per_level], 1)
        out = []
        for i, (h, w) in enumerate(sizes):
            s = scores[i]
            cand, cls = torch.nonzero(s > cfg.min_score, as_tuple=True)
            sc = s[cand, cls]
            if sc.numel() > 4000:  # NMS cost is quadratic: keep the best candidates only
                sc, top = sc.topk(4000)
                cand, cls = cand[top], cls[top]
            bx = boxes[i][cand]
            bx[:, 0::2] = bx[:, 0::2].clamp(0, w)
            bx[:, 1::2] = bx[:, 1::2].clamp(0, h)
            keep = batched_nms(bx, sc, cls, cfg.nms_iou)[: cfg.max_detections]
            out.append(to_detections(bx[keep], sc[keep], cls[keep]))
        return out


def yolov3(config: ModelConfig, backbone: str, neck: float = 1.0) -> YOLOv3:
    """YOLOv3 on ``backbone``; ``neck`` scales the neck's channels (on top of ``config.width``)."""
    return YOLOv3(config, backbone, neck)
