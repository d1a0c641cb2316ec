"""Transfer: ``python -m protocols.transfer --method M --source D1 --target D2 --eval linear``.

An encoder pretrained on one benchmark, evaluated on another whose label space is the target's:
NTU-120 → PKU-MMD II and NTU-60 → PKU-MMD I, as later papers report (no official code exists,
methods.md §3.5). The encoder is resolved on the source exactly as every protocol resolves it on
its dataset (the source's zoo entry, ``--checkpoint``, or pretraining on the source), then the
target's protocol runs on it: ``linear`` (frozen) or ``finetune`` (whole network).

Transfer must not evaluate on clips the encoder was pretrained on: NTU RGB+D 120 holds every NTU-60
clip (setups 1-17), so an encoder pretrained on ``ntu120-xsub`` has seen, unlabelled, most of
``ntu60-xview``'s test clips (the leakage-free "X-View*" subsets drop them). Before any work the
target's test clips are matched by sample name against the source's training part (what
pretraining reads); where some were pretrained on the run is refused unless ``--drop-overlap``
(evaluate on the other test clips; recorded as ``overlap_dropped``) or ``--keep-overlap`` (all of
them; recorded as ``overlap``, the count). ``overlap`` is the number of evaluated test clips the
encoder was pretrained on (0 for a random-init encoder, which saw none; null with
``overlap_checked: false`` where ``--keep-overlap`` let a run through whose source could not be read);
``test_clips`` the number evaluated. Records before issue 24 wrote ``overlap: true`` for the
synthetic pair: some, not counted.

On the embedded data the pair is ``synthetic-xsub`` → ``synthetic-xview``. Both splits cut the same
generated performances, so the source's pretraining saw most of the target's test clips: that pair
checks the pipeline, it does not measure transfer. It runs without a flag, as it always has (a
warning line gives the count, the record holds it); ``--drop-overlap`` evaluates it leakage-free.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import torch

from datasets import REAL, SYNTHETIC, benchmark_folder
from datasets.splits import sample_stem
from datasets.store import read_label_pkl
from methods import get_method
from protocols.cli import add_common_arguments, run_cli
from protocols.common import recast, resolve_encoder, run_spec, spec_field
from protocols.finetune import FinetuneSpec, run_finetune
from protocols.linear import LinearSpec, run_linear
from protocols.supervised import TrainingSpec, add_training_arguments
from utils.cli import ArgumentParser, positive_int

KNOWN = SYNTHETIC + REAL
#: The target protocols of ``--eval``.
EVALS = ("linear", "finetune")


@dataclass(frozen=True, kw_only=True)
class TransferSpec(TrainingSpec):
    """A transfer evaluation: the encoder resolved on ``source`` (read from ``source_root``, else
    ``data_root``) as :class:`ProtocolSpec` says, then the ``eval`` protocol on ``target``, with
    ``drop_overlap`` or ``keep_overlap`` deciding what happens to target test clips the encoder
    was pretrained on. ``dataset`` is not read (the command line accepts ``--dataset`` but the
    benchmarks are ``source`` and ``target``); ``epochs`` and the training options are the
    target protocol's."""

    dataset: str | None = None
    source: str = SYNTHETIC[0]
    target: str = SYNTHETIC[1]
    source_root: str | None = spec_field(None, check=str)
    eval: str = spec_field("linear", choices=EVALS)
    drop_overlap: bool = False
    keep_overlap: bool = False

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.drop_overlap and self.keep_overlap:  # the command line's mutually exclusive group
            raise ValueError("TransferSpec: drop_overlap and keep_overlap exclude each other; set one at most")


def source_spec(spec: TransferSpec) -> TransferSpec:
    """The spec as the source benchmark sees it: its dataset and data root (a new spec; ``spec``
    is frozen and stays the target's)."""
    return replace(spec, dataset=spec.source, data_root=spec.source_root or spec.data_root)


def target_spec(spec: TransferSpec) -> LinearSpec | FinetuneSpec:
    """The target protocol's own spec: the shared fields carried over, the dataset the target."""
    return recast(spec, LinearSpec if spec.eval == "linear" else FinetuneSpec, dataset=spec.target)


def overlapping_clips(pretraining: Iterable[str], test: Sequence[str]) -> list[str]:
    """The ``test`` names (in their order and spelling) whose clip is among ``pretraining``'s: one
    clip is one sample name, with or without ``.skeleton`` or a folder (:func:`sample_stem`), so
    benchmarks prepared from different formats still match."""
    seen = {sample_stem(name) for name in pretraining}
    return [name for name in test if sample_stem(name) in seen]


def clip_names(dataset: str, part: str, frames: int, root: Path | str | None) -> list[str]:
    """The sample names of one part of a benchmark (its label file; verified like every read)."""
    folder = benchmark_folder(dataset, frames, root)
    return read_label_pkl(folder / f"{part}_label.pkl")[0]


def overlap_config(spec: TransferSpec, frames: int) -> tuple[dict, frozenset[str]]:
    """Count the target's test clips in the source's pretraining part, refuse a leak that was not
    asked for, and say what is evaluated: the record's ``overlap``, ``test_clips`` and, with
    ``--drop-overlap``, ``overlap_dropped``; and the test clips to drop (for :func:`load_parts`)."""
    test = clip_names(spec.target, "val", frames, spec.data_root)
    if spec.checkpoint == "random":
        shared: list[str] = []  # an untrained encoder was pretrained on nothing
    else:
        try:
            shared = overlapping_clips(clip_names(spec.source, "train", frames, spec.source_root or spec.data_root),
                                       test)
        except FileNotFoundError as err:
            if not spec.keep_overlap:
                raise FileNotFoundError(
                    f"cannot count {spec.target}'s test clips in {spec.source}'s pretraining part: {err}; point "
                    f"--source-root (or --data-root) at the prepared {spec.source}, or pass --keep-overlap to evaluate "
                    "without the count (recorded as overlap unknown)") from None
            return {"overlap": None, "overlap_checked": False, "test_clips": len(test)}, frozenset()
    synthetic_pair = spec.source in SYNTHETIC and spec.target in SYNTHETIC
    said = f"{len(shared):,} of {spec.target}'s {len(test):,} test clips are in {spec.source}'s pretraining part"
    if shared and not (spec.drop_overlap or spec.keep_overlap or synthetic_pair):
        raise ValueError(f"{said} (the same sample names: NTU-120 holds every NTU-60 clip), so the encoder has seen "
                         f"them; pass --drop-overlap to evaluate on the other {len(test) - len(shared):,}, or "
                         "--keep-overlap to evaluate on all of them (the record counts them as overlap)")
    if spec.drop_overlap:
        if len(shared) == len(test):
            raise ValueError(f"all {said}: --drop-overlap leaves no test clip; use another --source or --target")
        return {"overlap": 0, "overlap_dropped": len(shared), "test_clips": len(test) - len(shared)}, frozenset(shared)
    if shared and synthetic_pair and not spec.keep_overlap:
        print(f"warning: {said} (the generated pair shares its performances: it checks the pipeline, it does not "
              "measure transfer; --drop-overlap evaluates on the others); recorded as overlap", file=sys.stderr)
    return {"overlap": len(shared), "test_clips": len(test)}, frozenset()


def run(spec: TransferSpec, device: torch.device | str | None = None) -> dict:
    """The transfer protocol from Python: ``spec``'s run, its record written and returned (as
    ``python -m protocols.transfer`` with the same options; :func:`protocols.common.run_spec`)."""
    return run_spec(spec, evaluate, device)


def evaluate(spec: TransferSpec, device: torch.device) -> dict:
    """One run on a parsed device (what :func:`run` and the command line call per seed): the
    encoder resolved with :func:`source_spec`, the target protocol run with :func:`target_spec`."""
    t0 = time.time()
    for name, value in (("--source", spec.source), ("--target", spec.target)):
        if value not in KNOWN:
            raise ValueError(f"unknown dataset {value!r} for {name}; known: {', '.join(KNOWN)}")
    if spec.source == spec.target:
        raise ValueError(f"--source and --target are both {spec.source}; that is the {spec.eval} protocol itself")
    frames = get_method(spec.method).default_config.frames
    # before the encoder is resolved: resolving may pretrain for hours
    overlap, dropped = overlap_config(spec, frames)
    config = {"eval": spec.eval, "source": spec.source, "target": spec.target, **overlap}
    encoder = resolve_encoder(source_spec(spec), device)
    target = target_spec(spec)
    if isinstance(target, LinearSpec):
        return run_linear(target, device, encoder, t0, "transfer", config, dropped)
    return run_finetune(target, device, encoder, t0, "transfer", config, dropped)


def build_parser() -> argparse.ArgumentParser:
    ap = ArgumentParser(prog="python -m protocols.transfer", description=__doc__.split("\n\n")[0])
    add_common_arguments(ap)
    ap.set_defaults(dataset=None)
    ap.add_argument("--source", default=SYNTHETIC[0], help="benchmark the encoder was pretrained on")
    ap.add_argument("--target", default=SYNTHETIC[1], help="benchmark it is evaluated on (its labels)")
    ap.add_argument("--source-root", help="data root of the source benchmark when it differs from --data-root")
    ap.add_argument("--eval", choices=EVALS, default="linear")
    leak = ap.add_mutually_exclusive_group()
    leak.add_argument("--drop-overlap", action="store_true",
                      help="evaluate on the target's test clips less those in the source's pretraining part (same "
                           "sample name), e.g. NTU-60 X-View* after NTU-120 pretraining; recorded as overlap_dropped")
    leak.add_argument("--keep-overlap", action="store_true",
                      help="evaluate on all the target's test clips though some were pretrained on; recorded as "
                           "overlap (the count). Without either, such a pair is refused (the synthetic pair runs, "
                           "with a warning)")
    ap.add_argument("--epochs", type=positive_int, help="epochs of the target protocol (default: its official count)")
    add_training_arguments(ap)  # used by --eval finetune
    return ap


def main(argv: list[str] | None = None) -> int:
    """``python -m protocols.transfer``: the command line's spec, run once per seed; the exit code."""
    return run_cli(build_parser, TransferSpec, evaluate, argv)


if __name__ == "__main__":
    sys.exit(main())
