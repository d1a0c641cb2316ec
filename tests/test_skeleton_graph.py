"""NTU conventions and the two official graphs, checked against hand-derived facts."""

import numpy as np
import pytest
import torch

from datasets.graph import agcn, build_graph, stgcn_spatial
from datasets.skeleton import BODY_PARTS, BONE_PARENT, FLIP_PERMUTATION, bone_stream, motion_stream, to_stream


def nonzero_pairs_1based(a):
    return sorted((int(j) + 1, int(i) + 1) for j, i in zip(*np.nonzero(a)))


def test_stgcn_spatial_degenerate_partition():
    a = stgcn_spatial()
    assert a.shape == (3, 25, 25)
    assert [int((p != 0).sum()) for p in a] == [25, 40, 8]
    # methods.md §1.2: the only "further" entries (row <- col, 1-based)
    assert nonzero_pairs_1based(a[2]) == sorted([(2, 1), (3, 4), (5, 6), (9, 10), (21, 2), (21, 3), (21, 5), (21, 9)])
    np.testing.assert_allclose(a.sum(axis=0).sum(axis=0), np.ones(25), atol=1e-6)  # column-stochastic


def test_stgcn_spatial_weights_are_inverse_degree():
    a = stgcn_spatial().sum(axis=0)
    # joint 21 (index 20) has 4 neighbours + itself: every entry in its column is 1/5
    np.testing.assert_allclose(a[np.nonzero(a[:, 20])[0], 20], 0.2, atol=1e-6)
    # head (joint 4, index 3) has one neighbour: column entries 1/2
    np.testing.assert_allclose(a[np.nonzero(a[:, 3])[0], 3], 0.5, atol=1e-6)


def test_agcn_graph():
    a = agcn()
    assert [int((p != 0).sum()) for p in a] == [25, 24, 24]
    np.testing.assert_array_equal(a[0], np.eye(25))
    np.testing.assert_allclose(a[2], (a[1].T > 0) / np.maximum((a[1].T > 0).sum(0), 1), atol=1e-6)
    assert a[1][20, 1] == pytest.approx(1 / 1)  # spine mid -> spine shoulder, column 2 has one entry


def test_unknown_graph():
    with pytest.raises(ValueError, match="stgcn_spatial"):
        build_graph("nope")


def test_streams_by_hand():
    x = torch.arange(2 * 3 * 4 * 25 * 2, dtype=torch.float32).reshape(2, 3, 4, 25, 2) ** 1.5
    m = motion_stream(x)
    torch.testing.assert_close(m[:, :, 1], x[:, :, 2] - x[:, :, 1])
    assert torch.all(m[:, :, -1] == 0)
    b = bone_stream(x)
    assert torch.all(b[:, :, :, 20] == 0)  # bone 21 is the (21, 21) self pair
    torch.testing.assert_close(b[:, :, :, 3], x[:, :, :, 3] - x[:, :, :, 2])  # head - neck
    torch.testing.assert_close(b[:, :, :, 22], x[:, :, :, 22] - x[:, :, :, 7])  # left thumb - left hand
    assert to_stream(x, "joint") is x
    with pytest.raises(ValueError, match="joint, motion, bone"):
        to_stream(x, "velocity")


def test_layout_tables():
    assert len(BONE_PARENT) == 25
    perm = np.array(FLIP_PERMUTATION)
    np.testing.assert_array_equal(perm[perm], np.arange(25))  # an involution
    joints = sorted(j for part in BODY_PARTS.values() for j in part)
    assert joints == list(range(25))  # the five parts partition the skeleton
