"""Batched on-device augmentations (datasets/augment_batch.py) against the per-sample NumPy ones:
every application equal given the same parameters, every draw from the same distribution."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from datasets import augment as A
from datasets import augment_batch as B
from datasets.layouts import get_layout


class FixedDraws:
    """A stand-in for numpy's Generator that returns given values, to replay one parameter set."""

    def __init__(self, integers=(), uniform=(), random=()):
        self._integers, self._uniform, self._random = list(integers), list(uniform), list(random)

    def integers(self, low, high=None):
        return self._integers.pop(0)

    def uniform(self, low, high, size=None):
        return self._uniform.pop(0)

    def random(self):
        return self._random.pop(0)


def batch(n=6, c=3, t=30, v=25, m=2, seed=0):
    return torch.from_numpy(np.random.default_rng(seed).normal(size=(n, c, t, v, m)))


def test_crop_equals_the_padded_window_for_every_start():
    x = batch(n=1, t=30)
    pad = 30 // A.TEMPORAL_PADDING_RATIO
    for start in range(2 * pad + 1):
        want = A.temporal_crop(x[0].numpy(), FixedDraws(integers=[start]))
        got = B.temporal_crop_at(x, torch.tensor([start]))[0].numpy()
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("coords", [None, 2])
def test_linear_map_per_sample_equals_numpy(coords):
    x = batch(n=4)
    r = torch.from_numpy(np.random.default_rng(1).normal(size=(4, 3, 3)))
    got = B.linear_map_at(r, x, coords)
    for i in range(4):
        np.testing.assert_allclose(got[i].numpy(), A.linear_map(r[i].numpy(), x[i].numpy(), coords), atol=1e-12)


def test_rotation_matrices_equal_numpy():
    angles = torch.tensor([[0.0, 0.0, 30.0], [12.0, 0.5, 0.2], [0.3, 29.0, 0.9]], dtype=torch.float64)
    got = B.rotation_matrices(angles)
    for i, row in enumerate(angles.numpy()):
        np.testing.assert_allclose(got[i].numpy(), A.rotation_matrix(row), atol=1e-12)


def test_camera_rotation_turns_about_x_and_y_within_60_degrees():
    """The random camera: angles U(−60, 60) about x and y, none about z; each sample turned by its
    own rotation about the origin (lengths kept); a quarter turn about y sends x to z by hand."""
    angles = B.camera_angles(20000, torch.Generator().manual_seed(0), torch.device("cpu"))
    assert angles.shape == (20000, 3) and angles[:, 2].abs().max() == 0
    assert angles[:, :2].abs().max() <= 60 and angles[:, :2].min() < -59 and angles[:, :2].max() > 59
    assert np.allclose(angles[:, :2].std(0).numpy(), 60 / np.sqrt(3), rtol=0.02)
    x = batch(c=3)
    turned = B.BatchedCameraRotation()(x, torch.Generator().manual_seed(1))
    expected = B.linear_map_at(B.rotation_matrices(B.camera_angles(6, torch.Generator().manual_seed(1),
                                                                   x.device)), x)
    assert torch.allclose(turned, expected) and not torch.allclose(turned, x)
    assert torch.allclose(turned.norm(dim=1), x.norm(dim=1))
    quarter = B.rotation_matrices(torch.tensor([[0.0, 90.0, 0.0]]))[0]
    assert torch.allclose(quarter @ torch.tensor([1.0, 0.0, 0.0], dtype=torch.float64),
                          torch.tensor([0.0, 0.0, 1.0], dtype=torch.float64), atol=1e-12)


@pytest.mark.parametrize("normalise", [False, True])
def test_blur_per_sample_equals_numpy(normalise):
    x = batch(n=3, c=3)
    sigmas = torch.tensor([0.1, 1.0, 2.0], dtype=torch.float64)
    kernels = B.gaussian_kernels(sigmas, normalise=normalise)
    for i, s in enumerate(sigmas.tolist()):
        np.testing.assert_allclose(kernels[i].numpy(), A.gaussian_kernel(s, normalise=normalise), atol=1e-12)
    got = B.blur_at(x, kernels, torch.tensor([True, False, True]))
    np.testing.assert_allclose(got[0].numpy(), A.blur_along_time(x[0].numpy(), kernels[0].numpy()), atol=1e-10)
    np.testing.assert_array_equal(got[1].numpy(), x[1].numpy())
    two_d = B.blur_at(x, kernels, torch.tensor([True, True, True]), coords=2)
    np.testing.assert_array_equal(two_d[:, 2].numpy(), x[:, 2].numpy())  # a 2D layout's score is kept
    np.testing.assert_allclose(two_d[2, :2].numpy(), A.blur_along_time(x[2, :2].numpy(), kernels[2].numpy()),
                               atol=1e-10)


def test_flip_mask_and_time_flip_per_sample_equal_numpy():
    x = batch(n=2)
    mirror = get_layout("ntu25").mirror
    on, off = torch.tensor([True, False]), torch.tensor([False, True])
    flipped = B.spatial_flip_at(x, on, mirror)
    np.testing.assert_array_equal(flipped[0].numpy(), A.spatial_flip(x[0].numpy(), FixedDraws(random=[0.0]),
                                                                      permutation=mirror))
    np.testing.assert_array_equal(flipped[1].numpy(), x[1].numpy())
    masked = B.axis_mask_at(x, off, torch.tensor([0, 2]))
    np.testing.assert_array_equal(masked[0].numpy(), x[0].numpy())
    np.testing.assert_array_equal(masked[1].numpy(), A.axis_mask(x[1].numpy(), FixedDraws(random=[0.0], integers=[2])))
    reversed_ = B.temporal_flip_at(x, on)
    np.testing.assert_array_equal(reversed_[0].numpy(), x[0].numpy()[:, ::-1])


def test_draws_follow_the_per_sample_distributions():
    gen = torch.Generator().manual_seed(0)
    n = 20_000
    r = B.shear_matrices(n, gen, torch.device("cpu"))
    off = r[:, ~torch.eye(3, dtype=torch.bool)]
    assert torch.equal(r[:, torch.eye(3, dtype=torch.bool)], torch.ones(n, 3, dtype=torch.float64))
    assert off.min() >= -0.5 and off.max() <= 0.5
    assert abs(off.mean().item()) < 0.005 and abs(off.var().item() - 1 / 12) < 0.002
    angles = B.rotation_angles(n, gen, torch.device("cpu"))
    main = angles.argmax(1)
    assert (angles.max(1).values > 1).float().mean() > 0.95  # one axis drawn up to 30°, the others below 1°
    counts = torch.bincount(main, minlength=3).double()
    assert ((counts - n / 3).abs() < 5 * (n * 2 / 9) ** 0.5).all()
    x = batch(n=n, t=30, v=1, m=1)
    idx = torch.arange(30, dtype=torch.float64).view(1, 1, 30, 1, 1).expand_as(x).clone()
    pad = 30 // A.TEMPORAL_PADDING_RATIO
    starts = B.temporal_crop(idx, gen)[:, 0, pad, 0, 0]  # window frame `pad` is source frame `start`
    counts = torch.bincount(starts.long(), minlength=2 * pad + 1).double()
    assert len(counts) == 2 * pad + 1 and ((counts - n / (2 * pad + 1)).abs() < 5 * (n / (2 * pad + 1)) ** 0.5).all()


@pytest.mark.parametrize("which", ["normal", "extreme"])
def test_whole_views_match_the_loader_views_in_distribution(which):
    """One clip augmented 3,000 times each way: the mean and spread of every channel agree."""
    clip = np.random.default_rng(5).normal(0.0, 0.3, size=(3, 20, 25, 2))
    n = 3000
    view = A.normal_view if which == "normal" else A.make_extreme_view()
    loader = np.stack([view(clip, np.random.default_rng(i)) for i in range(n)])
    device = B.batched(view)(torch.from_numpy(np.repeat(clip[None], n, 0)), torch.Generator().manual_seed(0)).numpy()
    for stat in (np.mean, np.std):
        a, b = stat(loader, axis=0), stat(device, axis=0)  # per (channel, frame, joint, person)
        scale = np.std(loader, axis=0).mean()
        assert np.abs(a - b).mean() < 0.05 * scale, stat.__name__


def test_the_same_step_draws_the_same_views():
    x = batch()
    view = B.batched(A.make_extreme_view())
    a = view(x, B.view_generator(0, 1, 7, 0, torch.device("cpu")))
    b = view(x, B.view_generator(0, 1, 7, 0, torch.device("cpu")))
    c = view(x, B.view_generator(0, 1, 8, 0, torch.device("cpu")))
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_every_view_of_the_methods_has_a_batched_form():
    from methods import available, get_method

    for name in available():
        for view in get_method(name).from_preset(get_method(name).presets["quick"]).views():
            assert callable(B.batched(view))
    with pytest.raises(ValueError, match="--augment loader"):
        B.batched(lambda x, rng: x)


def test_loader_workers_by_default_only_beside_a_gpu_step():
    from methods.train.loop import default_workers

    assert default_workers(torch.device("cpu"), "loader") == 0
    assert default_workers(torch.device("cuda"), "device") == 0
    assert 0 <= default_workers(torch.device("cuda"), "loader") <= 4
