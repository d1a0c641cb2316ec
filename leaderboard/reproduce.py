"""Reproduce the reported numbers of the authors' released checkpoints on real data:
``python -m leaderboard reproduce --data-root DIR --checkpoints DIR``.

For every claim of ``reported.csv`` whose evidence is ``released-checkpoint`` it looks for the
prepared benchmark (a ``--data-root`` holding ``<dataset>/manifest.json`` at the claim's frame
count) and the authors' file of each stream the claim needs, runs ``python -m protocols.linear``
on each found (one subprocess per run, so every record carries the exact command that made it),
fuses the three streams' best-epoch logits with ``python -m protocols.ensemble --logits best``
where a claim is a 3-stream fusion and all three are there, then compares the records with the
claims (:func:`leaderboard.tables.checks`, each row's own tolerance) and prints the result. The
same functions back ``pytest -m reproduction`` (``tests/test_reproduction.py``).

Checkpoint names in ``--checkpoints``: ``<method>-<dataset>-<stream>.pt`` (``aimclr-ntu60-xsub-
joint.pt``), or ``<method>-<dataset>.pt`` for a file that holds every stream (CrosSCLR 3-views),
either directly in the folder or under ``<method>/``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from leaderboard.frame import records_frame
from leaderboard.reported import REPORTED, dataset_of, read_reported, suite_stream
from leaderboard.tables import checks
from results import read_records, records_dir
from utils.cli import ArgumentParser, seed_list
from utils.paths import REPO_ROOT

#: What to provide, said once for the CLI and the skipped tests.
NEEDS = (
    "--data-root DIR: the --out folder of `python -m datasets.prepare` holding the benchmark as DIR/<dataset>/ "
    "(e.g. ntu60-xsub) at the claim's frame count (50 for AimCLR, 64 for SkeleMixCLR+: give --data-root once per "
    "frame count); --checkpoints DIR: the authors' released files named <method>-<dataset>-<stream>.pt (e.g. "
    "aimclr-ntu60-xsub-joint.pt, aimclr-ntu60-xsub-motion.pt, skelemixclr-ntu60-xview-joint.pt) or "
    "<method>-<dataset>.pt for a file holding every stream, directly in DIR or in DIR/<method>/. The claims "
    "checked are the rows of leaderboard/reported.csv with reproduce=released-checkpoint")


@dataclass(frozen=True)
class Job:
    """One linear-protocol run: a method's released file on one benchmark and stream."""

    method: str
    dataset: str
    stream: str
    frames: int
    data_root: Path
    checkpoint: Path


@dataclass(frozen=True)
class Fusion:
    """A 3-stream claim whose three runs are all planned: fuse their best-epoch logits."""

    method: str
    dataset: str
    streams: tuple[str, ...]


@dataclass
class Plan:
    jobs: list[Job] = field(default_factory=list)
    fusions: list[Fusion] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)  # reported.csv lines the plan can check
    skipped: list[str] = field(default_factory=list)  # why the other claims cannot be checked here


def find_checkpoint(folder: Path, method: str, dataset: str, stream: str) -> Path | None:
    """The authors' file for (method, dataset, stream) under ``folder`` (names: module docstring)."""
    for name in (f"{method}-{dataset}-{stream}.pt", f"{method}-{dataset}.pt"):
        for path in (folder / name, folder / method / name):
            if path.is_file():
                return path
    return None


def find_data_root(roots: Sequence[Path], dataset: str, frames: int) -> Path | None:
    """The first root holding ``dataset`` prepared at ``frames`` frames (its manifest says so)."""
    for root in roots:
        manifest = Path(root) / dataset / "manifest.json"
        if manifest.is_file():
            have = json.loads(manifest.read_text()).get("frames")
            if have is None or int(have) == frames:
                return Path(root)
    return None


def plan(reported: pd.DataFrame, data_roots: Sequence[Path], checkpoints: Path | None) -> Plan:
    """What can be run from these folders: a job per (method, dataset, stream) some released-
    checkpoint claim needs and whose data and file are there, a fusion per 3-stream claim whose
    three jobs are all there, and a reason for every claim left out."""
    out = Plan()
    seen: dict[tuple[str, str, str], Job] = {}
    for i, claim in reported[reported.reproduce == "released-checkpoint"].iterrows():
        dataset = dataset_of(claim.benchmark, claim.split)
        frames = int(claim.frames)
        streams = suite_stream(claim.stream).split("+")
        where = f"{claim.variant} {claim.stream} on {dataset} (reported.csv line {i + 2})"
        root = find_data_root(data_roots, dataset, frames)
        if root is None:
            out.skipped.append(f"{where}: no --data-root holds {dataset} at {frames} frames")
            continue
        found = {s: find_checkpoint(checkpoints, claim.suite_method, dataset, s) if checkpoints else None for s in streams}
        missing = [s for s, p in found.items() if p is None]
        if missing:
            out.skipped.append(f"{where}: no {', '.join(f'{claim.suite_method}-{dataset}-{s}.pt' for s in missing)} "
                               f"in --checkpoints")
            continue
        for s, path in found.items():
            seen.setdefault((claim.suite_method, dataset, s), Job(claim.suite_method, dataset, s, frames, root, path))
        if len(streams) > 1:
            fusion = Fusion(claim.suite_method, dataset, tuple(streams))
            if fusion not in out.fusions:
                out.fusions.append(fusion)
        out.lines.append(int(i) + 2)
    out.jobs = list(seen.values())
    return out


def linear_command(job: Job, seed: int, results: Path | None, device: str | None) -> list[str]:
    """The protocol run of one job, as the record will name it."""
    cmd = [sys.executable, "-m", "protocols.linear", "--method", job.method, "--dataset", job.dataset, "--data-root",
           str(job.data_root), "--checkpoint", str(job.checkpoint), "--stream", job.stream, "--seed", str(seed), "--json"]
    cmd += ["--results-dir", str(results)] if results is not None else []
    return cmd + (["--device", device] if device else [])


def run_json(cmd: list[str]) -> dict:
    """Run a protocol command from the checkout; its last stdout line is its record (``--json``)."""
    done = subprocess.run(cmd, cwd=REPO_ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        tail = (done.stderr.strip().splitlines() or ["(no output)"])[-1]
        raise RuntimeError(f"`{' '.join(cmd[1:])}` failed (exit {done.returncode}): {tail}")
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if not lines:
        raise RuntimeError(f"`{' '.join(cmd[1:])}` printed no record")
    return json.loads(lines[-1])


def execute(p: Plan, seeds: Sequence[int], results: Path | None, device: str | None, log=print) -> list[dict]:
    """Run the plan's jobs for every seed, then its fusions per seed; the records written."""
    written = []
    by_key: dict[tuple[str, str, str, int], dict] = {}
    for seed in seeds:
        for job in p.jobs:
            log(f"linear {job.method} {job.dataset} {job.stream} seed {seed} ({job.checkpoint.name}) ...")
            rec = run_json(linear_command(job, seed, results, device))
            by_key[(job.method, job.dataset, job.stream, seed)] = rec
            written.append(rec)
            log(f"  top1 {rec['metrics']['top1']:.2f}, best {rec['metrics']['best_top1']:.2f} -> {rec['record_path']}")
        for fusion in p.fusions:
            paths = [by_key[(fusion.method, fusion.dataset, s, seed)]["record_path"] for s in fusion.streams]
            cmd = [sys.executable, "-m", "protocols.ensemble", "--method", fusion.method, "--dataset", fusion.dataset,
                   "--logits", "best", "--records", *paths] + (["--results-dir", str(results)] if results else [])
            log(f"ensemble {fusion.method} {fusion.dataset} {'+'.join(fusion.streams)} seed {seed} ...")
            done = subprocess.run(cmd, cwd=REPO_ROOT, capture_output=True, text=True)
            if done.returncode != 0:
                raise RuntimeError(f"`{' '.join(cmd[1:])}` failed: {done.stderr.strip()[-300:]}")
            log("  " + done.stdout.strip().splitlines()[-1])
    return written


def results_checks(reported: pd.DataFrame, lines: Sequence[int], results: Path | None,
                   tolerance: float | None = None) -> pd.DataFrame:
    """The checks of the given reported.csv ``lines`` against the records in ``results``."""
    chk = checks(reported, records_frame(read_records(results)), tolerance)
    return chk[chk.line.isin(list(lines))].reset_index(drop=True)


def format_checks(chk: pd.DataFrame) -> str:
    """One line per check: ✓/✗, the claim, reported, reproduced ± sd (n), Δ against the tolerance."""
    out = []
    for r in chk.itertuples():
        sd = "" if r.sd is None or pd.isna(r.sd) else f" ± {r.sd:.2f}"
        out.append(f"{'✓' if r.passed else '✗'} line {r.line}: {r.variant} {r.stream} {r.benchmark} {r.split} "
                   f"({r.metric}): reported {r.reported:g}, reproduced {r.reproduced:.2f}{sd} (n={r.n}), "
                   f"Δ {r.delta:+.2f} (tolerance ±{r.tolerance:g})")
    return "\n".join(out)


def build_parser() -> ArgumentParser:
    ap = ArgumentParser(prog="python -m leaderboard reproduce", description=__doc__.split("\n\n")[0])
    ap.add_argument("--data-root", type=Path, action="append", required=True, metavar="DIR",
                    help="prepared benchmarks (`python -m datasets.prepare --out`); once per frame count")
    ap.add_argument("--checkpoints", type=Path, required=True, metavar="DIR", help="the authors' released files")
    ap.add_argument("--seeds", type=seed_list, default=(0,), help="probe seeds, comma-separated (default: 0)")
    ap.add_argument("--results-dir", type=Path, help="where the records go (default: your records folder, .cache/records or $SKELEBENCH_RESULTS)")
    ap.add_argument("--reported", type=Path, default=REPORTED,
                    help="the claims to check (default: leaderboard/reported.csv)")
    ap.add_argument("--device", help="cpu or cuda (default: cuda when available)")
    ap.add_argument("--dry-run", action="store_true", help="print what would run, run nothing")
    return ap


def main(argv: list[str] | None = None) -> int:
    """0 when every planned check passes, 1 when one fails, 2 when nothing can run or a run fails."""
    args = build_parser().parse_args(argv)
    try:
        seeds = list(args.seeds)
        reported = read_reported(args.reported)
        for root in args.data_root:
            if not root.is_dir():
                raise FileNotFoundError(f"--data-root {root} does not exist")
        if not args.checkpoints.is_dir():
            raise FileNotFoundError(f"--checkpoints {args.checkpoints} does not exist")
        p = plan(reported, args.data_root, args.checkpoints)
        for reason in p.skipped:
            print(f"skipped: {reason}")
        if not p.jobs:
            print(f"error: nothing to reproduce with these folders; provide {NEEDS}", file=sys.stderr)
            return 2
        print(f"{len(p.jobs)} linear runs x {len(seeds)} seed(s), {len(p.fusions)} fusions, checking "
              f"{len(p.lines)} claims")
        if args.dry_run:
            for job in p.jobs:
                print(" ".join(linear_command(job, seeds[0], args.results_dir, args.device)[1:]))
            return 0
        execute(p, seeds, args.results_dir, args.device)
        chk = results_checks(reported, p.lines, records_dir(args.results_dir))
    except (ValueError, FileNotFoundError, RuntimeError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(format_checks(chk))
    print("regenerate the tables with `python -m leaderboard`")
    return 0 if len(chk) and chk.passed.all() else 1
