"""Normal augmentation (methods.md §2.0) and the feeder's randomness."""

import numpy as np

from datasets.augment import normal_view, shear, shear_matrix, temporal_crop
from datasets.feeder import ViewsDataset
from datasets.store import Split


class FixedStart:
    """A generator stand-in whose integers() returns a chosen start."""

    def __init__(self, start):
        self.start = start

    def integers(self, low, high):
        assert (low, high) == (0, 2 * 8 + 1)
        return self.start


def test_temporal_crop_reflects_edges():
    x = np.arange(50, dtype=np.float32).reshape(1, 50, 1, 1)
    # pad = 50 // 6 = 8; padded = [7..0, 0..49, 49..42]
    assert temporal_crop(x, FixedStart(0))[0, :10, 0, 0].tolist() == [7, 6, 5, 4, 3, 2, 1, 0, 0, 1]
    assert temporal_crop(x, FixedStart(8))[0, :, 0, 0].tolist() == list(range(50))
    assert temporal_crop(x, FixedStart(16))[0, -8:, 0, 0].tolist() == [49, 48, 47, 46, 45, 44, 43, 42]
    assert temporal_crop(x, np.random.default_rng(0)).shape == x.shape


def test_shear_matrix_and_application():
    rng = np.random.default_rng(3)
    r = shear_matrix(rng)
    np.testing.assert_array_equal(np.diag(r), np.ones(3))
    off = r[~np.eye(3, dtype=bool)]
    assert np.all(np.abs(off) <= 0.5) and len(set(off.tolist())) == 6
    x = np.random.default_rng(1).normal(size=(3, 5, 25, 2))
    y = shear(x, np.random.default_rng(3))
    np.testing.assert_allclose(y[:, 2, 7, 1], r @ x[:, 2, 7, 1])


def test_feeder_views_reproducible_and_vary_by_epoch():
    data = np.random.default_rng(0).normal(size=(6, 3, 50, 25, 2)).astype(np.float32)
    split = Split(data=data, names=[str(i) for i in range(6)], labels=np.arange(6))
    ds = ViewsDataset(split, (normal_view, normal_view), seed=5)
    a1, b1, label, index = ds[2]
    assert label == 2 and index == 2 and a1.shape == (3, 50, 25, 2)
    assert not np.allclose(a1, b1)  # two independent views
    again = ViewsDataset(split, (normal_view, normal_view), seed=5)[2]
    np.testing.assert_array_equal(again[0], a1)
    ds.set_epoch(1)
    assert not np.allclose(ds[2][0], a1)  # unlike the official worker seeding (methods.md §7.7)
