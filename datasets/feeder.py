"""Feeders: memory-mapped benchmark arrays → augmented views, one torch Dataset for all methods.

A method says which views it needs (SkeletonCLR: two normal views; AimCLR: an extreme and two
normal ones) as a tuple of view functions; the feeder applies each to the same sample.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch
from torch.utils.data import Dataset

from datasets.store import Split

ViewFn = Callable[[np.ndarray, np.random.Generator], np.ndarray]


class ViewsDataset(Dataset):
    """Returns ``(views..., label, index)`` for each sample.

    Randomness is ``default_rng([seed, epoch, index])``: reproducible for a seed, different in
    every epoch, and independent of how samples are spread over loader workers. Call
    :meth:`set_epoch` at the start of each epoch.
    """

    def __init__(self, split: Split, views: Sequence[ViewFn], seed: int = 0, indices: np.ndarray | None = None) -> None:
        self.split = split
        self.views = tuple(views)
        self.seed = seed
        self.epoch = 0
        self.indices = np.arange(len(split)) if indices is None else np.asarray(indices)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, i: int):
        index = int(self.indices[i])
        x = np.asarray(self.split.data[index], dtype=np.float32)
        rng = np.random.default_rng([self.seed, self.epoch, index])
        views = [torch.from_numpy(np.ascontiguousarray(view(x, rng))) for view in self.views]
        return (*views, int(self.split.labels[index]), index)
