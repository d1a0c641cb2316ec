"""Data-parallel pretraining (methods.distributed) with two gloo processes on the CPU, started
by ``torchrun``: it trains exactly what one process trains on the same global batch, and a
killed run resumes on both ranks where it stopped.

For the comparison to be exact, the driver makes every sample's computation independent of
the others in its batch: dropout off and BatchNorm on its (fixed) running statistics. Otherwise
a rank's BatchNorm normalises over its share of the batch, not the whole batch — which is what
data parallelism without SyncBatchNorm does, and what the official multi-GPU code does.
"""

from __future__ import annotations

import socket
import subprocess
import sys

import numpy as np
import pytest
import torch

from methods.distributed import World, rank_seed, rank_share
from utils.paths import REPO_ROOT

DRIVER = r"""
import os, signal, sys
import torch
import torch.nn.functional as F
from methods import pretrain as pt

out, root, kill_at, resume = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4] == "resume"
torch.nn.Dropout.forward = lambda self, x: x
import methods.encoders.dropout
methods.encoders.dropout.Dropout.forward = lambda self, x: x
torch.nn.modules.batchnorm._BatchNorm.forward = lambda self, x: F.batch_norm(
    x, self.running_mean, self.running_var, self.weight, self.bias, False, 0.0, self.eps)
if kill_at:
    calls, real_step = [0], torch.optim.SGD.step
    def step(self, *args, **kwargs):
        calls[0] += 1
        if calls[0] == kill_at and os.environ.get("RANK") == "1":
            os.kill(os.getpid(), signal.SIGKILL)
        return real_step(self, *args, **kwargs)
    torch.optim.SGD.step = step
pt.pretrain("skeletonclr", "synthetic-xsub", "quick", epochs=2, out=out, data_root=root, max_steps=2, save_every=1,
            knn_every=0, resume=resume)
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def launch(out, root, processes: int, kill_at: int = 0, resume: bool = False) -> subprocess.CompletedProcess:
    args = [str(out), str(root), str(kill_at), "resume" if resume else "fresh"]
    if processes == 1:
        cmd = [sys.executable, "-c", DRIVER, *args]
    else:
        script = out.parent / "driver.py"
        script.write_text(DRIVER)
        cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", str(processes), "--nnodes", "1",
               "--master-addr", "127.0.0.1", "--master-port", str(free_port()), str(script), *args]
    env = {**__import__("os").environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO_ROOT)}
    return subprocess.run(cmd, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=600)


def state(out) -> dict:
    return torch.load(out / "last.pt", weights_only=True)


@pytest.fixture(scope="module")
def runs(tiny_root, tmp_path_factory) -> dict:
    base = tmp_path_factory.mktemp("ddp")
    single, ddp = base / "single", base / "ddp"
    for out, n in ((single, 1), (ddp, 2)):
        done = launch(out, tiny_root, n)
        assert done.returncode == 0, done.stderr[-3000:]
    return {"single": single, "ddp": ddp, "base": base, "root": tiny_root}


def test_two_processes_train_what_one_process_trains_on_the_global_batch(runs):
    one, two = state(runs["single"]), state(runs["ddp"])
    assert one["position"] == two["position"] == (2, 2)
    assert two["meta"]["processes"] == 2 and "processes" not in one["meta"]
    # the queue received the global batch's keys in order, and the pointer moved by it
    assert int(one["model"]["queue_ptr"]) == int(two["model"]["queue_ptr"]) == 4 * 32
    for name, tensor in one["model"].items():
        torch.testing.assert_close(two["model"][name], tensor, rtol=1e-4, atol=1e-5, msg=lambda m, name=name: f"{name}: {m}")
    np.testing.assert_allclose([h["loss"] for h in two["history"]], [h["loss"] for h in one["history"]], rtol=1e-5)
    # only rank 0 wrote the log: one line per epoch, not two
    log = (runs["ddp"] / "log.txt").read_text()
    assert log.count("epoch 1/2 ") == 1 and log.count("epoch 2/2 ") == 1


@pytest.mark.slow
def test_a_killed_distributed_run_resumes_on_every_rank(runs):
    out = runs["base"] / "killed"
    killed = launch(out, runs["root"], 2, kill_at=3)  # rank 1 dies before the first step of epoch 2
    assert killed.returncode != 0 and state(out)["position"] == (1, 2)
    assert len(state(out)["rng_ranks"]) == 2
    resumed = launch(out, runs["root"], 2, resume=True)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    final, reference = state(out), state(runs["ddp"])
    for name, tensor in reference["model"].items():
        torch.testing.assert_close(final["model"][name], tensor, rtol=0, atol=0, msg=lambda m, name=name: f"{name}: {m}")


def test_each_rank_takes_its_share_of_every_global_batch():
    order = np.arange(12)
    shares = [rank_share(order, 4, World(r, 2)) for r in range(2)]
    assert shares[0].tolist() == [0, 1, 4, 5, 8, 9] and shares[1].tolist() == [2, 3, 6, 7, 10, 11]
    assert rank_share(order, 4, World()).tolist() == list(range(12))
    with pytest.raises(ValueError, match="does not split over 3 processes"):
        rank_share(order, 4, World(0, 3))


def test_rank_zero_keeps_the_runs_seed_and_the_others_get_their_own():
    assert rank_seed(7, World()) == 7 == rank_seed(7, World(0, 2))
    assert len({rank_seed(7, World(r, 4)) for r in range(4)}) == 4
