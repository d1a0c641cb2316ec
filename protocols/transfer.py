"""Transfer: ``python -m protocols.transfer --method M --source D1 --target D2 --eval linear``.

An encoder pretrained on one benchmark, evaluated on another whose label space is the target's:
NTU-120 → PKU-MMD II and NTU-60 → PKU-MMD I, as later papers report (no official code exists,
methods.md §3.5). The encoder is resolved on the source exactly as every protocol resolves it on
its dataset (the source's zoo entry, ``--checkpoint``, or pretraining on the source), then the
target's protocol runs on it: ``linear`` (frozen) or ``finetune`` (whole network).

On the embedded data the pair is ``synthetic-xsub`` → ``synthetic-xview``. Both splits cut the same
generated performances, so the source's pretraining saw the target's test clips unlabelled: that
pair checks the pipeline, it does not measure transfer; the record says so (``overlap``).
"""

from __future__ import annotations

import argparse
import copy
import sys
import time

import torch

from datasets import REAL, SYNTHETIC
from protocols.common import add_common_arguments, resolve_encoder, run_cli
from protocols.finetune import run_finetune
from protocols.linear import run_linear
from protocols.supervised import add_training_arguments
from results.cli import ArgumentParser, positive_int

KNOWN = SYNTHETIC + REAL


def source_args(args: argparse.Namespace) -> argparse.Namespace:
    """The arguments as the source benchmark sees them: its dataset and data root."""
    src = copy.copy(args)
    src.dataset = args.source
    src.data_root = args.source_root or args.data_root
    return src


def evaluate(args: argparse.Namespace, device: torch.device) -> dict:
    t0 = time.time()
    for name, value in (("--source", args.source), ("--target", args.target)):
        if value not in KNOWN:
            raise ValueError(f"unknown dataset {value!r} for {name}; known: {', '.join(KNOWN)}")
    if args.source == args.target:
        raise ValueError(f"--source and --target are both {args.source}; that is the {args.eval} protocol itself")
    encoder = resolve_encoder(source_args(args), device)
    args.dataset = args.target
    config = {"eval": args.eval, "source": args.source, "target": args.target,
              "overlap": args.source in SYNTHETIC and args.target in SYNTHETIC}
    if args.eval == "linear":
        return run_linear(args, device, encoder, t0, protocol="transfer", extra_config=config)
    return run_finetune(args, device, encoder, t0, protocol="transfer", extra_config=config)


def build_parser() -> argparse.ArgumentParser:
    ap = ArgumentParser(prog="python -m protocols.transfer", description=__doc__.split("\n\n")[0])
    add_common_arguments(ap)
    ap.set_defaults(dataset=None)
    ap.add_argument("--source", default="synthetic-xsub", help="benchmark the encoder was pretrained on")
    ap.add_argument("--target", default="synthetic-xview", help="benchmark it is evaluated on (its labels)")
    ap.add_argument("--source-root", help="data root of the source benchmark when it differs from --data-root")
    ap.add_argument("--eval", choices=("linear", "finetune"), default="linear")
    ap.add_argument("--epochs", type=positive_int, help="epochs of the target protocol (default: its official count)")
    add_training_arguments(ap)  # used by --eval finetune
    return ap


def main(argv: list[str] | None = None) -> int:
    return run_cli(build_parser, evaluate, argv)


if __name__ == "__main__":
    sys.exit(main())
