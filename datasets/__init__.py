"""Datasets of SkeleBench: benchmark ids → folders of (N, 3, T, 25, 2) arrays + labels.

``synthetic-xsub`` / ``synthetic-xview`` are generated on first use and cached (the embedded
default; its numbers are synthetic, never NTU numbers). Real benchmarks (``ntu60-xsub``, …)
are folders made by ``python -m datasets.prepare`` under ``--data-root``.
"""

from __future__ import annotations

from pathlib import Path

from datasets import synthetic, utdmhad
from datasets.benchmarks import DEFAULT_DATASET as DEFAULT_DATASET  # re-exported: the commands import it from here
from datasets.benchmarks import REAL, SYNTHETIC
from datasets.integrity import data_identity, verify_benchmark
from datasets.store import Split, is_complete, load_split, read_manifest, remake_hint
from utils.paths import cache_dir


def benchmark_folder(dataset: str, frames: int, data_root: Path | str | None = None) -> Path:
    """The folder holding ``dataset`` at ``frames`` frames, generating synthetic data if needed.

    Every folder is verified against its manifest (:func:`datasets.integrity.verify_benchmark`;
    cached, so a stat per file after the first time) before any caller reads it.
    """
    if dataset in SYNTHETIC:
        if data_root is not None and not Path(data_root).is_dir():
            raise FileNotFoundError(
                f"--data-root {data_root} does not exist; synthetic data is generated into the suite cache when "
                f"--data-root is omitted; create {data_root} first if generating {dataset} there is intended"
            )
        root = Path(data_root) if data_root is not None else cache_dir("data")
        folder = root / f"{dataset}-f{frames}-v{synthetic.GENERATOR_VERSION}"
        if not is_complete(folder):
            synthetic.build_benchmark(dataset.split("-", 1)[1], frames, folder)
        check_prepared(folder, dataset, read_manifest(folder), frames)
        verify_benchmark(folder)
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
    check_prepared(folder, dataset, read_manifest(folder), frames)
    verify_benchmark(folder)
    return folder


#: The oldest reader version whose folders each dataset still accepts: a reader fix that changes the
#: arrays (UTD-MHAD's joint order) must not leave a folder of the old reader in silent use.
MIN_READER_VERSION = {"utdmhad": utdmhad.READER_VERSION}


def check_prepared(folder: Path, dataset: str, manifest: dict, frames: int) -> None:
    """Refuse a benchmark folder that is not ``dataset`` at ``frames`` frames (renamed from another
    benchmark, or prepared with other frames) or that an older, since corrected reader wrote; the
    message says how to prepare it again. The arrays themselves are held to the manifest by
    :func:`datasets.store.check_part_array`."""
    have = manifest.get("frames")
    if have is not None and have != frames:
        if manifest.get("format") == "generated":
            raise ValueError(f"{folder} holds data of {have} frames (its manifest says so) where its name says "
                             f"{frames}; {remake_hint(folder, manifest)}")
        raise ValueError(
            f"{folder} was prepared with {have} frames but this run needs {frames}; prepare it again "
            f"with --frames {frames} into another --out folder"
        )
    named = manifest.get("dataset") if manifest.get("format") == "generated" else manifest.get("benchmark")
    if named is not None and named != dataset:
        raise ValueError(f"{folder} holds {named} (its manifest says so), not {dataset}; give the folder its own "
                         f"name back, or {remake_hint(folder, manifest)}")
    need = MIN_READER_VERSION.get(str(manifest.get("dataset")), 1)
    have = manifest.get("reader_version", 1)
    if not isinstance(have, int) or have < need:
        raise ValueError(f"{folder} was written by an older reader of {manifest.get('dataset')} (reader_version "
                         f"{have}, {need} needed: what it stored has been corrected since); "
                         f"{remake_hint(folder, manifest)}")


def load_benchmark(dataset: str, frames: int, data_root: Path | str | None = None) -> tuple[Split, Split, dict]:
    """(train, val, manifest) of a benchmark, memory-mapped."""
    folder = benchmark_folder(dataset, frames, data_root)
    return load_split(folder, "train"), load_split(folder, "val"), read_manifest(folder)


def data_provenance(folder: Path, manifest: dict) -> dict:
    """Where a result's data came from, for its record: the verified fingerprint of the files,
    the benchmark's identity (:func:`datasets.integrity.data_identity`), the folder, and the manifest's
    source, format, generator version and normalisation (``datasets.prepare --normalise``; None values
    left out)."""
    provenance = {
        "fingerprint": verify_benchmark(folder),
        "identity": data_identity(manifest),
        "root": str(Path(folder).resolve()),
        "source": manifest.get("source"),
        "format": manifest.get("format"),
        "generator_version": manifest.get("generator_version"),
        "normalisation": manifest.get("normalisation"),
    }
    return {key: value for key, value in provenance.items() if value is not None}
