"""Score a pretrained encoder on NW-UCLA without its test view: ``python scripts/nwucla_heldout_probe.py
--method crossclr --checkpoint RUN/encoder.pt --data-root DATA``.

A pretraining recipe (or a per-method override of it) must be chosen on training data only. The
online KNN monitor of ``methods.pretrain`` is one such number, but a weak one here: it is a cosine
1-NN on two held-out performers, and it scored SkeletonCLR's 50-epoch encoder (76.72 on the test view
under the standardised probe) below the untrained one (docs/nwucla.md). This script fits the
suite's standardised probe, the official SGD probe and the 1-NN on the training part alone, split two
ways:

* ``subjects``: the monitor's split (:func:`datasets.splits.monitor_holdout`: performers 5 and 10 are
  the queries, the other 811 clips the bank);
* ``view``: the clips of camera 1 are the bank, those of camera 2 the queries, the closest stand-in
  for the cross-view test that the training views hold.

No clip of view 3 is read. ``--checkpoint random`` scores the untrained encoder, its BN statistics
re-estimated on the bank (as the protocols do), once per ``--seeds``. ``--probe-batch-size`` runs the
official probe at another batch than its 128, to ask whether 7 SGD steps an epoch on 1,020 clips
are too few; ``--official-input`` fits it on centred or standardised features (the bank's mean and
std), to ask whether the raw features' conditioning holds it back. docs/nwucla.md reports what it
measured.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a file from anywhere

from sklearn.preprocessing import StandardScaler  # noqa: E402

from datasets.splits import monitor_holdout  # noqa: E402
from datasets.store import Split  # noqa: E402
from methods import available, get_method  # noqa: E402
from methods.encoders.features import extract_features  # noqa: E402
from methods.neighbours import accuracy, nearest_neighbour_predict  # noqa: E402
from protocols.common import load_parts, precise_bn, resolve_encoder  # noqa: E402
from protocols.linear import LinearConfig, LinearSpec, fit_probe, standardised_probe, topk_accuracy  # noqa: E402
from scripts.nwucla_heldout_view import BENCHMARK, view_split  # noqa: E402
from utils.cli import ArgumentParser, positive_int, seed_list  # noqa: E402

SPLITS = ("subjects", "view")
#: What the official probe may be fitted on: the raw features (the protocol), or with the bank's mean
#: removed, or standardised with the bank's mean and std.
OFFICIAL_INPUTS = ("raw", "centred", "standardised")


def probe_input(bank: np.ndarray, queries: np.ndarray, how: str) -> tuple[np.ndarray, np.ndarray]:
    """``bank`` and ``queries`` as the official probe sees them under ``how`` (see
    :data:`OFFICIAL_INPUTS`); the statistics are the bank's alone, as a probe may know."""
    if how == "raw":
        return bank, queries
    scaler = StandardScaler(with_std=how == "standardised").fit(np.asarray(bank, np.float64))
    return (scaler.transform(np.asarray(bank, np.float64)).astype(np.float32),
            scaler.transform(np.asarray(queries, np.float64)).astype(np.float32))


def bank_and_queries(train: Split, split: str) -> tuple[Split, Split]:
    """The training part cut into a bank and held-out queries (see the module docstring)."""
    if split == "view":
        return view_split(train, 1), view_split(train, 2)
    held = monitor_holdout(train.names)

    def part(mask: np.ndarray) -> Split:
        rows = np.flatnonzero(mask)
        return Split(np.asarray(train.data[rows]), [train.names[i] for i in rows], np.asarray(train.labels)[rows])

    return part(~held), part(held)


def heldout_scores(method: str, checkpoint: str, data_root: Path, split: str, seed: int, device: torch.device,
                   probe_batch_size: int = LinearConfig.batch_size, official_input: str = "raw") -> dict[str, float]:
    """Top-1 (%) of the encoder on the held-out queries of ``split``: the standardised probe, the
    official probe (the method's schedule at ``probe_batch_size``; its final epoch, and its top-1 on
    the bank it was fitted on, which says whether it under-fits; on ``official_input``) and the cosine 1-NN."""
    spec = LinearSpec(method=method, dataset=BENCHMARK, data_root=str(data_root), checkpoint=checkpoint, seed=seed)
    encoder = resolve_encoder(spec, device)
    _, train, _, manifest = load_parts(spec, get_method(method).default_config.frames)
    bank, queries = bank_and_queries(train, split)
    precise_bn(encoder, bank, "joint", device)  # an untrained encoder only, as the protocols do
    fb = extract_features(encoder.module, bank, "joint", device)
    fq = extract_features(encoder.module, queries, "joint", device)
    fit = standardised_probe(fb, bank.labels, fq, queries.labels, manifest["num_classes"])
    config = LinearConfig(epochs=get_method(method).linear_epochs, batch_size=probe_batch_size)
    ob, oq = probe_input(fb, fq, official_input)
    official = fit_probe(ob, bank.labels, oq, queries.labels, manifest["num_classes"], config, seed)
    with torch.no_grad():
        bank_logits = official.layer(torch.from_numpy(np.asarray(ob)).float())
    fitted = topk_accuracy(bank_logits, torch.from_numpy(np.asarray(bank.labels)).long(), 1)
    nn1 = accuracy(nearest_neighbour_predict(fb, bank.labels, fq), queries.labels)
    return {"standardised": fit.metrics["top1"], "official": official.metrics["top1"], "official_bank": fitted,
            "knn": nn1, "bank": len(bank), "queries": len(queries)}


def main(argv: list[str] | None = None) -> int:
    ap = ArgumentParser(prog="python scripts/nwucla_heldout_probe.py", description=__doc__.split("\n\n")[0])
    ap.add_argument("--method", required=True, choices=available(), help="whose encoder the checkpoint holds")
    ap.add_argument("--checkpoint", required=True, help="encoder file (a run's encoder.pt), or random")
    ap.add_argument("--data-root", type=Path, required=True, metavar="DATA", help="folder holding nwucla-xview")
    ap.add_argument("--split", choices=SPLITS + ("both",), default="both", help="held-out part (default: both)")
    ap.add_argument("--seeds", type=seed_list, default=(0,), help="init seeds of a random encoder (default: 0)")
    ap.add_argument("--probe-batch-size", type=positive_int, default=LinearConfig.batch_size,
                    help="the official probe's batch (default: %(default)s, the official one)")
    ap.add_argument("--official-input", choices=OFFICIAL_INPUTS, default="raw",
                    help="fit the official probe on raw (the protocol), centred or standardised features")
    args = ap.parse_args(argv)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    for split in SPLITS if args.split == "both" else (args.split,):
        for seed in args.seeds if args.checkpoint == "random" else (0,):
            s = heldout_scores(args.method, args.checkpoint, args.data_root, split, seed, device,
                               args.probe_batch_size, args.official_input)
            who = f"random init seed {seed}" if args.checkpoint == "random" else args.checkpoint
            print(f"{split} (bank {s['bank']}, queries {s['queries']}): {args.method} {who}: standardised probe "
                  f"{s['standardised']:.2f}, official probe {s['official']:.2f} ({args.official_input}, batch {args.probe_batch_size}; "
                  f"{s['official_bank']:.1f} on its bank), 1-NN {s['knn']:.2f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
