"""Pickles read as data, never as code: the label and annotation files of the formats we read.

``pickle.load`` calls whatever importable callable a file names (a crafted ``__reduce__`` runs
``os.system``), and label pickles are downloaded from third parties. The files of our formats
(ST-GCN label pairs, pyskl annotation dicts; data.md §2–4) hold only containers, numbers,
strings, bytes, None and numpy arrays, so :func:`safe_load` resolves exactly the globals that
rebuild those and refuses every other one before anything is called.
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import IO, Any

import numpy as np

#: Globals a file of our formats may name, spelled as Python 3 with numpy 1 writes them;
#: ``__builtin__`` (Python 2) and ``numpy._core`` (numpy 2) spellings map onto these.
ALLOWED = frozenset({
    "builtins.set", "builtins.frozenset", "builtins.bytearray", "builtins.complex",  # protocols < 4
    "collections.OrderedDict",
    "_codecs.encode", "codecs.encode",  # bytes (an array's buffer) under protocols < 3
    "numpy.ndarray", "numpy.dtype",
    "numpy.core.multiarray._reconstruct", "numpy.core.multiarray.scalar",
    "numpy.core.numeric._frombuffer",  # arrays under protocol 5
})
_NUMPY_CORE = "numpy._core" if int(np.__version__.split(".")[0]) >= 2 else "numpy.core"


def _core_as(module: str, core: str) -> str:
    for spelling in ("numpy.core", "numpy._core"):
        if module == spelling or module.startswith(spelling + "."):
            return core + module[len(spelling):]
    return module


class _DataUnpickler(pickle.Unpickler):
    """An unpickler whose ``find_class`` only hands out the :data:`ALLOWED` globals."""

    def __init__(self, file: IO[bytes], source: str) -> None:
        # latin1 lets Python 2 pickles of numpy arrays load (their buffers are py2 str) and
        # leaves Python 3 pickles unchanged.
        super().__init__(file, encoding="latin1")
        self.source = source

    def find_class(self, module: str, name: str) -> Any:
        spelled = _core_as("builtins" if module == "__builtin__" else module, "numpy.core")
        if f"{spelled}.{name}" not in ALLOWED:
            raise ValueError(
                f"{self.source} holds objects beyond its format ({module}.{name}); it will not be loaded"
            )
        return super().find_class(_core_as(spelled, _NUMPY_CORE), name)


def safe_load(file_or_path: Path | str | IO[bytes], what: str) -> Any:
    """Unpickle a data file, refusing any global outside :data:`ALLOWED` with a ValueError.

    ``what`` names the file in errors ("label file", "pyskl annotation file"). Malformed
    pickles raise ``pickle.UnpicklingError`` / ``EOFError`` as ``pickle.load`` does.
    """
    if isinstance(file_or_path, (str, Path)):
        with open(file_or_path, "rb") as f:
            return _DataUnpickler(f, f"{what} {file_or_path}").load()
    return _DataUnpickler(file_or_path, f"{what} {getattr(file_or_path, 'name', '(stream)')}").load()
