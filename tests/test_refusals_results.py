"""Writing the result record fails cleanly (issue 24, items 5 and 8): an unwritable or full results
folder is refused before the work, with one ``error:`` line and exit code 2; a failure while
writing after the work is the same one line, and leaves neither an orphan logits file nor a
temporary file behind. The tests run as root (here and in CI), where a chmod stops no write: the
unwritable folder is a path under a regular file, or a probe made to fail."""

from __future__ import annotations

import errno
import json
import shutil
import tempfile
from collections import namedtuple
from pathlib import Path

import numpy as np
import pytest

import results
from protocols import cli, difficulty, ensemble, finetune, knn, linear, robustness, semi, transfer
from results import RECORDS_DIR, write_record

#: Every protocol whose command line ends with a result record, and the options it needs.
PROTOCOLS = [(linear, ["--method", "skeletonclr"]), (knn, ["--method", "skeletonclr"]),
             (semi, ["--method", "skeletonclr"]), (finetune, ["--method", "skeletonclr"]),
             (transfer, ["--method", "skeletonclr"]), (robustness, ["--method", "skeletonclr"]),
             (difficulty, [])]


def template_record() -> dict:
    """A shipped record (so it passes whatever validation the writer does), as a protocol hands it over."""
    path = next(p for p in sorted(RECORDS_DIR.glob("*.json")) if json.loads(p.read_text()).get("logits"))
    record = json.loads(path.read_text())
    for key in ("logits", "_path", "record_path"):
        record.pop(key, None)
    return record


def tiny_logits() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    return {"final": rng.normal(size=(4, 3)).astype(np.float32), "best": rng.normal(size=(4, 3)).astype(np.float32),
            "labels": np.array([0, 1, 2, 0]), "names": np.array(["a", "b", "c", "d"])}


def run_protocol(module, argv: list[str], monkeypatch) -> tuple[int, list[str]]:
    """``module.main(argv)`` with its work replaced by a spy: (exit code, the calls the work got)."""
    calls: list[str] = []
    monkeypatch.setattr(module, "evaluate", lambda args, device: calls.append("work") or {})
    return module.main(argv), calls


def one_error_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: "), err
    return err[0]


@pytest.mark.parametrize("module,argv", PROTOCOLS, ids=lambda x: getattr(x, "__name__", ""))
def test_results_dir_under_a_file_is_refused_before_the_work(module, argv, tmp_path, monkeypatch, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder\n")
    code, calls = run_protocol(module, argv + ["--results-dir", str(blocker / "records")], monkeypatch)
    assert (code, calls) == (2, [])
    line = one_error_line(capsys)
    assert "--results-dir" in line and str(blocker / "records") in line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file"] and blocker.read_text() == "not a folder\n"


def test_results_dir_from_the_environment_is_checked_too(tmp_path, monkeypatch, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("SKELEBENCH_RESULTS", str(blocker / "records"))
    code, calls = run_protocol(linear, ["--method", "skeletonclr"], monkeypatch)
    assert (code, calls) == (2, [])
    line = one_error_line(capsys)
    assert "SKELEBENCH_RESULTS" in line and "--results-dir" in line


def test_unwritable_results_dir_is_refused_before_the_work(tmp_path, monkeypatch, capsys):
    """As root a chmod stops nothing: the probe's file creation is made to fail as a read-only folder fails."""
    def denied(*args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied", str(kwargs.get("dir", "")))

    monkeypatch.setattr(tempfile, "mkstemp", denied)
    code, calls = run_protocol(knn, ["--method", "skeletonclr", "--results-dir", str(tmp_path / "new" / "records")],
                               monkeypatch)
    assert (code, calls) == (2, [])
    line = one_error_line(capsys)
    assert "--results-dir" in line and "Permission denied" in line
    assert not any(tmp_path.iterdir())  # the folders made for the probe are gone again


def test_full_disk_is_refused_before_the_work(tmp_path, monkeypatch, capsys):
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda path: usage(10 ** 9, 10 ** 9 - 4096, 4096))
    code, calls = run_protocol(semi, ["--method", "skeletonclr", "--results-dir", str(tmp_path / "records")],
                               monkeypatch)
    assert (code, calls) == (2, [])
    line = one_error_line(capsys)
    assert f"the disk of {tmp_path / 'records'} is full" in line and "--results-dir" in line
    assert not any(tmp_path.iterdir())


def fail_with_enospc(*args, **kwargs):
    raise OSError(errno.ENOSPC, "No space left on device")


@pytest.mark.parametrize("where", ["savez_compressed", "json.dumps", "first os.replace", "second os.replace"])
def test_a_failed_write_leaves_nothing_behind(where, tmp_path, monkeypatch):
    """Both files or neither: a full disk at any step removes the temporary files and the logits file
    already moved into place, and says the disk is full."""
    if where == "savez_compressed":
        monkeypatch.setattr(results.np, "savez_compressed", fail_with_enospc)
    elif where == "json.dumps":
        monkeypatch.setattr(results.json, "dumps", fail_with_enospc)
    else:
        real, calls = results.os.replace, []

        def replace(src, dst):
            calls.append(dst)
            if len(calls) == (1 if where == "first os.replace" else 2):
                fail_with_enospc()
            return real(src, dst)
        monkeypatch.setattr(results.os, "replace", replace)
    (tmp_path / "older.json").write_text("{}\n")  # what was there stays
    record = template_record()
    with pytest.raises(OSError) as caught:
        write_record(record, tmp_path, tiny_logits())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["older.json"]
    assert caught.value.errno == errno.ENOSPC
    assert f"the disk of {tmp_path} is full (errno ENOSPC)" in str(caught.value)
    assert "logits" not in record  # the caller's record does not name a file that is not there


def test_a_failed_write_after_the_work_is_one_error_line(tmp_path, monkeypatch, capsys):
    """``run_cli`` (every protocol's entry) turns the writer's OSError into one line, exit code 2."""
    monkeypatch.setattr(results.json, "dumps", fail_with_enospc)

    def work(spec, device):
        return write_record(template_record(), spec.results_dir, tiny_logits())

    code = cli.run_cli(linear.build_parser, linear.LinearSpec, work,
                       ["--method", "skeletonclr", "--results-dir", str(tmp_path)])
    assert code == 2
    line = one_error_line(capsys)
    assert f"the disk of {tmp_path} is full (errno ENOSPC)" in line
    assert not any(tmp_path.iterdir())


def test_a_real_protocol_run_on_a_full_disk_ends_with_one_error_line(tiny_root, tmp_path, monkeypatch, capsys):
    """The whole path: the run's work, then ``finish`` fails to save the logits, then one line."""
    monkeypatch.setattr(results.np, "savez_compressed", fail_with_enospc)
    argv = ["--method", "skeletonclr", "--checkpoint", "random", "--data-root", str(tiny_root), "--epochs", "1",
            "--results-dir", str(tmp_path)]
    assert linear.main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()  # progress bars, then the one error line, last
    assert [line for line in err if line.startswith("error: ")] == err[-1:] and "is full (errno ENOSPC)" in err[-1]
    assert not any("Traceback" in line for line in err)
    assert not any(tmp_path.iterdir())


def ensemble_inputs(folder: Path) -> list[str]:
    """Two stream records with logits of one test set, to fuse."""
    paths = []
    for stream in ("joint", "motion"):
        record = {**template_record(), "stream": stream, "protocol": "linear"}
        paths.append(str(write_record(record, folder, tiny_logits())))
    return paths


def test_ensemble_refuses_a_results_dir_under_a_file(tmp_path, capsys):
    inputs = ensemble_inputs(tmp_path / "in")
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    assert ensemble.main(["--method", "skeletonclr", "--records", *inputs, "--results-dir", str(blocker / "x")]) == 2
    line = one_error_line(capsys)
    assert "--results-dir" in line and str(blocker / "x") in line


def test_ensemble_on_a_full_disk_is_one_error_line(tmp_path, monkeypatch, capsys):
    inputs = ensemble_inputs(tmp_path / "in")
    monkeypatch.setattr(results.json, "dumps", fail_with_enospc)
    assert ensemble.main(["--method", "skeletonclr", "--records", *inputs, "--results-dir", str(tmp_path / "out")]) == 2
    assert f"the disk of {tmp_path / 'out'} is full" in one_error_line(capsys)
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())
