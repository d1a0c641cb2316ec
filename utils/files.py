"""Writing files so that a crash never leaves a torn one, and refusing a write the disk has no
room for before the work that produces it."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO


def atomic_write(path: Path, write: Callable[[IO[bytes]], object]) -> Path:
    """Call ``write`` on a temporary file beside ``path``, fsync it, rename it over ``path`` and
    fsync the folder: a crash at any moment leaves the old file or the new one, whole, never a torn
    one (a rename without the fsyncs can reach the disk before the data does)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)
    return path


def atomic_write_text(path: Path, text: str) -> Path:
    """:func:`atomic_write` of a text file."""
    return atomic_write(path, lambda f: f.write(text.encode()))


def fsync_dir(folder: Path) -> None:
    """Make a rename inside ``folder`` durable (a no-op where directories cannot be opened)."""
    try:
        dfd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dfd)
    except OSError:
        pass
    finally:
        os.close(dfd)


def free_bytes(folder: Path | str) -> int:
    """Free bytes on the disk that holds ``folder`` (or, while it does not exist yet, its nearest
    existing parent)."""
    folder = Path(folder).absolute()
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    return shutil.disk_usage(folder).free


def megabytes(size: int) -> str:
    return f"{size / 1e6:,.1f} MB"


def check_room(folder: Path | str, need: int, what: str) -> None:
    """Refuse, before writing, ``what`` of about ``need`` bytes into ``folder`` when its disk has
    less free: a write that runs out of room fails half-way (or, into a memory-mapped array,
    kills the process with SIGBUS), after the work that produced it."""
    free = free_bytes(folder)
    if free < need:
        raise ValueError(f"the disk of {folder} has {megabytes(free)} free; {what} needs about {megabytes(need)}: "
                         "free space there, or write to a folder on another disk")
