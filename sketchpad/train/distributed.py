"""Several processes (torchrun): DistributedDataParallel over NCCL on GPUs, gloo on the CPU.
Only rank 0 logs, samples and writes files."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn


@dataclass(frozen=True)
class DistInfo:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def from_environment() -> DistInfo:
    """torchrun sets RANK, WORLD_SIZE and LOCAL_RANK; without them this is one process."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return DistInfo()
    return DistInfo(int(os.environ["RANK"]), world, int(os.environ.get("LOCAL_RANK", "0")))


def init(info: DistInfo, device: torch.device) -> None:
    if info.enabled and not dist.is_initialized():
        backend = "nccl" if device.type == "cuda" else "gloo"
        dist.init_process_group(backend=backend)


def shutdown(info: DistInfo) -> None:
    """Leave together: without the barrier a rank that tears down while another is still
    finishing its last collective can leave that one waiting forever."""
    if info.enabled and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()


def wrap(module: nn.Module, info: DistInfo, device: torch.device) -> nn.Module:
    if not info.enabled:
        return module
    ids = [device.index] if device.type == "cuda" else None
    return nn.parallel.DistributedDataParallel(module, device_ids=ids)


def any_rank(flag: bool, info: DistInfo, device: torch.device) -> bool:
    """True on every rank when `flag` is true on any: ranks stop at the same step."""
    if not info.enabled:
        return flag
    t = torch.tensor([1.0 if flag else 0.0], device=device)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return bool(t.item() > 0)


def sync_buffers(info: DistInfo, *modules: nn.Module) -> None:
    """Rank 0's buffers (BatchNorm running statistics) everywhere: DDP broadcasts them before
    each forward, so after the last forward every rank still holds its own."""
    if info.enabled:
        for module in modules:
            for b in module.buffers():
                dist.broadcast(b, src=0)


def digest(*modules: nn.Module) -> int:
    """A 63-bit fingerprint of the modules' weights and buffers."""
    h = hashlib.sha256()
    for module in modules:
        for t in module.state_dict().values():
            h.update(t.detach().cpu().reshape(-1).contiguous().view(torch.uint8).numpy().tobytes())
    return int.from_bytes(h.digest()[:8], "little") >> 1


def all_digests(value: int, info: DistInfo, device: torch.device) -> list[int]:
    """Every rank's fingerprint (for checking that the ranks ended with identical weights)."""
    if not info.enabled:
        return [value]
    mine = torch.tensor([value], dtype=torch.int64, device=device)
    out = [torch.zeros_like(mine) for _ in range(info.world_size)]
    dist.all_gather(out, mine)
    return [int(t.item()) for t in out]
