"""bf16 pretraining (``--precision bf16``): encoders under autocast, losses and queue in fp32,
and a step's loss within bf16 tolerance of the fp32 step's on the same batch (CPU autocast; the
same code path runs on a GPU)."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

from methods import get_method
from methods.losses import info_nce
from methods.pretrain import pretrain


def test_losses_stay_fp32_inside_a_bf16_region():
    g = torch.Generator().manual_seed(0)
    q, k = (torch.nn.functional.normalize(torch.randn(8, 16, generator=g), dim=1) for _ in range(2))
    queue = torch.nn.functional.normalize(torch.randn(16, 64, generator=g), dim=0)
    exact = info_nce(q, k, queue, 0.07)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        inside = info_nce(q.bfloat16(), k.bfloat16(), queue, 0.07)
    assert inside.dtype == torch.float32
    # the same fp32 function of the rounded inputs: only the inputs' rounding differs
    assert inside.item() == pytest.approx(info_nce(q.bfloat16().float(), k.bfloat16().float(), queue, 0.07).item())
    assert inside.item() == pytest.approx(exact.item(), rel=2e-2)


def test_a_bf16_step_gives_the_fp32_loss_within_bf16_tolerance():
    cls = get_method("skeletonclr")
    torch.manual_seed(0)
    model = cls.from_preset(cls.presets["quick"]).train()
    for m in model.modules():  # the same function in both runs: no dropout draws
        if isinstance(m, torch.nn.Dropout):
            m.p = 0.0
    x = np.random.default_rng(0).normal(0.0, 0.3, size=(4, 3, 50, 25, 2)).astype(np.float32)
    rng = np.random.default_rng(1)
    views = [torch.from_numpy(np.stack([view(s, rng) for s in x])) for view in model.views()]
    twin = copy.deepcopy(model)
    loss32, _ = model.training_step(views, 1)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        loss16, _ = twin.training_step(views, 1)
    assert loss16.dtype == torch.float32 and twin.queue.dtype == torch.float32
    # q·k⁺ ≈ 1 against a random initial queue: the loss is ~1e-3, and bf16's rounding of q·k⁺
    # (≈ 4e-3) moves it by a few per cent through exp(·/0.07)
    assert loss16.item() == pytest.approx(loss32.item(), rel=5e-2)
    torch.testing.assert_close(twin.queue[:, :4], model.queue[:, :4], rtol=0, atol=3e-2)  # bf16-rounded keys
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        q16 = twin.query(views[0])
    torch.testing.assert_close(q16.float(), model.query(views[0]).detach(), rtol=0, atol=2e-2)
    loss32.backward()
    loss16.backward()
    g32 = torch.cat([p.grad.flatten() for p in model.encoder_q.parameters() if p.grad is not None])
    g16 = torch.cat([p.grad.flatten() for p in twin.encoder_q.parameters() if p.grad is not None])
    assert torch.isfinite(g16).all()
    # bf16 rounding in each of 10 blocks turns the gradient by a few degrees (measured: cosine 0.95)
    assert torch.nn.functional.cosine_similarity(g32, g16, dim=0) > 0.9


def test_an_unknown_precision_is_refused(tiny_root, tmp_path):
    with pytest.raises(ValueError, match="unknown precision 'fp8'; choose fp32, bf16"):
        pretrain("skeletonclr", "synthetic-xsub", "quick", epochs=1, out=tmp_path / "x", data_root=tiny_root,
                 max_steps=1, knn_every=0, precision="fp8")


@pytest.mark.slow  # bf16 convolutions are slow on a CPU without bf16 units: ~1 min for one step
def test_a_bf16_run_records_its_precision_and_keeps_fp32_weights(tiny_root, tmp_path):
    out = tmp_path / "bf16"
    pretrain("skeletonclr", "synthetic-xsub", "quick", epochs=1, out=out, data_root=tiny_root, max_steps=1,
             knn_every=0, precision="bf16")
    state = torch.load(out / "last.pt", weights_only=True)
    assert state["meta"]["precision"] == "bf16"
    assert all(t.dtype == torch.float32 for t in state["model"].values() if t.is_floating_point())
