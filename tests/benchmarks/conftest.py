"""Speed measurements (``tox -e bench``; not in the default test run: the files are
``bench_*.py``). Each benchmark reports a figure the machine cannot skew: the FLOP rate it
achieved over the rate of a 1024² fp32 matmul measured in the same test (``of_matmul``), or a
ratio against a reference implementation timed in the same run. FLOPs are PyTorch's own count
(``torch.utils.flop_counter.FlopCounterMode``) of one call. The figures are printed at the end
of the session and kept in each benchmark's ``extra_info`` (``--benchmark-json FILE``)."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

FIGURES: list[str] = []


def matmul_gflops(n: int = 1024, repeats: int = 15) -> float:
    """GFLOP/s of an ``n × n`` fp32 matmul on this process's threads (median of ``repeats``)."""
    a, b = torch.randn(n, n), torch.randn(n, n)
    for _ in range(3):
        a @ b
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        a @ b
        times.append(time.perf_counter() - t)
    return 2 * n**3 / statistics.median(times) / 1e9


def flops_of(fn: Callable[[], object]) -> float:
    """FLOPs of one call of ``fn`` (forward and backward, as PyTorch counts them)."""
    with FlopCounterMode(display=False) as mode:
        fn()
    return float(mode.get_total_flops())


@pytest.fixture
def count_flops() -> Callable[[Callable[[], object]], float]:
    """:func:`flops_of`, for the benchmark files."""
    return flops_of


@pytest.fixture
def flop_report(benchmark, request) -> Callable[[float, int], dict]:
    """``report(flops_per_call, samples_per_call)``: after ``benchmark(...)``, records GFLOP/s, the
    same test's matmul rate and their ratio, and samples/s."""

    def report(flops: float, samples: int) -> dict:
        median = benchmark.stats.stats.median
        matmul = matmul_gflops()
        info = {"gflop_per_call": round(flops / 1e9, 3), "gflops": round(flops / median / 1e9, 2),
                "matmul_gflops": round(matmul, 1), "of_matmul": round(flops / median / 1e9 / matmul, 3),
                "samples_per_s": round(samples / median, 2)}
        benchmark.extra_info.update(info)
        FIGURES.append(f"{request.node.name}: {info['samples_per_s']} samples/s, {info['gflops']} GFLOP/s = "
                       f"{100 * info['of_matmul']:.0f} % of the matmul rate ({info['matmul_gflops']} GFLOP/s)")
        return info

    return report


def pytest_terminal_summary(terminalreporter) -> None:
    if FIGURES:
        terminalreporter.section("skelebench figures")
        for line in FIGURES:
            terminalreporter.write_line(line)
