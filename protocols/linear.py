"""Linear evaluation: ``python -m protocols.linear --method skelemixclr``.

The official protocol (methods.md §3.1): the pretrained backbone frozen in eval mode (BN on
its pretraining statistics, dropout off), a Linear(256, classes) on the pooled pre-projection
feature, SGD momentum 0.9, LR 3.0, wd 0, ×0.1 after epoch 80 of 100, batch 128, no
augmentation, evaluated every 5 epochs. It reports top-1/top-5 at the final epoch and,
separately, the best top-1 over evaluations — the figure the official code prints, which
selects on the test set (§7.3).

Since the frozen side is deterministic, features are extracted once and cached
(:mod:`protocols.feature_cache`); the classifier trains on the cache.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Collection
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from torch import nn

from datasets.skeleton import STREAMS
from datasets.store import Split
from methods import get_method
from methods.base import official_weights_init, step_decay
from methods.zoo import zoo_entry
from protocols.cli import add_common_arguments, run_cli
from protocols.common import (
    Encoder,
    ProtocolSpec,
    TestLogits,
    check_frames,
    count_field,
    finish,
    load_parts,
    num_classes_of,
    precise_bn,
    resolve_encoder,
    run_spec,
    spec_field,
)
from protocols.feature_cache import cached_features
from utils.cli import ArgumentParser, positive_int
from utils.progress import progress


@dataclass(frozen=True)
class LinearConfig:
    epochs: int = 100
    lr: float = 3.0
    milestones: tuple[int, ...] = (80,)
    batch_size: int = 128
    momentum: float = 0.9
    weight_decay: float = 0.0
    eval_every: int = 5


def topk_accuracy(logits: torch.Tensor, labels: torch.Tensor, k: int) -> float:
    """Percentage of samples whose label is among the ``k`` highest logits."""
    k = min(k, logits.shape[1])
    hit = (logits.topk(k, dim=1).indices == labels[:, None]).any(dim=1)
    return 100.0 * hit.float().mean().item()


@dataclass
class LinearFit:
    """A trained linear classifier: its metrics, the layer (or the averaged heads of a jointly
    trained fusion), and its raw test logits at the final and at the best evaluation (saved
    beside the record for 3-stream fusion)."""

    metrics: dict
    layer: nn.Module
    final_logits: np.ndarray
    best_logits: np.ndarray


class AveragedHeads(nn.Module):
    """One linear head per stream on the average of their logits: CrosSCLR's ``view: all``
    linear evaluation, a jointly trained late fusion (methods.md §3.1). The loss is taken on the
    average, so the heads are trained together, unlike the fusion of separately trained heads
    (:mod:`protocols.ensemble`)."""

    def __init__(self, dims: list[int], num_classes: int) -> None:
        super().__init__()
        self.heads = nn.ModuleList(nn.Linear(d, num_classes) for d in dims)

    def forward(self, xs: list[torch.Tensor]) -> torch.Tensor:
        return torch.stack([head(x) for head, x in zip(self.heads, xs)]).mean(dim=0)


FeatureSet = np.ndarray | list[np.ndarray]


def fit_probe(train_x: FeatureSet, train_y: np.ndarray, val_x: FeatureSet, val_y: np.ndarray, num_classes: int,
               config: LinearConfig = LinearConfig(), seed: int = 0) -> LinearFit:
    """Train the linear classifier on fixed features; final and best-over-evaluations metrics.

    ``train_x``/``val_x`` are one feature array, or a list of them (one per stream, the same
    samples in the same order) for :class:`AveragedHeads`."""
    joint = isinstance(train_x, list)
    train_parts = train_x if joint else [train_x]
    val_parts = val_x if joint else [val_x]
    g = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    fc: nn.Module = (AveragedHeads([x.shape[1] for x in train_parts], num_classes) if joint
                     else nn.Linear(train_parts[0].shape[1], num_classes))
    fc.apply(official_weights_init)
    opt = torch.optim.SGD(fc.parameters(), lr=config.lr, momentum=config.momentum, weight_decay=config.weight_decay)
    xt = [torch.from_numpy(np.asarray(x)).float() for x in train_parts]
    xv = [torch.from_numpy(np.asarray(x)).float() for x in val_parts]
    yt, yv = torch.from_numpy(train_y).long(), torch.from_numpy(val_y).long()

    def forward(xs: list[torch.Tensor], idx: torch.Tensor | None = None) -> torch.Tensor:
        xs = xs if idx is None else [x[idx] for x in xs]
        return fc(xs) if joint else fc(xs[0])

    n = len(yt)
    if n < config.batch_size:
        raise ValueError(f"{n} training samples are fewer than one batch of {config.batch_size}")
    curve, best_logits = [], None
    for epoch in progress(range(1, config.epochs + 1), desc="linear classifier", unit="epoch"):
        lr = step_decay(config.lr, epoch, config.milestones)
        for group in opt.param_groups:
            group["lr"] = lr
        order = torch.randperm(n, generator=g)
        for start in range(0, n - config.batch_size + 1, config.batch_size):  # drop_last, as the official loader
            idx = order[start : start + config.batch_size]
            loss = F.cross_entropy(forward(xt, idx), yt[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
        if epoch % config.eval_every == 0 or epoch == config.epochs:
            with torch.no_grad():
                logits = forward(xv)
            curve.append({"epoch": epoch, "top1": topk_accuracy(logits, yv, 1), "top5": topk_accuracy(logits, yv, 5)})
            if best_logits is None or curve[-1]["top1"] > max(c["top1"] for c in curve[:-1]):
                best_logits = logits.numpy().copy()
    best = max(curve, key=lambda c: c["top1"])
    metrics = {"top1": round(curve[-1]["top1"], 2), "top5": round(curve[-1]["top5"], 2),
               "best_top1": round(best["top1"], 2), "best_epoch": best["epoch"], "curve": curve}
    return LinearFit(metrics, fc.eval(), logits.numpy().copy(), best_logits)


#: The probes of ``--probe``: the official SGD classifier on raw features, or a logistic regression
#: on features standardised with the training set's statistics (issue 12).
PROBES = ("official", "standardised")
#: ``--stream all``: CrosSCLR's ``view: all`` evaluation, one head per stream on averaged logits.
ALL_STREAMS = "all"


@dataclass(frozen=True, kw_only=True)
class LinearSpec(ProtocolSpec):
    """A linear evaluation: :class:`ProtocolSpec`'s encoder and data, and the classifier's
    ``epochs`` (None: the method's official linear config) and ``probe``. ``stream`` may also be
    ``"all"``: one head per stream, trained jointly on their averaged logits."""

    stream: str = spec_field("joint", choices=STREAMS + (ALL_STREAMS,))
    epochs: int | None = count_field()
    probe: str = spec_field("official", choices=PROBES)


def standardised_probe(train_x: np.ndarray, train_y: np.ndarray, val_x: np.ndarray, val_y: np.ndarray,
                       num_classes: int, max_iter: int = 1000) -> LinearFit:
    """An L2-regularised (C = 1) multinomial logistic regression (scikit-learn, lbfgs) on features
    standardised with the training set's mean and std.

    The official probe (SGD at LR 3.0 on raw features) measures how well an encoder's features
    are conditioned for that optimiser as much as what they encode: it under-rates untrained
    encoders badly (issue 12's NW-UCLA table). A convex fit on standardised features has no
    learning rate to suit, so it compares encoders on what is linearly decodable. The fit is
    returned as one ``nn.Linear`` with the standardisation folded in, so it applies to raw
    features like the official layer; there are no evaluations over epochs, so best = final.
    """
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=max_iter))
    model.fit(np.asarray(train_x, np.float64), train_y)
    scaler, logistic = model.named_steps["standardscaler"], model.named_steps["logisticregression"]
    coef = logistic.coef_ / scaler.scale_
    bias = logistic.intercept_ - coef @ scaler.mean_
    if len(logistic.classes_) == 2:  # scikit-learn's binary fit has one row: the logit of class 1 over class 0
        coef, bias = np.stack([np.zeros_like(coef[0]), coef[0]]), np.array([0.0, bias[0]])
    layer = nn.Linear(coef.shape[1], num_classes)
    with torch.no_grad():
        layer.weight.zero_()
        layer.bias.fill_(-1e9)  # a class absent from the training labels is never predicted
        layer.weight[logistic.classes_] = torch.from_numpy(coef).float()
        layer.bias[logistic.classes_] = torch.from_numpy(bias).float()
        logits = layer(torch.from_numpy(np.array(val_x, np.float32)))  # a copy: the input may be read-only
    yv = torch.from_numpy(np.asarray(val_y)).long()
    top1, top5 = topk_accuracy(logits, yv, 1), topk_accuracy(logits, yv, 5)
    metrics = {"top1": round(top1, 2), "top5": round(top5, 2), "best_top1": round(top1, 2), "best_epoch": None,
               "iterations": int(logistic.n_iter_.max())}
    return LinearFit(metrics, layer.eval(), logits.numpy().copy(), logits.numpy().copy())


def probe_encoder(encoder: nn.Module, folder: Path, train: Split, val: Split, num_classes: int, stream: str,
               device: torch.device, config: LinearConfig = LinearConfig(), seed: int = 0) -> tuple[LinearFit, bool]:
    """The linear protocol on one encoder: cached features, then the classifier; (fit, features were cached)."""
    train_x, cached_t = cached_features(encoder, folder, "train", train, stream, device)
    val_x, cached_v = cached_features(encoder, folder, "val", val, stream, device)
    return fit_probe(train_x, train.labels, val_x, val.labels, num_classes, config, seed), cached_t and cached_v


def run(spec: LinearSpec, device: torch.device | str | None = None) -> dict:
    """The linear protocol from Python: ``spec``'s run, its record written and returned (as
    ``python -m protocols.linear`` with the same options; :func:`protocols.common.run_spec`)."""
    return run_spec(spec, evaluate, device)


def evaluate(spec: LinearSpec, device: torch.device) -> dict:
    """One run on a parsed device (what :func:`run` and the command line call per seed)."""
    t0 = time.time()
    if spec.stream == ALL_STREAMS:
        return run_linear_all(spec, device, t0)
    return run_linear(spec, device, resolve_encoder(spec, device), t0)


def stream_encoders(spec: LinearSpec, device: torch.device) -> dict[str, Encoder]:
    """The joint, motion and bone encoders of ``--stream all``: each stream's encoder of one
    multi-stream ``--checkpoint`` (a CrosSCLR training file or the official 3-views file; a
    single-stream file is refused by the checkpoint loader), or the zoo's entry per stream."""
    method = get_method(spec.method).name
    if not spec.checkpoint:
        missing = [s for s in STREAMS if zoo_entry(method, spec.dataset, s) is None]
        if missing or spec.pretrain:
            why = ("--pretrain trains one stream" if spec.pretrain
                   else f"the zoo has no {method} {'/'.join(missing)} encoder for {spec.dataset}")
            raise ValueError(f"--stream all needs an encoder per stream and {why}: pass --checkpoint PATH of a "
                             "multi-stream file (a CrosSCLR training file, e.g. the last.pt of its run, or the "
                             "official 3-views checkpoint)")
    return {s: resolve_encoder(replace(spec, stream=s), device) for s in STREAMS}


def run_linear_all(spec: LinearSpec, device: torch.device, t0: float) -> dict:
    """Three linear heads trained jointly on the average of their logits (methods.md §3.1)."""
    method_cls = get_method(spec.method)
    frames = method_cls.default_config.frames
    encoders = stream_encoders(spec, device)
    for encoder in encoders.values():
        check_frames(encoder, frames, spec)
    folder, train, val, manifest = load_parts(spec, frames)
    num_classes = num_classes_of(manifest, train, val)
    features: dict[str, list[np.ndarray]] = {"train": [], "val": []}
    cached = True
    for stream, encoder in encoders.items():
        precise_bn(encoder, train, stream, device, force=spec.bn == "precise")
        for part, split in (("train", train), ("val", val)):
            x, hit = cached_features(encoder.module, folder, part, split, stream, device)
            features[part].append(x)
            cached = cached and hit
    config = LinearConfig(epochs=spec.epochs or method_cls.linear_epochs)
    fit = fit_probe(features["train"], train.labels, features["val"], val.labels, num_classes, config, spec.seed)
    protocol_config = {"probe": "official", **asdict(config), "features_cached": cached, "num_classes": num_classes,
                       "fusion": "jointly trained heads on averaged logits (CrosSCLR view: all)",
                       "streams": {s: {"sha256": e.fingerprint, "path": e.path} for s, e in encoders.items()}}
    logits = TestLogits(fit.final_logits, fit.best_logits, val.labels, val.names)
    return finish(spec, "linear", encoders["joint"], folder, manifest, frames, fit.metrics, protocol_config,
                  time.time() - t0, device, logits)


def run_linear(spec: LinearSpec, device: torch.device, encoder: Encoder, t0: float, protocol: str = "linear",
               extra_config: dict | None = None, drop_test_clips: Collection[str] = ()) -> dict:
    """The linear protocol on a resolved encoder and ``spec.dataset`` (the transfer protocol
    resolves the encoder on another benchmark and calls this with ``protocol="transfer"``, less
    the test clips that encoder was pretrained on where asked: ``drop_test_clips``)."""
    method_cls = get_method(spec.method)
    frames = method_cls.default_config.frames
    check_frames(encoder, frames, spec)
    folder, train, val, manifest = load_parts(spec, frames, drop_test_clips)
    precise_bn(encoder, train, spec.stream, device, force=spec.bn == "precise")
    num_classes = num_classes_of(manifest, train, val)
    config = LinearConfig(epochs=spec.epochs or method_cls.linear_epochs)
    probe = spec.probe
    if probe == "standardised":
        fit, cached = standardised_fit(encoder, folder, train, val, num_classes, spec.stream, device)
        probe_config = {"classifier": "sklearn StandardScaler + LogisticRegression(C=1, lbfgs)"}
        metrics = fit.metrics
    else:
        fit, cached = probe_encoder(encoder.module, folder, train, val, num_classes, spec.stream, device, config,
                                 spec.seed)
        probe_config = asdict(config)
        beside, _ = standardised_fit(encoder, folder, train, val, num_classes, spec.stream, device)
        metrics = {**fit.metrics, STANDARDISED_BESIDE: beside.metrics["top1"]}
    protocol_config = {**(extra_config or {}), "probe": probe, **probe_config, "features_cached": cached,
                       "num_classes": num_classes}
    logits = TestLogits(fit.final_logits, fit.best_logits, val.labels, val.names)
    return finish(spec, protocol, encoder, folder, manifest, frames, metrics, protocol_config, time.time() - t0,
                  device, logits)


#: The metric an official-probe record carries beside its headline ``top1``: the standardised
#: probe's top-1 on the same features (seconds on the cached features).
STANDARDISED_BESIDE = "standardised_top1"


def standardised_fit(encoder: Encoder, folder: Path, train: Split, val: Split, num_classes: int, stream: str,
                     device: torch.device) -> tuple[LinearFit, bool]:
    """The standardised probe on the encoder's cached features, and whether both were cached.

    It is also run beside every official-probe run (``STANDARDISED_BESIDE``): the official probe
    (SGD at LR 3.0 on raw features) mis-measures poorly conditioned features — the zoo's
    SkeleMixCLR+ scores below its untrained encoder under it and 11 points above under this one —
    so a reader gets both, each with its own reference; the record's headline stays the official
    figure, the one the papers report."""
    train_x, cached_t = cached_features(encoder.module, folder, "train", train, stream, device)
    val_x, cached_v = cached_features(encoder.module, folder, "val", val, stream, device)
    return standardised_probe(train_x, train.labels, val_x, val.labels, num_classes), cached_t and cached_v


def build_parser() -> argparse.ArgumentParser:
    ap = ArgumentParser(prog="python -m protocols.linear", description=__doc__.split("\n\n")[0])
    add_common_arguments(ap, streams=STREAMS + (ALL_STREAMS,))
    ap.add_argument("--epochs", type=positive_int,
                    help="classifier epochs (default: the method's official linear config, 100; SkeleMixCLR 150)")
    ap.add_argument("--probe", choices=PROBES, default="official",
                    help="official: SGD at LR 3.0 on the raw features (methods.md §3.1); standardised: logistic "
                         "regression on features standardised on the training set, which does not depend on how "
                         "the features are conditioned (default: %(default)s; recorded)")
    return ap


def main(argv: list[str] | None = None) -> int:
    """``python -m protocols.linear``: the command line's spec, run once per seed; the exit code."""
    return run_cli(build_parser, LinearSpec, evaluate, argv)


if __name__ == "__main__":
    sys.exit(main())
