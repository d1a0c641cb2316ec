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


def reference_graph_conv(gcn, x, a):
    """The official order: the 1×1 conv to K·C channels, then the sum over (k, v) with A."""
    n, _, t, v = x.shape
    y = gcn.conv(x).view(n, gcn.partitions, -1, t, v)
    return torch.einsum("nkctv,kvw->nctw", y, a)


@pytest.mark.parametrize("c_in,c_out", [(3, 16), (16, 16), (16, 32), (64, 256)])
def test_graph_first_graph_conv_equals_the_reference_order(c_in, c_out):
    """GraphConv applies A before the partitions' 1×1 convs (issue 15 item 3): forward and every
    gradient equal the official order, with a non-zero bias and a learnt A: in float64 to 1e-10
    (the two orders are the same sum), in fp32 within the rounding of sums this long."""
    from methods.encoders.stgcn import GraphConv

    for dtype, tol in ((torch.float64, 1e-10), (torch.float32, 1e-5)):
        torch.manual_seed(0)
        gcn = GraphConv(c_in, c_out, 3).to(dtype)
        torch.nn.init.normal_(gcn.conv.bias)
        x = torch.randn(4, c_in, 12, 25, dtype=dtype, requires_grad=True)
        a = torch.rand(3, 25, 25, dtype=dtype, requires_grad=True)
        out, ref = gcn(x, a), reference_graph_conv(gcn, x, a)
        g = torch.randn_like(out)
        grads = torch.autograd.grad(out, (x, a, gcn.conv.weight, gcn.conv.bias), g)
        grads_ref = torch.autograd.grad(ref, (x, a, gcn.conv.weight, gcn.conv.bias), g)
        for got, want in zip((out, *grads), (ref, *grads_ref)):
            torch.testing.assert_close(got, want, rtol=tol, atol=tol * want.abs().max().item())


def test_graph_conv_by_hand():
    """One partition, one channel, two joints: out[w] = Σ_v (w·x[v] + b) · A[v, w]."""
    from methods.encoders.stgcn import GraphConv

    gcn = GraphConv(1, 1, 1)
    with torch.no_grad():
        gcn.conv.weight.fill_(2.0)
        gcn.conv.bias.fill_(1.0)
    x = torch.tensor([3.0, 5.0]).view(1, 1, 1, 2)
    a = torch.tensor([[[1.0, 0.5], [0.0, 2.0]]])
    # y = 2x + 1 = (7, 11); out[0] = 7·1 + 11·0 = 7; out[1] = 7·0.5 + 11·2 = 25.5
    assert gcn(x, a).flatten().tolist() == [7.0, 25.5]


def test_encoder_equals_the_reference_graph_order_end_to_end(monkeypatch):
    """The whole ST-GCN, in train mode with dropout off: the same output and weight gradients as
    with the official graph order, so checkpoints trained either way mean the same."""
    from methods.encoders import stgcn

    torch.manual_seed(0)
    enc = build_encoder("stgcn")
    for m in enc.modules():
        if isinstance(m, torch.nn.Dropout):
            m.p = 0.0
    x = torch.randn(4, 3, 20, 25, 2)
    out = enc(x)
    grads = torch.autograd.grad(out.square().sum(), list(enc.parameters()))
    monkeypatch.setattr(stgcn.GraphConv, "forward", reference_graph_conv)
    ref = enc(x)
    grads_ref = torch.autograd.grad(ref.square().sum(), list(enc.parameters()))
    torch.testing.assert_close(out, ref, rtol=1e-5, atol=1e-5 * ref.abs().max().item())
    # fp32 rounding relative to the gradients' scale (a conv bias before BatchNorm has gradient 0,
    # so its own scale is rounding noise)
    scale = max(want.abs().max().item() for want in grads_ref)
    for got, want in zip(grads, grads_ref):
        torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-5 * scale)


@pytest.mark.slow
def test_compiled_blocks_compute_the_eager_encoder(tiny_root, tmp_path):
    """--compile (minutes of compilation on 2 cores, hence slow): a compiled encoder's eval-mode
    output equals the eager one's, and a compiled pretraining run finishes and says so."""
    import copy
    import json

    from methods.encoders import compile_blocks
    from methods.pretrain import pretrain

    torch.manual_seed(0)
    enc = build_encoder("stgcn").eval()
    compiled = copy.deepcopy(enc)
    assert compile_blocks(compiled) == 10
    x = torch.randn(2, 3, 20, 25, 2)
    with torch.no_grad():
        torch.testing.assert_close(compiled(x), enc(x), rtol=1e-4, atol=1e-5)
    assert compiled.state_dict().keys() == enc.state_dict().keys()
    out = tmp_path / "run"
    pretrain("skeletonclr", "synthetic-xsub", "quick", epochs=1, out=out, data_root=tiny_root, max_steps=1,
             knn_every=0, compile_encoders=True)
    record = json.loads((out / "run.json").read_text())
    assert record["compiled"] is True and record["history"][0]["loss"] > 0
