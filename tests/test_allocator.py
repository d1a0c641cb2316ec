"""The allocator setting every command line applies with SKELEBENCH_MALLOC=keep
(methods/allocator.py): freed tensor memory is reused instead of being unmapped and faulted in
again, which made CPU feature extraction spend more time in the kernel than in arithmetic. Checked in a fresh interpreter, as a command runs
(inside pytest's process the heap is already fragmented by everything the session loaded)."""

from __future__ import annotations

import os
import platform
import subprocess
import sys

import pytest

from datasets.cache import REPO_ROOT
from methods import allocator

PROBE = """
import resource, sys, torch
from methods.allocator import keep_freed_memory
applied = keep_freed_memory() if sys.argv[1] == "on" else False
size = 160 << 20  # one ST-GCN activation at batch 256
def rounds():
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(3):
        block = torch.ones(size // 4)
        del block
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before
rounds()  # the heap grows to hold the block
print(applied, rounds(), 3 * size // resource.getpagesize())
"""


def minor_faults(mode: str) -> tuple[bool, int, int]:
    env = {**{k: v for k, v in os.environ.items() if k != "SKELEBENCH_MALLOC"},
           **({"SKELEBENCH_MALLOC": "keep"} if mode == "on" else {})}
    done = subprocess.run([sys.executable, "-c", PROBE, mode], cwd=REPO_ROOT, env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    applied, faults, pages = done.stdout.split()
    return applied == "True", int(faults), int(pages)


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="a glibc setting")
def test_a_big_block_freed_and_taken_again_is_not_faulted_in_again():
    applied, faults, pages = minor_faults("on")
    assert applied and faults < pages // 4, f"{faults} minor faults for {pages} pages with the setting"
    _, faults, pages = minor_faults("off")
    assert faults > pages // 2  # what the setting is for: without it every page faults in again


def test_opt_in_only(monkeypatch):
    """It costs memory (methods/allocator.py), so the system allocator stays unless asked."""
    for value in (None, "system", "yes"):
        monkeypatch.setattr(allocator, "_applied", None)
        if value is None:
            monkeypatch.delenv("SKELEBENCH_MALLOC", raising=False)
        else:
            monkeypatch.setenv("SKELEBENCH_MALLOC", value)
        assert allocator.keep_freed_memory() is False
