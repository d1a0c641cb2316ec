"""Datasets of SkeleBench: benchmark ids → folders of (N, 3, T, 25, 2) arrays + labels.

``synthetic-xsub`` / ``synthetic-xview`` are generated on first use and cached (the embedded
default; its numbers are synthetic, never NTU numbers). Real benchmarks (``ntu60-xsub``, …)
are folders made by ``python -m datasets.prepare`` under ``--data-root``.
"""

from __future__ import annotations

from pathlib import Path

from datasets import synthetic
from datasets.cache import cache_dir
from datasets.store import Split, is_complete, load_split, read_manifest

SYNTHETIC = ("synthetic-xsub", "synthetic-xview")
REAL = ("ntu60-xsub", "ntu60-xview", "ntu120-xsub", "ntu120-xset", "pku1-xsub", "pku1-xview", "pku2-xsub", "pku2-xview")
DEFAULT_DATASET = "synthetic-xsub"


def benchmark_folder(dataset: str, frames: int, data_root: Path | str | None = None) -> Path:
    """The folder holding ``dataset`` at ``frames`` frames, generating synthetic data if needed."""
    if dataset in SYNTHETIC:
        root = Path(data_root) if data_root is not None else cache_dir("data")
        folder = root / f"{dataset}-f{frames}-v{synthetic.GENERATOR_VERSION}"
        if not is_complete(folder):
            synthetic.build_benchmark(dataset.split("-", 1)[1], frames, folder)
        return folder
    if dataset not in REAL:
        raise ValueError(f"unknown dataset {dataset!r}; known: {', '.join(SYNTHETIC + REAL)}")
    if data_root is None:
        raise ValueError(f"dataset {dataset} needs --data-root DIR (the --out folder of `python -m datasets.prepare`)")
    folder = Path(data_root) / dataset
    if not is_complete(folder):
        raise FileNotFoundError(
            f"{folder} is not a prepared benchmark (no manifest.json); run "
            f"`python -m datasets.prepare ... --out {data_root}` first"
        )
    have = read_manifest(folder).get("frames")
    if have is not None and int(have) != frames:
        raise ValueError(
            f"{folder} was prepared with {have} frames but this run needs {frames}; prepare it again "
            f"with --frames {frames} into another --out folder"
        )
    return folder


def load_benchmark(dataset: str, frames: int, data_root: Path | str | None = None) -> tuple[Split, Split, dict]:
    """(train, val, manifest) of a benchmark, memory-mapped."""
    folder = benchmark_folder(dataset, frames, data_root)
    return load_split(folder, "train"), load_split(folder, "val"), read_manifest(folder)
