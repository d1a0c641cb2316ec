"""The GPU paths, for a machine with CUDA (skipped elsewhere): a pretraining step on the GPU gives
the CPU step's loss on the same batch (fp32 within float tolerance, bf16 autocast within bf16
tolerance), and the step's speed in fp32 and bf16; the batched views on the GPU apply the
per-sample augmentations as the CPU does, and their cost against the loader's per-sample NumPy
views for one batch.

Run on the GPU machine: ``python -m pytest tests/benchmarks/bench_gpu.py --benchmark-enable
-o python_files='bench_*.py'``.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
from timm.layers import DropPath

from datasets import augment_batch as B
from methods import get_method
from methods.presets import for_encoder
from methods.train.loop import build_optimizer

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")

BATCH = 128


def model_and_views(name: str, batch: int, encoder: str = "stgcn"):
    cls = get_method(name)
    torch.manual_seed(0)
    model = cls.from_preset(cls.presets["paper"], encoder=encoder).train()
    for m in model.modules():  # the same function on both devices: no dropout or stochastic-depth draws
        if isinstance(m, torch.nn.Dropout):
            m.p = 0.0
        if isinstance(m, DropPath):
            m.drop_prob = 0.0
    x = np.random.default_rng(0).normal(0.0, 0.3, size=(batch, 3, model.config.frames, 25, 2)).astype(np.float32)
    rng = np.random.default_rng(1)
    return model, [torch.from_numpy(np.stack([view(s, rng) for s in x])) for view in model.views()]


@pytest.mark.parametrize("encoder", ["stgcn", "transformer"])
@pytest.mark.parametrize("name", ["skeletonclr", "skelemixclr"])
def test_the_gpu_step_gives_the_cpu_loss(name, encoder):
    model, views = model_and_views(name, 32, encoder)
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


@pytest.mark.parametrize("encoder", ["stgcn", "transformer"])
@pytest.mark.parametrize("precision", ["fp32", "bf16"])
@pytest.mark.parametrize("name", ["skeletonclr", "aimclr", "crossclr", "skelemixclr"])
@pytest.mark.benchmark(group="GPU pretraining step, batch 128")
def test_gpu_step(benchmark, name, precision, encoder):
    model, views = model_and_views(name, BATCH, encoder)
    model = model.cuda()
    views = [v.cuda() for v in views]
    optimizer = build_optimizer(model, for_encoder(get_method(name).presets["paper"], encoder))

    def step() -> None:
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=precision == "bf16"):
            loss, _ = model.training_step(views, 1)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        torch.cuda.synchronize()

    benchmark.pedantic(step, rounds=10, iterations=1, warmup_rounds=2)
    benchmark.extra_info["samples_per_s"] = round(BATCH / benchmark.stats.stats.median, 1)


def test_batched_views_apply_the_same_augmentation_on_the_gpu():
    """Given the same per-sample parameters the GPU gives the CPU's views (the draws themselves
    come from each device's generator: tests/test_augment_batch.py checks their distributions)."""
    x = torch.from_numpy(np.random.default_rng(0).normal(0.0, 0.3, size=(8, 3, 50, 25, 2)).astype(np.float32))
    starts = torch.arange(8) % 17
    r = torch.from_numpy(np.random.default_rng(1).normal(size=(8, 3, 3)))
    kernels = B.gaussian_kernels(torch.linspace(0.1, 2.0, 8, dtype=torch.float64))
    blur = torch.arange(8) % 2 == 0
    for fn, args in ((B.temporal_crop_at, (x, starts)), (B.linear_map_at, (r, x)), (B.blur_at, (x, kernels, blur))):
        cpu = fn(*args)
        gpu = fn(*(a.cuda() for a in args))
        torch.testing.assert_close(gpu.cpu(), cpu, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("where", ["loader", "device"])
@pytest.mark.benchmark(group="AimCLR views of one batch of 128 (extreme + 2 normal)")
def test_views_of_one_batch(benchmark, where):
    model, _ = model_and_views("aimclr", 1)
    x = np.random.default_rng(0).normal(0.0, 0.3, size=(BATCH, 3, 50, 25, 2)).astype(np.float32)
    clips = torch.from_numpy(x).cuda()
    batched = [B.batched(view) for view in model.views()]

    def per_sample() -> None:
        rng = np.random.default_rng(1)
        views = [torch.from_numpy(np.stack([view(s, rng) for s in x])).cuda() for view in model.views()]
        torch.cuda.synchronize()
        return views

    def on_device() -> None:
        gen = B.view_generator(0, 1, 0, 0, clips.device)
        views = [view(clips, gen) for view in batched]
        torch.cuda.synchronize()
        return views

    benchmark.pedantic(per_sample if where == "loader" else on_device, rounds=5, iterations=1, warmup_rounds=1)



def test_a_gpu_run_resumes(tiny_root, tmp_path):
    """A GPU run cut after one epoch resumes to the end (the training state is loaded on the CPU:
    mapped onto the GPU, its generator states made torch.set_rng_state fail with 'RNG state must be
    a torch.ByteTensor', found on the H200 that pretrained the zoo). GPU kernels are not
    deterministic, so the check is that it runs and trains, not bit-equality."""
    import json

    from methods.pretrain import pretrain

    def run(epochs, **kw):
        return pretrain("skeletonclr", "synthetic-xsub", "quick", epochs=epochs, out=tmp_path / "run",
                        data_root=tiny_root, max_steps=2, knn_every=0, device=torch.device("cuda"), **kw)

    run(1)
    (tmp_path / "run" / "run.json").unlink()  # as if it had been killed after the epoch's state write
    run(2, resume=True)
    history = json.loads((tmp_path / "run" / "run.json").read_text())["history"]
    assert [h["epoch"] for h in history] == [1, 2] and all(np.isfinite(h["loss"]) for h in history)
