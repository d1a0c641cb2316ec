"""The pretraining step of each method and the frozen encoder's feature extraction, as FLOP
rates over the same test's matmul rate (conftest.py).

Run: ``tox -e bench`` (or ``python -m pytest tests/benchmarks/bench_steps.py --benchmark-enable``).
Inputs are random skeletons passed through each method's own views, batch 32, the paper
architecture and queue (issue 15's table: SkeletonCLR 48 %, AimCLR 52 %, CrosSCLR 47 %,
SkeleMixCLR+ 42 % of the matmul rate; inference 76 %). Each on both encoder families, ST-GCN
and the timm transformer (issue 28), so their rates and FLOPs per clip sit side by side; the
transformer's SkeleMixCLR+ step also with ``--recompute``.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

from datasets.store import Split
from methods import get_method
from methods.base import build_backbone
from methods.encoders.features import extract_features
from methods.encoders.recompute import set_recompute
from methods.presets import for_encoder
from methods.train.loop import build_optimizer

BATCH = 32
METHODS = ("skeletonclr", "aimclr", "crossclr", "skelemixclr")
ENCODERS = ("stgcn", "transformer")
ROUNDS = 5


def skeletons(n: int, frames: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(0.0, 0.3, size=(n, 3, frames, 25, 2)).astype(np.float32)


def training_step(name: str, encoder: str = "stgcn", recompute: bool = False):
    """One optimiser step of ``name`` on ``encoder`` on a fixed batch of its views, as a closure."""
    cls = get_method(name)
    preset = for_encoder(cls.presets["paper"], encoder)
    torch.manual_seed(0)
    model = cls.from_preset(preset, encoder=encoder).train()
    set_recompute(model, recompute)
    x, rng = skeletons(BATCH, model.config.frames), np.random.default_rng(1)
    views = [torch.from_numpy(np.stack([view(s, rng) for s in x])) for view in model.views()]
    optimizer = build_optimizer(model, preset)

    def step() -> None:
        loss, _ = model.training_step(views, 1)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    step()  # warm-up: first-call allocations
    return step


@pytest.mark.parametrize("encoder", ENCODERS)
@pytest.mark.parametrize("name", METHODS)
@pytest.mark.benchmark(group="pretraining step, batch 32")
def test_pretraining_step(benchmark, flop_report, count_flops, name, encoder) -> None:
    measure_step(benchmark, flop_report, count_flops, training_step(name, encoder))


@pytest.mark.parametrize("encoder", ENCODERS)
@pytest.mark.benchmark(group="pretraining step, batch 32")
def test_skelemixclr_step_with_recompute(benchmark, flop_report, count_flops, encoder) -> None:
    """``--recompute`` on the step with the most encoder passes (SkeleMixCLR+: four query passes)."""
    measure_step(benchmark, flop_report, count_flops, training_step("skelemixclr", encoder, recompute=True))


def measure_step(benchmark, flop_report, count_flops, step) -> None:
    flops = count_flops(step)
    benchmark.pedantic(step, rounds=ROUNDS, iterations=1, warmup_rounds=1)
    info = flop_report(flops, BATCH)
    assert info["gflop_per_call"] > 0


@pytest.mark.parametrize("encoder_name", ENCODERS)
@pytest.mark.parametrize("batch", (16, 256))
@pytest.mark.benchmark(group="feature extraction, 256 clips")
def test_feature_extraction(benchmark, flop_report, count_flops, batch, encoder_name) -> None:
    torch.manual_seed(0)
    config = get_method("skeletonclr").default_config
    encoder = build_backbone(replace(config, encoder=encoder_name))
    x = skeletons(256, 50)
    split = Split(x, [str(i) for i in range(len(x))], np.zeros(len(x), np.int64))
    cpu = torch.device("cpu")

    def extract() -> np.ndarray:
        return extract_features(encoder, split, "joint", cpu, batch_size=batch, desc="bench")

    flops = count_flops(extract)
    features = benchmark.pedantic(extract, rounds=ROUNDS, iterations=1, warmup_rounds=1)
    assert features.shape == (256, 256)
    flop_report(flops, len(x))
