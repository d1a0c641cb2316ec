"""Linear evaluation: ``python -m protocols.linear --method skelemixclr``.

The official protocol (methods.md §3.1): the pretrained backbone frozen in eval mode (BN on
its pretraining statistics, dropout off), a Linear(256, classes) on the pooled pre-projection
feature, SGD momentum 0.9, LR 3.0, wd 0, ×0.1 after epoch 80 of 100, batch 128, no
augmentation, evaluated every 5 epochs. It reports top-1/top-5 at the final epoch and,
separately, the best top-1 over evaluations — the figure the official code prints, which
selects on the test set (§7.3).

Since the frozen side is deterministic, features are extracted once and cached
(:mod:`protocols.features`); the classifier trains on the cache.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from datasets.progress import progress
from datasets.store import Split
from methods import get_method
from methods.base import official_weights_init
from protocols.common import (
    Encoder,
    TestLogits,
    add_common_arguments,
    check_frames,
    finish,
    load_parts,
    precise_bn,
    resolve_encoder,
    run_cli,
)
from protocols.features import cached_features
from results.cli import ArgumentParser, positive_int


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
    """A trained linear classifier: its metrics, the layer, and its raw test logits at the final
    and at the best evaluation (saved beside the record for 3-stream fusion)."""

    metrics: dict
    layer: nn.Linear
    final_logits: np.ndarray
    best_logits: np.ndarray


def fit_linear(train_x: np.ndarray, train_y: np.ndarray, val_x: np.ndarray, val_y: np.ndarray, num_classes: int,
               config: LinearConfig = LinearConfig(), seed: int = 0) -> LinearFit:
    """Train the linear classifier on fixed features; final and best-over-evaluations metrics."""
    g = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    fc = nn.Linear(train_x.shape[1], num_classes)
    official_weights_init(fc)
    opt = torch.optim.SGD(fc.parameters(), lr=config.lr, momentum=config.momentum, weight_decay=config.weight_decay)
    xt, yt = torch.from_numpy(train_x).float(), torch.from_numpy(train_y).long()
    xv, yv = torch.from_numpy(val_x).float(), torch.from_numpy(val_y).long()
    n = len(xt)
    if n < config.batch_size:
        raise ValueError(f"{n} training samples are fewer than one batch of {config.batch_size}")
    curve, best_logits = [], None
    for epoch in progress(range(1, config.epochs + 1), desc="linear classifier", unit="epoch"):
        lr = config.lr * 0.1 ** sum(epoch > m for m in config.milestones)
        for group in opt.param_groups:
            group["lr"] = lr
        order = torch.randperm(n, generator=g)
        for start in range(0, n - config.batch_size + 1, config.batch_size):  # drop_last, as the official loader
            idx = order[start : start + config.batch_size]
            loss = F.cross_entropy(fc(xt[idx]), yt[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
        if epoch % config.eval_every == 0 or epoch == config.epochs:
            with torch.no_grad():
                logits = fc(xv)
            curve.append({"epoch": epoch, "top1": topk_accuracy(logits, yv, 1), "top5": topk_accuracy(logits, yv, 5)})
            if best_logits is None or curve[-1]["top1"] > max(c["top1"] for c in curve[:-1]):
                best_logits = logits.numpy().copy()
    best = max(curve, key=lambda c: c["top1"])
    metrics = {"top1": round(curve[-1]["top1"], 2), "top5": round(curve[-1]["top5"], 2),
               "best_top1": round(best["top1"], 2), "best_epoch": best["epoch"], "curve": curve}
    return LinearFit(metrics, fc.eval(), logits.numpy().copy(), best_logits)


def train_linear(train_x: np.ndarray, train_y: np.ndarray, val_x: np.ndarray, val_y: np.ndarray, num_classes: int,
                 config: LinearConfig = LinearConfig(), seed: int = 0) -> dict:
    """The metrics of :func:`fit_linear`."""
    return fit_linear(train_x, train_y, val_x, val_y, num_classes, config, seed).metrics


def linear_fit(encoder: nn.Module, folder: Path, train: Split, val: Split, num_classes: int, stream: str,
               device: torch.device, config: LinearConfig = LinearConfig(), seed: int = 0) -> tuple[LinearFit, bool]:
    """The linear protocol on one encoder: cached features, then the classifier; (fit, features were cached)."""
    train_x, cached_t = cached_features(encoder, folder, "train", train, stream, device)
    val_x, cached_v = cached_features(encoder, folder, "val", val, stream, device)
    return fit_linear(train_x, train.labels, val_x, val.labels, num_classes, config, seed), cached_t and cached_v


def linear_metrics(encoder: nn.Module, folder: Path, train: Split, val: Split, num_classes: int, stream: str,
                   device: torch.device, config: LinearConfig = LinearConfig(), seed: int = 0) -> tuple[dict, bool]:
    """:func:`linear_fit`'s metrics: (metrics, cached)."""
    fit, cached = linear_fit(encoder, folder, train, val, num_classes, stream, device, config, seed)
    return fit.metrics, cached


def num_classes_of(manifest: dict, train: Split, val: Split) -> int:
    return int(manifest.get("num_classes") or int(max(train.labels.max(), val.labels.max())) + 1)


def evaluate(args: argparse.Namespace, device: torch.device) -> dict:
    t0 = time.time()
    return run_linear(args, device, resolve_encoder(args, device), t0)


def run_linear(args: argparse.Namespace, device: torch.device, encoder: Encoder, t0: float, protocol: str = "linear",
               extra_config: dict | None = None) -> dict:
    """The linear protocol on a resolved encoder and ``args.dataset`` (the transfer protocol
    resolves the encoder on another benchmark and calls this with ``protocol="transfer"``)."""
    method_cls = get_method(args.method)
    frames = method_cls.default_config.frames
    check_frames(encoder, frames)
    folder, train, val, manifest = load_parts(args, frames)
    precise_bn(encoder, train, args.stream, device, force=args.bn == "precise")
    num_classes = num_classes_of(manifest, train, val)
    config = LinearConfig(epochs=args.epochs or method_cls.linear_epochs)
    fit, cached = linear_fit(encoder.module, folder, train, val, num_classes, args.stream, device, config, args.seed)
    protocol_config = {**(extra_config or {}), **asdict(config), "features_cached": cached, "num_classes": num_classes}
    logits = TestLogits(fit.final_logits, fit.best_logits, val.labels, val.names)
    return finish(args, protocol, encoder, folder, manifest, frames, fit.metrics, protocol_config, time.time() - t0,
                  device, logits)


def build_parser() -> argparse.ArgumentParser:
    ap = ArgumentParser(prog="python -m protocols.linear", description=__doc__.split("\n\n")[0])
    add_common_arguments(ap)
    ap.add_argument("--epochs", type=positive_int,
                    help="classifier epochs (default: the method's official linear config, 100; SkeleMixCLR 150)")
    return ap


def main(argv: list[str] | None = None) -> int:
    return run_cli(build_parser, evaluate, argv)


if __name__ == "__main__":
    sys.exit(main())
