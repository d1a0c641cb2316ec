"""Data flows one way, and so do imports: the shared helpers (``utils``) at the bottom, then
datasets, results, methods, protocols and the leaderboard, each importing only the layers below
it, so the import graph between packages has no arrow back up and no cycle (a method must not
know how it is judged; the records must not know how the data are made).

Read from the source with :mod:`ast`, so a lazy import inside a function counts as much as one
at the top of a file.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

#: Each package's layer; a module may import its own layer and the ones below it.
LAYER = {"utils": 0, "datasets": 1, "results": 2, "methods": 3, "protocols": 4, "leaderboard": 5}


def suite_imports(path: Path) -> set[str]:
    """The suite's top-level packages that a source file imports."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        found |= {name.split(".")[0] for name in names} & set(LAYER)
    return found


def upward_imports(package: str) -> list[str]:
    return [f"{path.relative_to(ROOT)} imports {target}"
            for path in sorted((ROOT / package).rglob("*.py"))
            for target in sorted(suite_imports(path)) if LAYER[target] > LAYER[package]]


@pytest.mark.parametrize("package", sorted(LAYER))
def test_no_package_imports_a_layer_above_it(package):
    assert upward_imports(package) == []


def test_the_check_sees_an_upward_import(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("import os\n\ndef f():\n    from protocols.linear import probe_encoder\n    import leaderboard\n")
    assert suite_imports(bad) == {"protocols", "leaderboard"}


#: What the leaderboard's tables, plots and page are built from: records, plain data and the helpers.
LEADERBOARD_READS = ("results", "utils", "datasets.benchmarks", "leaderboard")
#: The one leaderboard command that runs work of the layers below (prepare, pretrain, evaluate a table).
LEADERBOARD_RUNNERS = ("table.py",)


def suite_modules(path: Path) -> set[str]:
    """The suite's modules (dotted names) that a source file imports."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module)
    return {name for name in found if name.split(".")[0] in LAYER}


def test_the_leaderboard_reads_only_records_and_plain_data():
    wrong = [f"{path.name} imports {name}" for path in sorted((ROOT / "leaderboard").glob("*.py"))
             if path.name not in LEADERBOARD_RUNNERS for name in sorted(suite_modules(path))
             if not any(name == ok or name.startswith(ok + ".") for ok in LEADERBOARD_READS)]
    assert wrong == []


def test_the_registry_facts_the_leaderboard_reads_are_the_registrys():
    from leaderboard.registry import REGISTRY_FILE
    from methods.catalog import catalog_text

    assert REGISTRY_FILE.read_text() == catalog_text(), "the registry changed: run python -m methods.catalog"
