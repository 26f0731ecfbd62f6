"""Distributed data parallel plumbing for runs launched with ``torchrun``.

``torchrun --nproc_per_node N -m disdepth_core.cli.main train CONFIG`` sets ``RANK``, ``WORLD_SIZE``,
``LOCAL_RANK``, ``MASTER_ADDR`` and ``MASTER_PORT``; :func:`setup` reads them, initialises the process
group (``nccl`` on CUDA, ``gloo`` on CPU) and picks the device. A plain ``python`` launch is a world of
one and never touches ``torch.distributed``. Only rank 0 writes checkpoints, logs and progress bars.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class DistInfo:
    """This process's place in the run."""

    rank: int
    world_size: int
    local_rank: int
    device: torch.device

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1


def resolve_device(name: str, local_rank: int = 0) -> torch.device:
    """``auto`` -> ``cuda:<local_rank>`` when CUDA is available, else CPU; ``cuda`` gets the local rank."""
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda":
        if not torch.cuda.is_available():
            raise RuntimeError("runtime.device=cuda but CUDA is not available; use runtime.device=cpu")
        return torch.device("cuda", local_rank)
    return torch.device(name)


def setup(device: str = "auto") -> DistInfo:
    """Initialise the process group from the ``torchrun`` environment (if any) and choose the device."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    resolved = resolve_device(device, local_rank)
    if world_size > 1 and not dist.is_initialized():
        if resolved.type == "cuda":
            torch.cuda.set_device(resolved)
        dist.init_process_group(backend="nccl" if resolved.type == "cuda" else "gloo")
    return DistInfo(rank, world_size, local_rank, resolved)


def is_initialized() -> bool:
    """Whether a process group exists in this process."""
    return dist.is_available() and dist.is_initialized()


def cleanup() -> None:
    """Destroy the process group if this process created one."""
    if is_initialized():
        dist.destroy_process_group()


def barrier(info: DistInfo) -> None:
    """Wait for every rank (no-op in a world of one)."""
    if info.distributed:
        dist.barrier()


def all_reduce_mean(info: DistInfo, value: torch.Tensor) -> torch.Tensor:
    """Mean of a tensor over ranks (a detached copy; unchanged in a world of one)."""
    value = value.detach().clone()
    if info.distributed:
        dist.all_reduce(value, op=dist.ReduceOp.SUM)
        value /= info.world_size
    return value
