"""Contrastive losses as pure functions: tensors in, scalar out (tested against hand computations).

Every loss runs in fp32, also inside a bf16 autocast region (``methods.pretrain --precision
bf16``): the logits of a 32,768-key queue divided by T = 0.07 lose too much in bf16's 8-bit
mantissa, so the encoders run in bf16 and the losses do not (:func:`fp32`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import torch
import torch.nn.functional as F


def fp32(loss: Callable[..., torch.Tensor]) -> Callable[..., torch.Tensor]:
    """``loss`` computed in fp32 with autocast off: floating tensor arguments are cast up (a
    no-op for fp32 ones), so the loss is the fp32 function of its (possibly bf16) inputs."""

    @functools.wraps(loss)
    def in_fp32(*args, **kwargs):
        up = [a.float() if isinstance(a, torch.Tensor) and a.is_floating_point() else a for a in args]
        device = next((a.device.type for a in up if isinstance(a, torch.Tensor)), "cpu")
        with torch.autocast(device_type=device, enabled=False):
            return loss(*up, **kwargs)

    return in_fp32


@fp32
def moco_logits(q: torch.Tensor, k: torch.Tensor, queue: torch.Tensor, temperature: float) -> torch.Tensor:
    """``[q·k⁺, q·queue] / T`` for L2-normalised ``q, k`` of shape (N, D) and ``queue`` (D, K);
    the positive sits at index 0 (methods.md §2.0)."""
    l_pos = (q * k).sum(dim=1, keepdim=True)
    l_neg = q @ queue
    return torch.cat([l_pos, l_neg], dim=1) / temperature


@fp32
def info_nce(q: torch.Tensor, k: torch.Tensor, queue: torch.Tensor, temperature: float) -> torch.Tensor:
    """MoCo InfoNCE: cross-entropy of :func:`moco_logits` with target 0."""
    logits = moco_logits(q, k, queue, temperature)
    return F.cross_entropy(logits, torch.zeros(len(q), dtype=torch.long, device=q.device))


@fp32
def info_nce_extra_negative(q: torch.Tensor, k: torch.Tensor, queue: torch.Tensor, negative: torch.Tensor,
                            temperature: float) -> torch.Tensor:
    """InfoNCE over ``[q·k, q·queue, q·negative] / T`` with target 0: the queue plus one extra,
    per-sample hard negative (SkeleMixCLR's regional losses, methods.md §2.4, where the negative
    is the other pooled part of the same mixed sample, detached)."""
    logits = torch.cat([moco_logits(q, k, queue, temperature), (q * negative).sum(dim=1, keepdim=True) / temperature],
                       dim=1)
    return F.cross_entropy(logits, torch.zeros(len(q), dtype=torch.long, device=q.device))


@fp32
def multi_positive_nce(logits: torch.Tensor, positive_mask: torch.Tensor) -> torch.Tensor:
    """``−Σ(mask · log_softmax(logits)) / Σ mask`` per row, averaged over the batch — the loss of
    CrosSCLR's and AimCLR's mining (methods.md §2.2–2.3); equals cross-entropy for a one-hot mask."""
    log_prob = F.log_softmax(logits, dim=1)
    return (-(positive_mask * log_prob).sum(dim=1) / positive_mask.sum(dim=1)).mean()


def topk_positive_mask(similarities: torch.Tensor, k: int) -> torch.Tensor:
    """Mining mask over ``[positive, queue]`` logits: 1 at column 0 and at the ``k`` queue entries
    with the highest raw similarity per row (CrosSCLR's CVC-KM and AimCLR's NNM take top-k on
    cosine similarities before the temperature; methods.md §2.2–2.3). ``similarities`` is (N, K);
    the mask is (N, 1 + K)."""
    n, size = similarities.shape
    mask = torch.zeros(n, 1 + size, dtype=similarities.dtype, device=similarities.device)
    mask[:, 0] = 1
    idx = similarities.topk(k, dim=1).indices
    mask.scatter_(1, idx + 1, 1.0)
    return mask
