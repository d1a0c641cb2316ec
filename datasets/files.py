"""Input files checked before they are opened.

A FIFO, socket or device that carries a data file's name (``*.skeleton``, ``*.json``, ``*.txt``)
would block ``open`` or ``read`` for ever, so ``datasets.prepare`` would hang with no word. The
readers call :func:`require_regular_file` first; the folder walks use :func:`split_regular` to skip
such entries with a warning.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path


def require_regular_file(path: Path | str, what: str) -> Path:
    """``path`` if it is a regular file (or a link to one); FileNotFoundError if it does not exist,
    ValueError naming it if it is anything else."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{what} {path} does not exist")
    if not path.is_file():
        raise ValueError(f"{path}: not a regular file (a folder, FIFO, socket or device); a {what} must be one")
    return path


def split_regular(paths: Iterable[Path]) -> tuple[list[Path], list[Path]]:
    """``(regular files, everything else)`` of ``paths``, order kept; neither is opened."""
    regular: list[Path] = []
    other: list[Path] = []
    for p in paths:
        (regular if p.is_file() else other).append(p)
    return regular, other
