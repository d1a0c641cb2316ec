"""The GPU paths, for a machine with CUDA (skipped elsewhere): a pretraining step on the GPU gives
the CPU step's loss on the same batch (fp32 within float tolerance, bf16 autocast within bf16
tolerance), and the step's speed in fp32 and bf16.

Run on the GPU machine: ``python -m pytest tests/benchmarks/bench_gpu.py --benchmark-enable
-o python_files='bench_*.py'``.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

from methods import get_method
from methods.pretrain import build_optimizer

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")

BATCH = 128


def model_and_views(name: str, batch: int):
    cls = get_method(name)
    torch.manual_seed(0)
    model = cls.from_preset(cls.presets["paper"]).train()
    for m in model.modules():  # the same function on both devices: no dropout draws
        if isinstance(m, torch.nn.Dropout):
            m.p = 0.0
    x = np.random.default_rng(0).normal(0.0, 0.3, size=(batch, 3, model.config.frames, 25, 2)).astype(np.float32)
    rng = np.random.default_rng(1)
    return model, [torch.from_numpy(np.stack([view(s, rng) for s in x])) for view in model.views()]


@pytest.mark.parametrize("name", ["skeletonclr", "skelemixclr"])
def test_the_gpu_step_gives_the_cpu_loss(name):
    model, views = model_and_views(name, 32)
    gpu = copy.deepcopy(model).cuda()
    model.set_epoch(1), gpu.set_epoch(1)  # the same batch-level draws (SkeleMix regions)
    cpu_loss, _ = model.training_step(views, 1)
    gpu_loss, _ = gpu.training_step([v.cuda() for v in views], 1)
    assert gpu_loss.item() == pytest.approx(cpu_loss.item(), rel=1e-3)
    bf16 = copy.deepcopy(model).cuda()
    bf16.set_epoch(1)
    with torch.autocast("cuda", dtype=torch.bfloat16):
        bf16_loss, _ = bf16.training_step([v.cuda() for v in views], 1)
    assert bf16_loss.item() == pytest.approx(cpu_loss.item(), rel=5e-2)


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
@pytest.mark.parametrize("name", ["skeletonclr", "aimclr", "crossclr", "skelemixclr"])
@pytest.mark.benchmark(group="GPU pretraining step, batch 128")
def test_gpu_step(benchmark, name, precision):
    model, views = model_and_views(name, BATCH)
    model = model.cuda()
    views = [v.cuda() for v in views]
    optimizer = build_optimizer(model, get_method(name).presets["paper"])

    def step() -> None:
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=precision == "bf16"):
            loss, _ = model.training_step(views, 1)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        torch.cuda.synchronize()

    benchmark.pedantic(step, rounds=10, iterations=1, warmup_rounds=2)
    benchmark.extra_info["samples_per_s"] = round(BATCH / benchmark.stats.stats.median, 1)
