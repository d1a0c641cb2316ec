"""What ``python -m datasets.prepare`` will write, planned before anything is written: for each
benchmark its clips' names and labels per part, and one :class:`~datasets.convert.ConversionJob`
that maps every unit of the input to the rows it fills. One planner per kind of input: raw NTU
files, raw PKU-MMD videos, the preprocessed formats of the official code bases, and the clips
of a layout reader (NW-UCLA, Kinetics, UTD-MHAD, 2D NTU)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from datasets.benchmarks import DATASET_TITLES
from datasets.clipset import ClipSet
from datasets.convert import RAW_LAYOUT_FRAMES, ConversionJob, Key, NTURawSource, PKURawSource, PrepareError, warn
from datasets.files import split_regular
from datasets.formats import BenchmarkInput, FormatError, Source
from datasets.kinetics import read_kinetics
from datasets.nwucla import read_nwucla
from datasets.pku import (
    PART_PATTERNS,
    SPLIT_FILES,
    PKUInput,
    PKULabel,
    clip_name,
    discover_pku,
    read_pku_labels,
)
from datasets.pyskl2d import read_pyskl2d
from datasets.splits import (
    BENCHMARKS,
    NTU_NAME,
    available_samples,
    missing_skeletons,
    ntu_in_dataset,
    ntu_is_train,
    read_pku_split,
    sample_stem,
    split_ntu,
)
from datasets.utdmhad import read_utdmhad

# --------------------------------------------------------------------------- plans


@dataclass
class BenchmarkPlan:
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
class Plan:
    benches: dict[str, BenchmarkPlan]
    job: ConversionJob
    unit_names: list[str]  # for the bad-file list
    #: Set for a layout ClipSet: ``benches`` are keyed by the full benchmark id, whose split rule,
    #: class count and coordinate note come from the reader.
    clipset: ClipSet | None = None


def missing_summary(expected: Sequence[str], found: set[str], dataset: str, where: str) -> dict:
    missing = sorted(set(expected) - found)
    if missing:
        warn(
            f"{len(missing):,} of the {len(expected):,} {DATASET_TITLES[dataset]} samples are missing from {where} "
            f"(e.g. {', '.join(missing[:3])}); preparing the {len(found):,} that are there"
        )
    return {"count": len(missing), "expected": len(expected), "examples": missing[:50]}


def plan_raw_ntu(dataset: str, roots: list[Path], bodies: str, frames: int) -> Plan:
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
        warn(f"{irregular[0]}{more}: not a regular file (a folder, FIFO, socket or device) though named "
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
        warn(f"{duplicates} .skeleton files appear twice under the input; the first of each (sorted path) is used")
    notes = {
        "missing_skeleton_files_skipped": skipped,
        "files_outside_dataset_ignored": len(files) - len(in_dataset) + other,
    }
    missing = missing_summary(available_samples(dataset), set(use), dataset, ", ".join(map(str, roots)))
    names = {s: s + ".skeleton" for s in use}
    labels = {s: int(s[-3:]) - 1 for s in use}
    benches: dict[str, BenchmarkPlan] = {}
    rows: dict[str, dict[str, int]] = {}
    for bench in BENCHMARKS[dataset]:
        train, val = split_ntu(use, dataset, bench)
        benches[bench] = BenchmarkPlan(
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
    job = ConversionJob(NTURawSource([str(files[s]) for s in use], bodies), frames, mode, {}, targets)
    return Plan(benches, job, [str(files[s]) for s in use])


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


def plan_raw_pku(dataset: str, roots: list[Path], frames: int, skip_bad: bool) -> Plan:
    if len(roots) != 1:
        raise ValueError("PKU-MMD raw input is one folder (skeletons, labels and split files)")
    inp = discover_pku(roots[0], dataset)
    if not inp.split_files:
        wanted = " and ".join(names[0] for names in SPLIT_FILES[dataset].values())
        raise FileNotFoundError(f"no PKU-MMD split file in {roots[0]}: expected {wanted}")
    for bench in BENCHMARKS[dataset]:
        if bench not in inp.split_files:
            warn(f"no {bench} split file in {roots[0]}; {dataset}-{bench} is not prepared")
    splits = {b: read_pku_split(p) for b, p in inp.split_files.items()}
    ignore = set()
    if inp.ignore_list is not None:
        ignore = {sample_stem(line.strip()) for line in inp.ignore_list.read_text().splitlines() if line.strip()}
    listed = sorted({v for tr, te in splits.values() for v in tr + te})
    videos, clips, bad, no_skeleton = _pku_clips(dataset, inp, ignore, skip_bad)
    if not clips:
        raise FileNotFoundError(f"no PKU-MMD videos with both a skeleton and a label file under {roots[0]}")
    if no_skeleton:
        warn(
            f"{len(no_skeleton)} PKU-MMD videos have a label file but no skeleton file (e.g. {no_skeleton[0]}); skipped"
        )
    missing_videos = sorted(set(listed) - {c[2] for c in clips})
    if missing_videos:
        warn(
            f"{len(missing_videos)} of the {len(listed)} {DATASET_TITLES[dataset]} videos in the split files "
            "are missing "
            f"from {roots[0]} (e.g. {missing_videos[0]}); preparing the clips of the others"
        )
    clips.sort()
    benches: dict[str, BenchmarkPlan] = {}
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
        benches[bench] = BenchmarkPlan(
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
    return Plan(benches, ConversionJob(PKURawSource(videos), frames, mode, {}, targets), [v[0] for v in videos])


def plans_from_formats(found: dict[str, BenchmarkInput], dataset: str, fmt: str, frames: int) -> list[Plan]:
    plans = []
    for bench in BENCHMARKS[dataset]:
        if bench not in found:
            warn(f"no {bench} benchmark in the {fmt} input; {dataset}-{bench} is not prepared")
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
            missing = missing_summary(train + val, found_names, dataset, inp.origin[0])
        for part, p in inp.parts.items():
            other = "val" if part == "train" else "train"
            b = BenchmarkPlan(
                bench,
                {part: p.names, other: inp.parts[other].names},
                {part: p.labels, other: inp.parts[other].labels},
                inp.body_selection,
                inp.origin,
                notes,
                missing,
            )
            job = ConversionJob(p.source, frames, mode, {}, [[[((bench, part), i)]] for i in range(len(p.source))])
            plans.append(Plan({bench: b}, job, [p.source.describe(i) for i in range(len(p.source))]))
    return plans


LAYOUT_READERS = {"nwucla": read_nwucla, "kinetics": read_kinetics, "utdmhad": read_utdmhad}


def read_clipset(dataset: str, fmt: str, roots: list[Path]) -> ClipSet:
    if fmt == "pyskl2d":
        return read_pyskl2d(roots, dataset)
    return LAYOUT_READERS[fmt](roots)


def clipset_warnings(cs: ClipSet) -> None:
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
    warn(
        f"{missing['count']:,} of the {missing['expected']:,} {title} clips are missing from {where} ({detail}); "
        f"preparing the {len(cs.names):,} that are there"
    )


def plan_clipset(cs: ClipSet, frames: int, normalise: str = "frame") -> Plan:
    """One job over every clip of ``cs``; each clip is written to every benchmark part that lists it
    (``normalise``: :data:`datasets.preprocess.NORMALISATIONS`)."""
    targets: list[list[list[tuple[Key, int]]]] = [[[]] for _ in cs.names]
    benches: dict[str, BenchmarkPlan] = {}
    for bid, parts in cs.parts.items():
        for part in ("train", "val"):
            for row, unit in enumerate(parts.get(part, [])):
                targets[unit][0].append(((bid, part), row))
        benches[bid] = BenchmarkPlan(
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
    job = ConversionJob(cs.source, frames, mode, {}, targets, cs.layout, normalise)
    return Plan(benches, job, [cs.source.describe(i) for i in range(len(cs.source))], cs)


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


def merge_plans(group: list[Plan]) -> Plan:
    first = group[0]
    if len(group) == 1:
        return first
    job = ConversionJob(
        _ChainSource([p.job.source for p in group]),
        first.job.frames,
        first.job.mode,
        {},
        [t for p in group for t in p.job.targets],
    )
    return Plan(first.benches, job, [n for p in group for n in p.unit_names])


