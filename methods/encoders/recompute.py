"""Activation recomputation ("gradient checkpointing") for the encoders, with the same numbers.

A training step normally keeps every intermediate activation of every encoder pass until the
backward pass. SkeleMixCLR+ makes four query passes a step (the plain view and three mixes), so
at its paper batch of 128 on a CPU one step held 17.4 GiB (issue 15; the official code ~9 GiB).
With recomputation an encoder keeps only each block's input and runs the block again during
the backward pass: about one more forward pass of compute for a fraction of the memory.

The results must not move, so the recomputation replays exactly what the first pass did:

* dropout draws the same masks — :func:`torch.utils.checkpoint.checkpoint` restores the random
  generators' state before recomputing (``preserve_rng_state``);
* BatchNorm normalises with the same batch statistics (train mode uses the batch's own), and
  its running statistics are updated once, not twice: :func:`keep_running_statistics` puts
  them back after the replay.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, nullcontext

import torch
from torch import nn
from torch.utils.checkpoint import checkpoint

_NORMS = (nn.modules.batchnorm._BatchNorm,)


@contextmanager
def keep_running_statistics(module: nn.Module) -> Iterator[None]:
    """Run the body, then restore every BatchNorm buffer of ``module`` (running mean, variance
    and batch count) to what it was before: a replayed forward pass must not count twice."""
    saved = [(norm, {name: buf.clone() for name, buf in norm.named_buffers(recurse=False) if buf is not None})
             for norm in module.modules() if isinstance(norm, _NORMS)]
    try:
        yield
    finally:
        with torch.no_grad():
            for norm, buffers in saved:
                for name, value in buffers.items():
                    getattr(norm, name).copy_(value)


def recomputed(block: nn.Module, *inputs: torch.Tensor) -> torch.Tensor:
    """``block(*inputs)``, keeping only ``inputs`` for the backward pass (block recomputed then)."""
    return checkpoint(block, *inputs, use_reentrant=False, preserve_rng_state=True,
                      context_fn=lambda: (nullcontext(), keep_running_statistics(block)))


def set_recompute(model: nn.Module, on: bool) -> int:
    """Turn recomputation on or off in every encoder of ``model`` that supports it (a module with a
    ``recompute`` attribute); returns how many encoders it reached."""
    encoders = [m for m in model.modules() if hasattr(m, "recompute")]
    for m in encoders:
        m.recompute = on
    return len(encoders)
