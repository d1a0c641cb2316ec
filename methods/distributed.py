"""Data-parallel pretraining over several processes, as ``torchrun`` starts them (issue 15).

``torchrun --nproc-per-node N -m methods.pretrain ...`` (or several nodes with
``--nnodes``/``--rdzv-endpoint``) starts N processes with ``RANK``, ``WORLD_SIZE`` and
``LOCAL_RANK`` set; :func:`setup` joins them into one process group (NCCL on GPUs, gloo on CPUs,
so the same code is tested here with two CPU processes). What data parallelism must keep of
MoCo, and where it lives:

* **The global batch is the preset's batch.** Each of the W ranks takes its 1/W contiguous share
  of every global batch of the one epoch order (:func:`rank_share`), so the samples, their
  augmented views (seeded by sample index) and the LR are those of a single-process run. To
  train with a larger global batch, scale the LR linearly with it (Goyal et al., 2017; the
  official MoCo code's rule); the suite does not do it for you.
* **Keys are gathered before they enter the queue** (:func:`gather`, called by
  ``MoCoMethod.enqueue``): every rank enqueues the global batch's keys in rank order, so the
  queues stay identical and the pointer moves by the global batch; the queue size must be a
  multiple of it.
* **Gradients** are averaged by PyTorch's ``DistributedDataParallel``; the loss each rank
  computes is the mean over its share, so the average is the global batch's mean.
* **BatchNorm** uses each rank's own batch statistics, as the official single-GPU code with
  plain BN would on a share (no shuffle-BN, methods.md §2.0); ``sync_bn`` turns them into
  global-batch statistics (``torch.nn.SyncBatchNorm``, GPU only in PyTorch).
* SkeleMix's donor and region draws stay within the local batch, as the official code.
* Rank 0 alone writes checkpoints, the training state, the run record and the log; the state
  holds every rank's random generators, so a killed run resumes on every rank where it stopped.
"""

from __future__ import annotations

import datetime
import os
from dataclasses import dataclass

import numpy as np
import torch
import torch.distributed as dist


@dataclass(frozen=True)
class World:
    """This process's place among the data-parallel processes (one process: rank 0 of 1)."""

    rank: int = 0
    size: int = 1
    local_rank: int = 0

    @property
    def main(self) -> bool:
        """Whether this process writes files and prints progress."""
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.size > 1


def launched_world() -> World:
    """The world ``torchrun`` describes in the environment (a single process when it is not set)."""
    size = int(os.environ.get("WORLD_SIZE", "1"))
    if size <= 1:
        return World()
    return World(int(os.environ["RANK"]), size, int(os.environ.get("LOCAL_RANK", "0")))


def setup(device: torch.device) -> tuple[World, torch.device]:
    """Join the process group ``torchrun`` set up (if any); returns the world and this rank's device
    (``cuda:LOCAL_RANK`` when the run asked for a GPU)."""
    world = launched_world()
    if not world.distributed:
        return world, device
    if device.type == "cuda":
        torch.cuda.set_device(world.local_rank)
        device = torch.device("cuda", world.local_rank)
    if not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo", timeout=datetime.timedelta(minutes=30))
    return world, device


def active() -> bool:
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def gather(x: torch.Tensor) -> torch.Tensor:
    """Concatenate ``x`` (N, ...) of every rank in rank order along dimension 0 (no gradient);
    ``x`` itself when not distributed."""
    if not active():
        return x
    parts = [torch.empty_like(x) for _ in range(dist.get_world_size())]
    dist.all_gather(parts, x.contiguous())
    return torch.cat(parts)


def mean_over_ranks(values: dict[str, float], device: torch.device) -> dict[str, float]:
    """The ranks' average of each logged scalar (every rank holds the same keys)."""
    if not active() or not values:
        return values
    keys = sorted(values)
    t = torch.tensor([float(values[k]) for k in keys], dtype=torch.float64, device=device)
    dist.all_reduce(t)
    t /= dist.get_world_size()
    return dict(zip(keys, t.tolist()))


def gather_objects(obj: object) -> list:
    """Every rank's ``obj`` (a picklable value), in rank order; ``[obj]`` when not distributed."""
    if not active():
        return [obj]
    out: list = [None] * dist.get_world_size()
    dist.all_gather_object(out, obj)
    return out


def barrier() -> None:
    if active():
        dist.barrier()


def rank_share(order: np.ndarray, batch_size: int, world: World) -> np.ndarray:
    """This rank's samples of an epoch order cut into global batches of ``batch_size``: the
    ``world.rank``-th of W contiguous shares of each batch, batch after batch. The shares of all
    ranks together are the order; each is ``batch_size / W`` samples a step."""
    if batch_size % world.size:
        raise ValueError(f"the global batch {batch_size} does not split over {world.size} processes; "
                         f"use a process count that divides it")
    share = batch_size // world.size
    steps = len(order) // batch_size
    batches = np.asarray(order[: steps * batch_size]).reshape(steps, batch_size)
    return batches[:, world.rank * share : (world.rank + 1) * share].reshape(-1)


def rank_seed(seed: int, world: World) -> int:
    """The torch seed of a rank's own draws (dropout) after the shared initialisation, for ranks
    above 0 (rank 0 is not reseeded: it continues the generator as a one-process run does, so
    one-process runs keep their numbers); distinct for every rank."""
    return seed if world.rank == 0 else int(np.random.SeedSequence([seed, world.rank]).generate_state(1)[0])
