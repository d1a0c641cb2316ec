"""Readers for the preprocessed forms users already hold (data.md §2–5).

Each reader finds the files of every benchmark of a dataset under the input folder(s) and
returns, per benchmark and part, the sample names, labels and a :class:`Source` that yields
float32 ``(3, T, 25, 2)`` arrays one sample at a time (memory-mapped where the format allows,
so an NTU-120 array is never held in RAM).

==========  =====================================================  ===============  ======
format      files (per benchmark folder ``xsub`` / ``xview`` / …)   bodies           T
==========  =====================================================  ===============  ======
stgcn       ``{part}_data.npy`` + ``{part}_label.pkl``             stgcn            300
crossclr    ``{part}_position.npy`` + the ``{part}_label.pkl`` of    stgcn            50/64
            the ST-GCN folder (beside it or under another input)
pyskl       ``ntu60_3danno.pkl`` / ``ntu120_3danno.pkl``           pyskl            ≤ 300
ctrgcn      ``NTU60_CS.npz`` ``NTU60_CV.npz`` ``NTU120_CSub.npz``    ctrgcn           300
            ``NTU120_CSet.npz``
==========  =====================================================  ===============  ======
"""

from __future__ import annotations

import abc
import pickle
import struct
import warnings
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from datasets.ntu import keypoint_to_array
from datasets.safe_pickle import safe_load
from datasets.skeleton import NUM_JOINTS, NUM_PERSONS
from datasets.splits import (
    BENCHMARKS,
    available_samples,
    ntu_in_dataset,
    ntu_is_train,
    parse_ntu_name,
    sample_stem,
    split_ntu,
)
from datasets.store import read_label_pkl

FORMATS = ("raw", "stgcn", "crossclr", "pyskl", "ctrgcn")
#: Body selection that a preprocessed format carries with it.
FORMAT_BODIES = {"stgcn": "stgcn", "crossclr": "stgcn", "pyskl": "pyskl", "ctrgcn": "ctrgcn"}
PARTS = ("train", "val")

#: Benchmark folder names accepted per benchmark (AimCLR-style NTU-120 folders included).
FOLDER_NAMES = {
    "xsub": ("xsub", "xsub120", "xsub60"),
    "xview": ("xview", "xview60"),
    "xset": ("xset", "xset120", "xsetup"),
}
CTRGCN_FILES = {
    ("ntu60", "xsub"): "NTU60_CS.npz",
    ("ntu60", "xview"): "NTU60_CV.npz",
    ("ntu120", "xsub"): "NTU120_CSub.npz",
    ("ntu120", "xset"): "NTU120_CSet.npz",
}


class FormatError(ValueError):
    """The input does not have the layout its format promises."""


# --------------------------------------------------------------------------- sources


class Source(abc.ABC):
    """Random access to the samples of one input; must pickle cheaply to worker processes."""

    @abc.abstractmethod
    def __len__(self) -> int:
        """Number of units (files or array rows)."""

    def describe(self, i: int) -> str:
        """What unit ``i`` is, for error messages."""
        return f"sample {i}"

    @abc.abstractmethod
    def load(self, i: int) -> list[np.ndarray]:
        """The float32 ``(3, T, 25, 2)`` samples of unit ``i`` (one for every array format)."""


@dataclass
class NpySource(Source):
    """Rows of an ``(N, 3, T, 25, 2)`` ``.npy`` array, memory-mapped on first use."""

    path: str
    n: int
    _array: np.ndarray | None = field(default=None, repr=False, compare=False)

    def __getstate__(self) -> dict:
        return {"path": self.path, "n": self.n, "_array": None}

    def array(self) -> np.ndarray:
        if self._array is None:
            self._array = np.load(self.path, mmap_mode="r")
        return self._array

    def __len__(self) -> int:
        return self.n

    def describe(self, i: int) -> str:
        return f"{self.path} sample {i}"

    def load(self, i: int) -> list[np.ndarray]:
        return [np.asarray(self.array()[i], dtype=np.float32)]


@dataclass
class CTRGCNSource(Source):
    """Rows of a CTR-GCN ``x_train``/``x_test`` array ``(N, 300, 150)``, memory-mapped inside
    the ``.npz`` (``np.savez`` stores members uncompressed).

    The CTR-GCN feeder's ``reshape(N, T, 2, 25, 3).transpose(0, 4, 1, 3, 2)`` gives
    ``(3, T, 25, 2)``. For NTU-120 CTR-GCN copies a lone actor into both person slots
    (data.md §5); a second person identical to the first in every frame is therefore set to
    zero, the convention of every other format (``dedupe``).
    """

    path: str
    offset: int
    shape: tuple[int, ...]
    dtype: str
    fortran: bool
    dedupe: bool = True
    _array: np.ndarray | None = field(default=None, repr=False, compare=False)

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state["_array"] = None
        return state

    def array(self) -> np.ndarray:
        if self._array is None:
            self._array = np.memmap(
                self.path,
                dtype=np.dtype(self.dtype),
                mode="r",
                offset=self.offset,
                shape=self.shape,
                order="F" if self.fortran else "C",
            )
        return self._array

    def __len__(self) -> int:
        return self.shape[0]

    def load(self, i: int) -> list[np.ndarray]:
        row = np.asarray(self.array()[i], dtype=np.float32)
        sample = row.reshape(row.shape[0], NUM_PERSONS, NUM_JOINTS, 3).transpose(3, 0, 2, 1).copy()
        if self.dedupe and is_duplicate_actor(sample):
            sample[..., 1] = 0
        return [sample]


def is_duplicate_actor(sample: np.ndarray) -> bool:
    """True if person 2 repeats a non-empty person 1 in every frame (CTR-GCN NTU-120 padding)."""
    return bool(np.any(sample[..., 0] != 0) and np.array_equal(sample[..., 0], sample[..., 1]))


@dataclass
class KeypointSource(Source):
    """pyskl annotations ``(M, T, 25, 3)`` float16, held as the pickle gave them."""

    keypoints: list[np.ndarray]

    def __len__(self) -> int:
        return len(self.keypoints)

    def load(self, i: int) -> list[np.ndarray]:
        return [keypoint_to_array(np.asarray(self.keypoints[i], dtype=np.float32))]


# --------------------------------------------------------------------------- results


@dataclass
class PartInput:
    names: list[str]
    labels: list[int]
    source: Source


@dataclass
class BenchmarkInput:
    """One benchmark found in the input."""

    benchmark: str
    parts: dict[str, PartInput]
    body_selection: str
    stored_frames: int | None  # T of the stored arrays; None if it varies per sample
    origin: list[str]
    notes: dict = field(default_factory=dict)


# --------------------------------------------------------------------------- helpers


def _as_paths(inputs: Path | str | Sequence[Path | str]) -> list[Path]:
    if isinstance(inputs, (str, Path)):
        return [Path(inputs)]
    return [Path(p) for p in inputs]


def _benchmark_dir(root: Path, benchmark: str, marker: str, dataset: str = "") -> Path | None:
    """The folder of ``benchmark`` under ``root`` (or ``root`` itself) holding ``marker``.

    Besides the official names (``xsub``, ``xview``, …) the suite's own ``<dataset>-<benchmark>``
    folders are accepted, so a 300-frame output can be turned into 50 or 64 frames later.
    """
    names = FOLDER_NAMES[benchmark] + ((f"{dataset}-{benchmark}",) if dataset else ())
    for name in names:
        if (root / name / marker).is_file():
            return root / name
    if root.name in names and (root / marker).is_file():
        return root
    return None


def _check_array(path: Path, data: np.ndarray, n_labels: int, frames: int | None = None) -> None:
    shape = data.shape
    if len(shape) != 5 or shape[1] != 3 or shape[3] != NUM_JOINTS or shape[4] != NUM_PERSONS:
        raise FormatError(f"{path} has shape {shape}; expected (N, 3, T, 25, 2)")
    if frames is not None and shape[2] != frames:
        raise FormatError(f"{path} has {shape[2]} frames per sample; this format stores {frames}")
    if shape[0] != n_labels:
        raise FormatError(f"{path} holds {shape[0]} samples but its label file has {n_labels}")


def _normalise_name(name: str, dataset: str) -> str:
    """NTU names as ST-GCN writes them (``.skeleton`` suffix); PKU names unchanged."""
    if dataset.startswith("ntu"):
        return sample_stem(name) + ".skeleton"
    return name


def _check_ntu_split(names: list[str], dataset: str, benchmark: str, part: str, origin: Path) -> None:
    """Refuse NTU arrays whose names do not follow the official rule (e.g. xview files in xsub)."""
    want_train = part == "train"
    for name in names:
        try:
            is_train = ntu_is_train(name, dataset, benchmark)
        except ValueError as err:
            raise FormatError(f"{origin}: {err}") from None
        if not ntu_in_dataset(name, dataset):
            raise FormatError(f"{origin}: sample {name} is not part of {dataset}; is this the right dataset?")
        if is_train != want_train:
            raise FormatError(
                f"{origin}: sample {name} belongs to the {'training' if is_train else 'test'} part of "
                f"{dataset} {benchmark}, not to {part}; is this the right benchmark folder?"
            )


# --------------------------------------------------------------------------- readers


def read_stgcn(inputs: Path | str | Sequence[Path | str], dataset: str) -> dict[str, BenchmarkInput]:
    """ST-GCN ``ntu_gendata.py`` / AimCLR ``pku_part*_gendata.py`` output (data.md §2)."""
    found: dict[str, BenchmarkInput] = {}
    for bench in BENCHMARKS[dataset]:
        for root in _as_paths(inputs):
            folder = _benchmark_dir(root, bench, "train_data.npy", dataset) or _benchmark_dir(
                root, bench, "val_data.npy", dataset
            )
            if folder is None:
                continue
            parts: dict[str, PartInput] = {}
            for part in PARTS:
                data_path, label_path = folder / f"{part}_data.npy", folder / f"{part}_label.pkl"
                if not data_path.is_file():
                    raise FormatError(f"{folder} has no {data_path.name}; an ST-GCN benchmark folder holds both parts")
                names, labels = read_label_pkl(label_path)
                data = np.load(data_path, mmap_mode="r")
                _check_array(data_path, data, len(labels), 300 if dataset.startswith("ntu") else None)
                names = [_normalise_name(n, dataset) for n in names]
                if dataset.startswith("ntu"):
                    _check_ntu_split(names, dataset, bench, part, label_path)
                parts[part] = PartInput(names, labels.tolist(), NpySource(str(data_path), len(labels)))
            found[bench] = BenchmarkInput(bench, parts, "stgcn", data.shape[2], [str(folder)])
            break
    return found


def read_crossclr(inputs: Path | str | Sequence[Path | str], dataset: str) -> dict[str, BenchmarkInput]:
    """CrosSCLR / AimCLR / SkeleMixCLR ``{part}_position.npy`` with the ST-GCN label pickle.

    The official feeders read labels from the 300-frame folder's ``{part}_label.pkl``
    (data.md §3), so the pickle is looked for beside the position file first, then in the
    same benchmark folder under every other input given (``--input FRAME50 --input NTU-RGB-D``).
    ``{part}_label.npy`` has no sample names and is not enough.
    """
    roots = _as_paths(inputs)
    found: dict[str, BenchmarkInput] = {}
    for bench in BENCHMARKS[dataset]:
        for root in roots:
            folder = _benchmark_dir(root, bench, "train_position.npy", dataset) or _benchmark_dir(
                root, bench, "val_position.npy", dataset
            )
            if folder is None:
                continue
            parts: dict[str, PartInput] = {}
            origin = [str(folder)]
            frames = None
            for part in PARTS:
                data_path = folder / f"{part}_position.npy"
                if not data_path.is_file():
                    raise FormatError(f"{folder} has no {data_path.name}; a benchmark folder holds both parts")
                label_path = folder / f"{part}_label.pkl"
                if not label_path.is_file():
                    for other in roots:
                        cand = _benchmark_dir(other, bench, f"{part}_label.pkl", dataset)
                        if cand is not None:
                            label_path = cand / f"{part}_label.pkl"
                            break
                if not label_path.is_file():
                    raise FormatError(
                        f"no {part}_label.pkl for {folder / data_path.name}: the CrosSCLR arrays take their labels "
                        "and sample names from the ST-GCN folder's pickle; copy it beside the position file or "
                        "pass that folder as a second --input"
                    )
                if str(label_path.parent) not in origin:
                    origin.append(str(label_path.parent))
                names, labels = read_label_pkl(label_path)
                data = np.load(data_path, mmap_mode="r")
                _check_array(data_path, data, len(labels))
                frames = data.shape[2]
                names = [_normalise_name(n, dataset) for n in names]
                if dataset.startswith("ntu"):
                    _check_ntu_split(names, dataset, bench, part, label_path)
                parts[part] = PartInput(names, labels.tolist(), NpySource(str(data_path), len(labels)))
            found[bench] = BenchmarkInput(bench, parts, "stgcn", frames, origin)
            break
    return found


def _find_pyskl_file(roots: list[Path], dataset: str) -> Path | None:
    for root in roots:
        if root.is_file():
            return root
        for name in (f"{dataset}_3danno.pkl", f"{dataset}_3d.pkl"):
            if (root / name).is_file():
                return root / name
    return None


def read_pyskl(inputs: Path | str | Sequence[Path | str], dataset: str) -> dict[str, BenchmarkInput]:
    """pyskl's ``{'split': …, 'annotations': […]}`` pickle (data.md §4).

    Each annotation's ``keypoint`` is float16 ``(M, T, 25, 3)`` of the true length; the split
    lists name ``frame_dir`` values. Annotations that are ``None`` (pyskl keeps those for
    files without bodies) are skipped with a note.
    """
    if not dataset.startswith("ntu"):
        raise FormatError(f"pyskl files exist for NTU only, not for {dataset}")
    roots = _as_paths(inputs)
    path = _find_pyskl_file(roots, dataset)
    if path is None:
        raise FileNotFoundError(f"no {dataset}_3danno.pkl in {', '.join(map(str, roots))}")
    try:
        obj = safe_load(path, "pyskl annotation file")
    except (pickle.UnpicklingError, EOFError) as err:
        raise FormatError(f"{path} is not a readable pickle ({err})") from None
    if not (isinstance(obj, dict) and "split" in obj and "annotations" in obj):
        raise FormatError(f"{path} is not a pyskl annotation file: expected a dict with 'split' and 'annotations'")
    by_name: dict[str, dict] = {}
    none_count = 0
    for k, ann in enumerate(obj["annotations"]):
        if ann is None:
            none_count += 1
            continue
        try:
            by_name[str(ann["frame_dir"])] = ann
        except (TypeError, KeyError):
            raise FormatError(f"{path}: annotation {k} has no 'frame_dir'") from None
    found: dict[str, BenchmarkInput] = {}
    for bench in BENCHMARKS[dataset]:
        keys = (f"{bench}_train", f"{bench}_val")
        if not all(k in obj["split"] for k in keys):
            continue
        parts: dict[str, PartInput] = {}
        for part, key in zip(PARTS, keys, strict=True):
            names, labels, kpts = [], [], []
            for name in obj["split"][key]:
                ann = by_name.get(str(name))
                if ann is None:
                    continue
                kp = np.asarray(ann["keypoint"])
                if kp.ndim != 4 or kp.shape[2] != NUM_JOINTS or kp.shape[3] != 3:
                    raise FormatError(f"{path}: keypoint of {name} has shape {kp.shape}; expected (M, T, 25, 3)")
                names.append(_normalise_name(str(name), dataset))
                labels.append(int(ann["label"]))
                kpts.append(kp)
            _check_ntu_split(names, dataset, bench, part, path)
            parts[part] = PartInput(names, labels, KeypointSource(kpts))
        notes = {"pyskl_empty_annotations": none_count} if none_count else {}
        found[bench] = BenchmarkInput(bench, parts, "pyskl", None, [str(path)], notes)
    return found


def npz_member(path: Path, key: str) -> tuple[int, tuple[int, ...], str, bool] | None:
    """Locate array ``key`` inside an uncompressed ``.npz``: (data offset, shape, dtype, fortran).

    Returns None if the member is compressed (then it can only be read whole).
    """
    with zipfile.ZipFile(path) as zf:
        try:
            info = zf.getinfo(key + ".npy")
        except KeyError:
            raise FormatError(
                f"{path} has no array {key!r}; a CTR-GCN file holds x_train, y_train, x_test, y_test"
            ) from None
        if info.compress_type != zipfile.ZIP_STORED:
            return None
    with open(path, "rb") as f:
        f.seek(info.header_offset)
        header = f.read(30)
        if header[:4] != b"PK\x03\x04":
            raise FormatError(f"{path}: damaged zip entry for {key}")
        name_len, extra_len = struct.unpack("<HH", header[26:30])
        f.seek(info.header_offset + 30 + name_len + extra_len)
        version = np.lib.format.read_magic(f)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(f)
        else:
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(f)
        return f.tell(), tuple(shape), dtype.str, bool(fortran)


def _ctrgcn_array(path: Path, key: str) -> CTRGCNSource | np.ndarray:
    loc = npz_member(path, key)
    if loc is None:
        warnings.warn(f"{path} is compressed; {key} is read into memory whole", stacklevel=3)
        return np.load(path)[key]
    offset, shape, dtype, fortran = loc
    return CTRGCNSource(str(path), offset, shape, dtype, fortran)


def read_ctrgcn(inputs: Path | str | Sequence[Path | str], dataset: str) -> dict[str, BenchmarkInput]:
    """CTR-GCN ``seq_transformation.py`` output ``NTU*_C*.npz`` (data.md §5).

    The ``.npz`` has no sample names. They are rebuilt from the shipped list of available
    samples (the same ``skes_available_name.txt`` CTR-GCN iterates) and the split rule, which
    is only possible for a complete file: the sample count must equal the official one, and
    the one-hot labels must agree with the rebuilt names' action IDs.
    """
    if not dataset.startswith("ntu"):
        raise FormatError(f"CTR-GCN .npz files exist for NTU only, not for {dataset}")
    roots = _as_paths(inputs)
    found: dict[str, BenchmarkInput] = {}
    for bench in BENCHMARKS[dataset]:
        fname = CTRGCN_FILES[(dataset, bench)]
        path = next((r for r in roots if r.is_file() and r.name == fname), None)
        path = path or next((r / fname for r in roots if (r / fname).is_file()), None)
        if path is None:
            continue
        train_names, val_names = split_ntu(available_samples(dataset), dataset, bench)
        parts: dict[str, PartInput] = {}
        for part, (xkey, ykey), names in zip(
            PARTS, (("x_train", "y_train"), ("x_test", "y_test")), (train_names, val_names), strict=True
        ):
            x = _ctrgcn_array(path, xkey)
            if isinstance(x, np.ndarray):  # compressed member, already in memory
                source: Source = _InMemoryCTRGCN(x)
                shape = x.shape
            else:
                source, shape = x, x.shape
            if len(shape) != 3 or shape[2] != 2 * NUM_JOINTS * 3:
                raise FormatError(f"{path}: {xkey} has shape {shape}; expected (N, T, 150)")
            y = np.load(path)[ykey]
            labels = np.argmax(y, axis=1) if y.ndim == 2 else np.asarray(y, dtype=np.int64)
            if shape[0] != len(names) or len(labels) != len(names):
                raise FormatError(
                    f"{path}: {xkey} holds {shape[0]} samples, but the full {dataset} {bench} {part} part has "
                    f"{len(names)}; the names of a CTR-GCN file can only be rebuilt for the complete dataset"
                )
            expected = np.array([parse_ntu_name(n).label for n in names])
            if not np.array_equal(labels, expected):
                k = int(np.flatnonzero(labels != expected)[0])
                raise FormatError(
                    f"{path}: {ykey} row {k} is class {labels[k]}, but sample {k} of the official order is "
                    f"{names[k]} (class {expected[k]}); the file is not in CTR-GCN's sample order"
                )
            parts[part] = PartInput([_normalise_name(n, dataset) for n in names], labels.tolist(), source)
        found[bench] = BenchmarkInput(
            bench,
            parts,
            "ctrgcn",
            shape[1],
            [str(path)],
            {"coordinates": "CTR-GCN seq_translation: origin at joint 2 of the first frame; missing frames removed"},
        )
    return found


class _InMemoryCTRGCN(CTRGCNSource):
    def __init__(self, x: np.ndarray) -> None:
        super().__init__("", 0, tuple(x.shape), x.dtype.str, False)
        self._array = x

    def __getstate__(self) -> dict:
        return dict(self.__dict__)


READERS = {"stgcn": read_stgcn, "crossclr": read_crossclr, "pyskl": read_pyskl, "ctrgcn": read_ctrgcn}
