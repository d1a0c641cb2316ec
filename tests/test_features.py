"""The shared feature extraction (protocols.feature_cache): its batching changes the speed, never the
features, and it reads its source once per chunk."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from datasets.store import Split
from methods import get_method
from methods.base import build_backbone
from methods.encoders.features import READ_CHUNK, extract_features, feature_spectrum, inference_batch


class CountingData:
    """An array that records the slices read from it."""

    def __init__(self, data: np.ndarray) -> None:
        self.data, self.shape, self.reads = data, data.shape, []

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, item: slice) -> np.ndarray:
        self.reads.append((item.start, item.stop))
        return self.data[item]


def small_split(n: int) -> Split:
    x = np.random.default_rng(0).normal(0.0, 0.3, size=(n, 3, 20, 25, 2)).astype(np.float32)
    return Split(CountingData(x), [f"s{i}" for i in range(n)], np.zeros(n, np.int64))


def encoder() -> torch.nn.Module:
    torch.manual_seed(0)
    return build_backbone(get_method("skeletonclr").default_config)


def test_features_do_not_depend_on_the_batch_size() -> None:
    split, enc = small_split(40), encoder()
    cpu = torch.device("cpu")
    one = extract_features(enc, split, "joint", cpu, batch_size=40)
    for b in (1, 7, 16):
        np.testing.assert_allclose(extract_features(enc, split, "joint", cpu, batch_size=b), one, rtol=1e-5, atol=1e-6)
    assert one.shape == (40, 256)


def test_the_source_is_read_once_per_chunk() -> None:
    n = READ_CHUNK + 5
    split = small_split(n)
    extract_features(encoder(), split, "joint", torch.device("cpu"), batch_size=16)
    assert split.data.reads == [(0, READ_CHUNK), (READ_CHUNK, 2 * READ_CHUNK)]


def test_a_cpu_runs_small_batches_and_a_gpu_large_ones() -> None:
    assert inference_batch(torch.device("cpu")) == 16
    assert inference_batch(torch.device("cuda")) == 256


def test_feature_spectrum_by_hand() -> None:
    # two orthogonal directions of equal variance (± a along x, ± a along y): effective rank 2, half each
    a = 3.0
    two = np.array([[a, 0, 0], [-a, 0, 0], [0, a, 0], [0, -a, 0]]) + 7.0  # the offset is centred away
    s = feature_spectrum(two)
    assert s["effective_rank"] == pytest.approx(2.0) and s["top_component_share"] == pytest.approx(0.5)
    # variances 4 : 1 along two axes: shares 0.8, 0.2, rank exp(-(0.8 ln 0.8 + 0.2 ln 0.2)) = 1.6494
    uneven = np.array([[2.0, 0], [-2.0, 0], [0, 1.0], [0, -1.0]])
    s = feature_spectrum(uneven)
    assert s["top_component_share"] == pytest.approx(0.8)
    assert s["effective_rank"] == pytest.approx(np.exp(-(0.8 * np.log(0.8) + 0.2 * np.log(0.2))))
    assert s["effective_rank"] == pytest.approx(1.6494, abs=1e-4)
    # one direction (collapse), and no variance at all
    assert feature_spectrum(np.outer(np.arange(5.0), [1.0, 2.0, 3.0])) == pytest.approx(
        {"effective_rank": 1.0, "top_component_share": 1.0})
    assert feature_spectrum(np.ones((4, 3))) == {"effective_rank": 0.0, "top_component_share": 1.0}
