"""Difficulty report of a benchmark: ``python -m protocols.difficulty --dataset synthetic-xsub``.

How much room does a benchmark leave for representation learning? Before a comparison of
methods on it can mean anything, the instrument is measured (issue 12): classifiers on the raw
preprocessed input with no encoder at all, the untrained encoder under the linear and KNN
protocols over several init seeds, and the supervised upper bound. On NTU RGB+D the raw input is
far from linearly separable and pretraining gains tens of points; a benchmark on which a logistic
regression on raw coordinates scores 99 % (the synthetic data up to version 2) can rank nothing.

Measured, method-agnostic, recorded as one result record (protocol ``difficulty``):

* ``raw_logistic``: standardised logistic regression on the flattened ``(C, T, V, M)`` input;
* ``pooled_logistic``: the same on per-joint time mean and std only (blind to temporal order);
* ``raw_1nn``: Euclidean 1-NN on the raw input;
* ``random_linear`` / ``random_linear_standardised`` / ``random_knn``: the random-init ST-GCN
  (BN statistics re-estimated on the clean training set, as every random-init baseline) under
  the official linear protocol, the standardised probe (``protocols.linear --probe standardised``)
  and cosine 1-NN, for each init seed, with mean and sd;
* ``supervised``: the same network trained with all labels (``protocols.finetune --checkpoint
  random``), read from the newest such record on the same data; the report says how to make one
  when there is none (it is the long part: minutes per epoch on a CPU).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch

from datasets import DEFAULT_DATASET, benchmark_folder, data_provenance
from datasets.store import benchmark_layout, load_split, read_manifest
from methods import available, get_method
from methods.base import build_backbone
from methods.encoders import ENCODERS
from methods.encoders.features import encoder_fingerprint
from methods.neighbours import accuracy, euclidean_nearest, knn_metrics
from protocols.cli import run_cli
from protocols.common import (
    DataSpec,
    Encoder,
    ProtocolSpec,
    as_list_option,
    count_field,
    finish,
    known_method,
    num_classes_of,
    precise_bn,
    recast,
    run_spec,
    spec_field,
)
from protocols.feature_cache import cached_features
from protocols.linear import LinearConfig, fit_probe, standardised_probe
from results import DEFAULT_ENCODER, data_key, record_encoder, reference_records
from utils.cli import ArgumentParser, positive_int, seed_list


def flattened(x: np.ndarray) -> np.ndarray:
    """``(N, C, T, V, M)`` → ``(N, C·T·V·M)`` float32: every coordinate of every frame."""
    return np.asarray(x, dtype=np.float32).reshape(len(x), -1)


def time_pooled(x: np.ndarray) -> np.ndarray:
    """Per-joint, per-channel, per-person mean and std over time: ``(N, 2·C·V·M)``. A classifier
    on these cannot tell a sequence from its time reversal."""
    x = np.asarray(x, dtype=np.float32)
    return np.concatenate([x.mean(axis=2).reshape(len(x), -1), x.std(axis=2).reshape(len(x), -1)], axis=1)


def standardised_logistic_top1(train_x: np.ndarray, train_y: np.ndarray, val_x: np.ndarray, val_y: np.ndarray,
                               num_classes: int, max_iter: int = 1000) -> float:
    """Top-1 (%) of the standardised probe (:func:`protocols.linear.standardised_probe`)."""
    return standardised_probe(train_x, train_y, val_x, val_y, num_classes, max_iter).metrics["top1"]


def mean_sd(values: list[float]) -> dict:
    """``{"mean", "sd", "values"}``, sd the sample standard deviation (0 for one value)."""
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    return {"mean": round(statistics.fmean(values), 2), "sd": round(sd, 2), "values": [round(v, 2) for v in values]}


def raw_baselines(train_x: np.ndarray, train_y: np.ndarray, val_x: np.ndarray, val_y: np.ndarray,
                  num_classes: int, max_iter: int = 1000) -> dict:
    """The three classifiers on the raw preprocessed input."""
    return {
        "raw_logistic": standardised_logistic_top1(flattened(train_x), train_y, flattened(val_x), val_y, num_classes,
                                                   max_iter),
        "pooled_logistic": standardised_logistic_top1(time_pooled(train_x), train_y, time_pooled(val_x), val_y,
                                                      num_classes, max_iter),
        "raw_1nn": accuracy(np.asarray(train_y)[euclidean_nearest(flattened(train_x), flattened(val_x))], val_y),
    }


def supervised_reference(records: list[dict], fingerprint: str, method: str,
                         encoder: str = DEFAULT_ENCODER) -> dict | None:
    """The newest finetune-from-random record of ``method`` on ``encoder`` on the benchmark
    ``fingerprint`` (its :func:`results.data_key`): the ceiling of the same network as the floor."""
    found = [r for r in records if r.get("protocol") == "finetune" and r.get("method") == method
             and (r.get("checkpoint") or {}).get("source") == "random"
             and data_key(r) == fingerprint and record_encoder(r) == encoder]
    if not found:
        return None
    best = max(found, key=lambda r: r.get("created", ""))
    return {"top1": best["metrics"]["top1"], "epochs": (best.get("protocol_config") or {}).get("epochs"),
            "record": Path(best["_path"]).name}


@dataclass(frozen=True, kw_only=True)
class DifficultySpec(DataSpec):
    """A difficulty report of ``dataset``: the random-init rows of ``method``'s encoder (or of the
    registered ``encoder`` in its place) over the init ``seeds``, its linear classifier's
    ``epochs`` (None: the method's official config), and the lbfgs iteration cap of the logistic
    regressions. Method-agnostic otherwise, so ``method`` has a default here."""

    method: str = spec_field("skeletonclr", check=known_method)
    encoder: str | None = spec_field(None, choices=tuple(ENCODERS))
    seeds: tuple[int, ...] = spec_field((0, 1, 2), check=as_list_option(seed_list))
    epochs: int | None = count_field()
    logistic_iterations: int = count_field(1000)


def run(spec: DifficultySpec, device: torch.device | str | None = None) -> dict:
    """The difficulty report from Python: ``spec``'s run, its record written and returned (as
    ``python -m protocols.difficulty`` with the same options; :func:`protocols.common.run_spec`)."""
    return run_spec(spec, evaluate, device)


def evaluate(spec: DifficultySpec, device: torch.device) -> dict:
    """One report on a parsed device (what :func:`run` and the command line call)."""
    t0 = time.time()
    method_cls = get_method(spec.method)
    frames = method_cls.default_config.frames
    backbone = spec.encoder or method_cls.default_config.encoder
    folder = benchmark_folder(spec.dataset, frames, spec.data_root)
    train, val, manifest = load_split(folder, "train"), load_split(folder, "val"), read_manifest(folder)
    num_classes = num_classes_of(manifest, train, val)
    layout = benchmark_layout(manifest).name  # the random encoders are built for the data's skeleton
    metrics: dict = raw_baselines(np.asarray(train.data), train.labels, np.asarray(val.data), val.labels,
                                  num_classes, spec.logistic_iterations)
    linear, standardised, knn, fingerprints = [], [], [], []
    config = LinearConfig(epochs=spec.epochs or method_cls.linear_epochs)
    for seed in spec.seeds:
        torch.manual_seed(seed)
        module = build_backbone(replace(method_cls.default_config, layout=layout, encoder=backbone)).eval()
        encoder = Encoder(module, "random", None, None, 0, encoder_fingerprint(module), skeleton=layout,
                          backbone=backbone)
        precise_bn(encoder, train, "joint", device)
        fingerprints.append(encoder.fingerprint)
        train_f, _ = cached_features(module, folder, "train", train, "joint", device)
        val_f, _ = cached_features(module, folder, "val", val, "joint", device)
        linear.append(fit_probe(train_f, train.labels, val_f, val.labels, num_classes, config, seed).metrics["top1"])
        standardised.append(standardised_logistic_top1(train_f, train.labels, val_f, val.labels, num_classes,
                                                       spec.logistic_iterations))
        knn.append(knn_metrics(train_f, train.labels, val_f, val.labels, num_classes, (10,))["top1"])
    metrics.update(random_linear=mean_sd(linear), random_linear_standardised=mean_sd(standardised),
                   random_knn=mean_sd(knn))
    fingerprint = data_provenance(folder, manifest)["identity"]
    supervised = supervised_reference(reference_records(spec.results_dir), fingerprint, method_cls.name, backbone)
    metrics["supervised"] = supervised
    if supervised is None:
        flag = f" --encoder {backbone}" if spec.encoder else ""
        print(f"no supervised reference on these data yet: run `python -m protocols.finetune --method "
              f"{method_cls.name} --dataset {spec.dataset} --checkpoint random{flag}` and this report again",
              file=sys.stderr)
    protocol_config = {"seeds": list(spec.seeds), "encoder": f"random-init {backbone} of --method, BN re-estimated",
                       "encoder_sha256": fingerprints, "linear": {"epochs": config.epochs, "lr": config.lr},
                       "logistic": f"sklearn StandardScaler + LogisticRegression(C=1, lbfgs, max_iter={spec.logistic_iterations})",
                       "raw_1nn": "Euclidean, FAISS IndexFlatL2", "knn": "cosine 1-NN", "num_classes": num_classes,
                       "train_size": len(train), "val_size": len(val)}
    encoder = Encoder(torch.nn.Identity(), "random", None, None, 0, fingerprints[0], bn_statistics="precise",
                      backbone=backbone)
    # the record is the joint stream's at the first init seed
    record_spec = recast(spec, ProtocolSpec, stream="joint", seed=spec.seeds[0])
    return finish(record_spec, "difficulty", encoder, folder, manifest, frames, metrics, protocol_config,
                  time.time() - t0, device)


def build_parser() -> argparse.ArgumentParser:
    ap = ArgumentParser(prog="python -m protocols.difficulty", description=__doc__.split("\n\n")[0])
    ap.add_argument("--dataset", default=DEFAULT_DATASET, help="benchmark id (default: %(default)s, synthetic data)")
    ap.add_argument("--data-root", type=Path, help="folder of prepared benchmarks (`python -m datasets.prepare --out`)")
    ap.add_argument("--method", default="skeletonclr",
                    help=f"whose encoder architecture and frame count to use for the random-init and supervised rows "
                         f"(default: %(default)s; one of: {', '.join(available())})")
    ap.add_argument("--encoder", choices=list(ENCODERS),
                    help="a registered encoder in place of the method's own for the random-init and supervised rows "
                         "(default: the method's)")
    ap.add_argument("--seeds", type=seed_list, default=(0, 1, 2), help="init seeds of the random encoder (default: 0,1,2)")
    ap.add_argument("--epochs", type=positive_int, help="linear classifier epochs (default: the method's official config)")
    ap.add_argument("--logistic-iterations", type=positive_int, default=1000,
                    help="lbfgs iteration cap of the logistic regressions (default: %(default)s; fewer for a quick look)")
    ap.add_argument("--device", help="cpu or cuda (default: cuda when available)")
    ap.add_argument("--results-dir", type=Path, help="where to write the record and look for the supervised one "
                    "(default: your records folder, .cache/records or $SKELEBENCH_RESULTS)")
    ap.add_argument("--json", action="store_true", help="print the result record as one JSON line, for scripts")
    return ap


def main(argv: list[str] | None = None) -> int:
    """``python -m protocols.difficulty``: the command line's spec, run; the exit code."""
    return run_cli(build_parser, DifficultySpec, evaluate, argv)


if __name__ == "__main__":
    sys.exit(main())
