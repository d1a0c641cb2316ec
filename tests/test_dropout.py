"""Dropout masks from random bits (methods/encoders/dropout.py): the distribution of
torch.nn.Dropout's, drawn from the same generator, and the same function of the mask."""

from __future__ import annotations

import pytest
import torch

from methods.encoders.dropout import Dropout, half_masks, set_dropout_masks


def test_half_masks_are_fair_independent_bits():
    torch.manual_seed(0)
    m = half_masks((1000, 1000)).double()
    assert set(m.unique().tolist()) == {0.0, 1.0}
    # 10⁶ fair bits: the mean is 0.5 ± 0.0005 (1 sd); 5 sd is 0.0025
    assert abs(m.mean().item() - 0.5) < 0.0025
    flat = m.flatten() - 0.5
    for lag in (1, 7, 8, 9):  # within one random byte, across bytes, and at the byte's period
        corr = (flat[:-lag] * flat[lag:]).mean().item() / 0.25
        assert abs(corr) < 0.005, lag
    bytes_ = (m.flatten().view(-1, 8) * 2 ** torch.arange(8.0, dtype=torch.float64)).sum(1)
    counts = torch.bincount(bytes_.long(), minlength=256).double()
    chi2 = ((counts - counts.mean()) ** 2 / counts.mean()).sum().item()
    assert chi2 < 350  # 255 degrees of freedom: mean 255, sd 22.6


def test_masks_come_from_the_seeded_global_generator():
    torch.manual_seed(3)
    a = half_masks((5, 17))
    torch.manual_seed(3)
    b = half_masks((5, 17))
    c = half_masks((5, 17))
    assert torch.equal(a, b) and not torch.equal(b, c)
    assert a.shape == (5, 17) and a.dtype == torch.uint8


def test_dropout_is_x_times_the_bit_mask_times_two():
    x = torch.randn(8, 4, 6, 5)
    layer = Dropout(0.5).train()
    torch.manual_seed(1)
    y = layer(x)
    torch.manual_seed(1)
    torch.testing.assert_close(y, x * half_masks(x.shape) * 2)
    inplace = Dropout(0.5, inplace=True).train()
    z = x.clone()
    torch.manual_seed(1)
    assert inplace(z) is z
    torch.testing.assert_close(z, y)


def test_eval_mode_is_the_identity_and_other_rates_are_torch_dropout():
    x = torch.randn(30, 40)
    assert torch.equal(Dropout(0.5).eval()(x), x)
    assert torch.equal(Dropout(0.0).train()(x), x)
    torch.manual_seed(4)
    y = Dropout(0.3).train()(x)
    torch.manual_seed(4)
    assert torch.equal(y, torch.nn.Dropout(0.3)(x))


def test_torch_masks_are_torch_nn_dropout_bit_for_bit():
    x = torch.randn(16, 16, 10, 25)
    layer = Dropout(0.5)
    assert set_dropout_masks(torch.nn.Sequential(layer, torch.nn.ReLU()), "torch") == 1
    torch.manual_seed(2)
    y = layer(x)
    torch.manual_seed(2)
    assert torch.equal(y, torch.nn.Dropout(0.5)(x))


def test_unknown_masks_are_refused():
    with pytest.raises(ValueError, match="bits, torch"):
        set_dropout_masks(Dropout(0.5), "fast")
