"""Skeleton augmentations as pure functions of one ``(C, T, V, M)`` sample and a random generator.

The "normal" augmentation of every method is temporal crop then shear (methods.md §2.0).
Randomness always comes from an explicit ``numpy.random.Generator`` so a view is a
deterministic function of (seed, epoch, sample index) — unlike the official loader, whose
worker re-seeding replays the same draws every epoch (methods.md §7.7).
"""

from __future__ import annotations

import numpy as np

TEMPORAL_PADDING_RATIO = 6
SHEAR_AMPLITUDE = 0.5


def temporal_crop(x: np.ndarray, rng: np.random.Generator, padding_ratio: int = TEMPORAL_PADDING_RATIO) -> np.ndarray:
    """Random shift with reflection: pad ``T // ratio`` frames at both ends with the first and
    last frames in reverse order (edge frame included), then take a window of the original
    length starting at ``randint(0, 2·pad)`` inclusive."""
    t = x.shape[1]
    pad = t // padding_ratio
    if pad == 0:
        return x
    padded = np.concatenate([x[:, :pad][:, ::-1], x, x[:, -pad:][:, ::-1]], axis=1)
    start = int(rng.integers(0, 2 * pad + 1))
    return padded[:, start : start + t]


def shear_matrix(rng: np.random.Generator, amplitude: float = SHEAR_AMPLITUDE) -> np.ndarray:
    """``[[1,a,b],[c,1,d],[e,f,1]]`` with six independent U(−amplitude, amplitude) entries."""
    r = np.eye(3)
    off = ~np.eye(3, dtype=bool)
    r[off] = rng.uniform(-amplitude, amplitude, 6)
    return r


def shear(x: np.ndarray, rng: np.random.Generator, amplitude: float = SHEAR_AMPLITUDE) -> np.ndarray:
    """Apply one shear matrix to every joint of every frame and person: ``x' = R·x``."""
    r = shear_matrix(rng, amplitude)
    return np.einsum("ij,jtvm->itvm", r, x)


def normal_view(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The normal augmentation of SkeletonCLR/CrosSCLR/AimCLR/SkeleMixCLR: crop, then shear."""
    return shear(temporal_crop(x, rng), rng).astype(np.float32)


def identity_view(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """No augmentation (the evaluation protocols, methods.md §3.1)."""
    return np.asarray(x, dtype=np.float32)
