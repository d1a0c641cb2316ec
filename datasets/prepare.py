"""``python -m datasets.prepare``: real NTU RGB+D / PKU-MMD data → benchmark folders.

Takes the data in whichever form a user has it (raw files or a preprocessed form of the
official code bases) and writes one folder per official benchmark, ``OUT/<id>/``, with
``train_data.npy`` / ``val_data.npy`` (float32 ``(N, 3, T, 25, 2)``), ``train_label.pkl`` /
``val_label.pkl`` (the ST-GCN pair ``(names, labels)``) and ``manifest.json`` — see
:mod:`datasets.store`. Every folder is written under a temporary name and renamed when
complete, so an interrupted run never leaves a folder that looks finished.

``T`` is 50 (CrosSCLR, AimCLR), 64 (SkeleMixCLR) or 300 (the ST-GCN layout itself: raw
coordinates, zero-padded, no resampling). 50 and 64 go through :mod:`datasets.preprocess`,
the official ``NTUMotionProcessor`` (methods.md §4 step 2), from the 300-frame layout, so
``raw → 300 → 50`` and ``raw → 50`` give the same arrays.

Raw files are parsed in worker processes (``--workers``, default all cores), which write
their samples straight into the memory-mapped outputs: no whole array is held in RAM.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import shutil
import sys
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from datasets.benchmarks import BENCHMARKS as BENCHMARK_TABLE
from datasets.benchmarks import DATASET_TITLES, prepared_by
from datasets.files import split_regular
from datasets.formats import FORMAT_BODIES, FORMATS, READERS, BenchmarkInput, FormatError, Source
from datasets.kinetics import read_kinetics
from datasets.layout_data import ClipSet, layout_frames, layout_preprocessing_text
from datasets.ntu import BODY_SELECTIONS, read_skeleton, select_bodies
from datasets.nwucla import read_nwucla
from datasets.pku import (
    PART_PATTERNS,
    SPLIT_FILES,
    PKUInput,
    PKULabel,
    clip_name,
    cut_clip,
    discover_pku,
    read_pku_labels,
    read_pku_skeleton,
)
from datasets.preprocess import preprocess_sample
from datasets.pyskl2d import read_pyskl2d
from datasets.splits import (
    BENCHMARKS,
    NTU_NAME,
    NUM_CLASSES,
    SPLIT_RULES,
    available_samples,
    missing_skeletons,
    ntu_in_dataset,
    ntu_is_train,
    read_pku_split,
    sample_stem,
    split_ntu,
)
from datasets.store import BenchmarkWriter
from datasets.utdmhad import read_utdmhad
from utils.cli import ArgumentParser, positive_int
from utils.progress import progress

#: Datasets of other skeleton layouts (issue 14), each read from its one format, named as the dataset.
LAYOUT_DATASETS = ("nwucla", "kinetics", "utdmhad")
#: Formats whose readers return a :class:`~datasets.layout_data.ClipSet`; ``pyskl2d`` is NTU's 2D file.
LAYOUT_FORMATS = ("pyskl2d",) + LAYOUT_DATASETS
DATASETS = tuple(BENCHMARKS) + LAYOUT_DATASETS
ALL_FORMATS = FORMATS + LAYOUT_FORMATS
FRAME_CHOICES = (50, 64, 300)
RAW_LAYOUT_FRAMES = 300
#: The benchmarks each layout format writes, with the ``datasets.prepare`` dataset argument.
LAYOUT_BENCHMARKS: dict[tuple[str, str], tuple[str, ...]] = {
    b.prepared_from: prepared_by(*b.prepared_from) for b in BENCHMARK_TABLE if b.prepared_from}


class PrepareError(RuntimeError):
    """A run that cannot go on; the message names the file (and line) at fault."""


class PrepareWarning(UserWarning):
    """Something the user should know (missing samples, skipped files) that does not stop the run."""


def benchmark_ids() -> list[str]:
    """The ids of the real-data benchmarks, e.g. ``ntu60-xsub`` (the folder names under ``--out``)."""
    return [f"{d}-{b}" for d, benches in BENCHMARKS.items() for b in benches]


def layout_benchmark_ids() -> list[str]:
    """The ids of the benchmarks of other skeleton layouts (NW-UCLA, 2D NTU, Kinetics-skeleton, UTD-MHAD)."""
    return [bid for ids in LAYOUT_BENCHMARKS.values() for bid in ids]


def _warn(message: str) -> None:
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
class _Job:
    """Convert every unit of ``source`` and write each resulting sample to its rows."""

    source: Source
    frames: int
    mode: str  # "copy" | "pad" | "preprocess" | "layout"
    outputs: dict[Key, str] = field(default_factory=dict)
    targets: list[list[list[tuple[Key, int]]]] = field(default_factory=list)  # unit → sample → (key, row)
    layout: str = "ntu25"


def finalize(sample: np.ndarray, frames: int, mode: str, layout: str = "ntu25") -> np.ndarray:
    """One ``(C, T, V, M)`` sample → the stored ``(C, frames, V, M)`` float32 (NTU: ``(3, ·, 25, 2)``)."""
    if mode == "preprocess":
        return preprocess_sample(sample, frames)
    if mode == "layout":
        return layout_frames(sample, frames, layout)
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


_JOB: _Job | None = None
_OPEN: dict[Key, np.ndarray] = {}


def _worker_init(job: _Job) -> None:
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
                    out = finalize(sample, _JOB.frames, _JOB.mode, _JOB.layout)
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


def _run(job: _Job, workers: int, desc: str, skip_bad: bool) -> list[tuple[int, str]]:
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


def _drop_rows(path: str, rows: set[int]) -> None:
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


# --------------------------------------------------------------------------- plans


@dataclass
class _Bench:
    """What will be written for one benchmark."""

    benchmark: str
    names: dict[str, list[str]]
    labels: dict[str, list[int]]
    body_selection: str
    origin: list[str]
    notes: dict = field(default_factory=dict)
    missing: dict = field(default_factory=dict)
    bad: list[str] = field(default_factory=list)


@dataclass
class _Plan:
    benches: dict[str, _Bench]
    job: _Job
    unit_names: list[str]  # for the bad-file list
    #: Set for a layout ClipSet: ``benches`` are keyed by the full benchmark id, whose split rule,
    #: class count and coordinate note come from the reader.
    clipset: ClipSet | None = None


def _open_writer(out_dir: Path, bid: str, layout: str = "ntu25") -> BenchmarkWriter:
    for stale in out_dir.glob(f".{bid}.partial-*"):
        shutil.rmtree(stale, ignore_errors=True)
    return BenchmarkWriter(out_dir / bid, layout=layout)


def _missing_summary(expected: Sequence[str], found: set[str], dataset: str, where: str) -> dict:
    missing = sorted(set(expected) - found)
    if missing:
        _warn(
            f"{len(missing):,} of the {len(expected):,} {DATASET_TITLES[dataset]} samples are missing from {where} "
            f"(e.g. {', '.join(missing[:3])}); preparing the {len(found):,} that are there"
        )
    return {"count": len(missing), "expected": len(expected), "examples": missing[:50]}


def _plan_raw_ntu(dataset: str, roots: list[Path], bodies: str, frames: int) -> _Plan:
    files: dict[str, Path] = {}
    duplicates = other = 0
    irregular: list[Path] = []
    for root in roots:
        if not root.is_dir():
            raise FileNotFoundError(f"NTU input {root} is not a folder of .skeleton files")
        regular, odd = split_regular(sorted(root.rglob("*.skeleton")))
        irregular += odd
        for p in regular:
            stem = p.name[: -len(".skeleton")]
            if not NTU_NAME.fullmatch(stem):
                other += 1
            elif stem in files:
                duplicates += 1
            else:
                files[stem] = p
    if irregular:  # a FIFO would block the reader for ever
        more = f" and {len(irregular) - 1} more" if len(irregular) > 1 else ""
        _warn(f"{irregular[0]}{more}: not a regular file (a folder, FIFO, socket or device) though named "
              ".skeleton; skipped")
    in_dataset = sorted(s for s in files if ntu_in_dataset(s, dataset))
    if not in_dataset:
        raise FileNotFoundError(
            f"no {DATASET_TITLES[dataset]} .skeleton files (SsssCcccPpppRrrrAaaa.skeleton) "
            f"under {', '.join(map(str, roots))}"
        )
    ignored = missing_skeletons(dataset)
    use = [s for s in in_dataset if s not in ignored]
    skipped = len(in_dataset) - len(use)
    if duplicates:
        _warn(f"{duplicates} .skeleton files appear twice under the input; the first of each (sorted path) is used")
    notes = {
        "missing_skeleton_files_skipped": skipped,
        "files_outside_dataset_ignored": len(files) - len(in_dataset) + other,
    }
    missing = _missing_summary(available_samples(dataset), set(use), dataset, ", ".join(map(str, roots)))
    names = {s: s + ".skeleton" for s in use}
    labels = {s: int(s[-3:]) - 1 for s in use}
    benches: dict[str, _Bench] = {}
    rows: dict[str, dict[str, int]] = {}
    for bench in BENCHMARKS[dataset]:
        train, val = split_ntu(use, dataset, bench)
        benches[bench] = _Bench(
            bench,
            {"train": [names[s] for s in train], "val": [names[s] for s in val]},
            {"train": [labels[s] for s in train], "val": [labels[s] for s in val]},
            bodies,
            [str(r.resolve()) for r in roots],
            dict(notes),
            dict(missing),
        )
        rows[bench] = {s: k for k, s in enumerate(train)} | {s: k for k, s in enumerate(val)}
    targets = [
        [[((b, "train" if ntu_is_train(s, dataset, b) else "val"), rows[b][s]) for b in BENCHMARKS[dataset]]]
        for s in use
    ]
    mode = "pad" if frames == RAW_LAYOUT_FRAMES else "preprocess"
    job = _Job(NTURawSource([str(files[s]) for s in use], bodies), frames, mode, {}, targets)
    return _Plan(benches, job, [str(files[s]) for s in use])


def _pku_clips(dataset: str, inp: PKUInput, ignore: set[str], skip_bad: bool) -> tuple[list, list, list[str], list[str]]:
    """The videos with both a skeleton and a label file (path, label path, its labelled rows), their
    clips as ``(name, label, video, unit, index in unit)``, the refused label files (``skip_bad``)
    and the videos that have labels but no skeleton."""
    pattern = PART_PATTERNS[dataset]
    label_files = {p.stem: p for p in sorted(inp.label_dir.glob("*.txt")) if pattern.match(p.stem)}
    videos: list[tuple[str, str, list[PKULabel]]] = []
    clips: list[tuple[str, int, str, int, int]] = []
    bad: list[str] = []
    no_skeleton: list[str] = []
    for video, label_path in label_files.items():
        skel = inp.skeleton_dir / f"{video}.txt"
        if not skel.is_file():
            no_skeleton.append(video)
            continue
        try:
            rows = read_pku_labels(label_path)
        except ValueError as err:
            if not skip_bad:
                raise PrepareError(str(err)) from None
            bad.append(str(err))
            continue
        rows = [r for r in rows if clip_name(dataset, video, r)[: -len(".skeleton")] not in ignore]
        if not rows:
            continue
        unit = len(videos)
        videos.append((str(skel), str(label_path), rows))
        for k, r in enumerate(rows):
            clips.append((clip_name(dataset, video, r), r.action - 1, video, unit, k))
    return videos, clips, bad, no_skeleton


def _plan_raw_pku(dataset: str, roots: list[Path], frames: int, skip_bad: bool) -> _Plan:
    if len(roots) != 1:
        raise ValueError("PKU-MMD raw input is one folder (skeletons, labels and split files)")
    inp = discover_pku(roots[0], dataset)
    if not inp.split_files:
        wanted = " and ".join(names[0] for names in SPLIT_FILES[dataset].values())
        raise FileNotFoundError(f"no PKU-MMD split file in {roots[0]}: expected {wanted}")
    for bench in BENCHMARKS[dataset]:
        if bench not in inp.split_files:
            _warn(f"no {bench} split file in {roots[0]}; {dataset}-{bench} is not prepared")
    splits = {b: read_pku_split(p) for b, p in inp.split_files.items()}
    ignore = set()
    if inp.ignore_list is not None:
        ignore = {sample_stem(line.strip()) for line in inp.ignore_list.read_text().splitlines() if line.strip()}
    listed = sorted({v for tr, te in splits.values() for v in tr + te})
    videos, clips, bad, no_skeleton = _pku_clips(dataset, inp, ignore, skip_bad)
    if not clips:
        raise FileNotFoundError(f"no PKU-MMD videos with both a skeleton and a label file under {roots[0]}")
    if no_skeleton:
        _warn(
            f"{len(no_skeleton)} PKU-MMD videos have a label file but no skeleton file (e.g. {no_skeleton[0]}); skipped"
        )
    missing_videos = sorted(set(listed) - {c[2] for c in clips})
    if missing_videos:
        _warn(
            f"{len(missing_videos)} of the {len(listed)} {DATASET_TITLES[dataset]} videos in the split files "
            "are missing "
            f"from {roots[0]} (e.g. {missing_videos[0]}); preparing the clips of the others"
        )
    clips.sort()
    benches: dict[str, _Bench] = {}
    targets: list[list[list[tuple[Key, int]]]] = [[[] for _ in v[2]] for v in videos]
    for bench, (train_ids, _test_ids) in splits.items():
        train_set = set(train_ids)
        names = {"train": [], "val": []}
        labels = {"train": [], "val": []}
        for name, label, video, unit, k in clips:
            part = "train" if video in train_set else "val"
            targets[unit][k].append(((bench, part), len(names[part])))
            names[part].append(name)
            labels[part].append(label)
        benches[bench] = _Bench(
            bench,
            names,
            labels,
            "pku",
            [str(roots[0].resolve())],
            {
                "split_file": str(inp.split_files[bench]),
                "ignore_list": str(inp.ignore_list) if inp.ignore_list else None,
                "clips": "AimCLR: frames [start-1:end], > 300 frames centre-cropped, "
                "person 2 kept where its values do not sum to 0",
            },
            {"count_videos": len(missing_videos), "expected_videos": len(listed), "examples": missing_videos[:50]},
            list(bad),
        )
    mode = "pad" if frames == RAW_LAYOUT_FRAMES else "preprocess"
    return _Plan(benches, _Job(PKURawSource(videos), frames, mode, {}, targets), [v[0] for v in videos])


# --------------------------------------------------------------------------- writing


def _preprocessing_text(frames: int, mode: str) -> str:
    if frames == RAW_LAYOUT_FRAMES:
        return "none: 300-frame ST-GCN layout, zero-padded after the last frame, no resampling"
    if mode == "copy":
        return f"as stored by the input (official NTUMotionProcessor output, {frames} frames)"
    return (
        f"NTUMotionProcessor (methods.md §4 step 2): relative to joint 21, cv2 INTER_LINEAR resize of the "
        f"valid frames to {frames}, per-frame y-rotation of the shoulders"
    )


def _execute(
    plan: _Plan, dataset: str, fmt: str, out_dir: Path, frames: int, workers: int, skip_bad: bool, desc: str
) -> list[Path]:
    writers: dict[str, BenchmarkWriter] = {}
    cs = plan.clipset
    try:
        for bench, b in plan.benches.items():
            bid = bench if cs is not None else f"{dataset}-{bench}"
            writers[bench] = w = _open_writer(out_dir, bid, plan.job.layout)
            for part in ("train", "val"):
                mm = w.open_part(part, len(b.names[part]), frames)
                plan.job.outputs[(bench, part)] = str(w.tmp / f"{part}_data.npy")
                mm.flush()
                del mm
        bad = _run(plan.job, workers, desc, skip_bad)
        if bad:
            bad_units = {i for i, _ in bad}
            _warn(f"{len(bad_units)} bad input files were skipped (--skip-bad); they are listed in the manifests")
            drop: dict[Key, set[int]] = {}
            for i in bad_units:
                for sample in plan.job.targets[i]:
                    for key, row in sample:
                        drop.setdefault(key, set()).add(row)
            for key, rows in drop.items():
                _drop_rows(plan.job.outputs[key], rows)
                b = plan.benches[key[0]]
                part = key[1]
                keep = [k for k in range(len(b.names[part])) if k not in rows]
                b.names[part] = [b.names[part][k] for k in keep]
                b.labels[part] = [b.labels[part][k] for k in keep]
            for b in plan.benches.values():
                b.bad += [msg for _, msg in bad]
        done = []
        for bench, b in plan.benches.items():
            w = writers[bench]
            for part in ("train", "val"):
                w.write_part(part, None, b.names[part], b.labels[part])
            if cs is None:
                bid, split, rule, classes = f"{dataset}-{bench}", bench, SPLIT_RULES[(dataset, bench)], NUM_CLASSES[dataset]
                preprocessing = _preprocessing_text(frames, plan.job.mode)
            else:
                bid, split, rule, classes = bench, bench.rsplit("-", 1)[-1], cs.split_rules[bench], cs.num_classes
                preprocessing = layout_preprocessing_text(frames, cs.layout, RAW_LAYOUT_FRAMES)
            manifest = {
                "benchmark": bid,
                "dataset": dataset,
                "split": split,
                "format": fmt,
                "source": b.origin,
                "split_rule": rule,
                "body_selection": b.body_selection,
                "frames": frames,
                "preprocessing": preprocessing,
                "num_classes": classes,
                "missing_samples": b.missing,
                "bad_files": b.bad,
                "notes": b.notes,
                "written_by": "python -m datasets.prepare",
            }
            if cs is not None:
                manifest["coordinates"] = cs.coordinates
                manifest["reader_version"] = cs.reader_version
            done.append(w.commit(manifest))
            del writers[bench]
        return done
    finally:
        for w in writers.values():
            w.abort()


def _plans_from_formats(found: dict[str, BenchmarkInput], dataset: str, fmt: str, frames: int) -> list[_Plan]:
    plans = []
    for bench in BENCHMARKS[dataset]:
        if bench not in found:
            _warn(f"no {bench} benchmark in the {fmt} input; {dataset}-{bench} is not prepared")
    for bench, inp in found.items():
        stored = inp.stored_frames
        if frames == RAW_LAYOUT_FRAMES:
            if stored not in (None, RAW_LAYOUT_FRAMES):
                raise FormatError(
                    f"{inp.origin[0]} holds {stored}-frame arrays; the 300-frame layout needs the ST-GCN arrays, "
                    "a pyskl/CTR-GCN file or the raw files"
                )
            mode = "copy" if stored == RAW_LAYOUT_FRAMES else "pad"
        elif stored is None or stored == RAW_LAYOUT_FRAMES:
            mode = "preprocess"
        elif stored == frames:
            mode = "copy"
        else:
            raise FormatError(
                f"{inp.origin[0]} holds {stored}-frame arrays, not {frames}; no official pipeline resamples those "
                f"again — use --frames {stored}, or prepare {frames} frames from the 300-frame ST-GCN arrays "
                "or raw files"
            )
        missing: dict = {}
        notes = dict(inp.notes)
        if dataset.startswith("ntu"):
            found_names = {sample_stem(n) for p in inp.parts.values() for n in p.names}
            train, val = split_ntu(available_samples(dataset), dataset, bench)
            missing = _missing_summary(train + val, found_names, dataset, inp.origin[0])
        for part, p in inp.parts.items():
            other = "val" if part == "train" else "train"
            b = _Bench(
                bench,
                {part: p.names, other: inp.parts[other].names},
                {part: p.labels, other: inp.parts[other].labels},
                inp.body_selection,
                inp.origin,
                notes,
                missing,
            )
            job = _Job(p.source, frames, mode, {}, [[[((bench, part), i)]] for i in range(len(p.source))])
            plans.append(_Plan({bench: b}, job, [p.source.describe(i) for i in range(len(p.source))]))
    return plans


LAYOUT_READERS = {"nwucla": read_nwucla, "kinetics": read_kinetics, "utdmhad": read_utdmhad}


def _read_clipset(dataset: str, fmt: str, roots: list[Path]) -> ClipSet:
    if fmt == "pyskl2d":
        return read_pyskl2d(roots, dataset)
    return LAYOUT_READERS[fmt](roots)


def _clipset_warnings(cs: ClipSet) -> None:
    """Say what is missing from a partial download (not fatal: the clips that are there are prepared)."""
    title = DATASET_TITLES[cs.dataset]
    missing = cs.missing
    if not missing.get("count"):
        return
    where = ", ".join(cs.origin)
    parts = []
    if missing.get("examples"):
        parts.append(f"e.g. {', '.join(missing['examples'][:3])}")
    if missing.get("by_view"):
        parts.append("found by view: " + ", ".join(f"{v} {n:,}" for v, n in missing["by_view"].items()))
    detail = "; ".join(parts)
    _warn(
        f"{missing['count']:,} of the {missing['expected']:,} {title} clips are missing from {where} ({detail}); "
        f"preparing the {len(cs.names):,} that are there"
    )


def _plan_clipset(cs: ClipSet, frames: int) -> _Plan:
    """One job over every clip of ``cs``; each clip is written to every benchmark part that lists it."""
    targets: list[list[list[tuple[Key, int]]]] = [[[]] for _ in cs.names]
    benches: dict[str, _Bench] = {}
    for bid, parts in cs.parts.items():
        for part in ("train", "val"):
            for row, unit in enumerate(parts.get(part, [])):
                targets[unit][0].append(((bid, part), row))
        benches[bid] = _Bench(
            bid,
            {part: [cs.names[u] for u in parts.get(part, [])] for part in ("train", "val")},
            {part: [cs.labels[u] for u in parts.get(part, [])] for part in ("train", "val")},
            cs.body_selection,
            list(cs.origin),
            dict(cs.notes),
            dict(cs.missing),
        )
    used = [u for u, t in enumerate(targets) if t[0]]
    if len(used) != len(targets):  # clips no benchmark lists (e.g. 2D annotations outside every split)
        keep = {u: k for k, u in enumerate(used)}
        cs = _subset_clipset(cs, used)
        targets = [targets[u] for u in keep]
    mode = "pad" if frames == RAW_LAYOUT_FRAMES else "layout"
    job = _Job(cs.source, frames, mode, {}, targets, cs.layout)
    return _Plan(benches, job, [cs.source.describe(i) for i in range(len(cs.source))], cs)


@dataclass
class _SubsetSource(Source):
    """Some units of another source, in the given order."""

    source: Source
    units: list[int]

    def __len__(self) -> int:
        return len(self.units)

    def describe(self, i: int) -> str:
        return self.source.describe(self.units[i])

    def load(self, i: int) -> list[np.ndarray]:
        return self.source.load(self.units[i])


def _subset_clipset(cs: ClipSet, units: list[int]) -> ClipSet:
    from dataclasses import replace

    return replace(cs, source=_SubsetSource(cs.source, units), names=[cs.names[u] for u in units],
                   labels=[cs.labels[u] for u in units])


def prepare_layout(
    dataset: str,
    fmt: str,
    roots: list[Path],
    out_dir: Path,
    frames: int = 50,
    skip_bad: bool = False,
    workers: int = 1,
) -> list[Path]:
    """Prepare a dataset of another skeleton layout (NW-UCLA, 2D NTU, Kinetics-skeleton, UTD-MHAD).

    Same guarantees as the NTU paths: every file is validated as it is parsed (an error names
    it), folders are written atomically, ``--skip-bad`` lists what it skipped in the manifest, and a
    partial download is prepared with a warning. At 300 frames the raw values are stored
    zero-padded; at 50/64 they go through :func:`datasets.layout_data.layout_frames`.
    """
    if (dataset, fmt) not in LAYOUT_BENCHMARKS:
        wanted = [f for d, f in LAYOUT_BENCHMARKS if d == dataset] or [f for f in FORMATS if f != "raw"] + ["raw"]
        raise ValueError(f"{dataset} cannot be read from --format {fmt}; use {' or '.join(wanted)}")
    cs = _read_clipset(dataset, fmt, roots)
    _clipset_warnings(cs)
    plan = _plan_clipset(cs, frames)
    return _execute(plan, dataset, fmt, out_dir, frames, workers, skip_bad, DATASET_TITLES[dataset])


def prepare(
    dataset: str,
    fmt: str | None,
    input_path: Path | str | Sequence[Path | str],
    out_dir: Path | str,
    frames: int = 50,
    bodies: str = "stgcn",
    skip_bad: bool = False,
    workers: int | None = None,
) -> list[Path]:
    """Prepare every benchmark of ``dataset`` found in ``input_path``; returns the folders written.

    ``fmt`` is one of ``raw``, ``stgcn``, ``crossclr``, ``pyskl``, ``ctrgcn`` (see
    :mod:`datasets.formats`). ``bodies`` chooses the body selection for raw NTU files
    (``stgcn``: the default, what the contrastive papers trained on; ``pyskl``: the denoised
    selection of pyskl/CTR-GCN); the other formats carry their own, which the manifest records.
    ``input_path`` may be several paths (crossclr: the position folder, then the ST-GCN folder
    with the label pickles).
    """
    if dataset not in DATASETS:
        raise ValueError(f"unknown dataset {dataset!r}; choose one of {', '.join(DATASETS)}")
    if fmt is None and dataset in LAYOUT_DATASETS:
        fmt = dataset
    if fmt not in ALL_FORMATS:
        raise ValueError(f"unknown format {fmt!r}; choose one of {', '.join(ALL_FORMATS)}")
    if not isinstance(frames, (int, np.integer)) or not 1 <= frames <= RAW_LAYOUT_FRAMES:
        raise ValueError(f"--frames must be 50, 64 or 300 (any 1..300 works); got {frames!r}")
    if Path(out_dir).exists() and not Path(out_dir).is_dir():
        raise ValueError(f"--out {out_dir} is a file; give a folder (it is created if it does not exist)")
    if dataset in LAYOUT_DATASETS or fmt in LAYOUT_FORMATS:
        if bodies != "stgcn":
            raise ValueError(f"--bodies applies to raw NTU files; {fmt} input carries its own person selection")
        roots = [Path(input_path)] if isinstance(input_path, (str, Path)) else [Path(p) for p in input_path]
        for r in roots:
            if not r.exists():
                raise FileNotFoundError(f"input {r} does not exist")
        workers = max(1, int(workers if workers is not None else (os.cpu_count() or 1)))
        return prepare_layout(dataset, fmt, roots, Path(out_dir), frames, skip_bad, workers)
    if bodies not in BODY_SELECTIONS:
        raise ValueError(f"unknown body selection {bodies!r}; choose one of {', '.join(BODY_SELECTIONS)}")
    if fmt != "raw" and bodies not in ("stgcn", FORMAT_BODIES[fmt]):
        raise ValueError(
            f"--bodies applies to raw files; {fmt} input carries the {FORMAT_BODIES[fmt]} selection already"
        )
    if dataset.startswith("pku") and fmt == "raw" and bodies != "stgcn":
        raise ValueError("--bodies applies to raw NTU files; PKU-MMD files hold fixed person slots")
    roots = [Path(input_path)] if isinstance(input_path, (str, Path)) else [Path(p) for p in input_path]
    for r in roots:
        if not r.exists():
            raise FileNotFoundError(f"input {r} does not exist")
    out_dir = Path(out_dir)
    workers = max(1, int(workers if workers is not None else (os.cpu_count() or 1)))
    title = DATASET_TITLES[dataset]
    if fmt == "raw":
        if dataset.startswith("ntu"):
            plans = [_plan_raw_ntu(dataset, roots, bodies, frames)]
        else:
            plans = [_plan_raw_pku(dataset, roots, frames, skip_bad)]
        return _execute(plans[0], dataset, fmt, out_dir, frames, workers, skip_bad, f"{title} raw")
    found = READERS[fmt](roots, dataset)
    if not found:
        raise FileNotFoundError(
            f"no {fmt} files for {title} under {', '.join(map(str, roots))}; see `python -m datasets.prepare --help` "
            "for the layout each format has"
        )
    plans = _plans_from_formats(found, dataset, fmt, frames)
    # both parts of a benchmark go into one folder: merge the per-part plans before writing
    written: list[Path] = []
    by_bench: dict[str, list[_Plan]] = {}
    for plan in plans:
        by_bench.setdefault(next(iter(plan.benches)), []).append(plan)
    for bench, group in by_bench.items():
        merged = _merge(group)
        written += _execute(merged, dataset, fmt, out_dir, frames, workers, skip_bad, f"{title} {bench}")
    return written


@dataclass
class _ChainSource(Source):
    """Several sources one after the other (the train and val parts of a benchmark)."""

    sources: list[Source]

    def _locate(self, i: int) -> tuple[Source, int]:
        for s in self.sources:
            if i < len(s):
                return s, i
            i -= len(s)
        raise IndexError(i)

    def __len__(self) -> int:
        return sum(len(s) for s in self.sources)

    def describe(self, i: int) -> str:
        s, j = self._locate(i)
        return s.describe(j)

    def load(self, i: int) -> list[np.ndarray]:
        s, j = self._locate(i)
        return s.load(j)


def _merge(group: list[_Plan]) -> _Plan:
    first = group[0]
    if len(group) == 1:
        return first
    job = _Job(
        _ChainSource([p.job.source for p in group]),
        first.job.frames,
        first.job.mode,
        {},
        [t for p in group for t in p.job.targets],
    )
    return _Plan(first.benches, job, [n for p in group for n in p.unit_names])


# --------------------------------------------------------------------------- CLI

HELP = """\
Prepare real NTU RGB+D 60/120 or PKU-MMD I/II data for SkeleBench.

Writes one folder per official benchmark under --out: ntu60-xsub, ntu60-xview, ntu120-xsub,
ntu120-xset, pku1-xsub, pku1-xview, pku2-xsub, pku2-xview. Each holds train_data.npy /
val_data.npy (float32, N x 3 x T x 25 x 2), train_label.pkl / val_label.pkl (the ST-GCN
(names, labels) pair, so the official code can read them too) and manifest.json (source,
format, split rule, body selection, frame count, counts, checksums). Every other command
then takes --dataset <id> --data-root OUT.

Input layouts (--format):
  raw       NTU: a folder (searched recursively) of SsssCcccPpppRrrrAaaa.skeleton files; the
            302/535 samples with missing skeletons are skipped, a partial download is
            prepared with a warning. PKU-MMD: a folder with PKU_Skeleton_Renew/ (or
            skeleton/), Train_Label_PKU_final/ (or label/) and the split files
            cross-subject.txt, cross-view.txt (Part II: cross_subject_v2.txt,
            cross_view_v2.txt); clips are cut as AimCLR does.
  stgcn     ST-GCN ntu_gendata.py output: <input>/xsub/{train,val}_data.npy + _label.pkl
            (and xview/, or xset/ for NTU-120; AimCLR's pku_part*_gendata output alike).
  crossclr  CrosSCLR/AimCLR/SkeleMixCLR output: <input>/xsub/{train,val}_position.npy with
            the ST-GCN {train,val}_label.pkl beside it, or give the ST-GCN folder as a
            second --input.
  pyskl     pyskl's ntu60_3danno.pkl / ntu120_3danno.pkl (the file, or its folder).
  ctrgcn    CTR-GCN's NTU60_CS.npz / NTU60_CV.npz / NTU120_CSub.npz / NTU120_CSet.npz (a
            folder with some of them, or one file). A lone actor that CTR-GCN copied into
            both person slots (NTU-120) is set back to one person.

Other skeleton layouts (the manifest records the layout, every command reads it):
  nwucla    NW-UCLA, the CTR-GCN release: all_sqe/aAA_sSS_eEE_vVV.json (give all_sqe/ or
            its parent). Writes nwucla-xview (views 1, 2 train; view 3 tests), layout
            kinect20 (N x 3 x T x 20 x 1), labels 0-based. `prepare nwucla --input DIR`.
  pyskl2d   pyskl's 2D files ntu60_hrnet.pkl / ntu120_hrnet.pkl (`prepare ntu60 --format
            pyskl2d`): ntu60-2d-xsub, ntu60-2d-xview, ntu120-2d-xsub, ntu120-2d-xset, layout
            coco17 (x, y normalised by img_shape as pyskl's PreNormalize2D; score).
  kinetics  ST-GCN's Kinetics-skeleton: kinetics_train/, kinetics_val/ and their
            kinetics_{train,val}_label.json; kinetics-skeleton, layout openpose18 (x, y - 0.5,
            score; per-frame top-2 persons by score, as ST-GCN's feeder).
  utdmhad   UTD-MHAD aX_sY_tZ_skeleton.mat (d_skel 20 x 3 x T): utdmhad-xsub (subjects 1, 3,
            5, 7 train; 2, 4, 6, 8 test), layout kinect20 (read in UTD-MHAD's joint order, head
            first, and permuted into the Kinect SDK's).
  For these, 300 frames stores the raw values zero-padded; 50/64 resize the valid frames
  (3D: the official processor with the layout's centre joint and shoulders).
"""


def build_parser() -> argparse.ArgumentParser:
    p = ArgumentParser(
        prog="python -m datasets.prepare", description=HELP, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument(
        "dataset",
        choices=DATASETS,
        help="which dataset: ntu60, ntu120, pku1 (PKU-MMD I), pku2 (PKU-MMD II), nwucla (NW-UCLA), kinetics "
        "(Kinetics-skeleton) or utdmhad (UTD-MHAD)",
    )
    p.add_argument(
        "--format",
        dest="fmt",
        default=None,
        choices=ALL_FORMATS,
        help="the form the input is in (see the layouts above); required for NTU and PKU-MMD, implied for nwucla, "
        "kinetics and utdmhad",
    )
    p.add_argument(
        "--input",
        action="append",
        required=True,
        metavar="PATH",
        help="the input folder or file; give it twice for crossclr arrays whose label pickles are in the ST-GCN folder",
    )
    p.add_argument("--out", required=True, metavar="DIR", help="where the benchmark folders are written (DIR/<id>/)")
    p.add_argument(
        "--frames",
        type=int,
        default=50,
        choices=FRAME_CHOICES,
        help="frames per sample: 50 (CrosSCLR, AimCLR; default), 64 (SkeleMixCLR) — both made by the official "
        "NTUMotionProcessor preprocessing — or 300, the raw ST-GCN layout (zero-padded, no resampling)",
    )
    p.add_argument(
        "--bodies",
        choices=BODY_SELECTIONS,
        default=None,
        help="body selection for raw NTU files: stgcn (default; the first two bodies listed in each frame, as "
        "ST-GCN's gendata and the contrastive papers) or pyskl (bodies tracked by ID and denoised as "
        "pyskl/CTR-GCN do). Other formats carry their own; the manifest records it",
    )
    p.add_argument(
        "--skip-bad",
        action="store_true",
        help="skip malformed or truncated files (listed in the manifest) instead of stopping at the first",
    )
    p.add_argument(
        "--workers",
        type=positive_int,
        default=None,
        metavar="N",
        help="processes that parse files in parallel (default: all cores)",
    )
    return p


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    print(f"warning: {message}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.fmt is None:
        if args.dataset not in LAYOUT_DATASETS:
            print(f"error: --format is required for {args.dataset}: one of {', '.join(FORMATS + ('pyskl2d',))}",
                  file=sys.stderr)
            return 2
        args.fmt = args.dataset
    if args.bodies and args.fmt in LAYOUT_FORMATS:
        print(f"error: --bodies applies to raw NTU files; {args.fmt} input carries its own person selection",
              file=sys.stderr)
        return 2
    bodies = args.bodies or "stgcn"
    if args.bodies and args.fmt != "raw" and args.bodies != FORMAT_BODIES.get(args.fmt):
        print(
            f"error: --bodies applies to raw files; {args.fmt} input carries the {FORMAT_BODIES[args.fmt]} "
            "selection already",
            file=sys.stderr,
        )
        return 2
    if args.fmt != "raw":
        bodies = "stgcn"
    warnings.showwarning = _show_warning
    try:
        done = prepare(
            args.dataset,
            args.fmt,
            args.input,
            args.out,
            frames=args.frames,
            bodies=bodies,
            skip_bad=args.skip_bad,
            workers=args.workers,
        )
    except (PrepareError, FormatError, ValueError, FileNotFoundError, OSError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2  # the suite's exit status for a bad option, path or file (README)
    except KeyboardInterrupt:
        print("interrupted; nothing half-written was left in place", file=sys.stderr)
        return 130
    from datasets.store import read_manifest

    for folder in done:
        m = read_manifest(folder)
        print(
            f"{folder}: train {m['counts'].get('train', 0):,} / val {m['counts'].get('val', 0):,} samples, "
            f"{m['frames']} frames, bodies {m['body_selection']}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
