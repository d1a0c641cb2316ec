"""Fine-tune evaluation: ``python -m protocols.finetune --method skelemixclr``.

The whole network (the pretrained backbone and a new Linear(256, classes)) trained with all
labels, SkeleMixCLR's recipe (methods.md §3.4): SGD momentum 0.9, Nesterov, LR 0.1, wd 1e-4,
×0.1 after epochs 50/70/90, a linear warm-up over the first 10 epochs, 110 epochs, batch 128,
no augmentation, evaluated every 5 epochs; top-1/top-5 at the final evaluation, the best top-1
over evaluations beside it (it selects on the test set, §7.3).

Official behaviour by default: the network trains in eval mode (BN statistics frozen, dropout
off, §7.2; ``--bn-mode train`` corrects it). The config asks for clipping the gradient norm at 5,
which the official code never does (§7.8): the default clips as the config asks, ``--clip
official`` reproduces the no-op. ``--epochs N`` scales the milestones and the warm-up by N/110
(recorded as ``schedule_scaled``).

With ``--checkpoint random`` this is the supervised baseline, the same network trained from
scratch with labels. Its BN statistics are not re-estimated first (training sets them), and it
trains in train mode by default: in eval mode its BN layers would keep their initial statistics
(0, 1) for the whole run (:func:`protocols.supervised.default_bn_mode`).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Collection
from dataclasses import dataclass, replace

import torch

from methods import get_method
from protocols.cli import add_common_arguments, run_cli
from protocols.common import Encoder, check_frames, load_parts, resolve_encoder, run_spec
from protocols.supervised import (
    SupervisedConfig,
    TrainingSpec,
    add_training_arguments,
    default_bn_mode,
    run_protocol,
    scale_schedule,
)
from utils.cli import ArgumentParser, positive_int

#: SkeleMixCLR's fine-tune config (``SM:config/finetune_eval/finetune_eval_skeletonclr_swap.yaml``).
FINETUNE = SupervisedConfig()


@dataclass(frozen=True, kw_only=True)
class FinetuneSpec(TrainingSpec):
    """A fine-tune evaluation: :class:`protocols.supervised.TrainingSpec`'s encoder, data and
    training options on SkeleMixCLR's fine-tune recipe (``checkpoint="random"``: the supervised
    baseline)."""


def finetune_config(spec: TrainingSpec, encoder: Encoder) -> tuple[SupervisedConfig, dict]:
    """The recipe for this spec and what the record says about it."""
    config, scaled = scale_schedule(FINETUNE, spec.epochs)
    bn_mode, why = default_bn_mode(encoder, spec.bn_mode)
    config = replace(config, bn_mode=bn_mode, clip=spec.clip or FINETUNE.clip,
                     eval_every=spec.eval_every or FINETUNE.eval_every,
                     augment=spec.augment or FINETUNE.augment,
                     batch_size=spec.batch_size or FINETUNE.batch_size)
    return config, {"recipe": "skelemixclr-finetune", "official_epochs": FINETUNE.epochs,
                    "official_batch_size": FINETUNE.batch_size, "schedule_scaled": scaled,
                    "bn_mode_reason": why}


def run_finetune(spec: TrainingSpec, device: torch.device, encoder: Encoder, t0: float,
                 protocol: str = "finetune", extra_config: dict | None = None,
                 drop_test_clips: Collection[str] = ()) -> dict:
    """The fine-tune protocol on a resolved encoder and ``spec.dataset`` (the transfer protocol
    resolves the encoder on another benchmark and calls this with ``protocol="transfer"``, less
    the test clips that encoder was pretrained on where asked: ``drop_test_clips``)."""
    frames = get_method(spec.method).default_config.frames
    check_frames(encoder, frames, spec)
    parts = load_parts(spec, frames, drop_test_clips)
    config, info = finetune_config(spec, encoder)
    return run_protocol(spec, device, encoder, t0, protocol, parts, frames, config, {**(extra_config or {}), **info})


def run(spec: FinetuneSpec, device: torch.device | str | None = None) -> dict:
    """The fine-tune protocol from Python: ``spec``'s run, its record written and returned (as
    ``python -m protocols.finetune`` with the same options; :func:`protocols.common.run_spec`)."""
    return run_spec(spec, evaluate, device)


def evaluate(spec: FinetuneSpec, device: torch.device) -> dict:
    """One run on a parsed device (what :func:`run` and the command line call per seed)."""
    t0 = time.time()
    return run_finetune(spec, device, resolve_encoder(spec, device), t0)


def build_parser() -> argparse.ArgumentParser:
    ap = ArgumentParser(prog="python -m protocols.finetune", description=__doc__.split("\n\n")[0])
    add_common_arguments(ap)
    ap.add_argument("--epochs", type=positive_int,
                    help=f"training epochs (default: the official {FINETUNE.epochs}; another count scales the LR "
                         "milestones and the warm-up with it)")
    add_training_arguments(ap)
    return ap


def main(argv: list[str] | None = None) -> int:
    """``python -m protocols.finetune``: the command line's spec, run once per seed; the exit code."""
    return run_cli(build_parser, FinetuneSpec, evaluate, argv)


if __name__ == "__main__":
    sys.exit(main())
