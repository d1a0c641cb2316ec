"""Robustness to test-time corruptions: ``python -m protocols.robustness --method skelemixclr``.

What none of the papers measures (issue 11, item 6): how much of its linear-probe accuracy a
frozen encoder keeps when the test skeletons are corrupted as real captures are — noise, lost
joints and limbs, dropped frames, another speed, swapped person slots
(:mod:`datasets.corruptions`, each at increasing severity).

The linear classifier is trained once, exactly as :mod:`protocols.linear` trains it, on clean
(cached) training features; nothing is trained on corrupted data. Then, for each corruption and
severity, the val (test) part is corrupted, the stream (joint/motion/bone) is computed from the
corrupted joints — as a sensor fault would reach it — and the clean classifier scores the
features of the corrupted data.

Metrics: ``top1``/``top5`` the clean accuracy (the linear protocol's final-epoch figure);
``robustness[c][s]`` the top-1 under corruption c at severity s; ``relative[c]`` the mean over
c's severities of ``top1(c, s) / top1_clean`` (accuracy retained: 1.0 is unaffected, 0 is
nothing left); ``mean_relative`` the mean of ``relative`` over the measured corruptions marked
``in_summary`` (all but ``body_swap``, an invariance of the suite's encoders). This is ImageNet-C's
idea, but as accuracy retained relative to the model's own clean accuracy, not as error
normalised by a reference model's (mCE), so no reference model is needed and 1.0 means
"unaffected" for every method.
"""

from __future__ import annotations

import argparse
import sys
import time
import zlib
from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch import nn

from datasets.corruptions import CORRUPTIONS, Corruption, get_corruption
from datasets.store import Split
from methods import get_method
from methods.encoders.features import READ_CHUNK, extract_features
from protocols.cli import add_common_arguments, run_cli
from protocols.common import (
    ProtocolSpec,
    as_list_option,
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
from protocols.linear import LinearConfig, fit_probe, topk_accuracy
from utils.cli import ArgumentParser, positive_int
from utils.progress import progress

#: Samples corrupted together, each block with its own generator (see :class:`CorruptedData`): the
#: feature extraction's read chunk, so each block is built once.
BLOCK = READ_CHUNK


def corruption_seed(seed: int, name: str, severity: float) -> list[int]:
    """The seed sequence of one (corruption, severity): fixed by the run's seed, the corruption's
    name (CRC-32, stable across Python runs, unlike ``hash``) and the severity in millionths, so a
    level's corrupted data do not change when other corruptions or levels are added or removed."""
    return [seed, zlib.crc32(name.encode()), int(round(severity * 1_000_000))]


class CorruptedData:
    """A read-only view of ``(N, C, T, V, M)`` data whose slices are corrupted samples.

    Samples are corrupted in fixed blocks of :data:`BLOCK`, block b with the generator
    ``default_rng(corruption_seed(...) + [b])``, so a sample's corruption depends only on the
    seed, the corruption, the severity and its index — not on how a reader slices the data —
    and at most one block of corrupted data is in memory at a time.
    """

    def __init__(self, data: np.ndarray, corruption: Corruption, severity: float, seed: int,
                 layout: str | None = None) -> None:
        self.data, self.corruption, self.severity, self.layout = data, corruption, severity, layout
        self.seed = corruption_seed(seed, corruption.name, severity)
        self.shape = data.shape

    def __len__(self) -> int:
        return len(self.data)

    def block(self, b: int) -> np.ndarray:
        rng = np.random.default_rng([*self.seed, b])
        clean = np.asarray(self.data[b * BLOCK : (b + 1) * BLOCK], dtype=np.float32)
        return self.corruption(clean, self.severity, rng, layout=self.layout)

    def __getitem__(self, item: slice) -> np.ndarray:
        start, stop, step = item.indices(len(self.data))
        if step != 1:
            raise ValueError("corrupted data are read in contiguous slices only")
        if stop <= start:
            return np.zeros((0, *self.shape[1:]), np.float32)
        first, last = start // BLOCK, (stop - 1) // BLOCK
        blocks = np.concatenate([self.block(b) for b in range(first, last + 1)])
        return blocks[start - first * BLOCK : stop - first * BLOCK]


def corrupted_features(encoder: nn.Module, split: Split, corruption: Corruption, severity: float, stream: str,
                       device: torch.device, seed: int, layout: str | None = None) -> np.ndarray:
    """Features of ``split`` corrupted at ``severity``, the stream computed after the corruption
    (by :func:`protocols.feature_cache.extract_features`); never cached, since they depend on the seed.
    ``layout`` is the data's skeleton layout (body parts, coordinate channels; default ``ntu25``)."""
    data = CorruptedData(split.data, corruption, severity, seed, layout)
    return extract_features(encoder, Split(data, split.names, split.labels), stream, device,
                            desc=f"features {corruption.name} {severity:g}")


def severity_key(severity: float) -> str:
    """A severity as a metrics key: ``1``, ``0.1`` (``%g``)."""
    return f"{severity:g}"


def robustness_metrics(clean_top1: float, clean_top5: float, robustness: dict[str, dict[str, float]],
                       summary: list[str]) -> dict:
    """The protocol's metrics from the raw accuracies: ``relative`` per corruption (mean over its
    severities of top-1 / clean top-1) and ``mean_relative`` over the corruptions in ``summary``.
    Relative figures are None when the clean top-1 is 0 (nothing to retain)."""
    relative: dict[str, float | None] = {}
    for name, levels in robustness.items():
        relative[name] = round(float(np.mean(list(levels.values()))) / clean_top1, 4) if clean_top1 > 0 else None
    kept = [relative[name] for name in summary if name in relative and relative[name] is not None]
    return {"top1": round(clean_top1, 2), "top5": round(clean_top5, 2),
            "robustness": {c: {s: round(v, 2) for s, v in levels.items()} for c, levels in robustness.items()},
            "relative": relative, "mean_relative": round(float(np.mean(kept)), 4) if kept else None}


def parse_corruptions(text: str) -> tuple[str, ...]:
    """argparse type: comma-separated registered corruption names, each once, in the order given."""
    names = [name.strip() for name in text.split(",")]
    for name in names:
        if not name:
            raise argparse.ArgumentTypeError(f"empty corruption name in {text!r}")
        try:
            get_corruption(name)
        except ValueError as err:
            raise argparse.ArgumentTypeError(str(err)) from None
    return tuple(dict.fromkeys(names))


@dataclass(frozen=True, kw_only=True)
class RobustnessSpec(ProtocolSpec):
    """A robustness evaluation: :class:`ProtocolSpec`'s encoder and data, the ``corruptions`` to
    measure (None: all registered ones) and the clean linear classifier's ``epochs`` (None: the
    method's official linear config)."""

    corruptions: tuple[str, ...] | None = spec_field(None, check=as_list_option(parse_corruptions))
    epochs: int | None = count_field()


def run(spec: RobustnessSpec, device: torch.device | str | None = None) -> dict:
    """The robustness protocol from Python: ``spec``'s run, its record written and returned (as
    ``python -m protocols.robustness`` with the same options; :func:`protocols.common.run_spec`)."""
    return run_spec(spec, evaluate, device)


def evaluate(spec: RobustnessSpec, device: torch.device) -> dict:
    """One run on a parsed device (what :func:`run` and the command line call per seed)."""
    t0 = time.time()
    method_cls = get_method(spec.method)
    frames = method_cls.default_config.frames
    encoder = resolve_encoder(spec, device)
    check_frames(encoder, frames, spec)
    folder, train, val, manifest = load_parts(spec, frames)
    precise_bn(encoder, train, spec.stream, device, force=spec.bn == "precise")
    num_classes = num_classes_of(manifest, train, val)
    config = LinearConfig(epochs=spec.epochs or method_cls.linear_epochs)
    train_x, cached_t = cached_features(encoder.module, folder, "train", train, spec.stream, device)
    val_x, cached_v = cached_features(encoder.module, folder, "val", val, spec.stream, device)
    fit = fit_probe(train_x, train.labels, val_x, val.labels, num_classes, config, spec.seed)
    labels = torch.from_numpy(np.asarray(val.labels)).long()
    names = spec.corruptions or tuple(CORRUPTIONS)
    levels = [(CORRUPTIONS[name], severity) for name in names for severity in CORRUPTIONS[name].severities]
    robustness: dict[str, dict[str, float]] = {name: {} for name in names}
    for corruption, severity in progress(levels, desc="corruptions", unit="level"):
        feats = corrupted_features(encoder.module, val, corruption, severity, spec.stream, device, spec.seed,
                                   encoder.skeleton)
        with torch.no_grad():
            logits = fit.layer(torch.from_numpy(feats).float())
        robustness[corruption.name][severity_key(severity)] = topk_accuracy(logits, labels, 1)
    final = fit.metrics["curve"][-1]
    summary = [name for name in names if CORRUPTIONS[name].in_summary]
    metrics = robustness_metrics(final["top1"], final["top5"], robustness, summary)
    protocol_config = {
        **asdict(config), "features_cached": cached_t and cached_v, "num_classes": num_classes,
        "corruptions": {name: {"severities": list(CORRUPTIONS[name].severities), "unit": CORRUPTIONS[name].unit,
                               "in_summary": CORRUPTIONS[name].in_summary} for name in names},
        "corruption_seed": "default_rng([seed, crc32(name), round(severity * 1e6), sample // 256])",
        "block": BLOCK,
    }
    return finish(spec, "robustness", encoder, folder, manifest, frames, metrics, protocol_config, time.time() - t0,
                  device)


def build_parser() -> argparse.ArgumentParser:
    ap = ArgumentParser(prog="python -m protocols.robustness", description=__doc__.split("\n\n")[0])
    add_common_arguments(ap)
    ap.add_argument("--corruptions", type=parse_corruptions,
                    help=f"comma-separated corruptions to measure (default: all: {','.join(CORRUPTIONS)})")
    ap.add_argument("--epochs", type=positive_int,
                    help="classifier epochs (default: the method's official linear config, 100; SkeleMixCLR 150)")
    return ap


def main(argv: list[str] | None = None) -> int:
    """``python -m protocols.robustness``: the command line's spec, run once per seed; the exit code."""
    return run_cli(build_parser, RobustnessSpec, evaluate, argv)


if __name__ == "__main__":
    sys.exit(main())
