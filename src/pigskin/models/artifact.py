"""``model.tar.gz``: one file that is the whole trained model, as SageMaker stores models.

Inside: ``pigskin-model.json`` (format version, pigskin and torch versions, model name, the full
config, class names, preprocessing, validation metrics) and ``weights.pt`` (a plain state dict, read
with ``weights_only=True`` so loading never runs pickled code). :func:`load_model` needs nothing
else, and imports no training code, so serving and tracking can use it alone.

``load_model`` also accepts a folder holding ``model.tar.gz`` (SageMaker's ``SM_MODEL_DIR``), a folder
our tar was unpacked into (SageMaker hosting's ``/opt/ml/model``), and SageMaker's own ``model.tar.gz``
wrapped around ours.
"""

from __future__ import annotations

import dataclasses
import io
import json
import os
import tarfile
import time
import zlib
from pathlib import Path
from typing import Any

import torch
from torch import nn

from pigskin import __version__
from pigskin.config import ConfigError, ModelConfig, from_dict, to_dict
from pigskin.errors import PigskinError
from pigskin.fileio import atomic_write
from pigskin.models.predictor import Predictor

MANIFEST = "pigskin-model.json"
WEIGHTS = "weights.pt"
FORMAT = "pigskin-model"
FORMAT_VERSION = 1
ARTIFACT_NAME = "model.tar.gz"


def _split_config(config: Any) -> tuple[ModelConfig, dict[str, Any] | None]:
    """Accept a ModelConfig, or a training config that holds one as ``.model``."""
    if isinstance(config, ModelConfig):
        return config, None
    model_config = getattr(config, "model", None)
    if dataclasses.is_dataclass(config) and isinstance(model_config, ModelConfig):
        return model_config, to_dict(config)
    raise TypeError(
        f"save_artifact: expected a ModelConfig or a config with .model, got {type(config).__name__}"
    )


def manifest_for(
    model_config: ModelConfig,
    classes: list[str],
    metrics: dict[str, Any],
    train_config: dict[str, Any] | None,
    size_divisible: int,
) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "pigskin_version": __version__,
        "torch_version": torch.__version__.split("+")[0],
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "name": model_config.name,
        "classes": list(classes),
        "model_config": to_dict(model_config),
        "train_config": train_config,
        "preprocessing": {
            "input": "RGB uint8 frames, scaled to [0, 1]",
            "resize": "long side to image_size (bilinear), boxes mapped back to the frame",
            "image_size": model_config.image_size,
            "normalize": model_config.normalize,
            "mean": list(model_config.mean),
            "std": list(model_config.std),
            "size_divisible": size_divisible,
        },
        "metrics": metrics,
    }


def save_artifact(
    path: str | os.PathLike[str],
    model: nn.Module,
    config: Any,
    classes: list[str],
    metrics: dict[str, Any] | None = None,
) -> Path:
    """Write ``model.tar.gz`` atomically. ``config`` is a ModelConfig or a training config with ``.model``
    (then the whole training config is stored too)."""
    model_config, train_config = _split_config(config)
    if len(classes) != model_config.num_classes:
        raise ValueError(
            f"save_artifact: {len(classes)} class names for a model of {model_config.num_classes}"
        )
    module = getattr(model, "module", model)  # unwrap DistributedDataParallel
    manifest = manifest_for(
        model_config, classes, dict(metrics or {}), train_config, int(getattr(module, "size_divisible", 32))
    )
    weights = io.BytesIO()
    torch.save({k: v.detach().cpu() for k, v in module.state_dict().items()}, weights)
    path = Path(path)
    with atomic_write(path, "wb") as f, tarfile.open(fileobj=f, mode="w:gz") as tar:
        for name, data in (
            (MANIFEST, json.dumps(manifest, indent=2).encode()),
            (WEIGHTS, weights.getvalue()),
        ):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = int(time.time())
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(data))
    return path


def _read_members(path: Path, data: bytes | None = None) -> dict[str, bytes]:
    """Regular files of a (gzipped) tar, read into memory: nothing is extracted onto disk."""
    try:
        with tarfile.open(fileobj=io.BytesIO(data)) if data is not None else tarfile.open(path) as tar:
            out = {}
            for member in tar.getmembers():
                if member.isfile() and member.size < (4 << 30):
                    f = tar.extractfile(member)
                    if f is not None:
                        out[member.name.lstrip("./")] = f.read()
            return out
    except (tarfile.TarError, EOFError, zlib.error, OSError) as exc:
        if isinstance(exc, FileNotFoundError):
            raise
        raise PigskinError(
            f"{path}: not a readable model artifact (expected a model.tar.gz): {exc}"
        ) from None


def read_artifact(path: str | os.PathLike[str]) -> tuple[dict[str, Any], bytes]:
    """The manifest and the weight bytes of an artifact (a path, or a released name such as
    ``pigskin-ball``: :mod:`pigskin.models.released`), checked."""
    from pigskin.models.released import resolve

    path = resolve(path)
    if path.is_dir() and (path / MANIFEST).is_file():  # our tar already unpacked (SageMaker's /opt/ml/model)
        members = {n: (path / n).read_bytes() for n in (MANIFEST, WEIGHTS) if (path / n).is_file()}
        return _check_members(path, members)
    if path.is_dir():
        path = path / ARTIFACT_NAME
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such model artifact")
    return _check_members(path, _read_members(path))


def _check_members(path: Path, members: dict[str, bytes]) -> tuple[dict[str, Any], bytes]:
    """The manifest (validated) and weights among an artifact's files."""
    if MANIFEST not in members and ARTIFACT_NAME in members:  # SageMaker's tar around ours
        members = _read_members(path, members[ARTIFACT_NAME])
    if MANIFEST not in members:
        held = ", ".join(sorted(members)[:8]) or "nothing"
        raise PigskinError(f"{path}: not a pigskin model artifact: no {MANIFEST} inside (it holds {held})")
    try:
        manifest = json.loads(members[MANIFEST])
    except ValueError as exc:
        raise PigskinError(f"{path}: {MANIFEST}: not valid JSON: {exc}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise PigskinError(f"{path}: {MANIFEST}: not a pigskin model manifest (format is not {FORMAT!r})")
    version = manifest.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise PigskinError(
            f"{path}: artifact format version {version!r} is newer than this pigskin reads "
            f"({FORMAT_VERSION}); "
            f"it was written by pigskin {manifest.get('pigskin_version')}: upgrade pigskin"
        )
    if WEIGHTS not in members:
        raise PigskinError(f"{path}: the artifact has no {WEIGHTS}")
    return manifest, members[WEIGHTS]


def update_artifact(artifact: str | os.PathLike[str], files: dict[str, bytes]) -> Path:
    """Add or replace top-level files of an artifact (``model.onnx``, a revised manifest), rewriting the
    tar atomically; an unpacked artifact folder gets the files written beside its manifest. Returns the
    path written (the file, for a folder)."""
    from pigskin.fileio import write_bytes

    path = Path(artifact)
    if path.is_dir() and (path / MANIFEST).is_file():  # an unpacked artifact
        for name, data in files.items():
            write_bytes(path / name, data)
        return path / next(iter(files)) if len(files) == 1 else path
    if path.is_dir():
        path = path / ARTIFACT_NAME
    members: list[tuple[tarfile.TarInfo, bytes]] = []
    what = ", ".join(files)
    try:
        with tarfile.open(path) as tar:
            for member in tar.getmembers():
                f = tar.extractfile(member) if member.isfile() else None
                if f is not None and member.name.lstrip("./") not in files:
                    members.append((member, f.read()))
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise PigskinError(f"{path}: cannot add {what}: not a readable model.tar.gz: {exc}") from None
    if MANIFEST not in files and MANIFEST not in {m.name.lstrip("./") for m, _ in members}:
        raise PigskinError(f"{path}: no {MANIFEST} at the top of the tar: not a pigskin artifact (a "
                           f"SageMaker tar around one? add {what} to the inner model.tar.gz)")
    for name, data in files.items():
        info = tarfile.TarInfo(name)
        info.size, info.mtime, info.mode = len(data), int(time.time()), 0o644
        members.append((info, data))
    with atomic_write(path, "wb") as f, tarfile.open(fileobj=f, mode="w:gz") as tar:
        for member, data in members:
            tar.addfile(member, io.BytesIO(data))
    return path


def set_score_threshold(artifact: str | os.PathLike[str], threshold: float, **metrics: Any) -> Path:
    """Make ``threshold`` the artifact's default score threshold (the operating point that
    ``pigskin track``/``predict``/``serve`` use when none is given) and record ``metrics`` (how it was
    chosen) under the manifest's ``metrics``."""
    manifest, _ = read_artifact(artifact)
    manifest["model_config"]["score_threshold"] = float(threshold)
    manifest.setdefault("metrics", {}).update(metrics)
    return update_artifact(artifact, {MANIFEST: json.dumps(manifest, indent=2).encode()})


def load_model(
    path: str | os.PathLike[str], device: torch.device | str = "cpu", precision: str = "fp32"
) -> Predictor:
    """Rebuild the model an artifact describes and load its weights; a clear error otherwise.
    ``precision="bf16"`` predicts under bfloat16 autocast (:func:`pigskin.models.predictor.detect`)."""
    from pigskin.models import build_model

    manifest, weights = read_artifact(path)
    try:
        config = from_dict(ModelConfig, manifest.get("model_config") or {}, where="model_config")
    except (ConfigError, TypeError) as exc:
        raise PigskinError(f"{path}: {MANIFEST}: {exc}") from None
    classes = manifest.get("classes")
    if not isinstance(classes, list) or len(classes) != config.num_classes:
        raise PigskinError(
            f"{path}: {MANIFEST}: classes {classes!r} do not match num_classes {config.num_classes}"
        )
    try:
        # the weights replace whatever the backbone starts from, so skip the ImageNet load
        module = build_model(dataclasses.replace(config, pretrained=False))
    except ConfigError as exc:
        raise PigskinError(f"{path}: {exc} (written by pigskin {manifest.get('pigskin_version')})") from None
    try:
        state = torch.load(io.BytesIO(weights), map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises RuntimeError, UnpicklingError, EOFError... for a bad file
        raise PigskinError(f"{path}: {WEIGHTS}: cannot read the weights: {exc}") from None
    try:
        result = module.load_state_dict(state, strict=False)
    except RuntimeError as exc:  # shapes that differ
        first = str(exc).split("\n\t")[1:2] or [str(exc)]
        raise PigskinError(
            f"{path}: {WEIGHTS} does not fit model {config.name!r}: {first[0].strip()}"
        ) from None
    # a backbone trained from ImageNet weights used frozen batch norm, which has no batch counter;
    # in eval mode the two compute the same thing
    missing = [k for k in result.missing_keys if not k.endswith("num_batches_tracked")]
    if missing or result.unexpected_keys:
        raise PigskinError(
            f"{path}: {WEIGHTS} does not fit model {config.name!r}: missing {missing[:5]}, "
            f"unexpected {result.unexpected_keys[:5]}"
        )
    module.to(device).eval()
    return Predictor(
        module=module,
        config=config,
        classes=[str(c) for c in classes],
        metrics=dict(manifest.get("metrics") or {}),
        train_config=manifest.get("train_config"),
        meta=manifest,
        precision=precision,
    )
