"""Shared fixtures: every test runs against a private cache and results folder, never the
checkout's, and tiny synthetic benchmarks are built once per session."""

from __future__ import annotations

from pathlib import Path

import pytest

from datasets import synthetic


def pytest_addoption(parser: pytest.Parser) -> None:
    """Inputs of the real-data reproduction tests (``-m reproduction``, tests/test_reproduction.py)."""
    parser.addoption("--data-root", action="append", default=[], metavar="DIR", type=Path,
                     help="prepared real benchmarks (`python -m datasets.prepare --out`); once per frame count")
    parser.addoption("--checkpoints", default=None, metavar="DIR", type=Path,
                     help="the authors' released checkpoints, named <method>-<dataset>-<stream>.pt")


@pytest.fixture(scope="session", autouse=True)
def private_cache(tmp_path_factory):
    root = tmp_path_factory.mktemp("skelebench")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SKELEBENCH_CACHE", str(root / "cache"))
        mp.setenv("SKELEBENCH_RESULTS", str(root / "records"))
        yield root


@pytest.fixture(scope="session")
def tiny_root(tmp_path_factory) -> Path:
    """A data root holding synthetic-xsub at 50 and 64 frames (SkeleMixCLR) with 4 subjects and the first
    24 classes (216 train / 72 val)."""
    root = tmp_path_factory.mktemp("tiny-data")
    for frames in (50, 64):
        synthetic.build_benchmark("xsub", frames, root / f"synthetic-xsub-f{frames}-v{synthetic.GENERATOR_VERSION}",
                                  subjects=4, classes=24)
    return root
