"""On-disk benchmark folders: the arrays every loader produces and every feeder reads.

A benchmark ``DIR/<id>/`` holds, as ST-GCN writes them (data.md §2–3), so the files also
work with the official code:

* ``train_data.npy`` / ``val_data.npy``: float32 ``(N, C, T, V, M)``, memory-mapped on read —
  ``(N, 3, T, 25, 2)`` for NTU's layout, the shape of the manifest's ``layout`` otherwise
  (:mod:`datasets.layouts`; a manifest without the key is ``ntu25``, as every folder written before);
* ``train_label.pkl`` / ``val_label.pkl``: the pickled pair ``(sample_names, labels)``;
* ``manifest.json``: source, format, split rule, body selection, frames, counts, checksums.

A folder is written under a temporary name and renamed into place when complete, so an
interrupted run never leaves a benchmark that looks finished.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import shutil
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from datasets.layouts import Layout, get_layout
from datasets.safe_pickle import safe_load
from datasets.skeleton import check_layout

PARTS = ("train", "val")
MANIFEST = "manifest.json"


@dataclass(frozen=True)
class Split:
    """One part of a benchmark: memory-mapped data with its sample names and labels."""

    data: np.ndarray
    names: list[str]
    labels: np.ndarray

    def __len__(self) -> int:
        return len(self.labels)


def sha256_file(path: Path, chunk: int = 1 << 22, on_block: Callable[[int], object] | None = None) -> str:
    """Hex SHA-256 of a file read in chunks; ``on_block(nbytes)`` after each (a progress bar's update)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
            if on_block is not None:
                on_block(len(block))
    return h.hexdigest()


def write_label_pkl(path: Path, names: Sequence[str], labels: Sequence[int]) -> None:
    with open(path, "wb") as f:
        pickle.dump((list(names), [int(x) for x in labels]), f)


def read_label_pkl(path: Path) -> tuple[list[str], np.ndarray]:
    """Read an ST-GCN label pickle ``(names, labels)`` as data only (:mod:`datasets.safe_pickle`);
    a clear error for anything else."""
    try:
        obj = safe_load(path, "label file")
    except FileNotFoundError:
        raise FileNotFoundError(f"label file {path} does not exist") from None
    except (pickle.UnpicklingError, EOFError) as err:
        raise ValueError(f"label file {path} is not a readable pickle ({err}); re-run datasets.prepare") from None
    if not (isinstance(obj, (tuple, list)) and len(obj) == 2 and len(obj[0]) == len(obj[1])):
        raise ValueError(f"label file {path} must hold the pair (sample_names, labels) of equal length")
    return [str(n) for n in obj[0]], np.asarray(obj[1], dtype=np.int64)


@dataclass
class BenchmarkWriter:
    """Write a benchmark folder atomically: fill parts, then :meth:`commit`.

    ``open_part`` returns a writable memmap so large datasets stream to disk instead of
    being held in memory.
    """

    target: Path
    layout: str = "ntu25"

    def __post_init__(self) -> None:
        self.target = Path(self.target)
        self.layout = get_layout(self.layout).name
        self.target.parent.mkdir(parents=True, exist_ok=True)
        self.tmp = Path(tempfile.mkdtemp(prefix=f".{self.target.name}.partial-", dir=self.target.parent))
        self.counts: dict[str, int] = {}

    def open_part(self, part: str, num_samples: int, frames: int) -> np.ndarray:
        return np.lib.format.open_memmap(
            self.tmp / f"{part}_data.npy", mode="w+", dtype=np.float32, shape=(num_samples, *self._shape(frames))
        )

    def _shape(self, frames: int) -> tuple[int, int, int, int]:
        lay = get_layout(self.layout)
        return lay.num_channels, frames, lay.num_joints, lay.num_persons

    def write_part(self, part: str, data: np.ndarray | None, names: Sequence[str], labels: Sequence[int]) -> None:
        """Store labels (and ``data`` if it was not streamed through :meth:`open_part`)."""
        if data is not None:
            check_layout(data, f"{part} data", self.layout)
            np.save(self.tmp / f"{part}_data.npy", np.asarray(data, dtype=np.float32))
        write_label_pkl(self.tmp / f"{part}_label.pkl", names, labels)
        self.counts[part] = len(labels)

    def commit(self, manifest: dict) -> Path:
        manifest = dict(manifest)
        manifest["layout"] = self.layout
        manifest["counts"] = self.counts
        manifest["sha256"] = {p.name: sha256_file(p) for p in sorted(self.tmp.iterdir()) if p.is_file()}
        (self.tmp / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
        if self.target.exists():
            shutil.rmtree(self.target)
        os.replace(self.tmp, self.target)
        return self.target

    def abort(self) -> None:
        shutil.rmtree(self.tmp, ignore_errors=True)


def is_complete(folder: Path) -> bool:
    """A benchmark folder counts as complete only once its manifest exists (written last)."""
    return (Path(folder) / MANIFEST).is_file()


def read_manifest(folder: Path) -> dict:
    return json.loads((Path(folder) / MANIFEST).read_text())


def benchmark_layout(folder: Path | dict) -> Layout:
    """The layout a benchmark folder (or its manifest) holds; ``ntu25`` where the manifest predates layouts."""
    manifest = folder if isinstance(folder, dict) else read_manifest(Path(folder))
    return get_layout(manifest.get("layout"))


def load_split(folder: Path, part: str) -> Split:
    """Memory-map ``<part>_data.npy`` and read ``<part>_label.pkl`` of a benchmark folder."""
    folder = Path(folder)
    if part not in PARTS:
        raise ValueError(f"unknown part {part!r}; choose train or val")
    data_path = folder / f"{part}_data.npy"
    if not data_path.is_file():
        raise FileNotFoundError(
            f"{data_path} does not exist; prepare the benchmark with `python -m datasets.prepare` "
            "or point --data-root at the folder that holds it"
        )
    try:
        data = np.load(data_path, mmap_mode="r")
    except ValueError as err:
        raise ValueError(f"{data_path} is not a valid .npy array ({err})") from None
    layout = benchmark_layout(folder) if is_complete(folder) else get_layout(None)
    check_layout(data, str(data_path), layout)
    names, labels = read_label_pkl(folder / f"{part}_label.pkl")
    if len(labels) != data.shape[0]:
        raise ValueError(f"{data_path} holds {data.shape[0]} samples but its label file has {len(labels)}")
    return Split(data=data, names=names, labels=labels)
