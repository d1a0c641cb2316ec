"""Pooling of the encoder's final feature map ``(N·M, C, T', V)`` into per-sample vectors.

Pure functions so methods can pool the same feature map more than once (SkeleMixCLR's trimmed
and truncated views, AimCLR's dropped and undropped query).
"""

from __future__ import annotations

import torch


def global_pool(feature_map: torch.Tensor, persons: int) -> torch.Tensor:
    """Mean over (T', V), then over persons — absent (all-zero) persons included, as in the
    official code (methods.md §1.1 step 3)."""
    pooled = feature_map.mean(dim=(2, 3))
    return pooled.view(-1, persons, pooled.shape[1]).mean(dim=1)


def mask_pool(feature_map: torch.Tensor, mask: torch.Tensor, persons: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Spatio-temporal mask pooling (methods.md §2.4): the mean over the cells where ``mask``
    (T', V) is True — the *trimmed view* — and the mean over the rest — the *truncated view*;
    each then averaged over persons. Returns ``(trimmed, truncated)``, each (N, C)."""
    if tuple(mask.shape) != tuple(feature_map.shape[2:]):
        raise ValueError(f"mask of shape {tuple(mask.shape)} does not match the feature map's (T', V) = "
                         f"{tuple(feature_map.shape[2:])}; the mask is built at T/4, so T must be a multiple of 4")
    inside = mask.to(feature_map.dtype)
    outside = 1.0 - inside
    if inside.sum() == 0 or outside.sum() == 0:
        raise ValueError("mask pooling needs a mask that is neither empty nor full")
    trimmed = (feature_map * inside).sum(dim=(2, 3)) / inside.sum()
    truncated = (feature_map * outside).sum(dim=(2, 3)) / outside.sum()
    n_c = trimmed.shape[1]
    return trimmed.view(-1, persons, n_c).mean(dim=1), truncated.view(-1, persons, n_c).mean(dim=1)
