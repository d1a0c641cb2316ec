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
from dataclasses import replace

import torch

from methods import get_method
from protocols.common import Encoder, add_common_arguments, check_frames, load_parts, resolve_encoder, run_cli
from protocols.supervised import SupervisedConfig, add_training_arguments, default_bn_mode, run_protocol, scale_schedule
from utils.cli import ArgumentParser, positive_int

#: SkeleMixCLR's fine-tune config (``SM:config/finetune_eval/finetune_eval_skeletonclr_swap.yaml``).
FINETUNE = SupervisedConfig()


def finetune_config(args: argparse.Namespace, encoder: Encoder) -> tuple[SupervisedConfig, dict]:
    """The recipe for these arguments and what the record says about it."""
    config, scaled = scale_schedule(FINETUNE, getattr(args, "epochs", None))
    bn_mode, why = default_bn_mode(encoder, getattr(args, "bn_mode", None))
    config = replace(config, bn_mode=bn_mode, clip=getattr(args, "clip", None) or FINETUNE.clip,
                     eval_every=getattr(args, "eval_every", None) or FINETUNE.eval_every,
                     augment=getattr(args, "augment", None) or FINETUNE.augment,
                     batch_size=getattr(args, "batch_size", None) or FINETUNE.batch_size)
    return config, {"recipe": "skelemixclr-finetune", "official_epochs": FINETUNE.epochs,
                    "official_batch_size": FINETUNE.batch_size, "schedule_scaled": scaled,
                    "bn_mode_reason": why}


def run_finetune(args: argparse.Namespace, device: torch.device, encoder: Encoder, t0: float,
                 protocol: str = "finetune", extra_config: dict | None = None) -> dict:
    """The fine-tune protocol on a resolved encoder and ``args.dataset`` (the transfer protocol
    resolves the encoder on another benchmark and calls this with ``protocol="transfer"``)."""
    frames = get_method(args.method).default_config.frames
    check_frames(encoder, frames, args)
    parts = load_parts(args, frames)
    config, info = finetune_config(args, encoder)
    return run_protocol(args, device, encoder, t0, protocol, parts, frames, config, {**(extra_config or {}), **info})


def evaluate(args: argparse.Namespace, device: torch.device) -> dict:
    t0 = time.time()
    return run_finetune(args, device, resolve_encoder(args, device), t0)


def build_parser() -> argparse.ArgumentParser:
    ap = ArgumentParser(prog="python -m protocols.finetune", description=__doc__.split("\n\n")[0])
    add_common_arguments(ap)
    ap.add_argument("--epochs", type=positive_int,
                    help=f"training epochs (default: the official {FINETUNE.epochs}; another count scales the LR "
                         "milestones and the warm-up with it)")
    add_training_arguments(ap)
    return ap


def main(argv: list[str] | None = None) -> int:
    return run_cli(build_parser, evaluate, argv)


if __name__ == "__main__":
    sys.exit(main())
