"""Benchmark folders checked before they are trusted: checksums, finite values, a cached verdict.

The manifest records the SHA-256 of every file as it was written (:meth:`BenchmarkWriter.commit`).
A file changed since (a partial copy, a disk error, a hand edit) or a NaN let through by some
preprocessing would otherwise surface only as a wrong accuracy, or a loss of NaN hours into a
run. :func:`verify_benchmark` re-hashes the files and scans the arrays once, then remembers the
success by each file's size, mtime, ctime and inode, so later runs pay one ``stat`` per file. Size
and mtime alone are not enough: an in-place rewrite of the same length followed by ``os.utime`` (or
a copy tool that keeps times) leaves both as they were, but the kernel sets ctime on every write and
every ``utime``, and no call sets it back; a file replaced by a rename has a new inode.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np

from datasets.store import MANIFEST, check_part_array, open_array, read_manifest, remake_hint, sha256_file
from utils.files import atomic_write_text
from utils.paths import cache_dir
from utils.progress import progress

#: Files of a benchmark folder that must be listed in its manifest's checksums.
PAYLOAD = ("*_data.npy", "*_label.pkl")
#: Bytes of samples checked for NaN/inf at a time, so a 1.2 GB NTU array is never held twice.
SCAN_BYTES = 1 << 26
#: Folders smaller than this verify without a progress bar (the tiny and default synthetic sets).
QUIET_BYTES = 1 << 28
#: What a cached success vouches for; a record of another version (fewer checks, a weaker key) is redone.
#: 2: stat key with ctime and inode; arrays' dtype and shape checked against the manifest.
VERIFIER_VERSION = 2


def fingerprint(manifest: dict) -> str:
    """SHA-256 over the sorted manifest checksums: one id for exactly these files' contents."""
    return hashlib.sha256(repr(sorted(manifest["sha256"].items())).encode()).hexdigest()


#: What names a generated benchmark: the generator's parameters (:func:`data_identity`).
GENERATED_KEYS = ("dataset", "generator_version", "frames", "layout", "seed", "subjects", "num_classes")


def generated_identity(params: dict) -> str:
    """The identity of generated data with these :data:`GENERATED_KEYS` values."""
    return "generated-" + hashlib.sha256(json.dumps(params, sort_keys=True).encode()).hexdigest()[:32]


def data_identity(manifest: dict) -> str:
    """Which benchmark these files are, for putting results side by side.

    Real data: the files' :func:`fingerprint`. Generated data: its generator parameters, not
    its bytes — the generator is deterministic, but the last bits of its floating-point maths
    depend on the CPU kernels NumPy dispatches to: the same code on one machine with and without
    AVX-512 wrote a tiny synthetic-xsub whose values differed in 5 % of places by at most
    2.4e-7 m, and the full benchmark of 2026-12-03 and 2026-12-04 had two fingerprints. Those are
    one benchmark; the fingerprint still names the exact files in every record.
    """
    if manifest.get("format") != "generated":
        return fingerprint(manifest)
    return generated_identity({key: manifest.get(key, "ntu25" if key == "layout" else None) for key in GENERATED_KEYS})


def verify_benchmark(folder: Path | str) -> str:
    """Check a benchmark folder against its manifest and return its data fingerprint.

    Refuses (ValueError naming the file and the fix) a manifest without checksums, a data or
    label file it does not list, a listed file that is missing or whose SHA-256 differs, and
    NaN/inf in any ``*_data.npy``, and a data array that is not float32 of the shape the manifest
    describes (:func:`datasets.store.check_part_array`). A success is cached
    (:func:`utils.paths.cache_dir` ``verified/``) under the size, mtime, ctime and inode of every
    file (:func:`_stat`); any change re-verifies.
    """
    folder = Path(folder)
    record_path = cache_dir("verified") / f"{hashlib.sha256(str(folder.resolve()).encode()).hexdigest()[:32]}.json"
    record = _read_record(record_path)
    if record is not None and _unchanged(folder, record["stats"]):
        return record["fingerprint"]
    manifest_path = folder / MANIFEST
    if not manifest_path.is_file():
        raise FileNotFoundError(f"{folder} has no {MANIFEST}, so it is not a complete benchmark; {remake_hint(folder)}")
    stats = {MANIFEST: _stat(manifest_path)}
    manifest = read_manifest(folder)
    fix = remake_hint(folder, manifest)
    checksums = manifest.get("sha256")
    if not isinstance(checksums, dict) or not checksums:
        raise ValueError(f"{manifest_path} lists no checksums ('sha256'), so its files cannot be checked; {fix}")
    unlisted = sorted(_payload(folder) - checksums.keys())
    if unlisted:
        raise ValueError(f"{folder / unlisted[0]} is not listed in the checksums of {manifest_path}; {fix}")
    for name in sorted(checksums):
        path = folder / name
        if Path(name).name != name or not path.is_file():
            raise ValueError(f"{path} is listed in {manifest_path} but does not exist; {fix}")
        stats[name] = _stat(path)
    arrays = {name: open_array(folder / name, fix) for name in sorted(checksums) if name.endswith("_data.npy")}
    for name, data in arrays.items():  # cheap header checks before the hashing
        check_part_array(folder / name, data, manifest, name[: -len("_data.npy")], fix)
    total = sum(stats[name][0] for name in checksums) + sum(a.nbytes for a in arrays.values())
    with progress(total=total, desc=f"verifying {folder.name}", unit="B", unit_scale=True, unit_divisor=1024,
                  disable=total < QUIET_BYTES) as bar:
        for name in sorted(checksums):
            if sha256_file(folder / name, on_block=bar.update) != checksums[name]:
                raise ValueError(
                    f"{folder / name} does not match its checksum in {manifest_path} (the file changed after it "
                    f"was written); {fix}"
                )
        for name, data in arrays.items():
            _check_finite(folder / name, data, fix, bar.update)
    result = fingerprint(manifest)
    _write_record(record_path, {"folder": str(folder.resolve()), "stats": stats, "fingerprint": result,
                                "version": VERIFIER_VERSION})
    return result


def _stat(path: Path) -> list[int]:
    """The cache key of one file: size, mtime, ctime (set by every write and ``utime``, never restorable)
    and inode (new for a file renamed into place), all from one ``stat``."""
    st = path.stat()
    return [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino]


def _payload(folder: Path) -> set[str]:
    return {p.name for pattern in PAYLOAD for p in folder.glob(pattern)}


def _unchanged(folder: Path, stats: dict[str, list[int]]) -> bool:
    """True if every verified file still has its :func:`_stat` key and no data file was added."""
    try:
        same = all(_stat(folder / name) == list(seen) for name, seen in stats.items())
    except OSError:
        return False
    return same and _payload(folder) <= stats.keys()


def _check_finite(path: Path, data: np.ndarray, fix: str, on_block: Callable[[int], object]) -> None:
    """Refuse NaN/inf, scanning a memory-mapped array a few thousand samples at a time."""
    step = max(1, SCAN_BYTES // max(1, data[:1].nbytes))
    for start in range(0, len(data), step):
        chunk = data[start : start + step]
        finite = np.isfinite(chunk).reshape(len(chunk), -1).all(axis=1)
        if not finite.all():
            raise ValueError(
                f"{path} holds non-finite values (NaN or inf), first in sample {start + int(np.argmin(finite))}; {fix}"
            )
        on_block(chunk.nbytes)


def _read_record(path: Path) -> dict | None:
    try:
        record = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    ok = (isinstance(record, dict) and isinstance(record.get("stats"), dict)
          and isinstance(record.get("fingerprint"), str) and record.get("version") == VERIFIER_VERSION)
    return record if ok else None


def _write_record(path: Path, record: dict) -> None:
    """Atomically, so a concurrent run never reads half a record."""
    atomic_write_text(path, json.dumps(record, indent=1, sort_keys=True))
