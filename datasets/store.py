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
from utils.files import check_room

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


def read_label_pkl(path: Path, hint: str = "re-run datasets.prepare") -> tuple[list[str], np.ndarray]:
    """Read an ST-GCN label pickle ``(names, labels)`` as data only (:mod:`datasets.safe_pickle`);
    a clear error naming the file and ``hint`` (the way out) for anything else, a label that is not
    a whole number included (``int64`` would silently truncate 0.5 to 0)."""
    try:
        obj = safe_load(path, "label file")
    except FileNotFoundError:
        raise FileNotFoundError(f"label file {path} does not exist") from None
    except (pickle.UnpicklingError, EOFError) as err:
        raise ValueError(f"label file {path} is not a readable pickle ({err}); {hint}") from None
    pair = isinstance(obj, (tuple, list)) and len(obj) == 2 and all(hasattr(x, "__len__") for x in obj)
    if not (pair and len(obj[0]) == len(obj[1])):
        raise ValueError(f"label file {path} must hold the pair (sample_names, labels) of equal length; {hint}")
    return [str(n) for n in obj[0]], _whole_labels(obj[1], path, hint)


def _whole_labels(raw: object, path: Path, hint: str) -> np.ndarray:
    """``raw`` as int64 if every entry is a whole number (ints, or floats such as 3.0); else a ValueError
    naming the first other entry."""
    try:
        values = np.asarray(raw)
    except (TypeError, ValueError):
        values = np.asarray(list(raw), dtype=object)
    if values.ndim == 1 and values.dtype.kind in "iu":
        return values.astype(np.int64)
    if values.ndim == 1 and values.dtype.kind == "f" and np.isfinite(values).all() and (values % 1 == 0).all():
        return values.astype(np.int64)
    for i, x in enumerate(values.reshape(-1) if values.ndim else [values.item()]):
        whole = isinstance(x, (int, np.integer)) and not isinstance(x, (bool, np.bool_))
        if not whole and not (isinstance(x, (float, np.floating)) and np.isfinite(x) and float(x).is_integer()):
            raise ValueError(f"label file {path} holds {x!r} as the label of sample {i}, not an integer; {hint}")
    raise ValueError(f"label file {path} holds labels of shape {values.shape}, not one per sample; {hint}")


def check_labels(path: Path, labels: np.ndarray, manifest: dict, hint: str) -> None:
    """Refuse a label outside ``0 .. num_classes - 1`` (the manifest's count, where it has one): a training
    loss would stop on it with an index error deep inside torch, or worse, count it as another class."""
    classes = manifest.get("num_classes")
    high = int(classes) if isinstance(classes, int) and classes > 0 else None
    bad = np.flatnonzero((labels < 0) | (labels >= high if high is not None else False))
    if bad.size:
        i = int(bad[0])
        allowed = f"0..{high - 1} (num_classes {high} in its manifest)" if high is not None else "≥ 0"
        raise ValueError(f"label file {path}: label {int(labels[i])} of sample {i} is outside {allowed}; {hint}")


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
        """A memory-mapped array for ``part``, after checking the disk has room for all of it: the
        file is sparse until written, and a write into a mapped page of a full disk kills the
        process with SIGBUS instead of raising an error."""
        need = 4 * num_samples * int(np.prod(self._shape(frames))) + (64 << 20)  # and the labels, manifest
        check_room(self.tmp, need, f"{part}_data.npy of {self.target.name}")
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


def remake_hint(folder: Path | str, manifest: dict | None = None) -> str:
    """The way out for a damaged or stale benchmark folder: the command that writes it again, as far
    as its manifest can tell (generated data is simply deleted and regenerated on next use)."""
    folder = Path(folder)
    manifest = manifest or {}
    if manifest.get("format") == "generated":
        return f"delete {folder} and it is generated again on next use"
    if manifest.get("dataset") and manifest.get("format"):
        return (f"prepare it again with `python -m datasets.prepare {manifest['dataset']} --format "
                f"{manifest['format']} --input ... --frames {manifest.get('frames', 50)} --out {folder.parent}`")
    return (f"prepare it again with `python -m datasets.prepare ... --out {folder.parent}`, or for synthetic "
            f"data delete {folder} so it is regenerated")


def read_manifest(folder: Path) -> dict:
    """The manifest of a benchmark folder; a ValueError naming the file and the way out if it is not a
    JSON object (a truncated copy, a hand edit)."""
    folder = Path(folder)
    path = folder / MANIFEST
    try:
        manifest = json.loads(path.read_text())
    except ValueError as err:  # JSONDecodeError and UnicodeDecodeError both are
        raise ValueError(f"{path} is not valid JSON ({err}); {remake_hint(folder)}") from None
    if not isinstance(manifest, dict):
        kind = type(manifest).__name__
        raise ValueError(f"{path} holds a JSON {kind}, not the manifest object; {remake_hint(folder)}")
    return manifest


def open_array(path: Path, hint: str) -> np.ndarray:
    """Memory-map a stored ``.npy``; a ValueError naming it and ``hint`` (the way out) if it is not one —
    numpy says ``EOFError`` for an empty or cut header."""
    try:
        data = np.load(path, mmap_mode="r")
    except (ValueError, EOFError) as err:
        raise ValueError(f"{path} is not a valid .npy array ({err or type(err).__name__}); {hint}") from None
    if not isinstance(data, np.ndarray) or data.ndim == 0:
        raise ValueError(f"{path} holds a scalar, not an array of samples; {hint}")
    return data


def check_part_array(path: Path, data: np.ndarray, manifest: dict, part: str, hint: str) -> None:
    """Refuse a ``<part>_data.npy`` that is not float32 of the shape its manifest describes: the sample
    count (``counts``), the frames (``frames``, also in the benchmark's name) and the layout's channels,
    joints and persons. A checksum rewritten over other arrays would otherwise be trained on."""
    lay = benchmark_layout(manifest)
    if data.dtype != np.dtype(np.float32):
        raise ValueError(f"{path} holds {data.dtype} values; a benchmark stores float32 {lay.shape_text()}; {hint}")
    try:
        check_layout(data, str(path), lay)
    except ValueError as err:
        raise ValueError(f"{err}; {hint}") from None
    wanted = {0: ((manifest.get("counts") or {}).get(part), "samples"), 2: (manifest.get("frames"), "frames")}
    wrong = [f"{data.shape[axis]} {what} where its manifest says {n}"
             for axis, (n, what) in wanted.items() if isinstance(n, int) and data.shape[axis] != n]
    if wrong:
        raise ValueError(f"{path} has shape {tuple(data.shape)}: {', '.join(wrong)}; {hint}")


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
    manifest = read_manifest(folder) if is_complete(folder) else {}
    hint = remake_hint(folder, manifest)
    data = open_array(data_path, hint)
    check_part_array(data_path, data, manifest, part, hint)
    label_path = folder / f"{part}_label.pkl"
    names, labels = read_label_pkl(label_path, hint)
    check_labels(label_path, labels, manifest, hint)
    if len(labels) != data.shape[0]:
        raise ValueError(f"{data_path} holds {data.shape[0]} samples but its label file has {len(labels)}; {hint}")
    return Split(data=data, names=names, labels=labels)
