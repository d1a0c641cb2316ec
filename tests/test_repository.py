"""The repository holds code, small data and the zoo: a clone stays small enough for a laptop and
for the GPU machine's 64 MiB copy limit. Artefacts (logits, caches, datasets) are regenerable
results and stay out of git."""

from __future__ import annotations

import subprocess

import pytest

from utils.paths import REPO_ROOT

#: The largest tracked file allowed outside the zoo (whose weights make the fresh-machine promise).
MAX_BYTES = 1_000_000
ZOO = "methods/zoo/"


def tracked_files() -> list[str]:
    try:
        done = subprocess.run(["git", "ls-files", "-z"], cwd=REPO_ROOT, capture_output=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout")
    return [name for name in done.stdout.decode().split("\0") if name]


def test_no_tracked_file_over_a_megabyte_outside_the_zoo() -> None:
    big = {name: (REPO_ROOT / name).stat().st_size for name in tracked_files()
           if not name.startswith(ZOO) and (REPO_ROOT / name).is_file()}
    big = {name: size for name, size in big.items() if size > MAX_BYTES}
    assert not big, f"tracked files over {MAX_BYTES:,} bytes outside {ZOO}: {big}; keep results out of git"


def test_no_logits_cache_or_dataset_is_tracked() -> None:
    names = tracked_files()
    assert not [n for n in names if n.endswith(".logits.npz")], "logits are results: git rm --cached them"
    assert not [n for n in names if n.startswith(".cache/")]


def test_a_record_whose_logits_are_not_here_says_how_to_remake_them(tmp_path) -> None:
    from results import read_logits

    record = {"_path": str(tmp_path / "r.json"), "logits": "r.logits.npz",
              "command": "python -m protocols.linear --method skeletonclr"}
    with pytest.raises(FileNotFoundError, match="re-run the record's command.*protocols.linear --method skeletonclr"):
        read_logits(record)


#: The longest a function of the suite may be (tests and scripts aside): past it, a function is
#: doing several things that want names of their own.
MAX_FUNCTION_LINES = 80


def test_no_function_of_the_suite_is_over_80_lines() -> None:
    import ast

    long = []
    for name in tracked_files():
        if not name.endswith(".py") or name.startswith(("tests/", "scripts/")):
            continue
        for node in ast.walk(ast.parse((REPO_ROOT / name).read_text(), name)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                lines = node.end_lineno - node.lineno + 1
                if lines > MAX_FUNCTION_LINES:
                    long.append(f"{name}:{node.lineno} {node.name} ({lines} lines)")
    assert long == []
