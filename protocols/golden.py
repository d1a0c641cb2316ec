"""Golden features of a zoo entry: what the shipped encoder computes on a fixed sample of the data.

Re-evaluating an entry's linear accuracy means extracting 6,000 clips' features (minutes on 2
cores) and judges the result with the probe's own ±2-point spread. The default test run instead
re-extracts the features of a fixed, spread-out sample of clips (every k-th clip of each part,
:data:`PER_PART` per part) and compares them with the ones saved when the entry was published,
to float32 kernel tolerance: any change to the data, the preprocessing, the stream, the encoder
or the loading of its weights moves them by far more than that, and the comparison costs a
twelfth of the re-evaluation. The full re-evaluation stays in the slow set
(``tests/test_zoo.py``). Saved as ``<entry>.golden.npz`` beside the entry; write it with
``python -m protocols.golden ENTRY...``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch

from datasets import benchmark_folder
from datasets.store import Split, load_split
from methods import get_method, load_encoder
from methods.encoders.features import extract_features
from methods.zoo import entries, zoo_recipe
from utils.cli import ArgumentParser
from utils.files import atomic_write

#: Clips per part in the sample (half an extraction batch: the comparison is on values, not accuracy).
PER_PART = 128
SUFFIX = ".golden.npz"


def golden_path(checkpoint: Path) -> Path:
    return Path(checkpoint).with_suffix(SUFFIX)


def sample_indices(num_samples: int, count: int = PER_PART) -> np.ndarray:
    """Every k-th clip, k = ⌊n / count⌋, so the sample spans every subject, class and camera."""
    step = max(1, num_samples // count)
    return np.arange(0, num_samples, step)[:count]


def sample_features(encoder: torch.nn.Module, split: Split, stream: str) -> tuple[np.ndarray, np.ndarray]:
    """(indices, features) of the fixed sample of one part, extracted on the CPU."""
    idx = sample_indices(len(split))
    subset = Split(data=np.asarray(split.data[idx]), names=[split.names[i] for i in idx], labels=split.labels[idx])
    return idx, extract_features(encoder, subset, stream, torch.device("cpu"), desc="golden features")


def entry_features(checkpoint: Path) -> dict[str, np.ndarray]:
    """The sample's indices and features of both parts for a zoo entry, on the data this checkout makes."""
    recipe = zoo_recipe(checkpoint)
    folder = benchmark_folder(recipe["dataset"], get_method(recipe["method"]).default_config.frames)
    encoder = load_encoder(checkpoint)
    out: dict[str, np.ndarray] = {}
    for part in ("train", "val"):
        out[f"{part}_indices"], out[f"{part}_features"] = sample_features(encoder, load_split(folder, part),
                                                                          recipe["stream"])
    return out


def write_golden(checkpoint: Path) -> Path:
    """Save an entry's golden features (:func:`utils.files.atomic_write`)."""
    path = golden_path(checkpoint)
    arrays = entry_features(checkpoint)
    return atomic_write(path, lambda f: np.savez_compressed(f, **arrays))


def main(argv: list[str] | None = None) -> int:
    ap = ArgumentParser(prog="python -m protocols.golden", description=__doc__.split("\n\n")[0])
    ap.add_argument("entries", nargs="*", help="zoo entry names (e.g. skeletonclr-synthetic-xsub-joint); "
                                               "default: every entry")
    args = ap.parse_args(argv)
    known = {p.stem: p for p in entries()}
    unknown = [e for e in args.entries if e not in known]
    if unknown:
        print(f"error: no zoo entry {', '.join(unknown)}; known: {', '.join(known)}", file=sys.stderr)
        return 2
    for name in args.entries or list(known):
        print(f"golden features: {write_golden(known[name])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
