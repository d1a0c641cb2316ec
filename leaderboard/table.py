"""A small real benchmark's whole table in one command:
``python -m leaderboard table nwucla --input DOWNLOAD/NW-UCLA --data-root DATA``.

From the folder a user downloaded to a regenerated leaderboard: it prepares the benchmark (once
per frame count the methods need), measures the floor (the untrained encoder over init seeds:
official linear probe, standardised probe, KNN 1-NN) and the ceiling (a supervised ST-GCN from
random init), pretrains every method for every seed with the benchmark's default recipe
(``methods.pretrain``: the ``cpu`` preset on the small real benchmarks), evaluates each encoder
with the same three protocols, and rebuilds the leaderboard from the records.

Every step is the command a user would type, run as its own process, so each record carries
the exact command that made it (the evaluations use no ``--checkpoint``: they find the run the
pretraining step left in the cache, as a user's default command does). The table is resumable:
a step whose record (or prepared benchmark, or finished run) is there is skipped, an interrupted
pretraining is continued bit-identically with ``--resume``. Before it starts it prints every step
with its time estimate from the step rates measured on 2 CPU cores (:data:`EPOCH_S`,
:data:`EVAL_S`; docs/nwucla.md); while it runs, each finished step updates the ETA from the
time actually spent, on the terminal and in the log file it names.
"""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from datasets import load_benchmark
from datasets.benchmarks import CPU_SIZED
from datasets.integrity import data_identity, fingerprint
from datasets.preprocess import NORMALISATIONS
from leaderboard.frame import method_option, recipe_variant
from leaderboard.reproduce import find_data_root
from methods import available, get_method
from methods.encoders import ENCODERS, encoder_class
from methods.train import TrainConfig
from methods.train.folder import RUN_FILE, default_run_dir, encoder_file, run_stream
from results import portable, read_records, records_dir, variant_label
from utils.cli import ArgumentParser, seed_list
from utils.paths import REPO_ROOT, cache_dir
from utils.progress import log_line

#: ``datasets.prepare`` source → the small real benchmark it writes that this command tabulates.
BENCHMARKS = {b.split("-")[0]: b for b in CPU_SIZED}

#: Seconds of one pretraining epoch per training clip, measured on NW-UCLA (1,020 clips, 2 CPU
#: cores, the ``cpu`` preset, the KNN monitor every 5 epochs included, nothing else running):
#: SkeletonCLR 11.5 s an epoch, AimCLR 22, CrosSCLR 36 (three streams), SkeleMixCLR 45 (64 frames,
#: mixed views).
EPOCH_S = {"skeletonclr": 11.5 / 1020, "aimclr": 22.0 / 1020, "crossclr": 36.0 / 1020,
           "skelemixclr": 45.0 / 1020, "skelemixclr-v1": 45.0 / 1020}

#: Seconds of one evaluation on NW-UCLA (2 CPU cores, features of 1,484 clips, process start
#: included): the official linear probe (100 epochs of SGD over cached features), the
#: standardised probe, KNN; preparing the download; rebuilding the leaderboard.
EVAL_S = {"official": 14.0, "standardised": 11.0, "knn": 7.0, "prepare": 5.0, "leaderboard": 30.0}

#: The supervised ceiling's recipe on a small benchmark, chosen on a held-out training view
#: (docs/nwucla.md: batch 16 instead of the official 128, which leaves 7 SGD steps an epoch; a
#: random camera, ±60° about x and y; 120 epochs), and its measured wall time on NW-UCLA.
SUPERVISED = ("--checkpoint", "random", "--batch-size", "16", "--epochs", "120", "--augment", "rotate")
SUPERVISED_S = 2110.0

#: The supervised ceiling is this method's encoder (ST-GCN at 50 frames, which SkeletonCLR, AimCLR
#: and CrosSCLR share).
FLOOR_METHOD = "skeletonclr"


def floor_methods(methods: Sequence[str], encoder: str | None = None) -> list[str]:
    """One method per distinct untrained encoder among ``methods`` (and :data:`FLOOR_METHOD`'s):
    the floor of a method is its own untrained network — ST-GCN at 50 frames for SkeletonCLR,
    AimCLR and CrosSCLR, ST-GCN on the 2s-AGCN graph at 64 for SkeleMixCLR — measured once per encoder.
    With ``encoder`` (``--encoder``) every method's network is that encoder, which differs only by frames."""
    seen: dict[tuple, str] = {}
    for m in [FLOOR_METHOD, *methods]:
        c = get_method(m).default_config
        c = replace(c, encoder=encoder or c.encoder)
        seen.setdefault((c.encoder, c.graph, c.frames, tuple(sorted(c.encoder_kwargs().items()))), m)
    return list(seen.values())


@dataclass(frozen=True)
class Step:
    """One command of the table: ``python -m <argv>``, what it is, its estimate, and how to see it
    is done without running it (``done`` is called just before the step would run)."""

    label: str
    argv: tuple[str, ...]
    estimate_s: float
    done: Callable[[], bool]

    @property
    def command(self) -> str:
        return shlex.join(["python", "-m", *self.argv])


def frames_root(data_root: Path, frames: int) -> Path:
    """Where the benchmark is prepared at ``frames`` frames: ``DATA`` at 50 (every method but
    SkeleMixCLR), ``DATA/frames64`` at 64."""
    return data_root if frames == 50 else data_root / f"frames{frames}"


def prepared(root: Path, benchmark: str, frames: int, normalise: str = "frame") -> bool:
    """Whether ``root`` holds ``benchmark`` prepared at ``frames`` frames (its manifest says so).

    A folder prepared with the other ``--normalise`` is refused rather than reused: its records
    would belong to other data than the table was asked for.
    """
    if find_data_root([root], benchmark, frames) is None:
        return False
    made = json.loads((root / benchmark / "manifest.json").read_text()).get("normalisation", "frame")
    if made != normalise:
        raise ValueError(f"{root / benchmark} was prepared with --normalise {made}, not {normalise}; "
                         "give another --data-root or remove that folder")
    return True


def data_identity_at(root: Path, benchmark: str) -> str | None:
    """The data identity a record of a run on ``root/benchmark`` carries; None before it is prepared."""
    manifest = root / benchmark / "manifest.json"
    return data_identity(json.loads(manifest.read_text())) if manifest.is_file() else None


def run_folder(method: str, benchmark: str, root: Path, seed: int, encoder: str | None = None) -> Path:
    """The cache's run folder that ``methods.pretrain`` (and a protocol without ``--checkpoint``)
    uses for this method, benchmark, seed and ``--encoder`` under the default recipe."""
    config = TrainConfig(method, benchmark, data_root=root, seed=seed, encoder=encoder)
    cls = config.method_cls
    _, _, manifest = load_benchmark(benchmark, cls.default_config.frames, root)
    return default_run_dir(cls.name, benchmark, run_stream(cls, "joint"), config.recipe(), seed, None,
                           fingerprint(manifest), config.encoder)


def finished(folder: Path, method: str) -> bool:
    cls = get_method(method)
    own = cls.streams[0] if cls.streams else "joint"
    return (folder / "run.json").is_file() and (folder / encoder_file(own, own)).is_file()


def of_the_recipe(record: dict) -> bool:
    """Whether a record's encoder was trained with the options its recipe sets now: a record of the
    same command made before the recipe set them (CrosSCLR's official head under ``cpu``) is of
    another encoder, so its step runs again rather than count as done."""
    variant = recipe_variant(record.get("method", ""), record.get("preset"), record.get("variant"))
    return not method_option(record.get("method", ""), variant_label(variant if isinstance(variant, dict) else None).strip())


def recorded_as(argv: Sequence[str], data_root: Path) -> str:
    """The command a step's record will carry (:func:`results.portable`: ``<data-root>`` for the
    folder of prepared benchmarks, ``<cache>`` and ``<repo>``)."""
    return portable(shlex.join(["python", "-m", *argv]), data_root)


def plan(source: str, download: Path, data_root: Path, methods: Sequence[str], seeds: Sequence[int],
         init_seeds: Sequence[int], supervised: bool, results: Path | None, train_clips: int = 1020,
         encoder: str | None = None, normalise: str = "frame") -> list[Step]:
    """The table's steps in the order they run: data, floor, ceiling, then seed by seed every
    method's pretraining and evaluations (so an interrupted table holds whole seeds), then the
    leaderboard. ``done`` checks use the records already in ``results``. ``encoder`` (``--encoder``)
    runs every step on that encoder instead of the methods' own (its floor and ceiling too);
    ``normalise`` (``--normalise``) is how the benchmark is prepared."""
    benchmark = BENCHMARKS[source]
    # a record counts for a step when its command and its data match: the same command on the
    # benchmark prepared another way (--normalise) is another result
    have = ({(r.get("command"), (r.get("data") or {}).get("identity")) for r in read_records(results)
             if of_the_recipe(r)} if records_dir(results).is_dir() else set())
    out = ["--results-dir", str(results)] if results is not None else []
    net = ("--encoder", encoder) if encoder else ()
    title = encoder_class(encoder).title if encoder else "ST-GCN"
    steps: list[Step] = []
    for frames in sorted({get_method(m).default_config.frames for m in [*methods, FLOOR_METHOD]}):
        root = frames_root(data_root, frames)
        how = ("--normalise", normalise) if normalise != "frame" else ()
        steps.append(Step(f"prepare {benchmark} at {frames} frames",
                          ("datasets.prepare", source, "--input", str(download), "--out", str(root), "--frames",
                           str(frames), *how), EVAL_S["prepare"],
                          lambda root=root, f=frames: prepared(root, benchmark, f, normalise)))

    def evaluations(method: str, seed: int, extra: tuple[str, ...], what: str) -> list[Step]:
        root = frames_root(data_root, get_method(method).default_config.frames)
        base = ("--method", method, "--dataset", benchmark, "--data-root", str(root), *net, *extra, "--seed", str(seed),
                *out)
        argvs = {"official": ("protocols.linear", *base), "standardised": ("protocols.linear", *base, "--probe",
                 "standardised"), "knn": ("protocols.knn", *base)}
        return [Step(f"{what} {name}", argv, EVAL_S[name],
                     lambda c=recorded_as(argv, root), r=root: (c, data_identity_at(r, benchmark)) in have)
                for name, argv in argvs.items()]

    for floor in floor_methods(methods, encoder):
        what = title if floor == FLOOR_METHOD else f"{floor}'s encoder" if not encoder else \
            f"{title} at {get_method(floor).default_config.frames} frames"
        for seed in init_seeds:
            steps += evaluations(floor, seed, ("--checkpoint", "random"), f"untrained {what}, init seed {seed}:")
    if supervised:
        argv = ("protocols.finetune", "--method", FLOOR_METHOD, "--dataset", benchmark, "--data-root", str(data_root),
                *net, *SUPERVISED, *out)
        steps.append(Step(f"supervised {title} from random init", argv, SUPERVISED_S,
                          lambda c=recorded_as(argv, data_root): (c, data_identity_at(data_root, benchmark))
                          in have))
    for seed in seeds:
        for method in methods:
            cls = get_method(method)
            root = frames_root(data_root, cls.default_config.frames)
            epochs = TrainConfig(method, benchmark, encoder=encoder).recipe().epochs
            argv = ("methods.pretrain", "--method", method, "--dataset", benchmark, "--data-root", str(root), *net,
                    "--seed", str(seed))
            steps.append(Step(f"pretrain {method} seed {seed} ({epochs} epochs)", argv,
                              epochs * EPOCH_S[method] * train_clips,
                              lambda m=method, r=root, s=seed, f=cls.default_config.frames:
                              prepared(r, benchmark, f, normalise)
                              and finished(run_folder(m, benchmark, r, s, encoder), m)))
            steps += evaluations(method, seed, (), f"{method} seed {seed}:")
    board = ("leaderboard",) + (("--records", str(results), "--out", str(Path(results) / "leaderboard"))
                                if results is not None else ("--mine",))
    steps.append(Step("rebuild the leaderboard", board, EVAL_S["leaderboard"], lambda: False))
    return steps


def clock(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def pretraining_folder(step: Step) -> Path | None:
    """The run folder a pretraining step writes (:func:`run_folder` of its arguments); None for
    any other step."""
    if step.argv[0] != "methods.pretrain":
        return None
    args = dict(zip(step.argv[1::2], step.argv[2::2]))
    return run_folder(args["--method"], args["--dataset"], Path(args["--data-root"]), int(args["--seed"]),
                      args.get("--encoder"))


def resume_flag(step: Step) -> tuple[str, ...]:
    """``--resume`` for a pretraining whose run folder holds an unfinished run (``last.pt``)."""
    folder = pretraining_folder(step)
    return ("--resume",) if folder is not None and (folder / "last.pt").is_file() else ()


def run_warning(step: Step) -> str | None:
    """The warning a finished pretraining step's run left in its ``run.json`` (a likely collapse:
    :func:`methods.train.monitor.collapse_warning`), for the table's log."""
    folder = pretraining_folder(step)
    if folder is None:
        return None
    try:
        return json.loads((folder / RUN_FILE).read_text()).get("warning")
    except (OSError, ValueError):
        return None


def kind(step: Step) -> str:
    """What a step's time scales with: a pretraining, an evaluation, or anything else."""
    return {"methods.pretrain": "pretrain", "protocols.linear": "eval", "protocols.knn": "eval"}.get(step.argv[0],
                                                                                                     "other")


def eta(todo: Sequence[Step], spent: dict[str, float], estimated: dict[str, float]) -> float:
    """Seconds left: each remaining step's estimate scaled by how the finished steps of its kind
    compared with their estimates (unscaled for a kind not seen yet)."""
    return sum(s.estimate_s * (spent[kind(s)] / estimated[kind(s)] if estimated.get(kind(s)) else 1.0) for s in todo)


def execute(steps: Sequence[Step], log: Callable[[str], None]) -> None:
    """Run the steps that are not done, one process each, from the checkout; the ETA after each
    is :func:`eta` of what is left."""
    todo = [s for s in steps if not s.done()]
    log(f"{len(steps) - len(todo)} of {len(steps)} steps already done; {len(todo)} to run, estimated "
        f"{clock(sum(s.estimate_s for s in todo))} on 2 CPU cores")
    spent: dict[str, float] = {}
    estimated: dict[str, float] = {}
    for i, step in enumerate(todo, 1):
        if step.done():  # finished meanwhile (another process, or a step that made two)
            continue
        argv = [*step.argv, *resume_flag(step)]
        log(f"[{i}/{len(todo)}] {step.label}: {shlex.join(['python', '-m', *argv])}")
        start = time.monotonic()
        done = subprocess.run([sys.executable, "-m", *argv], cwd=REPO_ROOT, stdout=subprocess.PIPE, text=True)
        took = time.monotonic() - start
        if done.returncode != 0:
            raise RuntimeError(f"step {i} ({step.label}) failed with exit {done.returncode}; fix what it says above "
                               "and run the same table command again: finished steps are skipped")
        last = (done.stdout.strip().splitlines() or [""])[-1]
        spent[kind(step)] = spent.get(kind(step), 0.0) + took
        estimated[kind(step)] = estimated.get(kind(step), 0.0) + step.estimate_s
        log(f"[{i}/{len(todo)}] done in {clock(took)} (estimated {clock(step.estimate_s)}): {last[:160]}; "
            f"{len(todo) - i} steps left, ETA {clock(eta(todo[i:], spent, estimated))}")
        warning = run_warning(step)
        if warning:
            log(f"[{i}/{len(todo)}] warning: {warning}")


def build_parser() -> ArgumentParser:
    ap = ArgumentParser(prog="python -m leaderboard table", description=__doc__.split("\n\n")[0])
    ap.add_argument("source", choices=sorted(BENCHMARKS), help="the dataset as `python -m datasets.prepare` names it")
    ap.add_argument("--input", type=Path, required=True, metavar="DOWNLOAD",
                    help="the downloaded dataset folder (NW-UCLA: the one holding all_sqe/ and val_label.pkl)")
    ap.add_argument("--data-root", type=Path, required=True, metavar="DATA",
                    help="where the prepared benchmark goes (DATA/<benchmark>; 64 frames under DATA/frames64)")
    ap.add_argument("--methods", default="skeletonclr,aimclr,crossclr,skelemixclr",
                    help="comma-separated methods (default: %(default)s)")
    ap.add_argument("--seeds", type=seed_list, default=(0, 1, 2), help="pretraining seeds (default: 0,1,2)")
    ap.add_argument("--init-seeds", type=seed_list, default=(0, 1, 2),
                    help="init seeds of the untrained encoder, the floor (default: 0,1,2)")
    ap.add_argument("--no-supervised", action="store_true", help="skip the supervised ceiling (about 35 minutes on 2 CPU cores)")
    ap.add_argument("--encoder", choices=list(ENCODERS),
                    help="run the whole table on this encoder instead of the methods' own (ST-GCN): floor, ceiling, "
                         "pretrainings and evaluations")
    ap.add_argument("--normalise", choices=NORMALISATIONS, default="frame",
                    help="how the benchmark is prepared (`python -m datasets.prepare --normalise`): frame, the "
                         "official processor (default), or clip, one origin per clip (docs/nwucla.md)")
    ap.add_argument("--results-dir", type=Path,
                    help="where the records go (default: your records folder in the cache, whose leaderboard "
                         "`python -m leaderboard --mine` rebuilds; else RESULTS_DIR, its leaderboard in "
                         "RESULTS_DIR/leaderboard); `python -m leaderboard publish` copies records into the "
                         "shipped set")
    ap.add_argument("--dry-run", action="store_true", help="print the steps and the time estimate, run nothing")
    return ap


def main(argv: list[str] | None = None) -> int:
    """0 when every step ran (or was done already), 2 on bad input or a failed step."""
    args = build_parser().parse_args(argv)
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    unknown = [m for m in methods if m not in available()]
    if unknown:
        print(f"error: unknown method {', '.join(unknown)}; choose from {', '.join(available())}", file=sys.stderr)
        return 2
    if not args.input.is_dir():
        print(f"error: --input {args.input} is not a folder; give the downloaded dataset folder", file=sys.stderr)
        return 2
    logfile = cache_dir("tables") / f"{BENCHMARKS[args.source]}.log"

    def log(message: str) -> None:
        log_line(message)
        with open(logfile, "a") as f:
            f.write(time.strftime("%Y-%m-%dT%H:%M:%SZ ", time.gmtime()) + message + "\n")

    try:
        steps = plan(args.source, args.input.resolve(), args.data_root.resolve(), methods, args.seeds,
                     args.init_seeds, not args.no_supervised, args.results_dir, encoder=args.encoder,
                     normalise=args.normalise)
        finished_steps = [step.done() for step in steps]
        for i, (step, done) in enumerate(zip(steps, finished_steps), 1):
            print(f"{i:3d}. {'   done' if done else clock(step.estimate_s)}  {step.label}")
        left = sum(step.estimate_s for step, done in zip(steps, finished_steps) if not done)
        print(f"     {clock(left)}  left of {len(steps)} steps ({sum(finished_steps)} done), estimated on 2 CPU cores")
        if args.dry_run:
            return 0
        log(f"table {BENCHMARKS[args.source]}: log {logfile}")
        execute(steps, log)
    except (ValueError, FileNotFoundError, RuntimeError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0
