"""Peak memory of a few pretraining steps at a preset's batch (docs/performance.md, "Memory"):

    python -m tests.benchmarks.peak_memory --method skelemixclr --preset paper --steps 2 [--recompute] [--encoder transformer]

Prints the process's peak resident memory; run it under ``/usr/bin/time -v`` for the CPU times.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

import torch

from methods.encoders import ENCODERS
from methods.pretrain import pretrain


def main() -> None:
    ap = argparse.ArgumentParser(prog="python -m tests.benchmarks.peak_memory", description=__doc__.split("\n\n")[0])
    ap.add_argument("--method", default="skelemixclr")
    ap.add_argument("--preset", default="paper")
    ap.add_argument("--dataset", default="synthetic-xsub")
    ap.add_argument("--steps", type=int, default=2)
    ap.add_argument("--recompute", action="store_true")
    ap.add_argument("--encoder", choices=list(ENCODERS), help="in place of the method's own (default: the method's)")
    args = ap.parse_args()
    t0 = time.time()
    with tempfile.TemporaryDirectory() as tmp:
        pretrain(args.method, args.dataset, args.preset, epochs=1, out=Path(tmp) / "run", max_steps=args.steps,
                 knn_every=0, device=torch.device("cpu"), recompute=args.recompute, encoder=args.encoder)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # KiB on Linux
    print(f"{args.method} {args.encoder or 'own encoder'} {args.preset} steps {args.steps} recompute {args.recompute}: "
          f"peak RSS {peak:.2f} GiB, wall {time.time() - t0:.0f} s")


if __name__ == "__main__":
    main()
