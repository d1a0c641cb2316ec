"""Precise BN: re-estimated statistics equal a hand computation, and a preset that asks for it
changes the exported encoders only, never the training state."""

import copy
from dataclasses import replace

import numpy as np
import torch

from datasets import synthetic
from datasets.store import load_split
from methods import get_method, load_encoder
from methods.base import build_backbone
from methods.encoders.batchnorm import recalibrate_batchnorm
from methods.pretrain import export_encoders


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


def test_precise_bn_preset_exports_recalibrated_copies(tiny_root, tmp_path):
    cls = get_method("skeletonclr")
    train = _train_split(tiny_root)
    preset = replace(cls.presets["quick"], queue_size=64)
    torch.manual_seed(0)
    model = cls.from_preset(preset)
    model.train()
    with torch.no_grad():  # one augmented-looking batch leaves running statistics that fit nothing else
        model.encoder_q(torch.randn(8, 3, 50, 25, 2) * 3)
    before = copy.deepcopy(model.encoder_q.state_dict())
    for precise, out in ((False, tmp_path / "plain"), (True, tmp_path / "precise")):
        export_encoders(model, replace(preset, precise_bn=precise), train, torch.device("cpu"), out, "joint", {})
    for name, value in model.encoder_q.state_dict().items():  # the training state is untouched
        assert torch.equal(value, before[name]), name
    plain, precise = load_encoder(tmp_path / "plain" / "encoder.pt"), load_encoder(tmp_path / "precise" / "encoder.pt")
    expected = recalibrate_batchnorm(copy.deepcopy(model.encoder_q), train, "joint", torch.device("cpu"))
    for name, value in precise.state_dict().items():
        assert torch.allclose(value.float(), expected.state_dict()[name].float()), name
    assert torch.equal(plain.data_bn.running_mean, before["data_bn.running_mean"])
    assert not torch.allclose(precise.data_bn.running_mean, plain.data_bn.running_mean)
    assert torch.load(tmp_path / "precise" / "encoder.pt", weights_only=True)["meta"]["precise_bn"] is True
