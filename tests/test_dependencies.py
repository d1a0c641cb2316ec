"""The declared runtime dependencies are exactly what the suite imports: nothing installed for
nothing (issue 10: 6 GB went to packages no line of the suite used), nothing missing."""

from __future__ import annotations

import ast
import re
import sys
from importlib.metadata import packages_distributions

from utils.paths import REPO_ROOT

RUNTIME_PACKAGES = ("utils", "datasets", "methods", "protocols", "results", "leaderboard")


def imported_modules(folders: tuple[str, ...]) -> set[str]:
    """Top-level names of every module imported anywhere in ``folders`` (absolute imports)."""
    names = set()
    for folder in folders:
        for path in (REPO_ROOT / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if isinstance(node, ast.Import):
                    names.update(alias.name.split(".")[0] for alias in node.names)
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names.add(node.module.split(".")[0])
    return names


def declared(path) -> set[str]:
    """Distribution names of a requirements file (``-r`` lines and comments skipped), normalised."""
    out = set()
    for line in path.read_text().splitlines():
        line = line.split("#")[0].strip()
        if line and not line.startswith("-"):
            out.add(normalise(re.split(r"[<>=!~\[; ]", line)[0]))
    return out


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def third_party(modules: set[str]) -> set[str]:
    """The distributions that provide the non-standard-library, non-suite modules."""
    dists = packages_distributions()
    own = set(RUNTIME_PACKAGES) | {"tests"} | {p.stem for p in (REPO_ROOT / "tests").glob("*.py")}
    found = set()
    for module in modules - set(sys.stdlib_module_names) - own - {"__future__"}:
        assert module in dists, f"{module} is imported but no installed distribution provides it"
        found.update(normalise(d) for d in dists[module])
    return found


def test_every_runtime_requirement_is_imported_and_every_import_declared():
    used = third_party(imported_modules(RUNTIME_PACKAGES))
    want = declared(REPO_ROOT / "requirements.txt")
    assert want - used == set(), "declared in requirements.txt but never imported"
    assert used - want == set(), "imported by the suite but not declared in requirements.txt"


def test_tests_import_only_declared_packages():
    used = third_party(imported_modules(("tests",)))
    want = declared(REPO_ROOT / "requirements.txt") | declared(REPO_ROOT / "requirements-dev.txt")
    assert used - want == set()
