"""Score a pretrained encoder on NW-UCLA without its test view: ``python scripts/nwucla_heldout_probe.py
--method crossclr --checkpoint RUN/encoder.pt --data-root DATA``.

A pretraining recipe (or a per-method override of it) must be chosen on training data only. The
online KNN monitor of ``methods.pretrain`` is one such number, but a weak one here: it is a cosine
1-NN on two held-out performers, and it scored SkeletonCLR's 50-epoch encoder (76.72 on the test view
under the standardised probe) below the untrained one (docs/nwucla.md). This script fits the
suite's standardised probe and the 1-NN on the training part alone, split two ways:

* ``subjects``: the monitor's split (:func:`datasets.splits.monitor_holdout`: performers 5 and 10 are
  the queries, the other 811 clips the bank);
* ``view``: the clips of camera 1 are the bank, those of camera 2 the queries, the closest stand-in
  for the cross-view test that the training views hold.

No clip of view 3 is read. ``--checkpoint random`` scores the untrained encoder, its BN statistics
re-estimated on the bank (as the protocols do), once per ``--seeds``. docs/nwucla.md reports what
it measured.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a file from anywhere

from datasets.splits import monitor_holdout  # noqa: E402
from datasets.store import Split  # noqa: E402
from methods import available, get_method  # noqa: E402
from methods.encoders.features import extract_features  # noqa: E402
from methods.neighbours import accuracy, nearest_neighbour_predict  # noqa: E402
from protocols.common import load_parts, precise_bn, resolve_encoder  # noqa: E402
from protocols.linear import LinearSpec, standardised_probe  # noqa: E402
from scripts.nwucla_heldout_view import BENCHMARK, view_split  # noqa: E402
from utils.cli import ArgumentParser, seed_list  # noqa: E402

SPLITS = ("subjects", "view")


def bank_and_queries(train: Split, split: str) -> tuple[Split, Split]:
    """The training part cut into a bank and held-out queries (see the module docstring)."""
    if split == "view":
        return view_split(train, 1), view_split(train, 2)
    held = monitor_holdout(train.names)

    def part(mask: np.ndarray) -> Split:
        rows = np.flatnonzero(mask)
        return Split(np.asarray(train.data[rows]), [train.names[i] for i in rows], np.asarray(train.labels)[rows])

    return part(~held), part(held)


def heldout_scores(method: str, checkpoint: str, data_root: Path, split: str, seed: int,
                   device: torch.device) -> dict[str, float]:
    """Standardised-probe and cosine 1-NN top-1 (%) of the encoder on the held-out queries of ``split``."""
    spec = LinearSpec(method=method, dataset=BENCHMARK, data_root=str(data_root), checkpoint=checkpoint, seed=seed)
    encoder = resolve_encoder(spec, device)
    _, train, _, manifest = load_parts(spec, get_method(method).default_config.frames)
    bank, queries = bank_and_queries(train, split)
    precise_bn(encoder, bank, "joint", device)  # an untrained encoder only, as the protocols do
    fb = extract_features(encoder.module, bank, "joint", device)
    fq = extract_features(encoder.module, queries, "joint", device)
    fit = standardised_probe(fb, bank.labels, fq, queries.labels, manifest["num_classes"])
    nn1 = accuracy(nearest_neighbour_predict(fb, bank.labels, fq), queries.labels)
    return {"standardised": fit.metrics["top1"], "knn": nn1, "bank": len(bank), "queries": len(queries)}


def main(argv: list[str] | None = None) -> int:
    ap = ArgumentParser(prog="python scripts/nwucla_heldout_probe.py", description=__doc__.split("\n\n")[0])
    ap.add_argument("--method", required=True, choices=available(), help="whose encoder the checkpoint holds")
    ap.add_argument("--checkpoint", required=True, help="encoder file (a run's encoder.pt), or random")
    ap.add_argument("--data-root", type=Path, required=True, metavar="DATA", help="folder holding nwucla-xview")
    ap.add_argument("--split", choices=SPLITS + ("both",), default="both", help="held-out part (default: both)")
    ap.add_argument("--seeds", type=seed_list, default=(0,), help="init seeds of a random encoder (default: 0)")
    args = ap.parse_args(argv)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    for split in SPLITS if args.split == "both" else (args.split,):
        for seed in args.seeds if args.checkpoint == "random" else (0,):
            s = heldout_scores(args.method, args.checkpoint, args.data_root, split, seed, device)
            who = f"random init seed {seed}" if args.checkpoint == "random" else args.checkpoint
            print(f"{split} (bank {s['bank']}, queries {s['queries']}): {args.method} {who}: standardised probe "
                  f"{s['standardised']:.2f}, 1-NN {s['knn']:.2f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
