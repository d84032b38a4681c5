"""Frozen dataclass configs, to and from plain dicts, with ``--name value`` overrides by field name.

Configs nest (a training config holds a model config), but every field name is unique across the
tree, so a tuner or SageMaker can pass ``lr=0.01`` or ``image_size=640`` without knowing the nesting.
Values may arrive as strings (SageMaker's hyperparameters.json holds only strings): :func:`coerce`
turns them into the field's type and says which field was wrong.

This module imports no torch: the CLI builds its options from these dataclasses at start-up, and
serving reads a :class:`ModelConfig` back from an artifact.
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from pigskin.errors import PigskinError

T = TypeVar("T")

_TRUE = {"1", "true", "yes", "on", "y", "t"}
_FALSE = {"0", "false", "no", "off", "n", "f", "none", ""}


class ConfigError(PigskinError, ValueError):
    """A config value that cannot be used: names the field and what was expected."""


def _field_types(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _is_config(tp: Any) -> bool:
    return isinstance(tp, type) and dataclasses.is_dataclass(tp)


def coerce(value: Any, tp: Any, name: str = "value") -> Any:
    """Convert ``value`` (often a string) to type ``tp``: bool, int, float, str, tuples, Optional."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if value is None or (isinstance(value, str) and value.strip().lower() in ("none", "null")):
            return None
        return coerce(value, args[0], name)
    if origin is tuple:
        args = typing.get_args(tp)
        item = args[0] if args else str
        if isinstance(value, str):
            text = value.strip().strip("[]()")
            parts = [p for p in text.replace(";", ",").split(",") if p.strip()]
        elif isinstance(value, (list, tuple)):
            parts = list(value)
        else:
            parts = [value]
        return tuple(coerce(p, item, name) for p in parts)
    if tp is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, (int, float)) and value in (0, 1):
            return bool(value)
        text = str(value).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise ConfigError(f"{name}: expected true/false, got {value!r}")
    if tp in (int, float):
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{name}: expected {tp.__name__}, got {value!r}") from None
        if tp is float:
            return number
        if not number.is_integer():
            raise ConfigError(f"{name}: expected an integer, got {value!r}")
        return int(number)
    if tp is str:
        return "" if value is None else str(value)
    return value


def to_dict(config: Any) -> dict[str, Any]:
    """Nested plain dict (tuples become lists) for JSON."""
    out = dataclasses.asdict(config)
    return json.loads(json.dumps(out))


def from_dict(cls: type[T], data: dict[str, Any] | None = None, *, where: str = "config") -> T:
    """Build ``cls`` from a nested dict; unknown keys are an error naming them."""
    data = dict(data or {})
    hints = _field_types(cls)
    kwargs: dict[str, Any] = {}
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        if f.name not in data:
            continue
        value = data.pop(f.name)
        tp = hints[f.name]
        if _is_config(tp):
            if not isinstance(value, dict):
                raise ConfigError(f"{where}.{f.name}: expected a mapping, got {value!r}")
            kwargs[f.name] = from_dict(tp, value, where=f"{where}.{f.name}")
        else:
            kwargs[f.name] = coerce(value, tp, f"{where}.{f.name}")
    if data:
        raise ConfigError(f"{where}: unknown field(s) {', '.join(sorted(data))}")
    return cls(**kwargs)


def flat_fields(cls: type) -> dict[str, tuple[tuple[str, ...], dataclasses.Field]]:
    """Every leaf field by its plain name -> (path of nested config names, field)."""
    out: dict[str, tuple[tuple[str, ...], dataclasses.Field]] = {}
    hints = _field_types(cls)
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        tp = hints[f.name]
        if _is_config(tp):
            for name, (path, leaf) in flat_fields(tp).items():
                if name in out:
                    raise TypeError(f"{cls.__name__}: field name {name!r} is used twice")
                out[name] = ((f.name, *path), leaf)
        else:
            if f.name in out:
                raise TypeError(f"{cls.__name__}: field name {f.name!r} is used twice")
            out[f.name] = ((), f)
    return out


def override(config: T, values: dict[str, Any], *, source: str = "override") -> T:
    """A copy of ``config`` with fields set by plain name (``image-size`` or ``image_size``)."""
    fields = flat_fields(type(config))
    changes: dict[tuple[str, ...], dict[str, Any]] = {}
    for raw_name, value in values.items():
        name = raw_name.lstrip("-").replace("-", "_")
        if name not in fields:
            raise ConfigError(f"{source}: unknown hyperparameter {raw_name!r}")
        path, f = fields[name]
        holder = type(config)
        for part in path:
            holder = _field_types(holder)[part]
        changes.setdefault(path, {})[name] = coerce(value, _field_types(holder)[name], f"{source}: {name}")
    return _apply(config, (), changes)


def _apply(config: Any, path: tuple[str, ...], changes: dict[tuple[str, ...], dict[str, Any]]) -> Any:
    updates = dict(changes.get(path, {}))
    for f in dataclasses.fields(config):
        value = getattr(config, f.name)
        if dataclasses.is_dataclass(value):
            updates[f.name] = _apply(value, (*path, f.name), changes)
    return dataclasses.replace(config, **updates)


def load_file(path: str | Path) -> dict[str, Any]:
    """A YAML or JSON mapping of hyperparameters (flat names or the nested layout)."""
    from pigskin.errors import FormatError

    path = Path(path)
    text = path.read_text(encoding="utf-8")
    try:
        if path.suffix.lower() == ".json":
            data = json.loads(text)
        else:
            import yaml

            data = yaml.safe_load(text)
    except Exception as exc:  # json's ValueError or yaml.YAMLError
        raise FormatError(path, None, f"cannot parse config: {exc}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise FormatError(path, None, f"expected a mapping at the top, got {type(data).__name__}")
    return data


def flatten(data: dict[str, Any]) -> dict[str, Any]:
    """Nested mapping -> flat ``{leaf_name: value}`` (the override form)."""
    out: dict[str, Any] = {}
    for k, v in data.items():
        if isinstance(v, dict):
            out.update(flatten(v))
        else:
            out[k] = v
    return out


# -- the configs of training and prediction ----------------------------------------------------

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def opt(default: Any, help: str) -> Any:
    """A dataclass field with a help text (the CLI shows it)."""
    return field(default=default, metadata={"help": help})


@dataclass(frozen=True)
class ModelConfig:
    """Architecture and pre/post-processing; the defaults suit a 6-30 px ball in a 720p frame."""

    name: str = opt("fasterrcnn_mobilenet_v2", "model name (see `pigskin models`)")
    num_classes: int = opt(1, "object classes, background not counted (set from the data)")
    pretrained: bool = opt(True, "start the backbone from ImageNet weights when they are available offline")
    image_size: int = opt(
        1280, "long side (px) frames are resized to for validation and prediction; training crops are "
        "cut at the same scale, so keep it near the frame width for small balls"
    )
    anchor_sizes: tuple[int, ...] = opt(
        (8, 16, 32, 64, 128), "anchor sizes in px, one per pyramid level from the finest "
        "(Faster R-CNN: strides 4-64; SSD: 8-128; YOLOv3 uses the first three at strides 8-32)"
    )
    aspect_ratios: tuple[float, ...] = opt((0.5, 1.0, 2.0), "anchor height/width ratios")
    anchors: tuple[float, ...] = opt(
        (), "anchor shapes of the finest level as flat w,h pairs in px at image_size, each coarser level "
        "twice as big (all box detectors); empty = anchor_sizes x aspect_ratios. `pigskin train` fits "
        "them to the training boxes (fit_anchors)"
    )
    width: float = opt(1.0, "channel multiplier for Darknet-53 and the YOLOv3 neck (0.25-1.0)")
    fpn_channels: int = opt(128, "feature-pyramid channels (Faster R-CNN)")
    rpn_fg_iou: float = opt(0.5, "IoU for an anchor to count as a ball in the RPN (torchvision: 0.7, too "
                            "strict for an 8 px box on a stride-4 grid)")
    proposals_train: int = opt(1000, "RPN proposals kept per image while training")
    proposals_test: int = opt(300, "RPN proposals kept per image at inference")
    min_score: float = opt(0.01, "lowest score a detection keeps inside the model (AP needs low scores)")
    score_threshold: float = opt(0.3, "default score threshold of predict()")
    nms_iou: float = opt(0.5, "IoU of non-maximum suppression")
    max_detections: int = opt(100, "detections kept per image")
    frames: int = opt(0, "consecutive frames a multi-frame model sees, current frame last (0 = the "
                      "model's default: 3 for heatmap models; box detectors always see 1)")
    normalize: bool = opt(True, "normalise pixels with mean/std inside the model")
    mean: tuple[float, ...] = opt(IMAGENET_MEAN, "per-channel mean of [0, 1] pixels")
    std: tuple[float, ...] = opt(IMAGENET_STD, "per-channel standard deviation")

    def __post_init__(self) -> None:
        if self.num_classes < 1:
            raise ConfigError(f"num_classes: expected >= 1, got {self.num_classes}")
        if not 0 <= self.frames <= 16:
            raise ConfigError(f"frames: expected 0 (model default) to 16, got {self.frames}")
        if self.image_size < 32:
            raise ConfigError(f"image_size: expected >= 32 px, got {self.image_size}")
        if not self.anchor_sizes or min(self.anchor_sizes) <= 0:
            raise ConfigError(f"anchor_sizes: expected positive sizes, got {self.anchor_sizes}")
        if not self.aspect_ratios or min(self.aspect_ratios) <= 0:
            raise ConfigError(f"aspect_ratios: expected positive ratios, got {self.aspect_ratios}")
        if self.anchors and (len(self.anchors) % 2 or min(self.anchors) <= 0):
            raise ConfigError(f"anchors: expected positive w,h pairs, got {self.anchors}")
        if not 0 < self.width <= 4:
            raise ConfigError(f"width: expected a multiplier in (0, 4], got {self.width}")
        if len(self.mean) != 3 or len(self.std) != 3 or min(self.std) <= 0:
            raise ConfigError(f"mean/std: expected 3 values each (std > 0), got {self.mean} / {self.std}")


@dataclass(frozen=True)
class AugmentConfig:
    """Training-time augmentation; set a probability or strength to 0 (zoom to 1,1) to switch it off."""

    flip: float = opt(0.5, "probability of a horizontal flip")
    zoom_min: float = opt(0.7, "smallest zoom of a training crop relative to the inference scale")
    zoom_max: float = opt(1.4, "largest zoom (zoom_min = zoom_max = 1 switches zoom off)")
    color_jitter: float = opt(0.3, "brightness/contrast/saturation jitter strength (hue gets a tenth)")
    motion_blur: float = opt(0.3, "probability of a linear motion blur (a fast ball smears)")
    motion_blur_length: int = opt(9, "longest motion-blur streak in px")
    jpeg: float = opt(0.3, "probability of re-encoding as JPEG (broadcast compression)")
    jpeg_quality_min: int = opt(40, "lowest JPEG quality used")

    def __post_init__(self) -> None:
        for name in ("flip", "motion_blur", "jpeg"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ConfigError(f"{name}: expected a probability in [0, 1], got {getattr(self, name)}")
        if not 0 < self.zoom_min <= self.zoom_max:
            raise ConfigError(
                f"zoom_min/zoom_max: expected 0 < min <= max, got {self.zoom_min}, {self.zoom_max}"
            )
        if not 1 <= self.jpeg_quality_min <= 100:
            raise ConfigError(f"jpeg_quality_min: expected 1-100, got {self.jpeg_quality_min}")


@dataclass(frozen=True)
class TrainConfig:
    """One training run: data, model, augmentation, optimisation, budget; ``train(config)`` does the rest."""

    data: str = opt("", "training data: any path pigskin.formats.load reads")
    val: str = opt("", "validation data; empty = split --data by video/clip (val_fraction)")
    out: str = opt("runs/train", "output folder: model.tar.gz, checkpoint.pt, metrics.jsonl")
    checkpoint_dir: str = opt("", "where checkpoint.pt lives (empty = --out)")
    format: str = opt("", "dataset format of --data/--val when it cannot be detected")
    image_root: str = opt("", "local folder that s3:// image references resolve against")
    model: ModelConfig = field(default_factory=ModelConfig)
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    # data
    val_fraction: float = opt(0.2, "share of --data held out when --val is not given")
    crop_size: int = opt(512, "side of the square training crops in px (0 = whole frames at image_size)")
    fit_anchors: bool = opt(True, "fit the box detectors' anchors to the training boxes at image_size "
                            "(k-means, pigskin.models.small_objects); off = the configured anchors")
    negative_fraction: float = opt(0.2, "share of frames with a ball cropped to show no ball instead")
    hard_negatives: float = opt(0.5, "share of those negative crops centred on a recorded look-alike "
                                "(flag, pylon, shoe: Sample.attrs['lookalikes'], as pigskin.synth writes)")
    workers: int = opt(0, "data-loading worker processes")
    # optimisation
    epochs: int = opt(20, "epochs (one crop per training frame each)")
    batch: int = opt(8, "crops per step (per process under torchrun)")
    optimizer: str = opt("sgd", "sgd or adamw")
    lr: float = opt(0.01, "peak learning rate (after warm-up)")
    momentum: float = opt(0.9, "SGD momentum")
    backbone_lr: float = opt(1.0, "the backbone's learning rate as a share of lr (DETR uses 0.1): "
                             "AdamW's steps at the heads' rate let a frozen-norm backbone's activations grow "
                             "until a layer saturates (docs/heatmap.md, YOLOv3)")
    weight_decay: float = opt(1e-4, "weight decay (not applied to biases and norms)")
    warmup_steps: int = opt(100, "linear warm-up steps before the cosine decay")
    min_lr_ratio: float = opt(0.05, "final learning rate as a share of lr")
    clip_grad: float = opt(10.0, "gradient-norm clipping (0 = off)")
    ema: bool = opt(False, "keep an exponential moving average of the weights and validate/save it")
    ema_decay: float = opt(0.999, "EMA decay per step")
    amp: bool = opt(True, "mixed precision where the device supports it (CUDA); CPU runs in float32")
    patience: int = opt(0, "stop after this many epochs without a better validation AP50 (0 = never)")
    seed: int = opt(0, "seed for the split, crops, augmentation and initialisation")
    device: str = opt("auto", "auto, cpu or cuda[:N]")
    # budget, logging, checkpoints
    max_minutes: float = opt(0.0, "stop training after this many minutes of training (0 = no limit); the "
                             "learning rate's cosine follows it, over all resumptions")
    session_minutes: float = opt(0.0, "stop this invocation after this many minutes of training and keep the "
                                 "checkpoint, so a later run resumes it (a run longer than a session)")
    init: str = opt("", "start from a trained model's weights: a model.tar.gz or a released name "
                    "(pigskin-ball); layers whose shapes differ (another class count) start fresh")
    steps_per_epoch: int = opt(0, "cap the steps of an epoch (0 = all crops of the plan)")
    val_max_images: int = opt(0, "validate on at most this many frames (0 = all)")
    checkpoint_every: int = opt(0, "also checkpoint every N steps inside an epoch (0 = end of epoch only)")
    resume: bool = opt(True, "continue from out/checkpoint.pt when it exists")
    progress: bool = opt(True, "show a progress bar")

    def __post_init__(self) -> None:
        if self.optimizer not in ("sgd", "adamw"):
            raise ConfigError(f"optimizer: expected sgd or adamw, got {self.optimizer!r}")
        for name in ("epochs", "batch"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name}: expected >= 1, got {getattr(self, name)}")
        if self.lr <= 0:
            raise ConfigError(f"lr: expected > 0, got {self.lr}")
        if self.backbone_lr <= 0:
            raise ConfigError(f"backbone_lr: expected > 0 (a share of lr), got {self.backbone_lr}")
        if not 0.0 <= self.val_fraction < 1.0:
            raise ConfigError(f"val_fraction: expected [0, 1), got {self.val_fraction}")
        if not 0.0 <= self.negative_fraction <= 1.0:
            raise ConfigError(f"negative_fraction: expected [0, 1], got {self.negative_fraction}")
        if not 0.0 <= self.hard_negatives <= 1.0:
            raise ConfigError(f"hard_negatives: expected [0, 1], got {self.hard_negatives}")
        if self.crop_size < 0 or (self.crop_size and self.crop_size < 32):
            raise ConfigError(f"crop_size: expected 0 or >= 32, got {self.crop_size}")
