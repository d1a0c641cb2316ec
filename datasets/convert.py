"""The conversion engine of ``python -m datasets.prepare``: the raw sources (NTU ``.skeleton``
files, PKU-MMD videos), one sample's conversion to the stored frames (:func:`finalize`), and a
job run over every unit in worker processes that write their samples straight into the
memory-mapped outputs, so no whole array is held in RAM."""

from __future__ import annotations

import multiprocessing as mp
import os
import warnings
from dataclasses import dataclass, field

import numpy as np

from datasets.clipset import layout_frames
from datasets.formats import Source
from datasets.ntu import read_skeleton, select_bodies
from datasets.pku import (
    PKULabel,
    cut_clip,
    read_pku_skeleton,
)
from datasets.preprocess import preprocess_sample
from utils.progress import progress

#: Frames of the ST-GCN layout itself: raw coordinates, zero-padded, no resampling.
RAW_LAYOUT_FRAMES = 300


class PrepareError(RuntimeError):
    """A run that cannot go on; the message names the file (and line) at fault."""


class PrepareWarning(UserWarning):
    """Something the user should know (missing samples, skipped files) that does not stop the run."""


def warn(message: str) -> None:
    warnings.warn(message, PrepareWarning, stacklevel=3)


# --------------------------------------------------------------------------- sources of raw data


@dataclass
class NTURawSource(Source):
    """One ``.skeleton`` file per unit, bodies selected by ``bodies``."""

    paths: list[str]
    bodies: str

    def __len__(self) -> int:
        return len(self.paths)

    def describe(self, i: int) -> str:
        return self.paths[i]

    def load(self, i: int) -> list[np.ndarray]:
        return [select_bodies(read_skeleton(self.paths[i]), self.bodies)]


@dataclass
class PKURawSource(Source):
    """One PKU-MMD video per unit, cut into the clips of its label file."""

    videos: list[tuple[str, str, list[PKULabel]]]  # (skeleton file, label file, rows)

    def __len__(self) -> int:
        return len(self.videos)

    def describe(self, i: int) -> str:
        return self.videos[i][0]

    def load(self, i: int) -> list[np.ndarray]:
        skeleton, labels_file, rows = self.videos[i]
        frames = read_pku_skeleton(skeleton)
        return [cut_clip(frames, row, labels_file) for row in rows]


# --------------------------------------------------------------------------- the conversion engine

Key = tuple[str, str]  # (benchmark, part)


@dataclass
class ConversionJob:
    """Convert every unit of ``source`` and write each resulting sample to its rows."""

    source: Source
    frames: int
    mode: str  # "copy" | "pad" | "preprocess" | "layout"
    outputs: dict[Key, str] = field(default_factory=dict)
    targets: list[list[list[tuple[Key, int]]]] = field(default_factory=list)  # unit → sample → (key, row)
    layout: str = "ntu25"
    normalise: str = "frame"  # "layout" mode only: datasets.preprocess.NORMALISATIONS


def finalize(sample: np.ndarray, frames: int, mode: str, layout: str = "ntu25", normalise: str = "frame") -> np.ndarray:
    """One ``(C, T, V, M)`` sample → the stored ``(C, frames, V, M)`` float32 (NTU: ``(3, ·, 25, 2)``)."""
    if mode == "preprocess":
        return preprocess_sample(sample, frames)
    if mode == "layout":
        return layout_frames(sample, frames, layout, normalise)
    t = sample.shape[1]
    if mode == "copy":
        if t != frames:
            raise ValueError(f"holds {t} frames, expected {frames}")
        return np.asarray(sample, dtype=np.float32)
    if t > frames:
        raise ValueError(f"has {t} frames, more than the {frames} of the ST-GCN layout")
    out = np.zeros((sample.shape[0], frames) + sample.shape[2:], dtype=np.float32)
    out[:, :t] = sample
    return out


_JOB: ConversionJob | None = None
_OPEN: dict[Key, np.ndarray] = {}


def _worker_init(job: ConversionJob) -> None:
    global _JOB
    _JOB = job
    _OPEN.clear()


def _output(key: Key) -> np.ndarray:
    if key not in _OPEN:
        assert _JOB is not None
        _OPEN[key] = np.load(_JOB.outputs[key], mmap_mode="r+")
    return _OPEN[key]


def _worker_run(task: tuple[int, int]) -> tuple[int, list[tuple[int, str]]]:
    assert _JOB is not None
    errors: list[tuple[int, str]] = []
    for i in range(*task):
        try:
            samples = _JOB.source.load(i)
            for sample, dests in zip(samples, _JOB.targets[i], strict=True):
                try:
                    out = finalize(sample, _JOB.frames, _JOB.mode, _JOB.layout, _JOB.normalise)
                except ValueError as err:
                    raise ValueError(f"{_JOB.source.describe(i)}: {err}") from None
                for key, row in dests:
                    _output(key)[row] = out
        except (ValueError, OSError) as err:  # SkeletonFormatError is a ValueError
            errors.append((i, str(err)))
    return task[1] - task[0], errors


def _worker_close() -> None:
    for mm in _OPEN.values():
        mm.flush()
    _OPEN.clear()


def run_job(job: ConversionJob, workers: int, desc: str, skip_bad: bool) -> list[tuple[int, str]]:
    """Run ``job`` over all units; returns the (unit, message) of the bad ones (``skip_bad``)."""
    n = len(job.source)
    chunk = max(1, min(32, n // max(1, workers * 8)))
    tasks = [(a, min(a + chunk, n)) for a in range(0, n, chunk)]
    bad: list[tuple[int, str]] = []
    pool = None
    try:
        if workers <= 1 or n <= chunk:
            _worker_init(job)
            results = map(_worker_run, tasks)
        else:
            ctx = mp.get_context("fork") if "fork" in mp.get_all_start_methods() else mp.get_context()
            pool = ctx.Pool(workers, initializer=_worker_init, initargs=(job,))
            results = pool.imap_unordered(_worker_run, tasks)
        with progress(
            total=n,
            desc=desc,
            unit="file" if isinstance(job.source, (NTURawSource, PKURawSource)) else "sample",
        ) as bar:
            for count, errors in results:
                bar.update(count)
                if errors and not skip_bad:
                    raise PrepareError(min(errors)[1])
                bad.extend(errors)
    finally:
        if pool is not None:
            pool.terminate()
            pool.join()
        _worker_close()
    return sorted(bad)


def drop_rows(path: str, rows: set[int]) -> None:
    """Rewrite an ``.npy`` without ``rows`` (samples of files skipped by ``--skip-bad``)."""
    src = np.load(path, mmap_mode="r")
    keep = np.array([i for i in range(src.shape[0]) if i not in rows], dtype=np.int64)
    tmp = path + ".compact"
    dst = np.lib.format.open_memmap(tmp, mode="w+", dtype=src.dtype, shape=(len(keep),) + src.shape[1:])
    for a in range(0, len(keep), 256):
        dst[a : a + 256] = src[keep[a : a + 256]]
    dst.flush()
    del dst, src
    os.replace(tmp, path)


