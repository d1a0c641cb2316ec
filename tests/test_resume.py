"""Bit-identical resume: pretraining killed with SIGKILL at three points (mid-epoch, during the
checkpoint write, right after it) and resumed ends with exactly the uninterrupted run's weights,
queue and optimiser state; and the run folder is never silently overwritten or half-trusted."""

from __future__ import annotations

import json
import signal
import subprocess
import sys

import numpy as np
import pytest
import torch

from methods.pretrain import main as pretrain_main
from methods.pretrain import pretrain
from utils.paths import REPO_ROOT

#: Runs pretraining in a fresh process; ``mode`` arms a SIGKILL of the process itself at the
#: ``n``-th optimiser step, inside the ``n``-th training-state write (half the bytes on disk), or
#: right after the ``n``-th rename of ``last.pt``.
DRIVER = r"""
import io, os, signal, sys
import torch
from methods import checkpoint, pretrain as pt

mode, n, out, root, method = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
calls = [0]

def die():
    os.kill(os.getpid(), signal.SIGKILL)

if mode == "step":
    real_step = torch.optim.SGD.step
    def step(self, *args, **kwargs):
        calls[0] += 1
        if calls[0] == n:
            die()
        return real_step(self, *args, **kwargs)
    torch.optim.SGD.step = step
elif mode == "write":
    real_save = torch.save
    def save(obj, f, *args, **kwargs):
        if isinstance(obj, dict) and obj.get("format") == checkpoint.TRAINING_FORMAT:
            calls[0] += 1
            if calls[0] == n:
                buf = io.BytesIO()
                real_save(obj, buf, *args, **kwargs)
                f.write(buf.getvalue()[: len(buf.getvalue()) // 2])
                f.flush()
                os.fsync(f.fileno())
                die()
        return real_save(obj, f, *args, **kwargs)
    checkpoint.torch.save = save
elif mode == "renamed":
    real_replace = os.replace
    def replace(src, dst):
        real_replace(src, dst)
        if os.path.basename(str(dst)) == "last.pt":
            calls[0] += 1
            if calls[0] == n:
                die()
    os.replace = replace  # the one os module every writer uses
pt.pretrain(method, "synthetic-xsub", "quick", epochs=2, out=out, data_root=root, max_steps=2, save_every=1,
            resume=mode == "resume", knn_every=0)
"""


def run_driver(mode: str, n: int, out, root, method: str = "skeletonclr") -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", DRIVER, mode, str(n), str(out), str(root), method], cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=600)


def final_state(run) -> dict:
    """Every tensor that must match: the training state (model with key encoder and queues,
    optimiser), and the exported encoder."""
    last = torch.load(run / "last.pt", weights_only=True)
    enc = torch.load(run / "encoder.pt", weights_only=True)["state_dict"]
    tensors = {f"model.{k}": v for k, v in last["model"].items()}
    tensors.update({f"encoder.{k}": v for k, v in enc.items()})
    for i, s in last["optimizer"]["state"].items():
        tensors.update({f"optimizer.{i}.{k}": v for k, v in s.items() if isinstance(v, torch.Tensor)})
    return tensors


@pytest.fixture(scope="module")
def uninterrupted(tiny_root, tmp_path_factory):
    """The reference run of each method, made once."""
    runs = {}

    def get(method: str):
        if method not in runs:
            out = tmp_path_factory.mktemp(f"uninterrupted-{method}")
            done = run_driver("none", 0, out, tiny_root, method)
            assert done.returncode == 0, done.stderr
            assert "ETA" in done.stderr  # progress reaches a pipe
            runs[method] = out
        return runs[method]

    return get


# Steps: 2 epochs x 2 steps, the state written after every step (save_every=1): e1s1, e1 end,
# e2s1, e2 end. Killing at optimiser step 4 resumes from the mid-epoch state e2s1; tearing the
# second write resumes from e1s1; dying after the third rename resumes from e2s1. SkeleMixCLR
# draws its mixing regions from the method's batch generator, which a mid-epoch resume restores.
@pytest.mark.parametrize("method,mode,n", [
    # the default run keeps the torn write (it also resumes mid-epoch, from e1s1); ~25 s each for the others
    pytest.param("skeletonclr", "step", 4, marks=pytest.mark.slow), ("skeletonclr", "write", 2),
    pytest.param("skeletonclr", "renamed", 3, marks=pytest.mark.slow),
    pytest.param("skelemixclr-v1", "step", 2, marks=pytest.mark.slow),  # ~100 s: in the slow set
], ids=["mid-epoch", "during-write", "after-write", "skelemix-mid-epoch"])
def test_sigkill_then_resume_is_bit_identical(method, mode, n, uninterrupted, tiny_root, tmp_path):
    out = tmp_path / "run"
    killed = run_driver(mode, n, out, tiny_root, method)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert (out / "last.pt").is_file() and not (out / "run.json").exists()
    if mode == "write":
        assert list(out.glob(".last.pt.*.tmp"))  # the torn write is there, beside the intact last.pt
    resumed = run_driver("resume", 0, out, tiny_root, method)
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming" in resumed.stderr
    assert not list(out.glob(".*.tmp"))  # the torn temporary file is cleaned up
    reference = uninterrupted(method)
    want, got = final_state(reference), final_state(out)
    assert want.keys() == got.keys() and any(k.startswith("model.queue") for k in want)
    different = [k for k in want if not torch.equal(want[k], got[k])]
    assert not different, f"{len(different)} tensors differ, e.g. {different[:3]}"
    hist = [json.loads((run / "run.json").read_text())["history"] for run in (reference, out)]
    assert hist[0] == hist[1]  # the per-epoch means too, including the partial sums of the cut epoch


def test_unfinished_run_is_not_overwritten_and_restart_moves_it_aside(tiny_root, tmp_path, capsys):
    out = tmp_path / "run"
    args = ["--method", "skeletonclr", "--data-root", str(tiny_root), "--epochs", "1", "--out", str(out)]
    killed = run_driver("step", 2, out, tiny_root)  # dies in epoch 1 after the first state write
    assert killed.returncode == -signal.SIGKILL
    before = (out / "last.pt").read_bytes()
    assert pretrain_main(args) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"error: {out} holds an unfinished run; continue it with --resume, or start afresh with --restart " \
                  "(moves it aside)"
    assert (out / "last.pt").read_bytes() == before
    with pytest.raises(SystemExit):  # --resume and --restart exclude each other
        pretrain_main(args + ["--resume", "--restart"])
    capsys.readouterr()


@pytest.mark.parametrize("content,message", [
    (b"", "is unreadable"),
    (b"\x80\x04garbage", "is unreadable"),
    ("foreign", "belongs to another run: its seed is 1, this run's is 0"),
    ("encoder", "is not a SkeleBench training state"),
])
def test_corrupt_or_foreign_state_is_refused_with_the_way_out(content, message, tiny_root, tmp_path, capsys):
    out = tmp_path / "run"
    if content == "foreign":
        pretrain("skeletonclr", "synthetic-xsub", "quick", epochs=1, out=out, data_root=tiny_root, max_steps=1,
                 seed=1)
        (out / "run.json").unlink()  # looks unfinished
        capsys.readouterr()
    elif content == "encoder":
        out.mkdir()
        torch.save({"format": "skelebench-encoder", "state_dict": {}}, out / "last.pt")
    else:
        out.mkdir()
        (out / "last.pt").write_bytes(content)
    args = ["--method", "skeletonclr", "--data-root", str(tiny_root), "--epochs", "1", "--out", str(out), "--resume"]
    assert pretrain_main(args) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith(f"error: training state {out / 'last.pt'}")
    assert message in err and "--restart, which moves the old run folder aside" in err
    # --restart moves the broken state aside (never deletes it) and trains afresh
    saved = (out / "last.pt").read_bytes()
    assert pretrain("skeletonclr", "synthetic-xsub", "quick", epochs=1, out=out, data_root=tiny_root, max_steps=1,
                    restart=True).is_file()
    aside = list(tmp_path.glob("run.old-*"))
    assert len(aside) == 1 and (aside[0] / "last.pt").read_bytes() == saved


@pytest.mark.parametrize("argv,message", [
    (["--epochs", "0"], "argument --epochs: must be at least 1, got 0"),
    (["--save-every", "-1"], "argument --save-every: must be at least 0, got -1"),
    (["--seed", "x"], "argument --seed: 'x' is not an integer"),
])
def test_numeric_options_are_checked_at_parse_time(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        pretrain_main(["--method", "skeletonclr"] + argv)
    assert exit_info.value.code == 2 and message in capsys.readouterr().err


def test_online_knn_monitor_is_logged_and_leaves_training_unchanged(tiny_root, tmp_path):
    runs = {}
    for every in (0, 1):
        out = tmp_path / f"knn{every}"
        pretrain("skeletonclr", "synthetic-xsub", "quick", epochs=1, out=out, data_root=tiny_root, max_steps=2,
                 knn_every=every)
        runs[every] = out
    history = json.loads((runs[1] / "run.json").read_text())["history"]
    assert 0 <= history[0]["knn_top1"] <= 100 and 0 <= history[0]["knn20_top1"] <= 100
    assert "knn 1-NN" in (runs[1] / "log.txt").read_text()
    assert "knn_top1" not in json.loads((runs[0] / "run.json").read_text())["history"][0]
    a, b = final_state(runs[0]), final_state(runs[1])
    assert all(torch.equal(a[k], b[k]) for k in a)  # eval-mode features draw no random numbers


def test_seeds_pretrain_one_run_per_seed(monkeypatch, capsys):
    import methods.pretrain as pt

    calls = []
    monkeypatch.setattr(pt, "pretrain", lambda *a, **k: calls.append(a[6]) or f"run-{a[6]}/encoder.pt")
    assert pretrain_main(["--method", "skeletonclr", "--seeds", "2,0,1"]) == 0
    assert calls == [2, 0, 1]  # in the order asked, each with its own seed
    assert capsys.readouterr().out.split() == ["encoder", "checkpoint:", "run-2/encoder.pt", "encoder", "checkpoint:",
                                               "run-0/encoder.pt", "encoder", "checkpoint:", "run-1/encoder.pt"]
    with pytest.raises(SystemExit):
        pretrain_main(["--method", "skeletonclr", "--seeds", "0,1", "--out", "somewhere"])
    assert "drop --out" in capsys.readouterr().err


def test_a_run_keeps_its_dropout_masks_on_resume(tiny_root, tmp_path):
    """New runs draw dropout masks from random bits and say so; a state written before the field
    existed drew torch.nn.Dropout's and resumes with them; a conflicting choice is refused."""
    out = tmp_path / "run"
    pretrain("skeletonclr", "synthetic-xsub", "quick", epochs=1, out=out, data_root=tiny_root, max_steps=1,
             knn_every=0)
    assert json.loads((out / "run.json").read_text())["dropout_masks"] == "bits"
    (out / "run.json").unlink()  # an unfinished run of before the field
    state = torch.load(out / "last.pt", weights_only=True)
    del state["meta"]["dropout_masks"]
    torch.save(state, out / "last.pt")
    def resume(**masks):
        return pretrain("skeletonclr", "synthetic-xsub", "quick", epochs=2, out=out, data_root=tiny_root,
                        max_steps=1, knn_every=0, resume=True, **masks)

    with pytest.raises(ValueError, match="its dropout_masks is 'torch', this run's is 'bits'"):
        resume(dropout_masks="bits")
    resume()
    assert json.loads((out / "run.json").read_text())["dropout_masks"] == "torch"


@pytest.mark.slow  # ~29 s; the device views are checked against the loader views in test_augment_batch
def test_views_drawn_on_the_device_train_and_resume_exactly(tiny_root, tmp_path):
    """--augment device (the default on a GPU) on this CPU: the run says so, and one epoch then a
    resume to two ends with the weights of two epochs in one go (the views are a function of the
    step's position, not of a generator state)."""
    def run(out, epochs, **kw):
        return pretrain("aimclr", "synthetic-xsub", "quick", epochs=epochs, out=out, data_root=tiny_root,
                        max_steps=2, knn_every=0, augment="device", **kw)

    run(tmp_path / "whole", 2)
    run(tmp_path / "cut", 1)
    (tmp_path / "cut" / "run.json").unlink()
    run(tmp_path / "cut", 2, resume=True)
    record = json.loads((tmp_path / "whole" / "run.json").read_text())
    assert record["augment"] == "device" and all(np.isfinite(h["loss"]) for h in record["history"])
    a, b = final_state(tmp_path / "whole"), final_state(tmp_path / "cut")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    with pytest.raises(ValueError, match="its augment is 'device', this run's is 'loader'"):
        pretrain("aimclr", "synthetic-xsub", "quick", epochs=3, out=tmp_path / "cut", data_root=tiny_root,
                 max_steps=2, knn_every=0, resume=True, augment="loader")
