"""Precise BN: re-estimated statistics equal a hand computation, with dropout off."""

import copy

import numpy as np
import torch

from datasets import synthetic
from datasets.store import load_split
from methods import get_method
from methods.base import build_backbone
from methods.encoders.batchnorm import recalibrate_batchnorm


def _train_split(tiny_root):
    return load_split(tiny_root / f"synthetic-xsub-f50-v{synthetic.GENERATOR_VERSION}", "train")


def test_input_statistics_are_the_average_of_per_batch_statistics(tiny_root):
    """Each batch weighs the same (cumulative average, as torch's ``update_bn``): the running mean is
    the mean of the batch means and the running variance the mean of the unbiased batch variances."""
    train = _train_split(tiny_root)
    encoder = recalibrate_batchnorm(build_backbone(get_method("skeletonclr").default_config), train, "joint",
                                    torch.device("cpu"), batch_size=50)  # 216 samples: 4 batches of 50, one of 16
    x = np.asarray(train.data, dtype=np.float64)  # (N, C, T, V, M); data_bn sees (N·M, V·C, T), persons folded in
    means, variances = [], []
    for start in range(0, len(x), 50):
        b = x[start : start + 50]
        per_channel = b.transpose(4, 0, 3, 1, 2).reshape(-1, 75, b.shape[2]).transpose(1, 0, 2).reshape(75, -1)
        means.append(per_channel.mean(1))
        variances.append(per_channel.var(1, ddof=1))
    np.testing.assert_allclose(encoder.data_bn.running_mean.numpy(), np.mean(means, 0), rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(encoder.data_bn.running_var.numpy(), np.mean(variances, 0), rtol=1e-3, atol=1e-7)
    assert not encoder.training and all(m.momentum == 0.1 for m in encoder.modules()
                                        if isinstance(m, torch.nn.BatchNorm2d))


def test_dropout_is_off_while_statistics_are_gathered(tiny_root):
    train = _train_split(tiny_root)
    config = get_method("skeletonclr").default_config
    torch.manual_seed(0)
    a = build_backbone(config)
    b = copy.deepcopy(a)
    recalibrate_batchnorm(a, train, "joint", torch.device("cpu"))
    recalibrate_batchnorm(b, train, "joint", torch.device("cpu"))  # dropout on would draw different masks
    for (name, x), (_, y) in zip(a.state_dict().items(), b.state_dict().items()):
        assert torch.equal(x, y), name

