"""KNN evaluation: ``python -m protocols.knn --method skelemixclr``.

The frozen encoder in eval mode (methods.md §3.2), the whole training set as the bank, the test
(val) set as queries, cosine similarity in an exact FAISS index (:mod:`methods.neighbours`).
It reports the unweighted 1-NN top-1 ("action retrieval", what later papers call KNN accuracy)
as ``top1``, the retrieval top-5 (label among the 5 nearest neighbours' labels) as ``top5``, and
SkeleMixCLR's weighted vote (each of the top-k adds ``exp(sim / t)`` to its class; k 10/20/40,
t 0.1) as ``knn_top1``.

By default the features are the pooled 256-d backbone features the linear protocol uses, from
the shared cache (:mod:`protocols.feature_cache`). ``--features projection`` takes the 128-d
projection-head output the official monitor votes on, which only a pretraining run's training
state (``last.pt``) holds; ``--augmented-bank`` reproduces the monitor's quirk of extracting bank
and queries from augmented views (methods.md §7 item 9).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import torch
from torch import nn

from datasets.augment import SHEAR_AMPLITUDE, TEMPORAL_PADDING_RATIO, make_normal_view
from datasets.store import Split
from methods import get_method
from methods.base import projection_head
from methods.checkpoint import TRAINING_FORMAT, load_checkpoint, load_state_strict
from methods.encoders.batchnorm import recalibrate_batchnorm
from methods.encoders.features import encoder_fingerprint, extract_features, feature_spectrum
from methods.neighbours import VOTE_KS, VOTE_TEMPERATURE, check_ks, index_name, knn_metrics, l2_normalise
from methods.official import query_prefix
from protocols.cli import add_common_arguments, run_cli
from protocols.common import (
    Encoder,
    ProtocolSpec,
    as_option,
    check_frames,
    finish,
    load_parts,
    num_classes_of,
    resolve_encoder,
    run_spec,
    spec_field,
)
from protocols.feature_cache import cached_features
from utils.cli import ArgumentParser, positive_float, positive_int

FEATURES = ("backbone", "projection")
#: How a part's augmented views are seeded: ``default_rng([seed, PART_STREAM[part], index])``, so
#: a sample's view depends on the run's seed and its position only, not on the batch size.
PART_STREAM = {"train": 0, "val": 1}


@dataclass(frozen=True)
class KNNConfig:
    ks: tuple[int, ...] = VOTE_KS
    t: float = VOTE_TEMPERATURE
    features: str = "backbone"
    augmented_bank: bool = False


def vote_ks(ks: Sequence[int]) -> tuple[int, ...]:
    """The check of ``KnnSpec.k`` (``--k``): each a positive integer as the option parses it, and
    at least one (:func:`methods.neighbours.check_ks`)."""
    return check_ks([positive_int(str(k)) for k in ks])


@dataclass(frozen=True, kw_only=True)
class KnnSpec(ProtocolSpec):
    """A KNN evaluation: :class:`ProtocolSpec`'s encoder and data; which ``features`` (pooled
    ``backbone`` or the ``projection`` head's, which needs a training state), whether bank and
    queries are ``augmented_bank`` views (the official monitor's quirk), and the weighted vote's
    neighbours ``k`` and temperature ``t``."""

    features: str = spec_field("backbone", choices=FEATURES)
    augmented_bank: bool = False
    k: tuple[int, ...] = spec_field(VOTE_KS, check=vote_ks)
    t: float = spec_field(VOTE_TEMPERATURE, check=as_option(positive_float))


NO_HEAD_ADVICE = "pass the run's last.pt (training state) with --checkpoint, or use --features backbone"


def training_state_of(encoder: Encoder, stream: str) -> Path:
    """The training-state file that holds ``encoder``'s projection head, or a ValueError.

    A ``--checkpoint`` training file is its own; a run this protocol has just pretrained keeps
    one beside its encoder (``last.pt``, checked to hold the very backbone evaluated); random
    init, zoo and other encoder-only files have none.
    """
    if encoder.source == "random":
        raise ValueError(f"--checkpoint random holds no projection head; {NO_HEAD_ADVICE}")
    path = Path(encoder.path)
    if encoder.checkpoint_format == TRAINING_FORMAT:
        return path
    sibling = path.parent / "last.pt"
    if encoder.source == "pretrained" and sibling.is_file():
        loaded = load_checkpoint(sibling, stream=stream)
        if loaded.checkpoint_format == TRAINING_FORMAT and encoder_fingerprint(loaded.encoder) == encoder.fingerprint:
            return sibling
    what = "the zoo checkpoint" if encoder.source == "zoo" else "checkpoint"
    raise ValueError(f"{what} {path} ({encoder.checkpoint_format or 'encoder only'}) holds no projection head; {NO_HEAD_ADVICE}")


def load_projection_head(path: Path, stream: str) -> nn.Module:
    """The query projection head of ``stream`` from a training state, in eval mode, every tensor
    loaded strictly. Its shape comes from the run's recorded config (``head``, ``out_channels``,
    ``feature_dim``); a CrosSCLR motion/bone head with the official shared head is
    ``Linear → ReLU →`` the joint head (methods.md §2.2), and is recognised by its keys."""
    obj = torch.load(path, map_location="cpu", weights_only=True)
    model, config = obj["model"], (obj.get("meta") or {}).get("config") or {}
    missing = [k for k in ("head", "out_channels", "feature_dim") if k not in config]
    if missing:
        raise ValueError(f"training state {path} records no {', '.join(missing)} in its config, so its projection "
                         "head cannot be built; use --features backbone")
    prefix = query_prefix(model.keys(), stream).replace("encoder_q", "head_q", 1)
    state = {k[len(prefix):]: v for k, v in model.items() if k.startswith(prefix)}
    kind, width, dim = config["head"], int(config["out_channels"]), int(config["feature_dim"])
    candidates = [projection_head(kind, width, dim),
                  nn.Sequential(nn.Linear(width, width), nn.ReLU(), projection_head(kind, width, dim))]
    head = next((c for c in candidates if set(c.state_dict()) == set(state)), candidates[0])
    load_state_strict(head, state, f"{path} ({prefix.rstrip('.')})")
    return head.eval()


class AugmentedData:
    """A read-only view of ``(N, C, T, V, M)`` data whose slices are augmented samples: the normal
    view (temporal crop with padding ratio 6, then shear of amplitude 0.5), as the official KNN
    monitor's memory feeders draw them (methods.md §3.2), one generator per sample; ``layout`` is the
    data's skeleton layout (a 2D layout's shear leaves the score alone, :mod:`datasets.augment`)."""

    def __init__(self, data: np.ndarray, seed: int, part: str, layout: str | None = None) -> None:
        self.data, self.seed, self.part = data, seed, PART_STREAM[part]
        self.shape = data.shape
        self.view = make_normal_view(layout)

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, item: slice) -> np.ndarray:
        start, stop, _ = item.indices(len(self.data))
        views = [self.view(np.asarray(self.data[i], np.float32), np.random.default_rng([self.seed, self.part, i]))
                 for i in range(start, stop)]
        return np.stack(views) if views else np.zeros((0, *self.shape[1:]), np.float32)


def knn_features(module: nn.Module, folder: Path, part: str, split: Split, stream: str, device: torch.device,
                 config: KNNConfig, seed: int, layout: str | None = None) -> tuple[np.ndarray, bool]:
    """Features of one part and whether they came from the cache: the shared cache for clean
    backbone features; extracted afresh for augmented views (the cache keys assume none) and for
    projection features, which are L2-normalised as the monitor's are."""
    if config.features == "backbone" and not config.augmented_bank:
        return cached_features(module, folder, part, split, stream, device)
    if config.augmented_bank:
        split = replace(split, data=AugmentedData(split.data, seed, part, layout))
    desc = f"{'augmented ' if config.augmented_bank else ''}{config.features} features {part}"
    feats = extract_features(module, split, stream, device, desc=desc)
    return (l2_normalise(feats) if config.features == "projection" else feats), False


def run(spec: KnnSpec, device: torch.device | str | None = None) -> dict:
    """The KNN protocol from Python: ``spec``'s run, its record written and returned (as
    ``python -m protocols.knn`` with the same options; :func:`protocols.common.run_spec`)."""
    return run_spec(spec, evaluate, device)


def evaluate(spec: KnnSpec, device: torch.device) -> dict:
    """One run on a parsed device (what :func:`run` and the command line call per seed)."""
    t0 = time.time()
    method_cls = get_method(spec.method)
    frames = method_cls.default_config.frames
    config = KNNConfig(check_ks(spec.k), spec.t, spec.features, spec.augmented_bank)
    encoder = resolve_encoder(spec, device)
    check_frames(encoder, frames, spec)
    head = None
    if config.features == "projection":  # refused before any data is read when there is no head
        head = load_projection_head(training_state_of(encoder, spec.stream), spec.stream)
    folder, train, val, manifest = load_parts(spec, frames)
    module = encoder.module if head is None else nn.Sequential(encoder.module, head)
    if encoder.source == "random" or spec.bn == "precise":
        recalibrate_batchnorm(module, train, spec.stream, device)  # the head's BN too, with projection features
        encoder.fingerprint = encoder_fingerprint(encoder.module)
        encoder.bn_statistics = "precise"
    num_classes = num_classes_of(manifest, train, val)
    bank, cached_b = knn_features(module, folder, "train", train, spec.stream, device, config, spec.seed,
                                  encoder.skeleton)
    queries, cached_q = knn_features(module, folder, "val", val, spec.stream, device, config, spec.seed,
                                     encoder.skeleton)
    use_gpu = device.type == "cuda"
    metrics = knn_metrics(bank, train.labels, queries, val.labels, num_classes, config.ks, config.t, use_gpu)
    metrics["bank_spectrum"] = feature_spectrum(bank)  # collapse shows here first (feature_spectrum)
    augmentation = ({"view": "normal", "shear_amplitude": SHEAR_AMPLITUDE,
                     "temporal_padding_ratio": TEMPORAL_PADDING_RATIO, "seed": spec.seed}
                    if config.augmented_bank else None)
    protocol_config = {**asdict(config), "ks": list(config.ks), "augmentation": augmentation,
                       "index": index_name(use_gpu), "similarity": "cosine", "feature_dim": int(bank.shape[1]),
                       "bank_size": len(train), "query_size": len(val), "features_cached": cached_b and cached_q,
                       "num_classes": num_classes}
    return finish(spec, "knn", encoder, folder, manifest, frames, metrics, protocol_config, time.time() - t0, device)


def build_parser() -> argparse.ArgumentParser:
    ap = ArgumentParser(prog="python -m protocols.knn", description=__doc__.split("\n\n")[0])
    add_common_arguments(ap)
    ap.add_argument("--features", choices=FEATURES, default="backbone",
                    help="'backbone': the pooled 256-d features (cached, as the linear protocol); 'projection': the "
                         "L2-normalised projection-head output the official monitor uses, which needs a training "
                         "state (a run's last.pt) as --checkpoint (default: %(default)s)")
    ap.add_argument("--augmented-bank", action="store_true",
                    help="extract bank and queries from augmented views (shear 0.5, temporal crop ratio 6, seeded "
                         "by --seed), the official monitor's quirk (methods.md §7); off by default")
    ap.add_argument("--k", type=positive_int, nargs="+", default=list(KNNConfig.ks),
                    help="neighbours of the weighted vote, one figure each; clipped to the bank size "
                         "(default: %(default)s)")
    ap.add_argument("--t", type=positive_float, default=KNNConfig.t,
                    help="temperature of the vote weights exp(sim / t) (default: %(default)s)")
    return ap


def main(argv: list[str] | None = None) -> int:
    """``python -m protocols.knn``: the command line's spec, run once per seed; the exit code."""
    return run_cli(build_parser, KnnSpec, evaluate, argv)


if __name__ == "__main__":
    sys.exit(main())
