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

On another skeleton layout (:mod:`datasets.layouts`) the regions come from that layout's body
parts (Kinect v1: trunk, two arms, two legs, four joints each; COCO-17: head and four limbs), and
the ``random`` mode's joint count, 10–15 of NTU's 25, is scaled to the layout's joint count
(:func:`random_joint_bounds`: 8–12 of Kinect v1's 20, 7–10 of COCO-17's 17, 7–11 of OpenPose's 18).
The mix copies every channel, so a 2D layout's score travels with the donor's coordinates.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from datasets.layouts import Layout, get_layout
from datasets.skeleton import NUM_JOINTS

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


#: The official ``random`` spatial mode's joint count on NTU's 25 joints, inclusive.
RANDOM_JOINTS = (10, 15)


def random_joint_bounds(num_joints: int) -> tuple[int, int]:
    """Inclusive bounds of the ``random`` mode's joint count on a skeleton of ``num_joints``:
    NTU's 10–15 of 25 scaled proportionally and rounded (NTU itself: exactly 10–15)."""
    lo, hi = (int(round(b * num_joints / NUM_JOINTS)) for b in RANDOM_JOINTS)
    return max(lo, 1), min(max(hi, lo), num_joints)


def check_body_parts(layout: str | Layout | None, parts: tuple[int, int]) -> None:
    """Refuse a layout with fewer body parts than a region may take (``parts[1]``), by name: the
    semantic mix draws whole parts without replacement (methods.md §2.4)."""
    lay = get_layout(layout)
    if len(lay.body_parts) < parts[1]:
        raise ValueError(f"SkeleMix draws up to {parts[1]} whole body parts, but layout {lay.name!r} has "
                         f"{len(lay.body_parts)} ({', '.join(lay.body_parts) or 'none'})")


def sample_region(batch: int, frames: int, rng: np.random.Generator, parts: tuple[int, int] = (2, 3),
                  blocks: tuple[int, int] = (7, 11), spatial_mode: str = "semantic",
                  ratio: int = TEMPORAL_RATIO, layout: str | Layout | None = None) -> MixRegion:
    """Draw a region as the official ``ske_swap`` does (SkeleMixCLR+ config ``[2, 3, 7, 11]``).

    * shift ~ U{1, …, N−2} (``torch.randint(1, N−1)``, upper bound exclusive), so no sample is its
      own donor;
    * ``semantic``: ``parts`` bounds (inclusive) on how many of the layout's body parts (NTU's 5),
      drawn without replacement; ``random``: 10–15 random joints (NTU; other layouts
      :func:`random_joint_bounds`);
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
    lay = get_layout(layout)
    shift = int(rng.integers(1, batch - 1))
    if spatial_mode == "semantic":
        check_body_parts(lay, parts)
        count = int(rng.integers(parts[0], parts[1] + 1))
        chosen = rng.choice(len(lay.body_parts), size=count, replace=False)
        groups = list(lay.body_parts.values())
        joints = tuple(sorted(j for i in chosen for j in groups[i]))
    elif spatial_mode == "random":
        lo_joints, hi_joints = random_joint_bounds(lay.num_joints)
        size = int(rng.integers(lo_joints, hi_joints + 1))
        joints = tuple(sorted(rng.choice(lay.num_joints, size=size, replace=False).tolist()))
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
