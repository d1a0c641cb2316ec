"""SkeleMix: spatio-temporal skeleton mixing, the augmentation of the seed paper (methods.md §2.4).

A batch-level augmentation on tensors already on the device (the official code mixes after the
stream transform, inside the model): every sample receives, over a few whole body parts and a
block-aligned stretch of frames, the values of its *donor* — the sample ``shift`` places further
along the batch (a batch roll, not a permutation). The same region is used for the whole batch,
for both persons and all channels. The mask marks the mixed region at the resolution of the
encoder's final feature map (T/4 × 25), so the model can pool the donor's fragment (the *trimmed
view*) and the sample's own remainder (the *truncated view*) separately.

Any method can use it: draw a :class:`MixRegion` with :func:`sample_region`, apply :func:`mix`,
pool with :func:`methods.encoders.pooling.mask_pool` over :meth:`MixRegion.mask`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from datasets.skeleton import BODY_PARTS, NUM_JOINTS

#: Temporal downsampling of the ST-GCN encoder (two stride-2 blocks); the official code
#: hard-codes it (``tem_downsample_ratio = 4``), so the frame count must be a multiple of 4.
TEMPORAL_RATIO = 4


@dataclass(frozen=True)
class MixRegion:
    """One mixing draw: which donor each sample takes from, which joints and which frames."""

    shift: int  # donor of sample i is (i + shift) mod N
    joints: tuple[int, ...]  # sorted 0-based joint indices (whole body parts)
    start: int  # first mixed block, in units of TEMPORAL_RATIO frames
    blocks: int  # number of mixed blocks
    ratio: int = TEMPORAL_RATIO

    def donors(self, batch: int, device: torch.device | None = None) -> torch.Tensor:
        return (torch.arange(batch, device=device) + self.shift) % batch

    @property
    def frames(self) -> slice:
        return slice(self.start * self.ratio, (self.start + self.blocks) * self.ratio)

    def mask(self, frames: int, joints: int = NUM_JOINTS, device: torch.device | None = None) -> torch.Tensor:
        """Boolean ``(frames // ratio, joints)`` mask, True on the mixed region (feature resolution)."""
        m = torch.zeros(frames // self.ratio, joints, dtype=torch.bool, device=device)
        m[self.start : self.start + self.blocks, list(self.joints)] = True
        return m


def sample_region(batch: int, frames: int, rng: np.random.Generator, parts: tuple[int, int] = (2, 3),
                  blocks: tuple[int, int] = (7, 11), spatial_mode: str = "semantic",
                  ratio: int = TEMPORAL_RATIO) -> MixRegion:
    """Draw a region as the official ``ske_swap`` does (SkeleMixCLR+ config ``[2, 3, 7, 11]``).

    * shift ~ U{1, …, N−2} (``torch.randint(1, N−1)``, upper bound exclusive), so no sample is its
      own donor;
    * ``semantic``: ``parts`` bounds (inclusive) on how many of the 5 body parts, drawn without
      replacement; ``random``: 10–15 random joints;
    * ``blocks`` bounds (inclusive) on the number of ``ratio``-frame blocks, start uniform over
      the positions that keep the stretch inside the sequence (both ends inclusive).
    """
    if batch < 3:
        raise ValueError(f"SkeleMix needs a batch of at least 3 samples (donor shift in 1..N-2), got {batch}")
    if frames % ratio:
        raise ValueError(f"SkeleMix needs a frame count divisible by {ratio} (the encoder's temporal stride), "
                         f"got {frames}; use 64 frames as the official SkeleMixCLR")
    units = frames // ratio
    lo, hi = blocks
    if not 1 <= lo <= hi <= units:
        raise ValueError(f"block bounds {blocks} do not fit {units} blocks of {ratio} frames")
    shift = int(rng.integers(1, batch - 1))
    if spatial_mode == "semantic":
        count = int(rng.integers(parts[0], parts[1] + 1))
        chosen = rng.choice(len(BODY_PARTS), size=count, replace=False)
        groups = list(BODY_PARTS.values())
        joints = tuple(sorted(j for i in chosen for j in groups[i]))
    elif spatial_mode == "random":
        joints = tuple(sorted(rng.choice(NUM_JOINTS, size=int(rng.integers(10, 16)), replace=False).tolist()))
    else:
        raise ValueError(f"unknown spatial mode {spatial_mode!r}; choose semantic or random")
    length = int(rng.integers(lo, hi + 1))
    start = int(rng.integers(0, units - length + 1))
    return MixRegion(shift=shift, joints=joints, start=start, blocks=length, ratio=ratio)


def mix(x: torch.Tensor, region: MixRegion) -> torch.Tensor:
    """A copy of the ``(N, C, T, V, M)`` batch with the region replaced by each sample's donor's
    values: all channels, both persons (methods.md §2.4 step 4)."""
    out = x.clone()
    donors = region.donors(x.shape[0], x.device)
    joints = list(region.joints)
    t = region.frames
    out[:, :, t, joints, :] = x[donors][:, :, t][:, :, :, joints]
    return out
