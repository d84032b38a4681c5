"""Data-parallel training under ``torchrun``: process-group set-up and the few collectives we use.

Started by ``torchrun --nproc_per_node N -m pigskin train ...`` (``RANK``/``WORLD_SIZE`` in the
environment), each process trains on its share of every epoch's plan; gradients are averaged by
DistributedDataParallel. gloo on CPU, nccl on GPU. Without ``torchrun`` everything is a no-op.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist

from pigskin.errors import PigskinError


@dataclass(frozen=True)
class Context:
    rank: int
    world: int
    local_rank: int
    device: torch.device

    @property
    def main(self) -> bool:
        return self.rank == 0

    @property
    def active(self) -> bool:
        return self.world > 1


def resolve_device(name: str, local_rank: int = 0) -> torch.device:
    """``auto`` = CUDA when present, else CPU; ``cuda`` under torchrun means this rank's GPU."""
    if name in ("", "auto"):
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise PigskinError(f"device {name!r}: no CUDA device is available here (use --device cpu)")
        if name == "cuda":
            name = f"cuda:{local_rank % max(1, torch.cuda.device_count())}"
    return torch.device(name)


def setup(device: str) -> Context:
    world = int(os.environ.get("WORLD_SIZE", "1") or 1)
    rank = int(os.environ.get("RANK", "0") or 0)
    local_rank = int(os.environ.get("LOCAL_RANK", "0") or 0)
    dev = resolve_device(device, local_rank)
    if world > 1 and not dist.is_initialized():
        if dev.type == "cuda":
            torch.cuda.set_device(dev)
        dist.init_process_group("nccl" if dev.type == "cuda" else "gloo")
    return Context(rank, world, local_rank, dev)


def broadcast(ctx: Context, obj: Any) -> Any:
    """Rank 0's ``obj`` on every rank."""
    if not ctx.active:
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def max_value(ctx: Context, value: float) -> float:
    """The largest ``value`` over ranks (so all ranks agree on elapsed time and stop together)."""
    if not ctx.active:
        return value
    t = torch.tensor([value], dtype=torch.float64, device=ctx.device if ctx.device.type == "cuda" else "cpu")
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return float(t.item())


def barrier(ctx: Context) -> None:
    if ctx.active:
        dist.barrier()


def teardown(ctx: Context) -> None:
    if ctx.active and dist.is_initialized():
        dist.destroy_process_group()
