"""Semi-supervised evaluation: ``python -m protocols.semi --method skelemixclr --fraction 0.1``.

The whole network fine-tuned on a class-balanced labelled fraction of the training set
(methods.md §3.3), evaluated on the whole test (val) part.

**The subset** is the official ``Feeder_semi``'s: for each class, in order of first appearance in
the label list, ``round(p · n_class)`` of its samples drawn without replacement (Python's
``round``, halves to even, as the official code), indices sorted. A class whose count rounds to 0
gets no sample, as officially; the record lists such classes. The official code draws with
Python's ``random`` after ``init_seed(0)``, an implicit seed; here the draw is from an explicit
numpy generator (``--subset-seed``, default 0), so the indices differ from the official ones but
are a pure function of (labels, fraction, seed). Every subset is saved as an index file under
the cache's ``subsets/`` (dataset, data fingerprint, fraction, seed, indices, sample names), named
with its SHA-256 in the record; ``--subset FILE`` trains on such a file again.

**The recipe** is SkeleMixCLR's semi configs (``SM:config/semi_eval``): 150 epochs, batch 128,
no augmentation, SGD momentum 0.9 without Nesterov or warm-up; 1 %: LR 0.05, wd 0, ×0.1 after
epoch 40; 10 %: LR 0.1, wd 1e-4, ×0.1 after epoch 80, gradient clipping at 5 configured. As in
:mod:`protocols.finetune`, clipping does what the config asks by default (the 10 % config clips
at 5, the 1 % config names none) and ``--clip official`` reproduces the official no-op (§7.8);
for 1 % that no-op and ``off`` give the same numbers. Another fraction takes the recipe of the
nearest official one (in log scale; the record names it). Official behaviour otherwise: eval
mode during training (BN statistics frozen, dropout off, §7.2), ``--bn-mode train`` corrects it.
``--epochs N`` scales the milestones with N/150. A subset smaller than one batch (10 % of a small
benchmark) trains as one batch of all its samples each epoch (recorded as ``single_batch``).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch

from datasets.integrity import fingerprint
from datasets.store import Split
from methods import get_method
from protocols.cli import add_common_arguments, run_cli
from protocols.common import Encoder, as_option, check_frames, load_parts, resolve_encoder, run_spec, spec_field
from protocols.supervised import (
    SupervisedConfig,
    TrainingSpec,
    add_training_arguments,
    default_bn_mode,
    indices_sha256,
    run_protocol,
    scale_schedule,
)
from results import local_path
from utils.cli import ArgumentParser, natural_int, positive_int
from utils.files import atomic_write_text
from utils.paths import cache_dir
from utils.progress import log_line

#: SkeleMixCLR's semi-supervised configs by labelled fraction (methods.md §3.3).
SEMI = {
    0.01: SupervisedConfig(epochs=150, lr=0.05, weight_decay=0.0, milestones=(40,), nesterov=False, warmup_epochs=0,
                           clip="off"),
    0.1: SupervisedConfig(epochs=150, lr=0.1, weight_decay=1e-4, milestones=(80,), nesterov=False, warmup_epochs=0,
                          clip="norm", max_grad=5.0),
}
SUBSET_FORMAT = "skelebench-subset"


def balanced_subset(labels: np.ndarray, fraction: float, seed: int) -> np.ndarray:
    """Sorted int64 indices of the official class-balanced subset (module docstring): per class in
    order of first appearance, ``round(fraction · n_class)`` indices drawn without replacement
    from ``np.random.default_rng(seed)``."""
    labels = np.asarray(labels)
    if not 0 < fraction <= 1:
        raise ValueError(f"fraction must be in (0, 1], got {fraction}")
    rng = np.random.default_rng(seed)
    _, first = np.unique(labels, return_index=True)
    chosen = []
    for c in labels[np.sort(first)]:
        members = np.flatnonzero(labels == c)
        chosen.append(rng.choice(members, size=round(fraction * len(members)), replace=False))
    return np.sort(np.concatenate(chosen)).astype(np.int64) if chosen else np.zeros(0, np.int64)


def subset_counts(labels: np.ndarray, indices: np.ndarray) -> dict[int, int]:
    """Samples per class of ``indices``, over every class of ``labels`` (0 for an empty one)."""
    labels = np.asarray(labels)
    picked = labels[indices]
    return {int(c): int((picked == c).sum()) for c in np.unique(labels)}


def recipe_for(fraction: float) -> tuple[float, SupervisedConfig]:
    """The official semi config of ``fraction``, or of the nearest official fraction in log scale."""
    official = min(SEMI, key=lambda p: abs(math.log(fraction) - math.log(p)))
    return official, SEMI[official]


def fraction_arg(text: str) -> float:
    """argparse type: a labelled fraction strictly between 0 and 1."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"must be a fraction strictly between 0 and 1 such as 0.01 or 0.1, "
                                         f"got {text}")
    return value


@dataclass(frozen=True, kw_only=True)
class SemiSpec(TrainingSpec):
    """A semi-supervised evaluation: :class:`protocols.supervised.TrainingSpec`'s encoder, data and
    training options, on a labelled ``fraction`` of the training set drawn with ``subset_seed``,
    or on the ``subset`` file an earlier run saved (a run with neither is refused). ``epochs``
    None is the official 150."""

    fraction: float | None = spec_field(None, check=as_option(fraction_arg))
    subset: Path | None = spec_field(None, check=as_option(local_path))
    subset_seed: int = spec_field(0, check=as_option(natural_int))


def subset_file(dataset: str, data_fingerprint: str, fraction: float, seed: int) -> Path:
    return cache_dir("subsets") / f"{dataset}-{data_fingerprint[:8]}-p{fraction:g}-s{seed}.json"


def save_subset(path: Path, dataset: str, data_fingerprint: str, fraction: float, seed: int, indices: np.ndarray,
                train: Split) -> Path:
    """Write the index file atomically (JSON): what the subset is, of which data, and how it was drawn."""
    doc = {"format": SUBSET_FORMAT, "dataset": dataset, "data_fingerprint": data_fingerprint, "fraction": fraction,
           "seed": seed, "size": len(indices), "indices_sha256": indices_sha256(indices),
           "indices": [int(i) for i in indices], "names": [train.names[int(i)] for i in indices]}
    return atomic_write_text(path, json.dumps(doc, indent=1) + "\n")


def load_subset(path: Path, dataset: str, data_fingerprint: str, train: Split) -> dict:
    """Read an index file and refuse one that is not of this dataset's very files."""
    path = Path(path)
    try:
        doc = json.loads(path.read_text())
    except FileNotFoundError:
        raise FileNotFoundError(f"subset file {path} does not exist") from None
    except (OSError, json.JSONDecodeError) as err:
        raise ValueError(f"subset file {path} is not readable JSON ({err})") from None
    if not isinstance(doc, dict) or doc.get("format") != SUBSET_FORMAT:
        raise ValueError(f"subset file {path} is not a SkeleBench subset file (written by python -m protocols.semi)")
    if doc.get("dataset") != dataset:
        raise ValueError(f"subset file {path} is a subset of {doc.get('dataset')}, not of {dataset}; "
                         f"pass --dataset {doc.get('dataset')} or draw a new subset without --subset")
    if doc.get("data_fingerprint") != data_fingerprint:
        raise ValueError(f"subset file {path} was drawn from other files of {dataset} (data fingerprint "
                         f"{str(doc.get('data_fingerprint'))[:12]}…, these are {data_fingerprint[:12]}…): its indices "
                         "would name other samples; draw a new subset without --subset")
    indices = np.asarray(doc.get("indices", []), dtype=np.int64)
    if len(indices) and (indices.min() < 0 or indices.max() >= len(train)):
        raise ValueError(f"subset file {path} has indices outside the {len(train)} training samples")
    if doc.get("names") != [train.names[int(i)] for i in indices] or doc.get("indices_sha256") != indices_sha256(indices):
        raise ValueError(f"subset file {path} is inconsistent: its indices, names and checksum do not agree")
    return doc


def choose_subset(spec: SemiSpec, train: Split, manifest: dict) -> tuple[np.ndarray, dict]:
    """The subset of this run: ``--subset FILE`` or a new draw (saved); (indices, record fields)."""
    data_fp = fingerprint(manifest)
    if spec.subset is not None:
        doc = load_subset(spec.subset, spec.dataset, data_fp, train)
        if spec.fraction is not None and not math.isclose(spec.fraction, float(doc["fraction"])):
            raise ValueError(f"--fraction {spec.fraction:g} contradicts the subset file {spec.subset}, drawn with "
                             f"fraction {doc['fraction']:g}; omit --fraction with --subset")
        fraction, seed, path = float(doc["fraction"]), int(doc["seed"]), Path(spec.subset)
        indices = np.asarray(doc["indices"], dtype=np.int64)
    else:
        fraction, seed = spec.fraction, spec.subset_seed
        indices = balanced_subset(train.labels, fraction, seed)
        path = save_subset(subset_file(spec.dataset, data_fp, fraction, seed), spec.dataset, data_fp, fraction, seed,
                           indices, train)
    counts = subset_counts(train.labels, indices)
    empty = [c for c, n in counts.items() if n == 0]
    if len(indices) == 0:
        per_class = max(np.unique(train.labels, return_counts=True)[1])
        raise ValueError(f"the {100 * fraction:g}% subset of {spec.dataset} is empty: no class has enough training "
                         f"samples (at most {per_class}; round({fraction:g} · {per_class}) = 0); pass a larger "
                         "--fraction")
    if empty:
        log_line(f"semi: {len(empty)} of {len(counts)} classes get no labelled sample at fraction {fraction:g} "
                 f"(round(p · n_class) = 0): {', '.join(map(str, empty))}")
    info = {"fraction": fraction, "subset_seed": seed, "subset_file": str(path),
            "subset_sha256": indices_sha256(indices), "subset_size": len(indices),
            "subset_per_class": {str(c): n for c, n in counts.items()}, "empty_classes": empty}
    return indices, info


def run(spec: SemiSpec, device: torch.device | str | None = None) -> dict:
    """The semi-supervised protocol from Python: ``spec``'s run, its record written and returned (as
    ``python -m protocols.semi`` with the same options; :func:`protocols.common.run_spec`)."""
    return run_spec(spec, evaluate, device)


def evaluate(spec: SemiSpec, device: torch.device) -> dict:
    """One run on a parsed device (what :func:`run` and the command line call per seed)."""
    t0 = time.time()
    if spec.fraction is None and spec.subset is None:
        raise ValueError("pass --fraction (0.01 or 0.1), or --subset FILE")
    frames = get_method(spec.method).default_config.frames
    parts = load_parts(spec, frames)
    # the subset first: a refusal must not wait for an encoder (which may mean pretraining)
    indices, info = choose_subset(spec, parts[1], parts[3])
    encoder = resolve_encoder(spec, device)
    check_frames(encoder, frames, spec)
    config, info2 = semi_config(spec, encoder, info["fraction"])
    return run_protocol(spec, device, encoder, t0, "semi", parts, frames, config, {**info, **info2}, indices)


def semi_config(spec: SemiSpec, encoder: Encoder, fraction: float) -> tuple[SupervisedConfig, dict]:
    """The recipe for ``fraction`` and this spec, and what the record says about it."""
    official, base = recipe_for(fraction)
    config, scaled = scale_schedule(base, spec.epochs)
    bn_mode, why = default_bn_mode(encoder, spec.bn_mode)
    config = replace(config, bn_mode=bn_mode, clip=spec.clip or base.clip,
                     eval_every=spec.eval_every or base.eval_every, augment=spec.augment or base.augment,
                     batch_size=spec.batch_size or base.batch_size)
    return config, {"recipe": f"skelemixclr-semi-{100 * official:g}%", "official_epochs": base.epochs,
                    "official_batch_size": base.batch_size,
                    "schedule_scaled": scaled, "bn_mode_reason": why}


def build_parser() -> argparse.ArgumentParser:
    ap = ArgumentParser(prog="python -m protocols.semi", description=__doc__.split("\n\n")[0])
    add_common_arguments(ap)
    ap.add_argument("--fraction", type=fraction_arg,
                    help="labelled fraction of the training set: 0.01 or 0.1 (the official settings)")
    ap.add_argument("--subset", type=local_path, metavar="FILE",
                    help="train on the subset of an index file an earlier run saved (its path is in the record)")
    ap.add_argument("--subset-seed", type=natural_int, default=0,
                    help="seed of the subset draw, independent of --seed (default: %(default)s)")
    ap.add_argument("--epochs", type=positive_int,
                    help="training epochs (default: the official 150; another count scales the LR milestone)")
    add_training_arguments(ap)
    return ap


def main(argv: list[str] | None = None) -> int:
    """``python -m protocols.semi``: the command line's spec, run once per seed; the exit code."""
    return run_cli(build_parser, SemiSpec, evaluate, argv)


if __name__ == "__main__":
    sys.exit(main())
