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
import os
import shutil
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from datasets.benchmarks import BENCHMARKS as BENCHMARK_TABLE
from datasets.benchmarks import DATASET_TITLES, prepared_by
from datasets.clipset import layout_preprocessing_text
from datasets.convert import RAW_LAYOUT_FRAMES, Key, PrepareError, drop_rows, run_job, warn
from datasets.convert import PrepareWarning as PrepareWarning  # re-exported: what a caller filters
from datasets.formats import FORMAT_BODIES, FORMATS, READERS, FormatError
from datasets.ntu import BODY_SELECTIONS
from datasets.plans import (
    Plan,
    clipset_warnings,
    merge_plans,
    plan_clipset,
    plan_raw_ntu,
    plan_raw_pku,
    plans_from_formats,
    read_clipset,
)
from datasets.preprocess import NORMALISATIONS
from datasets.splits import (
    BENCHMARKS,
    NUM_CLASSES,
    SPLIT_RULES,
)
from datasets.store import BenchmarkWriter
from utils.cli import ArgumentParser, positive_int

#: Datasets of other skeleton layouts (issue 14), each read from its one format, named as the dataset.
LAYOUT_DATASETS = ("nwucla", "kinetics", "utdmhad")
#: Formats whose readers return a :class:`~datasets.clipset.ClipSet`; ``pyskl2d`` is NTU's 2D file.
LAYOUT_FORMATS = ("pyskl2d",) + LAYOUT_DATASETS
DATASETS = tuple(BENCHMARKS) + LAYOUT_DATASETS
ALL_FORMATS = FORMATS + LAYOUT_FORMATS
FRAME_CHOICES = (50, 64, 300)
#: The benchmarks each layout format writes, with the ``datasets.prepare`` dataset argument.
LAYOUT_BENCHMARKS: dict[tuple[str, str], tuple[str, ...]] = {
    b.prepared_from: prepared_by(*b.prepared_from) for b in BENCHMARK_TABLE if b.prepared_from}


def benchmark_ids() -> list[str]:
    """The ids of the real-data benchmarks, e.g. ``ntu60-xsub`` (the folder names under ``--out``)."""
    return [f"{d}-{b}" for d, benches in BENCHMARKS.items() for b in benches]


def layout_benchmark_ids() -> list[str]:
    """The ids of the benchmarks of other skeleton layouts (NW-UCLA, 2D NTU, Kinetics-skeleton, UTD-MHAD)."""
    return [bid for ids in LAYOUT_BENCHMARKS.values() for bid in ids]


def _open_writer(out_dir: Path, bid: str, layout: str = "ntu25") -> BenchmarkWriter:
    for stale in out_dir.glob(f".{bid}.partial-*"):
        shutil.rmtree(stale, ignore_errors=True)
    return BenchmarkWriter(out_dir / bid, layout=layout)


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
    plan: Plan, dataset: str, fmt: str, out_dir: Path, frames: int, workers: int, skip_bad: bool, desc: str
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
        bad = run_job(plan.job, workers, desc, skip_bad)
        if bad:
            bad_units = {i for i, _ in bad}
            warn(f"{len(bad_units)} bad input files were skipped (--skip-bad); they are listed in the manifests")
            drop: dict[Key, set[int]] = {}
            for i in bad_units:
                for sample in plan.job.targets[i]:
                    for key, row in sample:
                        drop.setdefault(key, set()).add(row)
            for key, rows in drop.items():
                drop_rows(plan.job.outputs[key], rows)
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
                preprocessing = layout_preprocessing_text(frames, cs.layout, RAW_LAYOUT_FRAMES, plan.job.normalise)
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
                manifest["normalisation"] = plan.job.normalise
            done.append(w.commit(manifest))
            del writers[bench]
        return done
    finally:
        for w in writers.values():
            w.abort()


def prepare_layout(
    dataset: str,
    fmt: str,
    roots: list[Path],
    out_dir: Path,
    frames: int = 50,
    skip_bad: bool = False,
    workers: int = 1,
    normalise: str = "frame",
) -> list[Path]:
    """Prepare a dataset of another skeleton layout (NW-UCLA, 2D NTU, Kinetics-skeleton, UTD-MHAD).

    Same guarantees as the NTU paths: every file is validated as it is parsed (an error names
    it), folders are written atomically, ``--skip-bad`` lists what it skipped in the manifest, and a
    partial download is prepared with a warning. At 300 frames the raw values are stored
    zero-padded; at 50/64 they go through :func:`datasets.clipset.layout_frames`.
    """
    if (dataset, fmt) not in LAYOUT_BENCHMARKS:
        wanted = [f for d, f in LAYOUT_BENCHMARKS if d == dataset] or [f for f in FORMATS if f != "raw"] + ["raw"]
        raise ValueError(f"{dataset} cannot be read from --format {fmt}; use {' or '.join(wanted)}")
    cs = read_clipset(dataset, fmt, roots)
    clipset_warnings(cs)
    plan = plan_clipset(cs, frames, normalise)
    return _execute(plan, dataset, fmt, out_dir, frames, workers, skip_bad, DATASET_TITLES[dataset])


def check_normalise(normalise: str, layout_input: bool, frames: int) -> None:
    """Refuse a ``--normalise`` that is unknown or has nothing to act on: NTU and PKU-MMD keep the
    methods' official processor (their published arrays are made by it), and 300 frames stores the
    raw values, unnormalised."""
    if normalise not in NORMALISATIONS:
        raise ValueError(f"unknown --normalise {normalise!r}; choose one of {', '.join(NORMALISATIONS)}")
    if normalise != "frame" and (not layout_input or frames == RAW_LAYOUT_FRAMES):
        raise ValueError(f"--normalise {normalise} applies to nwucla, kinetics, utdmhad and pyskl2d at 50 or 64 "
                         "frames; NTU and PKU-MMD arrays keep the official processor, and 300 frames stores raw values")


def prepare(
    dataset: str,
    fmt: str | None,
    input_path: Path | str | Sequence[Path | str],
    out_dir: Path | str,
    frames: int = 50,
    bodies: str = "stgcn",
    skip_bad: bool = False,
    workers: int | None = None,
    normalise: str = "frame",
) -> list[Path]:
    """Prepare every benchmark of ``dataset`` found in ``input_path``; returns the folders written.

    ``fmt`` is one of ``raw``, ``stgcn``, ``crossclr``, ``pyskl``, ``ctrgcn`` (see
    :mod:`datasets.formats`). ``bodies`` chooses the body selection for raw NTU files
    (``stgcn``: the default, what the contrastive papers trained on; ``pyskl``: the denoised
    selection of pyskl/CTR-GCN); the other formats carry their own, which the manifest records.
    ``input_path`` may be several paths (crossclr: the position folder, then the ST-GCN folder
    with the label pickles). ``normalise`` (the layout datasets only) is ``frame``, the official
    processor, or ``clip`` (:func:`datasets.preprocess.clip_normalise`).
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
    layout_input = dataset in LAYOUT_DATASETS or fmt in LAYOUT_FORMATS
    check_normalise(normalise, layout_input, frames)
    if layout_input:
        if bodies != "stgcn":
            raise ValueError(f"--bodies applies to raw NTU files; {fmt} input carries its own person selection")
        roots = [Path(input_path)] if isinstance(input_path, (str, Path)) else [Path(p) for p in input_path]
        for r in roots:
            if not r.exists():
                raise FileNotFoundError(f"input {r} does not exist")
        workers = max(1, int(workers if workers is not None else (os.cpu_count() or 1)))
        return prepare_layout(dataset, fmt, roots, Path(out_dir), frames, skip_bad, workers, normalise)
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
            plans = [plan_raw_ntu(dataset, roots, bodies, frames)]
        else:
            plans = [plan_raw_pku(dataset, roots, frames, skip_bad)]
        return _execute(plans[0], dataset, fmt, out_dir, frames, workers, skip_bad, f"{title} raw")
    found = READERS[fmt](roots, dataset)
    if not found:
        raise FileNotFoundError(
            f"no {fmt} files for {title} under {', '.join(map(str, roots))}; see `python -m datasets.prepare --help` "
            "for the layout each format has"
        )
    plans = plans_from_formats(found, dataset, fmt, frames)
    # both parts of a benchmark go into one folder: merge the per-part plans before writing
    written: list[Path] = []
    by_bench: dict[str, list[Plan]] = {}
    for plan in plans:
        by_bench.setdefault(next(iter(plan.benches)), []).append(plan)
    for bench, group in by_bench.items():
        merged = merge_plans(group)
        written += _execute(merged, dataset, fmt, out_dir, frames, workers, skip_bad, f"{title} {bench}")
    return written


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
        "--normalise",
        choices=NORMALISATIONS,
        default="frame",
        help="frame (default): the official processor, which centres every frame on its centre joint and turns "
        "every frame to face the same way; clip: one origin for the whole clip, its first frame's centre joint, and "
        "no turn, so the path the body walks and its turns stay in the data (nwucla, kinetics, utdmhad, pyskl2d; "
        "docs/nwucla.md measures both)",
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
            normalise=args.normalise,
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
