"""ST-GCN encoder: the official parameter counts, shapes and person pooling."""

import pytest
import torch

from methods import get_method
from methods.base import projection_head
from methods.encoders import build_encoder


def count(module):
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


def test_parameter_counts():
    backbone = build_encoder("stgcn")
    assert count(backbone) == 821_380
    assert count(backbone) + count(projection_head("mlp")) == 920_068
    assert count(backbone) + count(projection_head("mlp_bn")) == 920_580
    model = get_method("skeletonclr")(queue_size=64)
    assert count(model) == 920_068  # only the query side learns


@pytest.mark.parametrize("frames,t_out", [(50, 13), (64, 16)])
def test_feature_map_shapes(frames, t_out):
    enc = build_encoder("stgcn").eval()
    x = torch.randn(2, 3, frames, 25, 2)
    assert enc.feature_map(x).shape == (4, 256, t_out, 25)
    assert enc(x).shape == (2, 256)


def test_persons_are_averaged_after_pooling():
    enc = build_encoder("stgcn").eval()
    x = torch.randn(3, 3, 16, 25, 2)
    x[:, :, :, :, 1] = 0  # absent second person still counts in the mean (methods.md §1.1)
    fm = enc.feature_map(x)
    per_person = fm.mean(dim=(2, 3)).view(3, 2, 256)
    torch.testing.assert_close(enc(x), per_person.mean(dim=1))


def test_dropout_only_in_blocks_2_to_10():
    enc = build_encoder("stgcn")
    rates = [b.tcn[-1].p for b in enc.blocks]
    assert rates == [0.0] + [0.5] * 9


def test_unknown_encoder():
    with pytest.raises(ValueError, match="stgcn"):
        build_encoder("resnet")
