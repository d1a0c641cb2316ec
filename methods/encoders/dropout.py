"""Dropout whose masks cost what random bits cost (issue 15 item 3).

PyTorch draws a CPU dropout mask element by element from its Mersenne Twister, serially:
62 ms for one ST-GCN activation of a batch of 32 two-person clips (64 × 64 × 50 × 25), where
multiplying the same tensor by the mask takes 0.8 ms. Profiled, ``bernoulli_`` was 19 % of a
SkeletonCLR pretraining step on 2 cores (docs/performance.md, "CPU step").

Every ST-GCN block but the first drops with p = ½ (methods.md §1.1), and a Bernoulli(½) draw is one fair
random bit. :func:`half_masks` takes eight mask elements from every random byte of the same
generator (``torch.randint`` on the global one, so seeding, the saved training state and the
replay of :mod:`methods.encoders.recompute` work unchanged): the same distribution — i.i.d.
Bernoulli(½), scaled by 2 — at 2 ms instead of 62. Other rates keep PyTorch's own masks.

The masks are a different random stream from ``torch.nn.Dropout``'s, so the same seed trains to
other weights than before this change. Runs record which stream they drew (``dropout_masks`` in
their meta; absent in runs made before, which drew ``"torch"``), and a run resumes with its own.
On a GPU both kinds use PyTorch's fused dropout kernel: its masks are cheap there.
"""

from __future__ import annotations

import torch
from torch import nn

#: The streams a :class:`Dropout` can draw its masks from.
MASKS = ("bits", "torch")
#: What new runs draw; runs whose meta names no stream drew ``"torch"`` (:data:`LEGACY_MASKS`).
DEFAULT_MASKS = "bits"
LEGACY_MASKS = "torch"

_SHIFTS = torch.arange(8, dtype=torch.uint8)


def half_masks(shape: torch.Size | tuple[int, ...], device: torch.device | str = "cpu") -> torch.Tensor:
    """A uint8 tensor of ``shape`` with i.i.d. fair 0/1 entries: each random byte gives eight."""
    n = 1
    for size in shape:
        n *= int(size)
    octets = torch.randint(0, 256, ((n + 7) // 8, 1), dtype=torch.uint8, device=device)
    return ((octets >> _SHIFTS.to(device)) & 1).view(-1)[:n].view(shape)


class Dropout(nn.Dropout):
    """:class:`torch.nn.Dropout` drawing its CPU masks at p = ½ with :func:`half_masks` when
    ``masks`` is ``"bits"`` (the same function of the mask: ``x · mask · 2``)."""

    #: Which stream the masks come from (:data:`MASKS`); set by :func:`set_dropout_masks`.
    masks: str = DEFAULT_MASKS

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.masks == "torch" or not self.training or self.p != 0.5 or x.device.type != "cpu":
            return super().forward(x)
        mask = half_masks(x.shape, x.device)
        return x.mul_(mask).mul_(2.0) if self.inplace else x * mask * 2.0


def set_dropout_masks(model: nn.Module, masks: str) -> int:
    """Make every :class:`Dropout` of ``model`` draw from ``masks``; returns how many it reached."""
    if masks not in MASKS:
        raise ValueError(f"unknown dropout masks {masks!r}; choose one of {', '.join(MASKS)}")
    layers = [m for m in model.modules() if isinstance(m, Dropout)]
    for m in layers:
        m.masks = masks
    return len(layers)
