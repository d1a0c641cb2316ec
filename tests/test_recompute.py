"""Activation recomputation (``--recompute``, methods/encoders/recompute.py): less memory, the
very same numbers — dropout masks, batch statistics, running statistics and gradients replayed
exactly (issue 15 item 4)."""

from __future__ import annotations

import copy
import json

import pytest
import torch

from methods.encoders.recompute import keep_running_statistics, set_recompute
from methods.encoders.stgcn import STGCN
from methods.pretrain import pretrain


def one_step(encoder: STGCN, x: torch.Tensor) -> tuple[torch.Tensor, dict, dict, torch.Tensor]:
    torch.manual_seed(1)  # dropout draws from the global generator
    y = encoder(x)
    y.square().sum().backward()
    return (y.detach(), {n: p.grad.clone() for n, p in encoder.named_parameters()},
            {n: b.clone() for n, b in encoder.named_buffers()}, torch.get_rng_state())


@pytest.mark.parametrize("graph", ["stgcn_spatial", "agcn"])
def test_a_recomputed_encoder_step_is_bit_identical(graph):
    torch.manual_seed(0)
    plain = STGCN(graph=graph).train()
    for m in plain.modules():  # weights large enough that every block matters
        if isinstance(m, torch.nn.Conv2d):
            torch.nn.init.normal_(m.weight, 0, 0.1)
    again = copy.deepcopy(plain)
    assert set_recompute(again, True) == 1
    x = torch.randn(4, 3, 16, 25, 2)
    y0, g0, b0, rng0 = one_step(plain, x)
    y1, g1, b1, rng1 = one_step(again, x)
    assert torch.equal(y0, y1)
    assert all(torch.equal(g0[k], g1[k]) for k in g0)  # same dropout masks, same batch statistics
    assert all(torch.equal(b0[k], b1[k]) for k in b0)  # running statistics updated once, not twice
    assert torch.equal(rng0, rng1)  # the generator ends where a plain step leaves it


def test_recomputation_keeps_fewer_activations_for_the_backward_pass():
    """Bytes autograd keeps outside the recomputed blocks: their inputs only (a ninth of them here)."""
    def kept_bytes(recompute: bool) -> int:
        torch.manual_seed(0)
        encoder = STGCN().train()
        set_recompute(encoder, recompute)
        total = 0

        def pack(t: torch.Tensor) -> torch.Tensor:
            nonlocal total
            total += t.numel() * t.element_size()
            return t

        with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
            encoder(torch.randn(4, 3, 32, 25, 2)).sum().backward()
        return total

    plain, recomputed = kept_bytes(False), kept_bytes(True)
    assert recomputed < plain / 5, (plain, recomputed)


def test_running_statistics_are_put_back_after_the_body():
    bn = torch.nn.BatchNorm1d(3).train()
    before = {k: v.clone() for k, v in bn.state_dict().items()}
    with keep_running_statistics(bn):
        bn(torch.randn(8, 3) + 5)
    assert all(torch.equal(before[k], v) for k, v in bn.state_dict().items())


def test_only_a_training_pass_that_builds_a_graph_recomputes(monkeypatch):
    import methods.encoders.stgcn as stgcn
    calls = []
    monkeypatch.setattr(stgcn, "recomputed", lambda block, *xs: calls.append(1) or block(*xs))
    encoder = STGCN()
    set_recompute(encoder, True)
    x = torch.randn(2, 3, 8, 25, 2)
    with torch.no_grad():
        encoder.train()(x)  # no graph: nothing to keep, nothing to recompute
    encoder.eval()(x)  # feature extraction
    assert calls == []
    encoder.train()(x)
    assert len(calls) == len(encoder.blocks)


@pytest.mark.slow  # ~35 s; a recomputed step of either graph is bit-identical in the default run (above)
def test_skelemixclr_pretraining_with_recomputation_ends_with_the_same_weights(tiny_root, tmp_path):
    """Four query passes a step (the plain view and three mixes), BN heads, dropout, the queue:
    two steps with and without recomputation end bit-identical."""
    runs = {}
    for recompute in (False, True):
        out = tmp_path / f"r{int(recompute)}"
        path = pretrain("skelemixclr", "synthetic-xsub", "quick", epochs=1, out=out, data_root=tiny_root, max_steps=2,
                        knn_every=0, recompute=recompute, device=torch.device("cpu"))
        runs[recompute] = (torch.load(out / "last.pt", weights_only=True), json.loads((out / "run.json").read_text()))
        assert path.is_file()
    (state0, info0), (state1, info1) = runs[False], runs[True]
    assert info0["history"] == info1["history"] and info1["recompute"] and "recompute" not in info0
    model0, model1 = state0["model"], state1["model"]
    assert model0.keys() == model1.keys() and all(torch.equal(model0[k], model1[k]) for k in model0)
