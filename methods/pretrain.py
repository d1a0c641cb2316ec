"""Pretraining entry point: ``python -m methods.pretrain --method M --dataset D``.

Runs a method's pretext task with a preset (``quick`` by default on the embedded synthetic
data, ``cpu`` on the small real benchmarks, ``paper`` otherwise), checkpoints every epoch
atomically into the cache, resumes with ``--resume``, and ends by writing the encoder checkpoint
that protocols evaluate. The command line only: the run itself is :func:`methods.train.train`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

from datasets.benchmarks import CPU_SIZED, DEFAULT_DATASET
from datasets.skeleton import STREAMS
from methods import available, distributed
from methods.encoders import ENCODERS
from methods.encoders.dropout import MASKS
from methods.train import TrainConfig, train
from methods.train.config import AUGMENT, MONITOR_EVERY, PRECISIONS, parse_options
from results.provenance import parse_device
from utils.cli import ArgumentParser, natural_int, positive_int, seed_int, seed_list
from utils.progress import log_line


def pretrain(method: str, dataset: str = DEFAULT_DATASET, preset: str | None = None, epochs: int | None = None,
             out: Path | None = None, resume: bool = False, seed: int = 0, data_root: Path | None = None,
             stream: str = "joint", device: torch.device | None = None, snapshot_every: int = 0,
             workers: int | None = None, max_steps: int | None = None, **settings) -> Path:
    """:func:`methods.train.train` of a :class:`methods.train.TrainConfig` built from these
    arguments (the others by keyword, as its fields; ``options=`` the method's own, a dict): the final
    encoder checkpoint's path. The protocols pretrain through it when a run is missing."""
    return train(TrainConfig(method, dataset, preset, epochs, out, resume, seed, data_root, stream, device,
                             snapshot_every, workers, max_steps, **settings))


def build_parser() -> argparse.ArgumentParser:
    ap = ArgumentParser(prog="python -m methods.pretrain", description=__doc__.split("\n\n")[0])
    ap.add_argument("--method", required=True, help=f"one of: {', '.join(available())}")
    ap.add_argument("--dataset", default=DEFAULT_DATASET, help="benchmark id (default: %(default)s, synthetic)")
    ap.add_argument("--data-root", type=Path, help="folder of prepared benchmarks (real datasets)")
    ap.add_argument("--preset", choices=["quick", "cpu", "paper"],
                    help=f"recipe (default: quick on synthetic data, cpu on {', '.join(CPU_SIZED)}, else paper)")
    ap.add_argument("--epochs", type=positive_int, help="override the preset's epochs")
    ap.add_argument("--stream", default="joint", choices=STREAMS)
    ap.add_argument("--encoder", choices=list(ENCODERS),
                    help="the backbone every method trains (default: the method's own, ST-GCN); a transformer "
                         "trains with AdamW and a cosine schedule in place of the recipe's SGD")
    seeds = ap.add_mutually_exclusive_group()
    seeds.add_argument("--seed", type=seed_int, default=0,
                       help="pretraining seed, 0 to 2**32 - 1 (default: %(default)s)")
    seeds.add_argument("--seeds", dest="run_seeds", type=seed_list, metavar="S,S,...",
                       help="pretrain once per seed, e.g. 0,1,2, one after the other (each its own run folder; "
                            "not with --out)")
    ap.add_argument("--out", type=Path, help="run folder (default: the cache's runs/<run name>-d<data fingerprint>: "
                    "one per recipe and data); locked while a process trains into it; a run of other data there "
                    "is refused")
    resume = ap.add_mutually_exclusive_group()
    resume.add_argument("--resume", action="store_true",
                        help="continue the run folder's last.pt exactly where it stopped (bit-identical weights); "
                             "refused where the folder holds no run")
    resume.add_argument("--restart", action="store_true",
                        help="start afresh: move an existing run folder aside to <name>.old-<time> first")
    ap.add_argument("--save-every", type=natural_int, default=0, metavar="STEPS",
                    help="also write the training state every STEPS steps inside an epoch (default: at epoch ends)")
    ap.add_argument("--knn-every", type=natural_int, metavar="N",
                    help="online KNN monitor every N epochs (1-NN and weighted k=20; queries: every 5th training "
                         "performer, bank: the others; never the test split); "
                         f"0 turns it off (default: every epoch on the embedded data, every {MONITOR_EVERY} on "
                         f"{', '.join(CPU_SIZED)}, off on other real data)")
    ap.add_argument("--snapshot-every", type=natural_int, default=0, help="also save the encoder every N epochs")
    ap.add_argument("--workers", type=natural_int,
                    help="data loader workers (default: 4, at most the cores less one, on a GPU with --augment loader; "
                         "else 0, in-process)")
    ap.add_argument("--option", action="append", metavar="KEY=VALUE",
                    help="method option, repeatable (e.g. aimclr normalise_blur=true, crossclr stale_keys=false)")
    ap.add_argument("--sync-bn", action="store_true",
                    help="under torchrun, BatchNorm statistics over the global batch (SyncBatchNorm, GPUs only; "
                         "default: each process's own share, as the official code)")
    ap.add_argument("--precision", choices=PRECISIONS, default="fp32",
                    help="bf16: encoders under bf16 autocast, losses and queue in fp32 (default: %(default)s)")
    ap.add_argument("--recompute", action="store_true",
                    help="recompute each encoder block's activations in the backward pass instead of keeping them: "
                         "the same weights, about a third more time, a fraction of the memory (SkeleMixCLR+ at "
                         "batch 128 on a CPU: docs/performance.md)")
    ap.add_argument("--dropout-masks", choices=MASKS,
                    help="random stream of the encoders' CPU dropout masks: bits (a new run's default: one random "
                         "bit a mask element) or torch (torch.nn.Dropout's, as older runs drew); the same "
                         "distribution, other draws. A resumed run keeps its own")
    ap.add_argument("--augment", choices=AUGMENT,
                    help="where the views are drawn: loader (per sample, NumPy, in loader workers) or device (the "
                         "whole batch on the training device, datasets/augment_batch.py); the same distributions. "
                         "Default: device on a GPU, loader elsewhere; a resumed run keeps its own")
    ap.add_argument("--compile", action="store_true",
                    help="torch.compile every encoder block (GPUs: faster steps after minutes of compilation; "
                         "dropout then draws from Inductor's generator)")
    ap.add_argument("--device", help="cpu or cuda (default: cuda when available)")
    return ap


def main(argv: list[str] | None = None) -> int:
    ap = build_parser()
    args = ap.parse_args(argv)
    seeds = args.run_seeds or (args.seed,)
    if len(seeds) > 1 and args.out is not None:
        ap.error("--seeds runs one folder per seed under the cache; drop --out (or give one --seed)")
    try:
        device, options = parse_device(args.device), parse_options(args.option)
        for i, seed in enumerate(seeds):
            if len(seeds) > 1:
                log_line(f"seed {seed} ({i + 1} of {len(seeds)})")
            path = pretrain(args.method, args.dataset, args.preset, args.epochs, args.out, args.resume, seed,
                            args.data_root, args.stream, device, args.snapshot_every, args.workers,
                            options=options, save_every=args.save_every, restart=args.restart,
                            knn_every=args.knn_every, sync_bn=args.sync_bn, precision=args.precision,
                            recompute=args.recompute, dropout_masks=args.dropout_masks, augment=args.augment,
                            compile_encoders=args.compile, require_run=args.resume, encoder=args.encoder)
            if distributed.launched_world().main:
                print(f"encoder checkpoint: {path}")
    except (ValueError, FileNotFoundError, FloatingPointError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
