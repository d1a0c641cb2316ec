"""The protocols' command lines: the options every protocol shares, the one place where a parsed
command line becomes a spec, and the loop that runs a spec once per seed with one-line errors.

Everything else in :mod:`protocols` takes a frozen spec (:class:`protocols.common.ProtocolSpec`
and the protocols' own), so a protocol runs from Python (a notebook, a sweep) without faking a
command line. This module and the protocols' ``build_parser``/``main`` are the only code that
sees an ``argparse.Namespace``: an option's ``dest`` is its spec field's name, and
:func:`spec_from_args` refuses a parser and a spec that disagree, so neither can drift.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from dataclasses import fields
from pathlib import Path

import torch

from datasets import DEFAULT_DATASET
from datasets.skeleton import STREAMS
from methods import available
from methods.encoders import ENCODERS
from protocols.common import BN_STATISTICS, D, S, check_results_dir, each_seed
from results.provenance import parse_device
from utils.cli import seed_int, seed_list


def add_common_arguments(ap: argparse.ArgumentParser, streams: tuple[str, ...] = STREAMS) -> None:
    """The options of :class:`protocols.common.ProtocolSpec`'s fields."""
    ap.add_argument("--method", required=True, help=f"one of: {', '.join(available())}")
    ap.add_argument("--dataset", default=DEFAULT_DATASET, help="benchmark id (default: %(default)s, synthetic data)")
    ap.add_argument("--data-root", type=Path, help="folder of prepared benchmarks (`python -m datasets.prepare --out`)")
    ap.add_argument("--stream", default="joint", choices=streams,
                    help="input stream (default: %(default)s)" + ("; all: one head per stream trained jointly on "
                                                                  "their averaged logits (CrosSCLR's view: all)"
                                                                  if "all" in streams else ""))
    ap.add_argument("--checkpoint", help="encoder checkpoint to evaluate, or 'random' for a random-init encoder "
                    "(default: the zoo checkpoint for the data, else pretrain with the default preset)")
    ap.add_argument("--pretrain", action="store_true", help="pretrain from scratch with the recorded recipe "
                    "instead of using the zoo checkpoint")
    ap.add_argument("--bn", choices=BN_STATISTICS, default="training",
                    help="BN statistics of the evaluated encoder: 'training' keeps the checkpoint's (as the official "
                         "code), 'precise' re-estimates them on the clean training set first, as the random-init "
                         "baseline always is (default: %(default)s)")
    ap.add_argument("--encoder", choices=list(ENCODERS),
                    help="the backbone: a registered encoder in place of the method's own (default: the method's, "
                         "ST-GCN, or a --checkpoint's own); random-init, pretraining and checkpoints follow it")
    ap.add_argument("--allow-mismatch", action="store_true",
                    help="evaluate a checkpoint whose recorded method, frames, graph or head differ from --method's "
                         "(refused by default; the record names every difference)")
    add_seed_arguments(ap, "the protocol (and, where it pretrains, the pretraining)")
    ap.add_argument("--device", help="cpu or cuda (default: cuda when available)")
    ap.add_argument("--results-dir", type=Path, help="where to write the result record (default: your records folder, .cache/records or $SKELEBENCH_RESULTS)")
    ap.add_argument("--json", action="store_true", help="print the result record as one JSON line, for scripts")


def add_seed_arguments(ap: argparse.ArgumentParser, what: str) -> None:
    """``--seed N`` for one run, or ``--seeds 0,1,2`` for one run (and one record) per seed, which is
    how the leaderboard's mean ± sd over seeds is made (issue 13, item 6)."""
    group = ap.add_mutually_exclusive_group()
    group.add_argument("--seed", type=seed_int, default=0, help=f"seed of {what}, 0 to 2**32 - 1 (default: %(default)s)")
    group.add_argument("--seeds", dest="run_seeds", type=seed_list, metavar="S,S,...",
                       help="run once per seed, e.g. 0,1,2: each run is complete on its own (record, checkpoint)")


def spec_from_args(args: argparse.Namespace, spec_type: type[S]) -> S:
    """The spec a parsed command line asks for: each field from the option of the same name.

    A parser with an option the spec has no field for, or a spec field no option sets, is a
    TypeError (a programming error, not a user's): the command line and the spec cannot drift."""
    given, names = vars(args), [f.name for f in fields(spec_type)]
    if set(given) != set(names):
        raise TypeError(f"the command line and {spec_type.__name__} disagree: options without a field "
                        f"{sorted(set(given) - set(names))}, fields without an option {sorted(set(names) - set(given))}")
    return spec_type(**{name: given[name] for name in names})


def run_cli(build: Callable[[], argparse.ArgumentParser], spec_type: type[D],
            evaluate: Callable[[D, torch.device], dict], argv: list[str] | None = None) -> int:
    """Parse, build the spec, run it once per seed, and turn expected failures into one clear line
    and exit code 2.

    The results folder is checked before the work (:func:`protocols.common.check_results_dir`);
    an OSError after it (a disk that filled up meanwhile: :func:`results.write_record` then leaves
    nothing behind) is one line too, never a traceback."""
    args = build().parse_args(argv)
    try:
        device = parse_device(args.device)
        check_results_dir(args.results_dir)
        for spec in each_seed(spec_from_args(args, spec_type)):
            evaluate(spec, device)
    except (ValueError, OSError, FloatingPointError) as err:  # OSError includes FileNotFoundError
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0
