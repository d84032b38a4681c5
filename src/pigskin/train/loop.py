"""The training loop as plain functions: ``train(config) -> path of model.tar.gz``.

One epoch = one crop per training frame (:func:`pigskin.data.epoch_plan`), split among data-parallel
ranks. After each epoch (or when the time budget runs out) the model is validated on whole frames,
``Validation: <AP50>`` is printed on its own line (the SageMaker metric-regex convention the tuner
reads), a checkpoint is saved and then the history is rewritten to ``metrics.jsonl``. The checkpoint is
the source of truth: a run killed between the two writes has a ``metrics.jsonl`` one record behind, and
resuming rewrites it from the checkpoint at once. The artifact holds the weights of the best validated
epoch.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from pigskin.config import TrainConfig, override, to_dict
from pigskin.errors import PigskinError
from pigskin.fileio import write_text
from pigskin.models import build_model
from pigskin.models.artifact import ARTIFACT_NAME, save_artifact
from pigskin.models.small_objects import fit_small_objects
from pigskin.runtime import tune_allocator
from pigskin.samples import Dataset, frame_run_groups
from pigskin.train import checkpoint, distributed
from pigskin.train.validate import validate

METRICS = "metrics.jsonl"
MIN_BALL_PX = 8.0  # a ball smaller than this at the training scale is under one cell of a stride-8 head


def _write_history(out: Path, history: list[dict[str, Any]]) -> None:
    write_text(out / METRICS, "".join(json.dumps(r) + "\n" for r in history))


# -- data -------------------------------------------------------------------------------------------


def align_classes(train: Dataset, val: Dataset, where: str = "validation data") -> Dataset:
    """``val`` with class ids renumbered to the training classes (matched by name)."""
    if list(val.classes) == list(train.classes):
        return val
    missing = [c for c in val.classes if c not in train.classes]
    used = {int(c) for s in val for c in s.detections.class_id}
    if any(val.classes.index(c) in used for c in missing):
        raise PigskinError(f"{where}: class {missing[0]!r} is not among the training classes {train.classes}")
    mapping = {i: train.classes.index(c) for i, c in enumerate(val.classes) if c in train.classes}
    samples = []
    for s in val:
        ids = [mapping[int(c)] for c in s.detections.class_id]
        samples.append(s.replace(detections=s.detections.replace(class_id=ids)))
    return val.replace(classes=list(train.classes), samples=samples)


def load_data(
    config: TrainConfig, train: Dataset | None = None, val: Dataset | None = None
) -> tuple[Dataset, Dataset]:
    """Training and validation sets: given, read from ``config.data``/``config.val``, or split."""
    from pigskin.formats import load

    opts: dict[str, Any] = {"image_root": config.image_root or None}
    if train is None:
        if not config.data:
            raise PigskinError("no training data: pass --data PATH (or set SM_CHANNEL_TRAIN)")
        train = load(config.data, config.format or None, **opts)
    if val is None and config.val:
        val = load(config.val, config.format or None, **opts)
    if val is None:
        # frames without a video id are grouped into runs of consecutive numbers (clips)
        group = None if any(s.video_id for s in train) else frame_run_groups(train.samples)
        train, val = train.split(config.val_fraction, config.seed, group)
    if not len(train):
        raise PigskinError(f"{config.data or 'training data'}: no frames to train on")
    if train.num_boxes == 0:
        raise PigskinError(f"{config.data or 'training data'}: no boxes at all: nothing to learn")
    return train, align_classes(train, val, config.val or "validation data")


def init_weights(config: TrainConfig) -> tuple[TrainConfig, dict[str, torch.Tensor]]:
    """Fine-tuning: the model config and weights of ``config.init`` (a model.tar.gz or a released name).
    The architecture comes from the artifact, since its weights only fit that; the class count comes
    from the data (a head of another shape starts fresh in :func:`load_matching`)."""
    import io

    from pigskin.config import ModelConfig, from_dict
    from pigskin.models.artifact import read_artifact

    manifest, weights = read_artifact(config.init)  # resolves a released name
    where = f"{config.init}: model_config"
    saved = from_dict(ModelConfig, manifest.get("model_config") or {}, where=where)
    default_name = ModelConfig().name
    if config.model.name not in (default_name, saved.name):
        raise PigskinError(
            f"--init {config.init} is a {saved.name} model, but --model asks for {config.model.name}: "
            "drop --model (the architecture comes from the weights) or init from a model of that name"
        )
    state = torch.load(io.BytesIO(weights), map_location="cpu", weights_only=True)
    return dataclasses.replace(config, model=dataclasses.replace(saved, pretrained=False)), state


def load_matching(model: nn.Module, state: dict[str, torch.Tensor]) -> str:
    """Copy every tensor of ``state`` whose name and shape fit ``model``; say what was left fresh."""
    own = model.state_dict()
    fit = {k: v for k, v in state.items() if k in own and own[k].shape == v.shape}
    model.load_state_dict(fit, strict=False)
    fresh = [k for k in own if k not in fit and not k.endswith("num_batches_tracked")]
    return f"{len(fit)} tensors loaded" + (f", {len(fresh)} start fresh ({', '.join(fresh[:3])}...)"
                                           if fresh else "")


# -- optimisation ---------------------------------------------------------------------------------


BACKBONE_PREFIXES = ("body.", "model.backbone.body.", "model.backbone.features.")  # ours, torchvision's


def make_optimizer(model: nn.Module, config: TrainConfig) -> torch.optim.Optimizer:
    """SGD or AdamW; no weight decay on biases and normalisation parameters; the backbone
    (parameters under ``BACKBONE_PREFIXES``) at ``backbone_lr`` times the rate, each group's share
    kept as its ``lr_scale`` for the schedule."""
    split = config.backbone_lr != 1.0  # else two groups, as checkpoints made before the option have
    params: dict[tuple[bool, bool], list[nn.Parameter]] = {}  # (no decay, backbone) -> parameters
    for name, p in model.named_parameters():
        if p.requires_grad:
            params.setdefault((p.ndim <= 1, split and name.startswith(BACKBONE_PREFIXES)), []).append(p)
    groups = []
    for (no_decay, backbone), ps in sorted(params.items()):  # the heads' decayed group first (logged)
        scale = config.backbone_lr if backbone else 1.0
        groups.append({"params": ps, "weight_decay": 0.0 if no_decay else config.weight_decay,
                       "lr": config.lr * scale, "lr_scale": scale})
    if config.optimizer == "adamw":
        return torch.optim.AdamW(groups, lr=config.lr)
    return torch.optim.SGD(groups, lr=config.lr, momentum=config.momentum, nesterov=config.momentum > 0)


def lr_at(config: TrainConfig, step: int, total_steps: int, time_fraction: float = 0.0) -> float:
    """Linear warm-up, then cosine decay to ``min_lr_ratio * lr``. With a time budget the cosine follows
    whichever runs out first, steps or minutes, so a budgeted run still ends at a low rate."""
    warm = config.warmup_steps
    if step < warm:
        return config.lr * (0.001 + 0.999 * step / warm)
    progress = min(1.0, max((step - warm) / max(1, total_steps - warm), time_fraction))
    floor = config.min_lr_ratio
    return config.lr * (floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * progress)))


def fit_anchors(config: TrainConfig, train_ds: Dataset, ctx: distributed.Context) -> TrainConfig:
    """``config`` with the model's anchors fitted to the training boxes at the training scale
    (:mod:`pigskin.models.small_objects`); says what it measured and what it set."""
    fitted = fit_small_objects(train_ds, config.model.image_size)
    if fitted is None:
        return config
    model = fitted.apply(config.model)
    changed = {k: v for k, v in to_dict(model).items() if v != to_dict(config.model)[k]}
    advice = fitted.image_size_for(MIN_BALL_PX)
    _say(ctx, f"anchors: {fitted.describe()}; set {changed or 'nothing (anchor-free)'}"
         + (f"; --image-size {advice} would make those balls {MIN_BALL_PX:g} px" if advice > fitted.image_size
            else ""))
    return dataclasses.replace(config, model=model)


class LossModule(nn.Module):
    """``forward(images, targets) -> losses``: the unit DistributedDataParallel wraps."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(
        self, images: torch.Tensor, targets: list[dict[str, torch.Tensor]]
    ) -> dict[str, torch.Tensor]:
        return self.model.loss(self.model(images), targets)


@dataclass
class RunState:
    """Where a run stands; saved in every checkpoint."""

    epoch: int = 0  # epochs completed
    batch: int = 0  # batches done inside the current epoch
    step: int = 0  # optimiser steps in all
    elapsed: float = 0.0  # seconds of this run, over all resumptions
    history: list[dict[str, Any]] = field(default_factory=list)
    best: float = -1.0
    best_epoch: int = 0
    loss_sums: dict[str, float] = field(default_factory=dict)
    loss_count: int = 0


# -- the loop -------------------------------------------------------------------------------------


def train(config: TrainConfig, train_data: Dataset | None = None, val_data: Dataset | None = None) -> Path:
    """Train ``config.model`` and write ``<out>/model.tar.gz``; resumes from a checkpoint in ``out``.

    ``train_data``/``val_data`` (in-memory Datasets) take the place of ``config.data``/``config.val``.
    """
    tune_allocator()  # threads are the entry point's business (runtime.prepare), not a library call's
    ctx = distributed.setup(config.device)
    try:
        return _train(config, ctx, train_data, val_data)
    finally:
        distributed.teardown(ctx)


def _say(ctx: distributed.Context, *parts: Any) -> None:
    if ctx.main:
        print(*parts, flush=True)


def _train(
    config: TrainConfig, ctx: distributed.Context, train_data: Dataset | None, val_data: Dataset | None
) -> Path:
    from torch.utils.data import DataLoader
    from tqdm import tqdm

    from pigskin.data import CropDataset, collate, epoch_plan

    out = Path(config.out)
    ckpt_dir = Path(config.checkpoint_dir or config.out)
    train_ds, val_ds = load_data(config, train_data, val_data)
    init_state = None
    if config.init:
        config, init_state = init_weights(config)
    config = override(config, {"num_classes": len(train_ds.classes)})
    # given anchors are kept, and a fine-tuned model keeps the anchors its head learnt
    if config.fit_anchors and not config.init and not config.model.anchors:
        config = fit_anchors(config, train_ds, ctx)
    dev = ctx.device
    torch.manual_seed(config.seed)
    model = build_model(config.model).to(dev)
    if init_state is not None:
        _say(ctx, f"init: {config.init}: {load_matching(model, init_state)}")
    ema = None
    if config.ema:
        from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

        ema = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(config.ema_decay), use_buffers=True)
    optimizer = make_optimizer(model, config)
    use_amp = config.amp and dev.type == "cuda"
    amp_dtype = torch.bfloat16 if use_amp and torch.cuda.is_bf16_supported() else torch.float16
    scaler = torch.amp.GradScaler("cuda", enabled=use_amp and amp_dtype == torch.float16)

    state = RunState()
    ckpt_path = ckpt_dir / checkpoint.CHECKPOINT
    if config.resume and ckpt_path.exists():
        saved = checkpoint.load(ckpt_path)
        checkpoint.check_compatible(ckpt_path, saved["config"], config)
        model.load_state_dict(saved["model"])
        optimizer.load_state_dict(saved["optimizer"])
        if ema is not None and saved.get("ema") is not None:
            ema.load_state_dict(saved["ema"])
        scaler.load_state_dict(saved["scaler"])
        torch.set_rng_state(saved["rng"])
        state = RunState(**saved["state"])
        _say(
            ctx,
            f"resuming from {ckpt_path}: epoch {state.epoch + 1}, batch {state.batch}, step {state.step}, "
            f"{len(state.history)} validations so far",
        )
        if ctx.main:
            _write_history(out, state.history)
    elif ctx.main:
        (ckpt_dir / checkpoint.BEST).unlink(missing_ok=True)  # a stale best from an earlier run

    per_rank = len(train_ds) // ctx.world
    if per_rank == 0:
        raise PigskinError(f"{len(train_ds)} training frames cannot be shared among {ctx.world} processes")
    steps_per_epoch = math.ceil(per_rank / config.batch)
    if config.steps_per_epoch:
        steps_per_epoch = min(steps_per_epoch, config.steps_per_epoch)
    total_steps = steps_per_epoch * config.epochs
    budget = config.max_minutes * 60.0

    module: nn.Module = LossModule(model)
    if ctx.active:
        module = nn.parallel.DistributedDataParallel(module, device_ids=[dev] if dev.type == "cuda" else None)
    eval_model = ema.module if ema is not None else model

    _say(
        ctx,
        f"pigskin train: {config.model.name} on {dev} x{ctx.world} ({torch.get_num_threads()} threads); "
        f"{len(train_ds)} training frames ({train_ds.num_boxes} boxes), {len(val_ds)} validation frames; "
        f"classes {train_ds.classes}; crops {config.crop_size or 'whole frames'} at image_size "
        f"{config.model.image_size}; {steps_per_epoch} steps/epoch x {config.epochs} epochs",
    )

    def save_checkpoint() -> None:
        if ctx.main:
            checkpoint.save(
                ckpt_path,
                {
                    "config": to_dict(config),
                    "state": dataclasses.asdict(state),
                    "model": model.state_dict(),
                    "optimizer": optimizer.state_dict(),
                    "ema": ema.state_dict() if ema is not None else None,
                    "scaler": scaler.state_dict(),
                    "rng": torch.get_rng_state(),
                },
            )

    stop = ""
    session_end = state.elapsed + config.session_minutes * 60.0 if config.session_minutes else math.inf

    def out_of_time() -> str:
        """Why the run stops now ("" = it goes on): the whole run's budget, or this session's."""
        if budget and state.elapsed >= budget:
            return "time budget"
        if state.elapsed >= session_end:
            return "session budget (the checkpoint resumes it)"
        return ""

    while state.epoch < config.epochs and not stop:
        stop = out_of_time()
        if stop:
            break
        t_last = time.monotonic()
        plan = epoch_plan(train_ds, state.epoch, config.seed, config.negative_fraction)
        mine = plan[ctx.rank :: ctx.world][:per_rank][: steps_per_epoch * config.batch]
        crops = CropDataset(
            train_ds,
            mine[state.batch * config.batch :],
            config.crop_size,
            config.model.image_size,
            config.augment,
            frames=int(getattr(model, "frames", 1)),
            hard_negatives=config.hard_negatives,
        )
        loader = DataLoader(
            crops, batch_size=config.batch, shuffle=False, num_workers=config.workers, collate_fn=collate
        )
        model.train()
        bar = tqdm(
            total=steps_per_epoch,
            initial=state.batch,
            desc=f"epoch {state.epoch + 1}/{config.epochs}",
            disable=not (ctx.main and config.progress),
            leave=False,
        )
        for images, targets in loader:
            for group in optimizer.param_groups:
                group["lr"] = group.get("lr_scale", 1.0) * lr_at(
                    config, state.step, total_steps, state.elapsed / budget if budget else 0.0
                )
            images = images.to(dev, non_blocking=True)
            targets = [{k: v.to(dev) for k, v in t.items()} for t in targets]
            autocast = torch.autocast(dev.type, dtype=amp_dtype) if use_amp else contextlib.nullcontext()
            with autocast:
                losses = module(images, targets)
            loss = sum(losses.values())
            if not torch.isfinite(loss):
                parts = ", ".join(f"{k} {float(v):.4g}" for k, v in losses.items())
                raise PigskinError(
                    f"the loss became {float(loss)} at step {state.step} ({parts}); "
                    "lower --lr or check the labels"
                )
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            if config.clip_grad > 0:
                scaler.unscale_(optimizer)
                nn.utils.clip_grad_norm_(model.parameters(), config.clip_grad)
            scaler.step(optimizer)
            scaler.update()
            if ema is not None:
                ema.update_parameters(model)
            state.step += 1
            state.batch += 1
            for k, v in losses.items():
                state.loss_sums[k] = state.loss_sums.get(k, 0.0) + float(v.detach())
            state.loss_count += 1
            now = time.monotonic()
            state.elapsed += now - t_last
            t_last = now
            bar.update(1)
            bar.set_postfix(loss=f"{float(loss.detach()):.3f}")
            if budget or session_end < math.inf:
                state.elapsed = distributed.max_value(ctx, state.elapsed)
                stop = out_of_time()
                if stop:
                    break
            if config.checkpoint_every and state.step % config.checkpoint_every == 0:
                save_checkpoint()
        bar.close()
        complete = state.batch >= steps_per_epoch

        metrics: dict[str, float] = {}
        if ctx.main and len(val_ds):
            metrics = validate(
                eval_model, val_ds, config.model.image_size, config.val_max_images, progress=config.progress
            )
        metrics = distributed.broadcast(ctx, metrics)
        state.elapsed = distributed.max_value(ctx, state.elapsed + time.monotonic() - t_last)
        n = max(1, state.loss_count)
        record = {
            "epoch": state.epoch + 1,
            "complete": complete,
            "step": state.step,
            "lr": optimizer.param_groups[0]["lr"],
            "seconds": round(state.elapsed, 1),
            "loss": sum(state.loss_sums.values()) / n,
            "losses": {k: v / n for k, v in state.loss_sums.items()},
            **{k: v for k, v in metrics.items() if k != "images"},
        }
        state.history.append(record)
        ap = metrics.get("ap50", math.nan)
        _say(ctx, f"Validation: {ap:.4f}")
        _say(
            ctx,
            f"epoch {record['epoch']}/{config.epochs}{'' if complete else ' (part)'}: "
            f"loss {record['loss']:.4f}"
            f" ap50 {ap:.4f} ap50<16px {metrics.get('ap50_small', math.nan):.4f} lr {record['lr']:.3g}"
            f" {state.elapsed:.0f}s",
        )
        if math.isfinite(ap) and ap > state.best:
            state.best, state.best_epoch = ap, record["epoch"]
            if ctx.main:
                checkpoint.save(
                    ckpt_dir / checkpoint.BEST, {"model": eval_model.state_dict(), "record": record}
                )
        if complete:
            state.epoch += 1
            state.batch = 0
            state.loss_sums, state.loss_count = {}, 0
        save_checkpoint()
        if ctx.main:
            _write_history(out, state.history)
        distributed.barrier(ctx)
        if (
            config.patience
            and complete
            and state.best_epoch
            and state.epoch - state.best_epoch >= config.patience
        ):
            stop = f"no better AP50 for {config.patience} epochs"
    if stop:
        _say(ctx, f"stopped: {stop}")

    artifact = out / ARTIFACT_NAME
    if ctx.main:
        best_path = ckpt_dir / checkpoint.BEST
        final: dict[str, Any] = state.history[-1] if state.history else {}
        if best_path.exists():
            best = checkpoint.load(best_path)
            eval_model.load_state_dict(best["model"])
            final = best["record"]
        summary = {k: v for k, v in final.items() if k not in ("losses",)}
        summary.update(
            {
                "epochs_trained": state.epoch,
                "steps": state.step,
                "train_seconds": round(state.elapsed, 1),
                "validation_frames": len(val_ds),
                "history": state.history,
            }
        )
        save_artifact(artifact, eval_model, config, list(train_ds.classes), summary)
        _say(
            ctx,
            f"wrote {artifact} (best AP50 {state.best if state.best >= 0 else math.nan:.4f}"
            f" at epoch {state.best_epoch})",
        )
    distributed.barrier(ctx)
    return artifact
