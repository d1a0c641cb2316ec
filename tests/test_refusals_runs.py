"""Issue 24's pretraining cases: a run's identity includes its data, a run folder is locked while
a process writes into it, ``--resume`` needs a run to resume, a checkpoint must be a regular file,
seeds fit every generator, and a full disk ends in one line that says how to go on."""

from __future__ import annotations

import errno
import io
import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from datasets import synthetic
from datasets.integrity import fingerprint
from datasets.store import read_manifest
from methods import get_method
from methods.checkpoint import load_checkpoint
from methods.pretrain import build_parser, pretrain
from methods.pretrain import main as pretrain_main
from methods.train.config import resolve_preset
from methods.train.folder import run_name
from methods.training_state import load_training_state
from protocols import linear
from utils.paths import cache_dir

NAME = f"synthetic-xsub-f50-v{synthetic.GENERATOR_VERSION}"
#: One epoch of SkeletonCLR on the tiny data, without the online KNN monitor.
BASE = ["--method", "skeletonclr", "--epochs", "1", "--knn-every", "0"]


@pytest.fixture(scope="module")
def other_root(tmp_path_factory) -> Path:
    """Another tiny benchmark of the same id: 20 classes instead of 24 (other files, other fingerprint)."""
    root = tmp_path_factory.mktemp("other-data")
    synthetic.build_benchmark("xsub", 50, root / NAME, subjects=4, classes=20)
    return root


def data_fp(root: Path) -> str:
    return fingerprint(read_manifest(root / NAME))


def quick_run(out: Path | None, root: Path, **kw) -> Path:
    """A one-step pretraining (seconds)."""
    return pretrain("skeletonclr", "synthetic-xsub", "quick", epochs=1, out=out, data_root=root, max_steps=1,
                    knn_every=0, **kw)


def refused(argv: list[str], capsys) -> str:
    """Run ``methods.pretrain`` expecting a refusal; its one line of error."""
    try:
        code = pretrain_main(argv)
    except SystemExit as exit_info:
        code = exit_info.code
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2, err
    # one error line, the last (a run that had started leaves its progress lines above it)
    assert err and err[-1].startswith("error: ") and not any("error" in line for line in err[:-1]), err
    assert all(line.startswith("pretrain ") for line in err[:-1]), err
    return err[-1]


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


# --- 1. a run's identity includes its data ---

@pytest.mark.parametrize("resume", [False, True], ids=["plain", "resume"])
def test_a_finished_run_in_out_is_not_reused_for_other_data(resume, tiny_root, other_root, tmp_path, capsys):
    out = tmp_path / "run"
    quick_run(out, tiny_root)
    capsys.readouterr()
    before = snapshot(out)
    err = refused(BASE + ["--data-root", str(other_root), "--out", str(out)] + (["--resume"] if resume else []),
                  capsys)
    assert str(out) in err and data_fp(tiny_root)[:12] in err and data_fp(other_root)[:12] in err
    assert "other data" in err and "--restart" in err and "another --out" in err
    assert snapshot(out) == before


def test_an_unfinished_run_is_not_continued_on_other_data(tiny_root, other_root, tmp_path, capsys):
    out = tmp_path / "run"
    quick_run(out, tiny_root)
    (out / "run.json").unlink()  # looks interrupted
    capsys.readouterr()
    before = snapshot(out)
    err = refused(BASE + ["--data-root", str(other_root), "--out", str(out), "--resume"], capsys)
    assert "other data" in err and data_fp(tiny_root)[:12] in err and data_fp(other_root)[:12] in err
    assert "--restart" in err and "another --out" in err
    assert snapshot(out) == before


def test_the_default_run_folder_is_per_data(tiny_root, other_root, capsys):
    """What the protocols use when they pretrain (resolve_encoder passes out=None): other data get
    their own run, never the encoder of the first data."""
    first = quick_run(None, tiny_root, seed=7, resume=True)
    second = quick_run(None, other_root, seed=7, resume=True)
    assert first != second
    assert json.loads((second.parent / "run.json").read_text())["data_fingerprint"] == data_fp(other_root)
    assert json.loads((first.parent / "run.json").read_text())["data_fingerprint"] == data_fp(tiny_root)
    assert data_fp(other_root)[:12] in second.parent.name
    assert "own run folder" in capsys.readouterr().err  # says why it did not reuse the first


def test_a_run_in_the_default_folder_of_before_is_still_reused_for_its_own_data(tiny_root):
    """Runs made before the data were part of the default folder's name are found again
    (non-regression: passes before and after)."""
    preset = resolve_preset(get_method("skeletonclr"), "quick", 1)
    made = quick_run(cache_dir("runs") / run_name("skeletonclr", "synthetic-xsub", "joint", preset, 8), tiny_root, seed=8)
    mtime = made.stat().st_mtime_ns
    again = quick_run(None, tiny_root, seed=8)
    assert again == made and again.stat().st_mtime_ns == mtime


# --- 2. a run folder is locked ---

def test_a_second_process_into_a_locked_run_folder_is_refused(tiny_root, tmp_path, capsys):
    out = tmp_path / "run"
    out.mkdir()
    script = (f"import fcntl, os, sys, time; f = open({str(out / '.lock')!r}, 'a+'); fcntl.flock(f, fcntl.LOCK_EX); "
              "f.truncate(0); f.write(str(os.getpid())); f.flush(); print('locked', flush=True); time.sleep(120)")
    holder = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        err = refused(BASE + ["--data-root", str(tiny_root), "--out", str(out)], capsys)
        assert f"pid {holder.pid}" in err and str(out) in err
        assert sorted(p.name for p in out.iterdir()) == [".lock"]  # nothing written beside the holder's lock
    finally:
        holder.kill()
        holder.wait()
    # the holder died: its lock went with it, and the folder is free again
    quick_run(out, tiny_root)
    assert (out / "run.json").is_file() and not (out / ".lock").exists()


def test_out_that_is_a_file_is_refused(tiny_root, tmp_path, capsys):
    out = tmp_path / "afile"
    out.write_text("x")
    err = refused(BASE + ["--data-root", str(tiny_root), "--out", str(out)], capsys)
    assert str(out) in err and "not a folder" in err
    assert out.read_text() == "x"


# --- 3. --resume needs a run ---

@pytest.mark.parametrize("exists", [True, False], ids=["empty-folder", "no-folder"])
def test_resume_of_a_folder_without_a_run_is_refused(exists, tiny_root, tmp_path, capsys):
    out = tmp_path / "emptyrun"
    if exists:
        out.mkdir()
    err = refused(BASE + ["--data-root", str(tiny_root), "--out", str(out), "--resume"], capsys)
    assert str(out) in err and "nothing to resume" in err and "drop --resume" in err
    assert out.exists() == exists and (not exists or not any(out.iterdir()))


def test_the_protocols_implicit_resume_still_starts_a_new_run(tiny_root, tmp_path):
    """``resume=True`` from code (the protocols' "continue if interrupted") on an empty folder trains
    (non-regression: passes before and after)."""
    out = tmp_path / "fresh"
    assert quick_run(out, tiny_root, resume=True).is_file()


# --- 4. a checkpoint must be a regular file ---

@pytest.fixture
def alarm():
    """Fail instead of hanging: a FIFO opened for reading blocks until a writer comes."""
    def ring(*_):
        raise TimeoutError("hung on the checkpoint")
    previous = signal.signal(signal.SIGALRM, ring)
    signal.alarm(30)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


def test_a_folder_as_checkpoint_says_so(tmp_path):
    folder = tmp_path / "somedir"
    folder.mkdir()
    with pytest.raises(ValueError, match="somedir is a folder, not a checkpoint file"):
        load_checkpoint(folder)
    (folder / "encoder.pt").write_bytes(b"x")
    with pytest.raises(ValueError, match="e.g. .*somedir/encoder.pt"):
        load_checkpoint(folder)


def test_a_fifo_as_checkpoint_is_refused_without_hanging(tiny_root, tmp_path, capsys, alarm):
    fifo = tmp_path / "fifo.pt"
    os.mkfifo(fifo)
    argv = ["--method", "skeletonclr", "--checkpoint", str(fifo), "--data-root", str(tiny_root), "--epochs", "1",
            "--results-dir", str(tmp_path / "records")]
    assert linear.main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"error: checkpoint {fifo} is not a regular file"), err


# --- 5. seeds every generator takes ---

@pytest.mark.parametrize("parser", ["pretrain", "linear"])
@pytest.mark.parametrize("option,value", [("--seed", "99999999999999999999999"), ("--seed", "4294967296"),
                                          ("--seeds", "0,4294967296")])
def test_a_seed_out_of_range_is_refused_by_the_parser(parser, option, value, capsys):
    build = build_parser if parser == "pretrain" else linear.build_parser
    with pytest.raises(SystemExit) as exit_info:
        build().parse_args(["--method", "skeletonclr", option, value])
    err = capsys.readouterr().err.strip().splitlines()
    assert exit_info.value.code == 2 and len(err) == 1
    assert f"argument {option}" in err[0] and "0 to 4294967295" in err[0]
    assert build().parse_args(["--method", "skeletonclr", "--seed", "4294967295"]).seed == 2**32 - 1


# --- 6. a full disk ---

def test_too_little_free_space_is_refused_before_training(tiny_root, tmp_path, capsys, monkeypatch):
    out = tmp_path / "fullrun" / "run"
    real = shutil.disk_usage
    monkeypatch.setattr(shutil, "disk_usage", lambda p: real(p)._replace(free=200_000))
    err = refused(BASE + ["--data-root", str(tiny_root), "--out", str(out)], capsys)
    assert "the disk of" in err and str(out) in err and "is full" in err and "MB" in err
    assert not out.exists()


class FullDisk(io.RawIOBase):
    """A file that takes ``room`` bytes, then fails as a full disk does."""

    def __init__(self, f, room: int) -> None:
        self.f, self.room = f, room

    def writable(self) -> bool:
        return True

    def write(self, b) -> int:
        if len(b) > self.room:
            raise OSError(errno.ENOSPC, "No space left on device")
        self.room -= len(b)
        return self.f.write(b)

    def fileno(self) -> int:
        return self.f.fileno()

    def flush(self) -> None:
        self.f.flush()

    def close(self) -> None:
        super().close()  # (flushes through flush() first)
        self.f.close()


@pytest.mark.parametrize("failing_write", [1, 2], ids=["first-state", "second-state"])
def test_a_disk_that_fills_up_during_the_run_ends_in_one_line(failing_write, tiny_root, tmp_path, capsys,
                                                              monkeypatch):
    out = tmp_path / "run"
    real, writes = os.fdopen, [0]

    def fdopen(fd, *args, **kwargs):
        f = real(fd, *args, **kwargs)
        name = os.readlink(f"/proc/self/fd/{fd}")
        if name.startswith(str(out)) and ".last.pt." in name:
            writes[0] += 1
            if writes[0] == failing_write:
                return FullDisk(f, 1000)
        return f

    monkeypatch.setattr(os, "fdopen", fdopen)
    # --save-every 1: the training state is written after every step
    err = refused(BASE + ["--data-root", str(tiny_root), "--out", str(out), "--save-every", "1"], capsys)
    assert err.startswith(f"error: the disk of {out} is full") and "MB" in err
    assert not list(out.glob(".*.tmp")) and not (out / "run.json").exists() and not (out / ".lock").exists()
    if failing_write == 1:
        assert "run again (nothing was saved yet)" in err and not (out / "last.pt").exists()
    else:  # the state of step 1 is whole, and the run resumes from it
        assert f"continue the run with --resume (its last saved state, {out / 'last.pt'}, is whole)" in err
        assert tuple(load_training_state(out / "last.pt")["position"]) == (1, 1)


def test_a_full_disk_only_skips_the_feature_cache(tiny_root, monkeypatch, capsys):
    import torch

    from datasets.store import load_split
    from methods.base import build_backbone
    from protocols import feature_cache as features

    split = load_split(tiny_root / NAME, "val")
    torch.manual_seed(0)
    encoder = build_backbone(get_method("skeletonclr").default_config).eval()

    def full(file, arr, *a, **k):
        file.write(b"\x93NUMPY partial")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(np, "save", full)
    feats, hit = features.cached_features(encoder, tiny_root / NAME, "val", split, "joint", torch.device("cpu"))
    assert feats.shape[0] == len(split) and not hit
    err = capsys.readouterr().err.strip().splitlines()
    warn = [line for line in err if line.startswith("warning: ")]
    assert len(warn) == 1 and "full" in warn[0] and str(cache_dir("features")) in warn[0]
    assert not [p for p in cache_dir("features").iterdir() if p.name.startswith(".")]  # no temporary file left
