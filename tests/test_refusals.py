"""Every case of issue 10's table through the protocol's command line: the exit code, the one-line
message, and no result record for a refused run (the pretraining cases are in test_resume.py)."""

from __future__ import annotations

import json
import os
import pickle
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from datasets import synthetic
from datasets.store import sha256_file
from methods.zoo import zoo_entry
from protocols import linear
from utils.paths import REPO_ROOT

NAME = f"synthetic-xsub-f50-v{synthetic.GENERATOR_VERSION}"


def refused(argv: list[str], records: Path, capsys) -> str:
    """Run the linear protocol expecting a refusal; return its one line of error."""
    try:
        code = linear.main(argv + ["--results-dir", str(records)])
    except SystemExit as exit_info:  # argparse refuses before anything runs
        code = exit_info.code
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert len(err) == 1 and err[0].startswith("error: "), err
    assert not records.exists() or not any(records.iterdir())  # no record for a refused run
    return err[0]


@pytest.fixture
def root(tiny_root: Path, tmp_path: Path) -> Path:
    """A private copy of the tiny 50-frame benchmark, to damage."""
    shutil.copytree(tiny_root / NAME, tmp_path / "data" / NAME)
    return tmp_path / "data"


def reseal(folder: Path, name: str) -> None:
    """Rewrite the manifest's checksum of ``name``, as someone editing the files would, so only a
    check of the content itself can catch the damage."""
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["sha256"][name] = sha256_file(folder / name)
    (folder / "manifest.json").write_text(json.dumps(manifest))


def test_nan_in_the_data_is_refused(root, tmp_path, capsys):
    folder = root / NAME
    data = np.load(folder / "train_data.npy", mmap_mode="r+")
    data[7, 0, 3, 5, 0] = np.nan
    data.flush()
    del data
    argv = ["--method", "skeletonclr", "--checkpoint", "random", "--data-root", str(root), "--epochs", "1"]
    line = refused(argv, tmp_path / "rec", capsys)
    assert "train_data.npy does not match its checksum" in line and f"delete {folder}" in line
    reseal(folder, "train_data.npy")
    line = refused(argv, tmp_path / "rec", capsys)
    assert "train_data.npy holds non-finite values (NaN or inf), first in sample 7" in line


def test_crafted_label_pickle_cannot_run_code(root, tmp_path, capsys):
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return os.system, (f"touch {marker}",)

    folder = root / NAME
    (folder / "train_label.pkl").write_bytes(pickle.dumps(Evil()))
    reseal(folder, "train_label.pkl")
    line = refused(["--method", "skeletonclr", "--checkpoint", "random", "--data-root", str(root), "--epochs", "1"],
                   tmp_path / "rec", capsys)
    assert "train_label.pkl holds objects beyond its format" in line and "system" in line
    assert not marker.exists()


def test_checkpoint_of_another_method_is_refused_unless_allowed(tiny_root, tmp_path, capsys):
    zoo = zoo_entry("skelemixclr", "synthetic-xsub", "joint")
    argv = ["--method", "skeletonclr", "--checkpoint", str(zoo), "--data-root", str(tiny_root), "--epochs", "1"]
    line = refused(argv, tmp_path / "rec", capsys)
    assert line == (f"error: checkpoint {zoo} does not match --method: it records method skelemixclr (--method wants "
                    "skeletonclr), frames 64 (--method wants 50), graph agcn (--method wants stgcn_spatial), head "
                    "mlp_bn (--method wants mlp); pass the method it was trained with, or --allow-mismatch to evaluate "
                    "it anyway (recorded)")
    assert linear.main(argv + ["--allow-mismatch", "--json", "--results-dir", str(tmp_path / "rec")]) == 0
    record = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert record["mismatch"] == {"method": ["skelemixclr", "skeletonclr"], "frames": [64, 50],
                                  "graph": ["agcn", "stgcn_spatial"], "head": ["mlp_bn", "mlp"]}


@pytest.mark.parametrize("argv,message", [
    (["--checkpoint", "EMPTY"], "is empty (0 bytes)"),
    (["--epochs", "0"], "error: argument --epochs: must be at least 1, got 0 (see python -m protocols.linear --help)"),
    (["--seed", "-3"], "argument --seed: a seed must be 0 to 4294967295, got -3"),
    (["--device", "tpu"], "unknown device 'tpu'"),
])
def test_bad_options_get_one_line(argv, message, tmp_path, capsys):
    empty = tmp_path / "empty.pt"
    empty.touch()
    argv = [str(empty) if a == "EMPTY" else a for a in argv]
    assert message in refused(["--method", "skeletonclr"] + argv, tmp_path / "rec", capsys)


def test_mistyped_synthetic_data_root_generates_nothing(tmp_path, capsys):
    typo = tmp_path / "dta"
    line = refused(["--method", "skeletonclr", "--checkpoint", "random", "--data-root", str(typo)], tmp_path / "rec",
                   capsys)
    assert f"--data-root {typo} does not exist" in line
    assert not typo.exists()


@pytest.mark.slow  # a subprocess linear run (~25 s); tests/test_resume.py checks the ETA reaches a pipe in the default run
def test_progress_with_eta_reaches_a_pipe(tiny_root, tmp_path):
    """Output to a pipe (CI, nohup, a notebook) still shows each long step with its ETA."""
    env = {**os.environ, "SKELEBENCH_PROGRESS_INTERVAL": "0", "SKELEBENCH_CACHE": str(tmp_path / "cache")}
    done = subprocess.run([sys.executable, "-m", "protocols.linear", "--method", "skeletonclr", "--checkpoint", "random",
                           "--data-root", str(tiny_root), "--epochs", "3", "--results-dir", str(tmp_path)],
                          cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    lines = done.stderr.splitlines()
    for step in ("features train", "features val", "linear classifier"):
        assert any(line.startswith(f"{step}:") and "ETA" in line for line in lines), step
    assert "\r" not in done.stderr  # lines, not a terminal's in-place redraws
    assert done.stdout.startswith("linear skeletonclr synthetic-xsub joint: top1")
