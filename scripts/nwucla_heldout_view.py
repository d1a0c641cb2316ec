"""Choose NW-UCLA's preprocessing without its test view: ``python scripts/nwucla_heldout_view.py
--data-root DATA_A DATA_B``.

NW-UCLA's benchmark is cross-view (views 1 and 2 train, view 3 tests), so the closest stand-in for
the test that the training data hold is another *view*: this trains the supervised ST-GCN (the
fine-tune protocol's network and recipe from random init, as ``protocols.finetune --checkpoint
random``) on the training clips of view 1 and scores it on those of view 2. It uses only the
``train`` part of each prepared folder: no clip of view 3 is trained on or scored. Give one ``--data-root`` per
preprocessing to compare (e.g. ``datasets.prepare nwucla --normalise frame`` and ``--normalise
clip`` into two folders); it prints the view-2 top-1 every ``--eval-every`` epochs per seed and
the mean of the last ones. docs/nwucla.md reports what it measured.
"""

from __future__ import annotations

import sys
import tempfile
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a file from anywhere

from datasets import load_benchmark  # noqa: E402
from datasets.nwucla import parse_clip_name  # noqa: E402
from datasets.store import Split  # noqa: E402
from methods import get_method  # noqa: E402
from methods.base import build_backbone  # noqa: E402
from protocols.finetune import FINETUNE  # noqa: E402
from protocols.supervised import AUGMENTS, scale_schedule, train_supervised  # noqa: E402
from utils.cli import ArgumentParser, positive_int, seed_list  # noqa: E402

BENCHMARK = "nwucla-xview"
METHOD = "skeletonclr"  # whose encoder the supervised baseline trains, as protocols.finetune's default


def view_split(train: Split, view: int) -> Split:
    """The clips of ``train`` filmed by camera ``view`` (from the NW-UCLA file names)."""
    rows = [i for i, name in enumerate(train.names) if parse_clip_name(name).view == view]
    if not rows:
        raise ValueError(f"no training clip of view {view}; is this the nwucla-xview benchmark?")
    return Split(np.asarray(train.data[rows]), [train.names[i] for i in rows], np.asarray(train.labels)[rows])


def heldout_view_top1(data_root: Path, seed: int, epochs: int, batch_size: int, eval_every: int,
                      device: torch.device, augment: str = "none") -> list[float]:
    """View-2 top-1 of the supervised network trained on view 1, at every evaluation."""
    config = get_method(METHOD).default_config
    train, _, manifest = load_benchmark(BENCHMARK, config.frames, data_root)
    fit_on, score_on = view_split(train, 1), view_split(train, 2)
    recipe, _ = scale_schedule(FINETUNE, epochs)
    recipe = replace(recipe, batch_size=batch_size, bn_mode="train", eval_every=eval_every,
                     augment=augment)
    torch.manual_seed(seed)
    backbone = build_backbone(replace(config, layout=manifest["layout"]))
    with tempfile.TemporaryDirectory() as run_dir:
        fit = train_supervised(backbone, fit_on, score_on, manifest["num_classes"], "joint", device, recipe,
                               seed=seed, run_dir=Path(run_dir), desc=f"view 1 -> 2, seed {seed}")
    return [round(c["top1"], 2) for c in fit.metrics["curve"] if "top1" in c]


def main(argv: list[str] | None = None) -> int:
    ap = ArgumentParser(prog="python scripts/nwucla_heldout_view.py", description=__doc__.split("\n\n")[0])
    ap.add_argument("--data-root", type=Path, nargs="+", required=True, metavar="DATA",
                    help="folders holding nwucla-xview, one per preprocessing to compare")
    ap.add_argument("--seeds", type=seed_list, default=(0, 1), help="training seeds (default: 0,1)")
    ap.add_argument("--epochs", type=positive_int, default=30, help="epochs (default: %(default)s)")
    ap.add_argument("--batch-size", type=positive_int, default=16, help="clips per step (default: %(default)s)")
    ap.add_argument("--augment", choices=AUGMENTS, default="none",
                    help="what the view-1 clips go through (protocols.finetune --augment; default: %(default)s)")
    ap.add_argument("--eval-every", type=positive_int, default=10, help="epochs between scores (default: %(default)s)")
    args = ap.parse_args(argv)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    for root in args.data_root:
        finals = []
        for seed in args.seeds:
            curve = heldout_view_top1(root, seed, args.epochs, args.batch_size, args.eval_every, device,
                                      args.augment)
            finals.append(curve[-1])
            print(f"{root}: seed {seed}, view-2 top-1 every {args.eval_every} epochs: {curve}", flush=True)
        print(f"{root}: mean last top-1 {np.mean(finals):.2f} over seeds {list(args.seeds)}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
