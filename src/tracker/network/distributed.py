"""Data-parallel training: ``torchrun --nproc_per_node N -m tracker.network.train ...`` runs the same command in
N processes (DistributedDataParallel; gloo on CPU, nccl on CUDA). The global batch (clips x frames) is split
into N equal slices, one per process; the losses are reduced over all processes (:class:`Reducer`), so the
averaged gradient is the one of the whole batch. Only rank 0 builds caches, validates, logs and writes files.

BatchNorm: on CUDA the model's BatchNorm layers become SyncBatchNorm (statistics over the global batch). On
CPU torch has no SyncBatchNorm: each process normalises with the statistics of its own slice, which differs
from a single-process run; ``training.batchnorm: frozen`` (running statistics, no update) removes the
difference. The diffusion fusion's training noise is drawn per process (statistically the same, not the same
numbers as one process).
"""
from __future__ import annotations

import datetime
import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

from tracker.common.config import ConfigError

#: seconds a collective waits for the other processes before failing
TIMEOUT_S = 600


@dataclass(frozen=True)
class DistContext:
    rank: int = 0
    world: int = 1
    local_rank: int = 0
    device: str = "cpu"

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def active(self) -> bool:
        return self.world > 1

    def barrier(self) -> None:
        if self.active:
            dist.barrier()


def from_environment(device: str = "auto") -> DistContext:
    """The process group torchrun describes (RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR/PORT) joined, or a
    single-process context when WORLD_SIZE is unset or 1. ``device`` auto: CUDA when available."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    cuda = device == "cuda" or (device == "auto" and torch.cuda.is_available())
    if world <= 1:
        return DistContext(device="cuda" if cuda else "cpu")
    rank, local = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    if not dist.is_initialized():
        dist.init_process_group("nccl" if cuda else "gloo", rank=rank, world_size=world,
                                timeout=datetime.timedelta(seconds=TIMEOUT_S))
    if cuda:
        torch.cuda.set_device(local)
    return DistContext(rank, world, local, f"cuda:{local}" if cuda else "cpu")


def shutdown(ctx: DistContext) -> None:
    if ctx.active and dist.is_initialized():
        dist.destroy_process_group()


def wrap(net: torch.nn.Module, ctx: DistContext, sync_bn: bool) -> torch.nn.Module:
    """The module the training step calls: ``net`` itself, or DDP around it (SyncBatchNorm first on CUDA when
    ``sync_bn``, in place: ``net`` keeps holding the weights)."""
    if not ctx.active:
        return net
    from torch.nn.parallel import DistributedDataParallel as DDP
    if sync_bn and ctx.device.startswith("cuda"):
        net = torch.nn.SyncBatchNorm.convert_sync_batchnorm(net)
    ids = [ctx.local_rank] if ctx.device.startswith("cuda") else None
    return DDP(net, device_ids=ids)


def rank_slice(n: int, ctx: DistContext) -> slice:
    """This process's part of a global batch of ``n`` (ConfigError unless ``n`` splits evenly)."""
    if n % ctx.world:
        raise ConfigError(f"the global batch of {n} frames does not split into {ctx.world} equal parts: make "
                         "clips_per_batch x frames_per_clip a multiple of the process count")
    k = n // ctx.world
    return slice(ctx.rank * k, (ctx.rank + 1) * k)


class Reducer:
    """Sums loss normalisers over the processes and gathers identity rows (the other processes' rows enter
    detached, this process's rows keep their gradient): see tracker.network.losses."""

    def __init__(self, ctx: DistContext, local_batch: int):
        self.ctx, self.world = ctx, ctx.world
        self.frame_offset = ctx.rank * local_batch

    def sum(self, t: torch.Tensor) -> torch.Tensor:
        t = t.detach().clone()
        dist.all_reduce(t)
        return t

    def gather(self, t: torch.Tensor) -> torch.Tensor:
        n = torch.tensor([t.shape[0]], device=t.device)
        sizes = [torch.zeros_like(n) for _ in range(self.world)]
        dist.all_gather(sizes, n)
        rows = int(max(s.item() for s in sizes))
        pad = torch.zeros((rows - t.shape[0],) + tuple(t.shape[1:]), dtype=t.dtype, device=t.device)
        parts = [torch.zeros((rows,) + tuple(t.shape[1:]), dtype=t.dtype, device=t.device)
                 for _ in range(self.world)]
        dist.all_gather(parts, torch.cat([t.detach(), pad]))
        parts = [p[:int(s.item())] for p, s in zip(parts, sizes)]
        parts[self.ctx.rank] = t
        return torch.cat(parts)

    def mean(self, values: dict) -> dict:
        """{name: float}: the global-batch values of losses scaled as :func:`detection_losses` returns them."""
        keys = sorted(values)
        t = self.sum(torch.stack([values[k].detach().float() for k in keys])) / self.world
        return dict(zip(keys, t.tolist()))


def reducer_for(ctx: DistContext, local_batch: int):
    from .losses import LocalReducer
    return Reducer(ctx, local_batch) if ctx.active else LocalReducer
